-- An explicit type list replacing the default set, and a larger min_size
-- (server-features.md §9).
-- Used by test_compression.py; routes in compression_common.lua.
local api = rover.server { log_level = "info", workers = 1,
  compress = { enabled = true, min_size = 2048, types = { "application/json", "text/csv" } } }
return require("compression_common")(api)
