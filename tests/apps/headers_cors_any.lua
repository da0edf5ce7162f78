-- cors_origin = "*" (server-features.md §6). Used by test_headers.py.
local api = rover.server {
  log_level = "info", workers = 1, compress = { enabled = false }, cors_origin = "*",
}
return require("headers_cors_common")(api)
