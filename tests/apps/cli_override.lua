-- Every core key is invalid here; the CLI options --port, --host and
-- --workers replace them before validation (lua-api.md §1.1, §2), so the app
-- only starts with all three given. Used by test_cli.py.
local api = rover.server {
  log_level = "info",
  port = "not a number",
  host = "no-such-host.invalid",
  workers = 0,
}

function api.get(ctx)
  return { count = rover.worker.count, id = rover.worker.id }
end

return api
