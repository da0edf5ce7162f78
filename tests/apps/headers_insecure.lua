-- Security headers with allow_insecure_security_header_overrides = true
-- (server-features.md §5): an app value is kept whatever it is.
-- Used by test_headers.py.
local api = rover.server {
  log_level = "info", workers = 1, allow_insecure_security_header_overrides = true,
}

function api.sec.get(ctx)
  local q = ctx:query()
  local r = api.text("sec")
  if q.xcto then r:header("X-Content-Type-Options", q.xcto) end
  if q.xfo then r:header("X-Frame-Options", q.xfo) end
  if q.rp then r:header("Referrer-Policy", q.rp) end
  return r
end

return api
