-- Handler errors (lua-api.md §8). Used by test_errors.py.
-- log_level "debug" so that the traceback line (DEBUG) can be checked.
local api = rover.server { log_level = "debug", workers = 1 }

function api.ok.get(ctx) return "still serving" end

function api.err.string.get(ctx)
  error("boom string")  -- marker:string
end
function api.err.level0.get(ctx)
  error("no position", 0)
end
function api.err.runtime.get(ctx)
  local t = nil
  return t.field  -- marker:runtime
end
function api.err.table.get(ctx)
  error({ message = "table message", code = 7 })
end
function api.err.number.get(ctx)
  error(42, 0)  -- level 0: the value stays a number
end
function api.err.float.get(ctx)
  error(2.5, 0)
end
function api.err.tostring.get(ctx)
  error(setmetatable({}, { __tostring = function() return "custom tostring" end }))
end
function api.err.boolean.get(ctx)
  error(true)
end
function api.err.plain_table.get(ctx)
  error({ 1, 2, 3 })
end
function api.err.number_message.get(ctx)
  error({ message = 5 })
end
api.err["nil"].get = function(ctx)
  error(nil)
end
function api.err.traceback.get(ctx)
  error(debug.traceback("tb message", 1), 0)
end
function api.err.quotes.get(ctx)
  error('say "hi"\n\tthen \\ leave', 0)
end
local function deep_helper()
  error("deep failure")  -- marker:deep
end
function api.err.deep.get(ctx)
  deep_helper()
end
-- Errors in a POST handler after reading the body.
function api.err.after_body.post(ctx)
  local data = ctx:body():json()
  error("failed with " .. tostring(data.n), 0)
end

return api
