-- Copied from the project's shared reference configs ../shared/bench/wrk/pipeline.lua
-- (the peer-benchmark method); keep the two in step when either changes.
-- Shared helper for pipelined workloads (wrk's pipeline pattern): the script
-- that dofile()s this sets `pipeline_depth` first. init builds one string of
-- pipeline_depth copies of the request for the URL's path (wrk.format() with no
-- arguments uses wrk.method, wrk.path, wrk.headers, wrk.body), and request()
-- returns it, so each write carries pipeline_depth requests. wrk counts the
-- requests in that string and sends the next batch only after all of their
-- responses arrived: req/s counts responses, but latency is recorded once per
-- batch (first request sent -> last response received).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
local batch
init = function(args)
  local r = {}
  for i = 1, pipeline_depth do r[i] = wrk.format() end
  batch = table.concat(r)
end
request = function() return batch end
