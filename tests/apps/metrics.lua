-- GET <management_prefix>/metrics (issue 14 item 6), with two workers.
-- Environment: M_METRICS = "false" (metrics off), M_TOKEN (management_token,
-- unset = nil), M_UNAUTH = "true" (allow_unauthenticated_management),
-- M_DOCS = "true" (the docs endpoints too), M_LOG (log_level; then READY is
-- printed when a worker is ready). Used by test_metrics.py.
local api = rover.server {
  log_level = os.getenv("M_LOG") or "info",
  workers = 2,
  metrics = os.getenv("M_METRICS") ~= "false",
  docs = os.getenv("M_DOCS") == "true",
  management_token = os.getenv("M_TOKEN"),
  allow_unauthenticated_management = os.getenv("M_UNAUTH") == "true",
}

-- Without the banner (M_LOG quiet), the test waits for this line.
if os.getenv("M_LOG") then
  function api.on_ready() io.write("READY\n") io.stdout:flush() end
end

function api.get(ctx)
  return { service = "metrics" }
end

function api.items.p_id.get(ctx)
  return { id = ctx:params().id }
end

-- A second handler of the same pattern: one series for both.
function api.items.p_id.put(ctx)
  return { id = ctx:params().id, put = true }
end

function api.items.post(ctx)
  return api.json:status(201, { created = true })
end

function api.fail.get(ctx)
  error("boom")
end

function api.slow.get(ctx)
  rover.delay(50)
  return { slept = true }
end

-- Waits until told: a suspended request during a scrape.
function api.hold.get(ctx)
  rover.delay(tonumber(ctx:query().ms or "300"))
  return { held = true }
end

function api.shared.p_key.put(ctx)
  rover.shared:set(ctx:params().key, "v")
  return { ok = true }
end

-- A WebSocket endpoint: its handshakes count under its pattern (101: 1xx).
function api.live.ws(ws)
  function ws.join(ctx) ws.send.hello { worker = rover.worker.id } end
end

function api.worker.get(ctx)
  return { id = rover.worker.id }
end

return api
