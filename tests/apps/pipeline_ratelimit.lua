-- Rate limiting (server-features.md §15a). Used by test_pipeline.py.
-- Two workers; every test starts its own server, so buckets start full.
--   RL_MODE=global (default): global 5 per 60 s, keyed by RL_KEY_HEADER
--                             (unset: by client address)
--   RL_MODE=scoped:           global 100 per 60 s, plus scoped entries
local mode = os.getenv("RL_MODE") or "global"
local key_header = os.getenv("RL_KEY_HEADER")
if key_header == "" then key_header = nil end

local rate_limit
if mode == "scoped" then
  rate_limit = {
    global = { requests_per_window = 100, window_secs = 60 },
    scoped = {
      { path_pattern = "/login", requests_per_window = 2, window_secs = 60 },
      { path_pattern = "/users/{id}", requests_per_window = 3, window_secs = 60 },
      { path_pattern = "/admin/*", requests_per_window = 1, window_secs = 60 },
      { path_pattern = "/loose", requests_per_window = 1000, window_secs = 60 },
    },
  }
else
  rate_limit = {
    global = { requests_per_window = 5, window_secs = 60, key_header = key_header },
  }
end

local api = rover.server { log_level = "info", workers = 2, rate_limit = rate_limit }

local shared = rover.shared

-- Counts every request that reaches middleware.
function api.before.count(ctx)
  shared:incr("middleware_runs", 1, 0)
end

function api.get(ctx) return "root" end
function api.worker.get(ctx) return { worker = rover.worker.id } end
function api.middleware_runs.get(ctx)
  return { runs = shared:get("middleware_runs") or 0, worker = rover.worker.id }
end

function api.login.get(ctx) return "login" end
function api.login.post(ctx) return "login post" end
function api.other.get(ctx) return "other" end
function api.loose.get(ctx) return "loose" end
function api.users.p_id.get(ctx) return "user " .. ctx:params().id end
function api.users.p_id.posts.get(ctx) return "posts of " .. ctx:params().id end
function api.admin.a.get(ctx) return "admin a" end
function api.admin.b.c.get(ctx) return "admin b c" end
function api.administrator.get(ctx) return "administrator" end

return api
