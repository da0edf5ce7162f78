-- One configured origin, spelled in mixed case, without credentials, with
-- the default methods and headers (server-features.md §6).
-- Used by test_headers.py.
local api = rover.server {
  log_level = "info", workers = 1, compress = { enabled = false },
  cors_origin = "https://App.Example.com",
}
return require("headers_cors_common")(api)
