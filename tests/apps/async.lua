-- Suspension, rover.delay / spawn / interval (runtime-modules.md "Suspension"
-- and §6), stale ctx after a wait, drain with waiting handlers
-- (server-features.md §15). Used by test_async.py.
--
-- One worker, so that module-level state is seen by every request and the
-- 200 concurrent requests all wait in the same Lua state. Tests use their own
-- tags so that they never share state.
local api = rover.server {
  log_level = "info", workers = 1,
  drain_timeout_secs = tonumber(os.getenv("DRAIN_TIMEOUT_SECS") or "30"),
}

local shared = rover.shared

function api.plain.get(ctx) return "plain" end

-- In-flight accounting ----------------------------------------------------------

local inflight, max_inflight = {}, {}

local function enter(tag)
  inflight[tag] = (inflight[tag] or 0) + 1
  if inflight[tag] > (max_inflight[tag] or 0) then max_inflight[tag] = inflight[tag] end
end
local function leave(tag) inflight[tag] = inflight[tag] - 1 end

function api.inflight.p_tag.get(ctx)
  local tag = ctx:params().tag
  return { inflight = inflight[tag] or 0, max = max_inflight[tag] or 0 }
end

-- GET /overlap/<tag>?n=N: counts itself in, waits (polling with rover.delay,
-- at most ~10 s) until N requests of the tag are in flight at once, then
-- waits 200 ms more and counts itself out. Only handlers that suspend can
-- all be in flight on one worker.
function api.overlap.p_tag.get(ctx)
  local tag, n = ctx:params().tag, tonumber(ctx:query().n)
  enter(tag)
  for _ = 1, 2000 do
    if (max_inflight[tag] or 0) >= n then break end
    rover.delay(5)
  end
  rover.delay(200)
  leave(tag)
  return { max = max_inflight[tag] }
end

-- GET /hold/<tag>: in flight until GET /release/<tag> (polls every 10 ms).
local released = {}
function api.hold.p_tag.get(ctx)
  local tag = ctx:params().tag
  enter(tag)
  print("HOLD " .. tag)
  while not released[tag] do rover.delay(10) end
  leave(tag)
  return "released " .. tag
end
function api.release.p_tag.get(ctx)
  released[ctx:params().tag] = true
  return "ok"
end

-- GET /wait/<ms>: the handler's own ctx is still usable after its wait.
function api.wait.p_ms.get(ctx)
  local ms = tonumber(ctx:params().ms)
  rover.delay(ms)
  return "waited " .. ctx:params().ms .. " " .. ctx.path
end

