-- Tasks and intervals started at load time run in every worker
-- (runtime-modules.md §6). Used by test_async.py.
local api = rover.server { log_level = "info", workers = 2 }

local shared = rover.shared
local id = rover.worker.id

rover.spawn(function()
  shared:incr("load_spawn:started", 1, 0)
  rover.delay(10)
  shared:incr("load_spawn:done", 1, 0)
  shared:set("load_spawn:worker" .. id, true)
end)
rover.interval(20, function() shared:incr("load_interval:worker" .. id, 1, 0) end)

local function snapshot()
  return {
    started = shared:get("load_spawn:started") or 0,
    done = shared:get("load_spawn:done") or 0,
    workers = { shared:get("load_spawn:worker1") or false, shared:get("load_spawn:worker2") or false },
    ticks = { shared:get("load_interval:worker1") or 0, shared:get("load_interval:worker2") or 0 },
  }
end

-- GET /load_tasks: waits (polling, at most ~5 s) until both workers' tasks
-- finished and both intervals ticked twice, then reports.
function api.load_tasks.get(ctx)
  for _ = 1, 500 do
    local s = snapshot()
    if s.done >= 2 and s.ticks[1] >= 2 and s.ticks[2] >= 2 then break end
    rover.delay(10)
  end
  return snapshot()
end

return api
