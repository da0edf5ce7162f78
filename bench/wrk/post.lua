-- Copied from the project's shared reference configs ../shared/bench/wrk/post.lua
-- (the peer-benchmark method); keep the two in step when either changes.
-- POST /echo workload: small JSON body, static request (pre-built by wrk).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
wrk.method = "POST"
wrk.body = '{"name":"bench","value":42}'
wrk.headers["Content-Type"] = "application/json"
