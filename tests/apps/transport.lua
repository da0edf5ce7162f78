-- HTTP/1.1 transport (lua-api.md §11.1, §11.3; body limit server-features.md §7).
-- Used by test_transport.py.
local api = rover.server { log_level = "info", workers = 1, body_size_limit = 1024 }

function api.get(ctx) return "root" end
function api.n.p_n.get(ctx) return "n=" .. ctx:params().n end
function api.path.get(ctx) return ctx.path .. "?" .. (ctx:query().x or "") end

-- Echoes the body (or "<none>") with its length in a header.
local function echo(ctx)
  local ok, body = pcall(function() return ctx:body():text() end)
  if not ok then body = "<none>" end
  return api.raw(body):header("X-Body-Length", #body):header("X-Method", ctx.method)
end
api.echo.get = echo
api.echo.post = echo
api.echo.put = echo
api.echo.delete = echo

function api.empty.get(ctx) return nil end
function api.missing_route_helper.get(ctx) return "x" end

return api
