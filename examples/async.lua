-- Waiting without blocking: rover.delay, rover.spawn, rover.interval
-- (runtime-modules.md §6).
--
-- A handler that calls rover.delay suspends only itself: the worker serves
-- other connections meanwhile and resumes the handler when the timer fires.
-- Tasks started with rover.spawn / rover.interval run on the worker next to
-- the requests; started at load time they run in every worker.
--
-- Run:   rover examples/async.lua
-- Try:   curl http://localhost:4242/slow?ms=500           # answers after 500 ms
--        for i in $(seq 50); do curl -s 'localhost:4242/slow?ms=1000' & done; wait
--                                                        # 50 at once: ~1 s in all, not 50
--        curl http://localhost:4242/ticks                  # the interval's count
--        curl -X POST http://localhost:4242/ticks/stop     # cancel the interval
--        curl -X POST http://localhost:4242/jobs           # background work; answers at once
--        curl http://localhost:4242/jobs

local api = rover.server { log_level = "info", workers = 1,
                           timeouts = { handler = 10 } }   -- 500 after 10 s (default 30)

function api.slow.get(ctx)
  local ms = tonumber(ctx:query().ms) or 200
  rover.delay(ms)                     -- other requests run while this one waits
  return { waited_ms = ms }
end

-- An interval started at load time: calls never overlap, missed ticks are skipped.
local ticks = 0
local ticker = rover.interval(1000, function() ticks = ticks + 1 end)

function api.ticks.get(ctx)
  return { ticks = ticks }
end

function api.ticks.stop.post(ctx)
  ticker:cancel()
  return { stopped = true, ticks = ticks }
end

-- A background job per POST: the response does not wait for it.
local done = {}
function api.jobs.post(ctx)
  local id = #done + 1
  done[id] = false
  rover.spawn(function(n)
    rover.delay(2000)                 -- e.g. a slow call to another service
    done[n] = true
  end, id)
  return api.json:status(202, { job = id })
end

function api.jobs.get(ctx)
  return { jobs = done }
end

return api
