-- Transport hardening (lua-api.md §11.1–§11.3, server-features.md §7) with
-- short timeouts so that timeout tests finish quickly. Used by test_hardening.py.
-- One worker: a stalled or slow connection must not delay the others.
local api = rover.server {
  log_level = "info", workers = 1, body_size_limit = 131072,
  timeouts = { head = 1, idle = 1, body = 1, output = 1, linger = 1 },
}

function api.get(ctx) return "ok" end
function api.n.p_n.get(ctx) return "n=" .. ctx:params().n end

-- Echoes the body with its length and the number of distinct header names.
local function echo(ctx)
  local ok, body = pcall(function() return ctx:body():text() end)
  if not ok then body = "" end
  local names = 0
  for _ in pairs(ctx:headers()) do names = names + 1 end
  return api.raw(body):header("X-Body-Length", #body):header("X-Header-Names", names)
end
api.echo.get = echo
api.echo.post = echo
api.echo.put = echo

-- A large response (for clients that stop reading or reset mid-response).
local BIG = string.rep("0123456789abcdef", 256 * 1024)  -- 4 MiB
function api.big.get(ctx) return api.raw(BIG) end

-- Handler faults: before and after reading the body.
function api.fail.early.post(ctx) error("failed early") end
function api.fail.late.post(ctx)
  local n = #ctx:body():text()
  error("failed after " .. n .. " bytes")
end
function api.fail.get(ctx) error("failed on GET") end

-- Side effects that tell whether a request was executed.
function api.hit.p_key.get(ctx)
  return tostring(rover.shared:incr("hit:" .. ctx:params().key, 1, 0))
end
function api.count.p_key.get(ctx)
  return tostring(rover.shared:get("hit:" .. ctx:params().key) or 0)
end

return api
