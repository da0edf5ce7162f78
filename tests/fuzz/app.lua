-- The app fuzz_http serves: a few routes covering each kind of handler work
-- (static text, path params, query, JSON body, guard, errors, HEAD/405/OPTIONS).
-- No response body starts with "HTTP/": that is how fuzz_http tells a HEAD
-- response (no body) from the next response.
local api = rover.server { log_level = "nope", workers = 1, body_size_limit = 2048,
                           -- the pipeline's stateless stages and filters (server-features.md §0.1)
                           cors_origin = { "https://a.example" }, trusted_proxies = { "127.0.0.0/8" },
                           docs = true, management_token = "t" }
local g = rover.guard

function api.get(ctx) return "root" end
function api.items.get(ctx)  -- a response header from the query: CR/LF must never get through
  local q = ctx:query()
  return api.json({ items = { "a", "b" }, q = q }):header(q.name or "X-Echo", q.value or "none")
end
function api.items.p_id.get(ctx) return { id = ctx:params().id } end
function api.items.p_id.put(ctx) return api.json:status(201, { id = ctx:params().id }) end
function api.users.p_user.posts.p_post.delete(ctx)
  local p = ctx:params()
  return api.text("deleted " .. p.user .. "/" .. p.post)
end
function api.echo.post(ctx)
  return { v = ctx:body():json(), type = ctx:headers()["content-type"] }
end
function api.plain.post(ctx) return "plain " .. ctx:body():text() end
function api.members.post(ctx)
  return ctx:body():expect { email = g:string():required(), age = g:integer() }
end
function api.fail.get(ctx) error("boom") end
function api.whoami.get(ctx) return { ip = ctx.client_ip, proto = ctx.proto, h = ctx:headers() } end
function api.whoami.before(ctx)
  if ctx:headers()["x-deny"] then return api:error(403, "denied") end
end
function api.fail.request.get(ctx) return api:error(418, "teapot") end

return api
