-- No compress key at all: compression is on with its defaults
-- (server-features.md §9, enabled = true).
-- Used by test_compression.py; routes in compression_common.lua.
local api = rover.server { log_level = "info", workers = 1 }
return require("compression_common")(api)
