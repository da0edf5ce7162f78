-- The database gauges of GET /_rover/metrics (issue 14 item 6): a pool on
-- the private cluster test_metrics.py starts ($PG_URL).
local api = rover.server {
  log_level = "info",
  workers = 2,
  metrics = true,
  management_token = "metrics-token-42",
}
local db = rover.db.connect { url = assert(os.getenv("PG_URL")), pool = 2, max_connections = 3 }

function api.q.get(ctx)
  return db:query("SELECT 1 AS one")[1]
end

return api
