-- cors_origin = "*" with credentials (and the strict-mode opt-out):
-- Access-Control-Allow-Origin stays "*" (server-features.md §6).
-- Used by test_headers.py.
local api = rover.server {
  log_level = "info", workers = 1, compress = { enabled = false }, cors_origin = "*",
  cors_credentials = true, allow_wildcard_cors_credentials = true,
}
return require("headers_cors_common")(api)
