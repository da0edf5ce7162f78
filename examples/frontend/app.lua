-- A small front end served by Rover (server-features.md §9-§11, §16): the
-- page and its assets from a static mount (sendfile, ETag/304, ranges,
-- compression), a live feed of server-sent events, and a file upload form.
--
-- Run (from this directory, so that `public/` is found):
--        cd examples/frontend && rover app.lua        # then open http://localhost:4242/
-- Try:   curl -i http://localhost:4242/index.html
--        curl -N http://localhost:4242/events                      # an event every second
--        curl -F note=hello -F file=@app.lua http://localhost:4242/upload
--        curl http://localhost:4242/uploads
--        curl -H 'Range: bytes=0-99' http://localhost:4242/app.css

local api = rover.server { log_level = "info", workers = 1 }

api.static { dir = "public" }                    -- the root mount: /index.html, /app.css, /app.js

function api.get(ctx) return api.redirect("/index.html") end

-- Server-sent events: the producer runs in the request's coroutine and
-- waits between events without holding the worker.
function api.events.get(ctx)
  local n = 0
  return api.sse(function()
    if n > 0 then rover.delay(1000) end
    n = n + 1
    if n > 60 then return nil end
    return { event = "tick", data = { n = n, uploads = rover.shared:get("uploads") or 0 } }
  end, 3000)
end

local uploads = {}

function api.upload.post(ctx)
  local body = ctx:body()
  local file = body:file("file")
  if not file then return api:error(400, "choose a file") end
  uploads[#uploads + 1] = { name = file.name, size = file.size, type = file.type,
                            note = body:form().note or "" }
  rover.shared:incr("uploads", 1, 0)
  return api.json:status(201, uploads[#uploads])
end

function api.uploads.get(ctx) return { uploads = uploads } end

return api
