-- An array of origins with credentials and custom methods/headers
-- (server-features.md §6). Used by test_headers.py.
local api = rover.server {
  log_level = "info", workers = 1, compress = { enabled = false },
  cors_origin = { "https://a.example", "https://B.Example" },
  cors_credentials = true,
  cors_methods = "GET,POST ,  DELETE",
  cors_headers = "X-Custom-Header, content-type",
}
return require("headers_cors_common")(api)
