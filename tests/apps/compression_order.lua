-- The algorithms in reverse of the default order, so that ties go to
-- deflate first (server-features.md §9).
-- Used by test_compression.py; routes in compression_common.lua.
local api = rover.server { log_level = "info", workers = 1,
  compress = { algorithms = { "deflate", "gzip", "br" } } }
return require("compression_common")(api)
