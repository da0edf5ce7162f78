-- Validating request bodies with rover.guard.
--
-- Run:   rover examples/guard.lua
-- Try:   curl -X POST http://localhost:4242/members -H 'Content-Type: application/json' -d '{"email":"ada@example.com","age":36}'
--        curl -X POST http://localhost:4242/members -H 'Content-Type: application/json' -d '{"plan":"gold","age":1.5}'
--        curl -X POST http://localhost:4242/check -H 'Content-Type: application/json' -d '{"tags":["a",2]}'
-- A GET with no body also works as a smoke test:
--        curl http://localhost:4242/schema

local api = rover.server { log_level = "info" }
local g = rover.guard

local member = {
  email = g:string():required("Please give an email address"),
  plan  = g:string():enum({ "free", "team" }):default("free"),
  age   = g:integer(),
  prefs = g:object({ lang = { type = "string", default = "en" } }),
}

function api.members.post(ctx)
  local m = ctx:body():expect(member)   -- invalid -> 400 {"errors":[...]}
  return api.json:status(201, m)
end

-- Validate any table yourself and decide what to answer.
function api.check.post(ctx)
  local ok, result = g.validate(function()
    return g(ctx:body():json(), { tags = g:array(g:string()):required() })
  end)
  if ok then return { valid = true, tags = result.tags } end
  return api:error(422, result)           -- 422 {"errors":[...]}
end

function api.schema.get(ctx)
  return { fields = { "email", "plan", "age", "prefs" } }
end

return api
