-- JSON in and out.
--
-- Run:   rover examples/json.lua
-- Try:   curl http://localhost:4242/numbers
--        curl -X POST http://localhost:4242/sum -H 'Content-Type: application/json' -d '[1, 2, 3.5]'
--        curl -X POST http://localhost:4242/sum -H 'Content-Type: application/json' -d 'not json'   # 400 Invalid JSON ...
--        curl -X POST http://localhost:4242/sum -d '[1]'           # 415: curl sends a form content type

local api = rover.server { log_level = "info" }

function api.numbers.get(ctx)
  return {
    integer = 42,
    float = 2.5,
    tiny = 1e-7,
    list = { 1, 2, 3 },
    empty = {},                 -- {}
    sparse = { 1, nil, 3 },     -- {"1":1,"3":3}
    text = "quotes \" and unicode caf\195\169",
  }
end

function api.sum.post(ctx)
  local list = ctx:body():json()
  if type(list) ~= "table" then return api:error(400, "send a JSON array of numbers") end
  local total = 0
  for _, n in ipairs(list) do total = total + n end
  return { count = #list, total = total }
end

return api
