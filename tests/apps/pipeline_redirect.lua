-- https_redirect (server-features.md §14, with §3 for ctx.proto behind a
-- trusted proxy). Used by test_pipeline.py.
--   REDIRECT_TRUSTED=1 trusts 127.0.0.0/8 (the test client); otherwise no proxy is trusted.
local api = rover.server {
  log_level = "info", workers = 1, https_redirect = true,
  trusted_proxies = os.getenv("REDIRECT_TRUSTED") == "1" and { "127.0.0.0/8" } or {},
}

function api.get(ctx) return "root" end
function api.page.get(ctx) return "page " .. ctx.proto end
function api.page.post(ctx) return "posted" end

return api
