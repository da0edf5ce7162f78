-- security_headers = false (with the strict-mode opt-out flag,
-- server-features.md §5, §14): none of the three headers is added.
-- Used by test_headers.py.
local api = rover.server {
  log_level = "info", workers = 1, body_size_limit = 64,
  security_headers = false, allow_insecure_security_header_overrides = true,
}

function api.plain.get(ctx) return "plain" end
function api.boom.get(ctx) error("boom") end
function api.own.get(ctx)
  return api.text("own"):header("X-Frame-Options", "SAMEORIGIN")
end

return api
