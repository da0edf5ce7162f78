-- Request pipeline (server-features.md §3 request id, client address and
-- trusted proxies; §7 body size limit; §8 health probes; §15 /readyz during
-- the drain). Used by test_pipeline.py.
--
-- Configured from the environment so that one file serves every case:
--   PIPELINE_TRUSTED   Lua expression for trusted_proxies (default {})
--   PIPELINE_DEPS      Lua expression for readiness.dependencies (default {})
--   PIPELINE_LIMIT     body_size_limit (default 1048576)
--   PIPELINE_UNBOUNDED "1" sets allow_unbounded_body = true
--   PIPELINE_WORKERS   workers (default 2)
local function expr(name, default)
  local src = os.getenv(name)
  if not src or src == "" then return default end
  return assert(load("return " .. src, "=" .. name))()
end

local api = rover.server {
  log_level = "info",
  workers = tonumber(os.getenv("PIPELINE_WORKERS") or "2"),
  trusted_proxies = expr("PIPELINE_TRUSTED", {}),
  readiness = { dependencies = expr("PIPELINE_DEPS", {}) },
  body_size_limit = tonumber(os.getenv("PIPELINE_LIMIT") or "1048576"),
  allow_unbounded_body = os.getenv("PIPELINE_UNBOUNDED") == "1",
}

local shared = rover.shared

-- Every route runs this hook: it counts itself in rover.shared, records the
-- request id it saw, and refuses requests that carry X-Block.
function api.before.mark(ctx)
  shared:incr("middleware_runs", 1, 0)
  ctx:set("hook_id", ctx:request_id())
  if ctx:headers()["X-Block"] then
    return api.json:status(418, { blocked_by = "middleware" })
  end
end

function api.get(ctx) return "root" end

-- §3: what the server believes about the client.
function api.whoami.get(ctx)
  return {
    ip = ctx.client_ip, ip_alias = ctx.ip,
    proto = ctx.proto, proto_alias = ctx.client_proto,
    headers = ctx:headers(),
  }
end

-- §3: the request id as seen by the hook and the handler.
function api.rid.get(ctx)
  return { id = ctx:request_id(), hook_id = ctx:get("hook_id"), worker = rover.worker.id }
end

function api.worker.get(ctx) return { worker = rover.worker.id } end

function api.middleware_runs.get(ctx)
  return { runs = shared:get("middleware_runs") or 0 }
end

-- §7: the length of the received body.
function api.upload.post(ctx)
  local ok, body = pcall(function() return ctx:body():text() end)
  return { length = ok and #body or -1 }
end

-- §8: app routes with the probes' paths (the probes shadow them).
function api.healthz.get(ctx) return "app healthz" end
function api.healthz.post(ctx) return "app healthz post" end
function api.readyz.get(ctx) return "app readyz" end

-- §15: GET /hold waits (suspended in rover.delay) until the drain starts
-- (the shutdown hook sets the flag in rover.shared) or GET /release.
function api.on_shutdown()
  shared:set("release", true)
  print("SHUTDOWN HOOK ran")
end
function api.hold.get(ctx)
  print("HOLD " .. rover.worker.id)
  while not shared:get("release") do rover.delay(10) end
  return "released"
end

return api
