-- rover.delay at load time, outside any handler or task (runtime-modules.md
-- §6): a startup error. Used by test_async.py.
local api = rover.server { workers = 1 }

function api.get(ctx) return "unreachable" end

rover.delay(10)  -- marker:load_delay

return api
