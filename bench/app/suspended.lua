-- The app of bench/suspended.py: every GET /wait/<ms> suspends in
-- rover.delay(ms) and counts itself in flight while it waits; GET /inflight
-- reports the count (answered while the others wait).
local api = rover.server { port = 19103, log_level = "nope", workers = 1,
                           timeouts = { idle = 600, handler = 600 } }
local inflight = 0

function api.wait.p_ms.get(ctx)
  inflight = inflight + 1
  rover.delay(tonumber(ctx:params().ms))
  inflight = inflight - 1
  return "ok"
end

function api.inflight.get()
  return { n = inflight }
end

return api
