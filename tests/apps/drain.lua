-- Graceful shutdown (server-features.md §15). Used by test_drain.py.
-- One worker, so that a blocking handler holds the only Lua state.
local api = rover.server {
  log_level = "info", workers = 1,
  drain_timeout_secs = tonumber(os.getenv("DRAIN_TIMEOUT_SECS") or "30"),
  timeouts = { head = 30, idle = 60, body = 60 },
}

-- A ctx kept by a handler that then raised must be dead outside its request
-- too (the hook runs after every request ended).
local kept
function api.keep_and_fail.get(ctx)
  kept = ctx
  error("kept the ctx, then failed")
end

function api.on_shutdown()
  print("SHUTDOWN HOOK ran")
  if kept then
    local ok, err = pcall(function() return kept.method end)
    print("KEPT CTX " .. (ok and ("alive: " .. tostring(err)) or
      (tostring(err):find("request context is no longer valid", 1, true) and "dead" or tostring(err))))
  end
end

function api.get(ctx) return "ok" end
function api.n.p_n.get(ctx) return "n=" .. ctx:params().n end

-- Busy-loops for ?ms= milliseconds of CPU time (handlers run to completion),
-- after printing a line that tells the test the request is in flight.
function api.block.p_tag.get(ctx)
  local ms = tonumber(ctx:query().ms or "1000")
  print("IN FLIGHT " .. ctx:params().tag)
  local stop = os.clock() + ms / 1000
  while os.clock() < stop do end
  return "done " .. ctx:params().tag
end

local function echo(ctx)
  local ok, body = pcall(function() return ctx:body():text() end)
  return api.raw(ok and body or "")
end
api.echo.post = echo

return api
