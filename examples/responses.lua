-- Response builders and return values.
--
-- Run:   rover examples/responses.lua
-- Try:   curl -i http://localhost:4242/table
--        curl -i http://localhost:4242/plain
--        curl -i http://localhost:4242/created
--        curl -i http://localhost:4242/old-page          # 301 to /new-page
--        curl -i http://localhost:4242/teapot
--        curl -i http://localhost:4242/nothing           # 204
--        curl -i http://localhost:4242/cookies

local api = rover.server { log_level = "info" }

function api.table.get(ctx) return { kind = "table", sent_as = "application/json" } end
function api.plain.get(ctx) return "plain text, utf-8" end
function api.number.get(ctx) return 10 / 4 end                 -- "2.5"
function api.nothing.get(ctx) return nil end                   -- 204 No Content

function api.created.get(ctx)
  return api.json:status(201, { id = 7, headers = { Location = "/things/7" } })
end

function api.page.get(ctx)
  return api.html("<!doctype html><h1>Hello</h1>")
end

api["old-page"].get = function(ctx) return api.redirect:permanent("/new-page") end
api["new-page"].get = function(ctx) return api.text("you made it") end

function api.teapot.get(ctx) return api:error(418, "I only brew tea") end

function api.download.get(ctx)
  return api.raw("\0\1\2binary"):header("Content-Disposition", "attachment; filename=x.bin")
end

function api.cookies.get(ctx)
  return api.text("two cookies set")
    :header("Set-Cookie", { "a=1; Path=/; HttpOnly", "b=2; Path=/" })
    :header("Cache-Control", "no-store")
end

return api
