-- Idempotency keys (server-features.md §12). Used by test_idempotency.py.
local api = rover.server { workers = 2, log_level = "info" }
local g = rover.guard

function api.before.seen(ctx) rover.shared:incr("before", 1, 0) end

api.payments.post = api.idempotent(function(ctx)
  local runs = rover.shared:incr("runs", 1, 0)
  local p = ctx:body():expect { amount = g:integer():required() }
  return api.json:status(201, { amount = p.amount, run = runs })
    :header("X-Run", runs):header("Set-Cookie", { "a=1", "b=2" })
end)

-- A custom header, a short TTL, and a handler that waits until released.
api.refunds.post = api:idempotent({ header = "X-Refund-Key", ttl_ms = 60000 }, function(ctx)
  rover.shared:incr("refund_runs", 1, 0)
  while not rover.shared:get("release") do rover.delay(5) end
  return "refunded " .. rover.shared:get("refund_runs")
end)
function api.release.post(ctx) rover.shared:set("release", true) return "ok" end

api.fails.post = api.idempotent(function(ctx)
  local runs = rover.shared:incr("fail_runs", 1, 0)
  if runs == 1 then error("first attempt fails") end
  return api.json:status(500, { run = runs })
end)

api.plain.get = api.idempotent(function(ctx) return { run = rover.shared:incr("plain_runs", 1, 0) } end)

function api.counts.get(ctx)
  return { runs = rover.shared:get("runs") or 0, before = rover.shared:get("before") or 0,
           fail_runs = rover.shared:get("fail_runs") or 0,
           refund_runs = rover.shared:get("refund_runs") or 0, worker = rover.worker.id }
end

return api
