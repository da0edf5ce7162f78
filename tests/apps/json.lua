-- JSON over HTTP (lua-api.md §9). Used by test_json.py.
local api = rover.server { log_level = "info", workers = 1 }

local function nested(depth)
  local t = {}
  local cur = t
  for _ = 2, depth do
    cur.n = {}
    cur = cur.n
  end
  return t
end

local values = {
  integers = { 42, -7, 0, 1099511627776, 0 / -1, 1.0, 10 / 2, -9007199254740992 },
  floats = { 3.14, 0.001, 2.5, 1e-7, 1.5e300, -0.5, 0.1 + 0.2, 123456.789 },
  nonfinite = { 0 / 0, 1 / 0, -1 / 0 },
  strings = { "\"\\\n\r\t\b\f\1\31/", "caf\195\169 \240\159\152\128", "\255\254 raw" },
  booleans = { true, false },
  holes = { 1, nil, 3 },
  mixed = { "a", n = 1 },
  number_key = { [5] = "five" },
  float_key = { [2.5] = "x" },
  empty = {},
  nested_empty = { a = {}, b = { {} } },
  internal = { visible = 1, __rover_hidden = 2 },
  metatable = setmetatable({ real = 1 }, { __index = { virtual = 2 }, __len = function() return 5 end }),
  long_array = (function() local t = {} for i = 1, 100 do t[i] = i end return t end)(),
  depth64 = nested(64),
}
for name, v in pairs(values) do
  api.encode[name].get = function(ctx) return v end
end

api.fail["function"].get = function(ctx) return { f = function() end } end
function api.fail.depth65.get(ctx) return nested(65) end
function api.fail.cycle.get(ctx)
  local t = {}
  t.self = t
  return t
end
function api.fail.bool_key.get(ctx) return { [true] = 1 } end
function api.fail.json_builder.get(ctx) return api.json({ co = coroutine.create(print) }) end

-- Decoding: returns the decoded value re-encoded, or one string verbatim.
function api.decode.post(ctx) return { v = ctx:body():json() } end
function api.decode.string.post(ctx) return api.raw(ctx:body():json()) end
function api.decode.keys.post(ctx)
  local t = ctx:body():json()
  return { str = t["1"], num = t[1] == nil, n = #t }
end
function api.decode.array_keys.post(ctx)
  local t = ctx:body():json()
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return { keys = keys, first = t[1], third = t[3], second_is_nil = t[2] == nil }
end
function api.decode.ok.post(ctx)
  local v = ctx:body():json()
  return type(v)
end
function api.decode.number.post(ctx)
  local v = ctx:body():json()
  return api.text(string.format("%s %.17g", type(v), v))
end

return api
