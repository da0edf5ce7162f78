-- Copied from the project's shared reference configs ../shared/bench/wrk/get_p16.lua
-- (the peer-benchmark method); keep the two in step when either changes.
-- GET workload, 16 requests pipelined per write (workload get_echo_p16).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
wrk.method = "GET"
pipeline_depth = 16
dofile(dir .. "pipeline.lua")
