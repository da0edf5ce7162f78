-- compress = false (server-features.md §9).
-- Used by test_compression.py; routes in compression_common.lua.
local api = rover.server { log_level = "info", workers = 1, compress = false }
return require("compression_common")(api)
