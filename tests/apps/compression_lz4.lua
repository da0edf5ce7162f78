-- An unsupported algorithm: startup error (server-features.md §9).
-- Used by test_compression.py; never serves.
local api = rover.server { log_level = "info", workers = 1,
  compress = { algorithms = { "gzip", "lz4" } } }
function api.get() return "never served" end
return api
