-- Copied from the project's shared reference configs ../shared/bench/wrk/get.lua
-- (the peer-benchmark method); keep the two in step when either changes.
-- GET workload: static request (no request() function, so wrk pre-builds it and
-- the script costs nothing on the hot path).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
wrk.method = "GET"
