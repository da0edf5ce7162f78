-- Default log level ("debug"): debug banner line and request details.
-- Used by test_logging.py.
local api = rover.server { workers = 1 }

function api.log.ok.post(ctx) return "ok" end
function api.log.ok.get(ctx) return "ok" end

return api
