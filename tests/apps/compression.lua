-- Compression with the defaults (server-features.md §9): br, gzip, deflate
-- in that order, min_size 1024, the default type set.
-- Used by test_compression.py; routes in compression_common.lua.
local api = rover.server { log_level = "info", workers = 1, compress = true }
return require("compression_common")(api)
