-- rover.delay, rover.spawn and rover.interval (runtime-modules.md §6) over the
-- task natives of lua/tasks.cpp. Called with (native, message_of); returns
-- the three functions.
local native, message_of = ...
local type, select, unpack, pcall, error, huge = type, select, unpack, pcall, error, math.huge
local spawn, delay, now, log_error = native.spawn, native.delay, native.now_ms, native.log_error

local M = { delay = delay }

function M.spawn(fn, ...)
  if type(fn) ~= "function" then error("rover.spawn: fn must be a function", 2) end
  local n = select("#", ...)
  if n == 0 then return spawn(fn) end
  local args = { ... }
  return spawn(function() return fn(unpack(args, 1, n)) end)
end

-- fn runs at once, then at start + k * ms; a call never overlaps the next
-- (the next tick is planned when it returns) and ticks it overran are skipped.
function M.interval(ms, fn)
  if type(ms) ~= "number" or not (ms > 0) or ms == huge then
    error("rover.interval: ms must be a number > 0", 2)
  end
  if type(fn) ~= "function" then error("rover.interval: fn must be a function", 2) end
  return spawn(function()
    local start = now()
    while true do
      local ok, err = pcall(fn)
      if not ok then log_error("rover.interval callback failed: " .. message_of(err)) end
      local t = now()
      local next_tick = start + ms
      if next_tick <= t then next_tick = t + ms - (t - start) % ms end
      delay(next_tick - t)
      start = next_tick
    end
  end, "rover.interval task")
end

return M
