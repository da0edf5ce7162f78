-- Compression restricted to gzip (server-features.md §9).
-- Used by test_compression.py; routes in compression_common.lua.
local api = rover.server { log_level = "info", workers = 1,
  compress = { algorithms = { "gzip" } } }
return require("compression_common")(api)
