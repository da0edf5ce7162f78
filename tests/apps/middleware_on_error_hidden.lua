-- api.on_error with expose_errors = false (server-features.md §2): err.message
-- is the full message anyway. Used by test_middleware.py.
local api = rover.server { log_level = "info", workers = 1, expose_errors = false }

function api.on_error(err, ctx)
  if ctx:headers()["x-mode"] == "nil" then return nil end
  return api.json:status(503, { message = err.message, status = err.status })
end

function api.boom.get(ctx)
  error("secret detail", 0)
end

return api
