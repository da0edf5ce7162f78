-- The handler time limit (runtime-modules.md §6) with a short
-- timeouts.handler. Used by test_async.py. One worker: module-level state is
-- seen by every request.
local api = rover.server {
  log_level = "info", workers = 1,
  timeouts = { handler = 0.3 },
}

function api.plain.get(ctx) return "plain" end

-- GET /slow/<tag>?ms=N: waits N ms (longer than the limit); the code after
-- the wait must never run.
local after = {}
function api.slow.p_tag.get(ctx)
  local tag = ctx:params().tag
  after[tag] = "waiting"
  print("SLOW START " .. tag)
  rover.delay(tonumber(ctx:query().ms))
  after[tag] = "resumed"
  print("SLOW RESUMED " .. tag)
  return "resumed"
end

-- GET /check_later/<tag>?ms=N: a background task (no time limit) waits N ms,
-- then prints what the slow handler of <tag> recorded.
function api.check_later.p_tag.get(ctx)
  local tag = ctx:params().tag
  local ms = tonumber(ctx:query().ms)
  rover.spawn(function()
    rover.delay(ms)
    print("CHECK " .. tag .. " " .. tostring(after[tag]))
  end)
  return "checking"
end

return api