-- GET /seq/<tag>/<name>?ms=N records when it starts and ends;
-- GET /seq_log/<tag> returns the record.
local seq = {}
function api.seq.p_tag.p_name.get(ctx)
  local p = ctx:params()
  local log = seq[p.tag] or {}
  seq[p.tag] = log
  log[#log + 1] = "start " .. p.name
  rover.delay(tonumber(ctx:query().ms))
  log[#log + 1] = "end " .. p.name
  return p.name
end
function api.seq_log.p_tag.get(ctx) return seq[ctx:params().tag] or {} end

-- Abandoned requests ----------------------------------------------------------

-- GET /abandon/<tag>?ms=N: the client goes away during the wait; the code
-- after it must never run.
local abandon = {}
function api.abandon.p_tag.get(ctx)
  local tag = ctx:params().tag
  abandon[tag] = "started"
  print("ABANDON START " .. tag)
  rover.delay(tonumber(ctx:query().ms))
  abandon[tag] = "resumed"
  print("ABANDON RESUMED " .. tag)
  return "resumed"
end
-- GET /abandon_state/<tag>?ms=N: waits N ms (longer than the abandoned
-- request's wait, so its timer would have fired first), then reports.
function api.abandon_state.p_tag.get(ctx)
  rover.delay(tonumber(ctx:query().ms))
  return { state = abandon[ctx:params().tag] or "none" }
end

-- Background tasks ------------------------------------------------------------

-- GET /read_after/<key>?ms=N: waits N ms, then reads rover.shared.
function api.read_after.p_key.get(ctx)
  rover.delay(tonumber(ctx:query().ms))
  return { value = shared:get(ctx:params().key) or "nil" }
end

-- GET /spawn/<tag>?ms=N: a task (with arguments) that marks its start,
-- waits N ms and marks its end; the response shows what was seen when spawn
-- returned.
function api.spawn.p_tag.get(ctx)
  local tag = ctx:params().tag
  local h = rover.spawn(function(prefix, ms, extra)
    shared:set(prefix .. ":started", extra)
    rover.delay(ms)
    shared:set(prefix .. ":done", "done")
  end, "spawn:" .. tag, tonumber(ctx:query().ms), "with args")
  return {
    handle = type(h),
    started = shared:get("spawn:" .. tag .. ":started") or "nil",
    done = shared:get("spawn:" .. tag .. ":done") or "nil",
  }
end

-- GET /spawn_cancel/<tag>: a task cancelled during its wait never goes on.
function api.spawn_cancel.p_tag.get(ctx)
  local key = "spawn_cancel:" .. ctx:params().tag
  local h = rover.spawn(function()
    shared:set(key .. ":started", "yes")
    rover.delay(50)
    shared:set(key .. ":done", "ran")
  end)
  h:cancel()
  return { started = shared:get(key .. ":started") or "nil" }
end

-- GET /spawn_error/<tag>: tasks that raise before and after a wait.
function api.spawn_error.p_tag.get(ctx)
  local tag = ctx:params().tag
  rover.spawn(function() error("spawn failed at once " .. tag) end)  -- marker:spawn_now
  rover.spawn(function()
    rover.delay(10)
    error("spawn failed after a wait " .. tag)  -- marker:spawn_later
  end)
  return "spawned"
end

-- Intervals: GET /interval/<tag>?ms=N[&fail_at=K] starts one (the K-th call
-- raises); /interval_cancel/<tag> cancels it; /interval_count/<tag>?ms=N
-- reads the count, waits N ms, reads it again, waits N ms, reads it again.
local ticks, intervals = {}, {}
function api.interval.p_tag.get(ctx)
  local tag = ctx:params().tag
  local fail_at = tonumber(ctx:query().fail_at)
  ticks[tag] = 0
  intervals[tag] = rover.interval(tonumber(ctx:query().ms), function()
    ticks[tag] = ticks[tag] + 1
    if ticks[tag] == fail_at then
      print("INTERVAL FAILING " .. tag)
      error("interval failed " .. tag)  -- marker:interval_fail
    end
  end)
  return { count = ticks[tag], handle = type(intervals[tag]) }
end
function api.interval_cancel.p_tag.get(ctx)
  local tag = ctx:params().tag
  intervals[tag]:cancel()
  return { count = ticks[tag] }
end
function api.interval_count.p_tag.get(ctx)
  local tag, ms = ctx:params().tag, tonumber(ctx:query().ms)
  local counts = { ticks[tag] }
  rover.delay(ms)
  counts[2] = ticks[tag]
  rover.delay(ms)
  counts[3] = ticks[tag]
  return counts
end

-- Stale ctx -------------------------------------------------------------------

local kept
function api.keep.get(ctx)
  kept = ctx
  return "kept"
end
local function try(fn)
  local ok, err = pcall(fn)
  return ok and ("ok: " .. tostring(err)) or tostring(err)
end
-- GET /use_kept: waits, then uses the ctx kept by GET /keep.
function api.use_kept.get(ctx)
  rover.delay(10)
  return {
    field = try(function() return kept.method end),
    method = try(function() return kept:params() end),
    own = ctx.path,
  }
end

-- GET /spawn_ctx/<tag>: a task keeps the request's ctx and uses it while the
-- request runs and again after a wait that outlives the request.
function api.spawn_ctx.p_tag.get(ctx)
  local key = "spawn_ctx:" .. ctx:params().tag
  rover.spawn(function()
    shared:set(key .. ":during", try(function() return ctx.path end))
    rover.delay(50)
    shared:set(key .. ":after", try(function() return ctx.path end))
  end)
  return "ok"
end

-- Errors ----------------------------------------------------------------------

function api.delay_arg.p_case.get(ctx)
  local args = {
    negative = -1, ["nil"] = nil, string = "soon", nan = 0 / 0, huge = math.huge,
    table = {},
  }
  rover.delay(args[ctx:params().case])  -- marker:delay_arg
  return "unexpected"
end
function api.delay_zero.get(ctx)
  rover.delay(0)
  return "zero ok"
end
-- rover.delay inside a coroutine the app made itself cannot reach the loop.
function api.delay_in_coroutine.get(ctx)
  local ok, err = pcall(coroutine.wrap(function() rover.delay(1) end))
  return { ok = ok, err = tostring(err) }
end
function api.fail_after.p_ms.get(ctx)
  rover.delay(tonumber(ctx:params().ms))
  error("failed after a wait")  -- marker:fail_after
end

-- Drain -----------------------------------------------------------------------

-- GET /drain_wait/<tag>?ms=N: in flight until the drain starts (the
-- shutdown hook sets the flag), then waits N ms more, so that it is
-- certainly suspended in rover.delay during the drain.
local draining = false
function api.on_shutdown()
  draining = true
  print("SHUTDOWN HOOK ran")
end
function api.drain_wait.p_tag.get(ctx)
  local tag = ctx:params().tag
  print("DRAIN WAIT " .. tag)
  while not draining do rover.delay(10) end
  rover.delay(tonumber(ctx:query().ms))
  print("DRAIN RESUMED " .. tag)
  return "drained " .. tag
end

return api
