-- Routes driven hundreds of times by test_jit.py, so that dispatch and the
-- handlers run as compiled JIT traces (LuaJIT compiles after ~56 calls) and
-- take their side exits: one handler whose return kind changes with the
-- request, ctx.method alternating GET/HEAD, params, errors on every 7th call,
-- and a ctx kept from a compiled request used by a later one.
local api = rover.server { workers = 1 }

-- /kind/<n>: the return kind cycles with n
function api.kind.p_n.get(ctx)
  local n = tonumber(ctx:params().n)
  local k = n % 6
  if k == 0 then return api.json { n = n, method = ctx.method } end
  if k == 1 then return { n = n } end
  if k == 2 then return "text " .. n end
  if k == 3 then return nil end
  if k == 4 then return api.json:status(201, { created = n }) end
  return api.text("t" .. n):header("X-N", tostring(n))
end

-- /fail/<n>: raises on every 7th n, with a kept ctx
local kept
function api.fail.p_n.get(ctx)
  local n = tonumber(ctx:params().n)
  if n % 7 == 0 then
    kept = ctx
    error("fail " .. n)
  end
  return { n = n, method = ctx.method }
end

-- /kept: uses the ctx kept by the last failing request
function api.kept.get(ctx)
  local ok, err = pcall(function() return kept and kept.method end)
  return { ok = ok, err = not ok and tostring(err):match("request context is no longer valid") or nil }
end

return api
