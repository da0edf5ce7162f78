-- rover.cookie (runtime-modules.md §2) on real responses and requests.
-- Used by test_cookies.py.
local api = rover.server { log_level = "info", workers = 1 }
local cookie = rover.cookie

-- The spec's example, sent through api.json's headers.
function api.theme.get(ctx)
  local c = cookie.set("theme", "dark"):max_age(86400):path("/"):same_site("strict"):build()
  return api.json { ok = true, headers = { ["Set-Cookie"] = c } }
end

-- Every attribute, called in reverse of the order they are written in.
function api.full.get(ctx)
  local c = cookie.set("sid", "abc123"):same_site("none"):http_only():secure()
    :expires("Wed, 21 Oct 2037 07:28:00 GMT"):max_age(3600):domain("example.com"):path("/app")
  return api.text("full"):header("Set-Cookie", c:build())
end

-- Several Set-Cookie lines: an array value, one field line each.
function api.many.get(ctx)
  return api.redirect("/home"):header("Set-Cookie", {
    cookie.set("a", "1"):build(),
    cookie.set("b", "2"):http_only():build(),
    cookie.delete("old", { path = "/app", domain = "example.com" }),
  })
end

function api.logout.post(ctx)
  return api.no_content():header("Set-Cookie", cookie.delete("sid"))
end

-- Any cookie from the query, with the given attributes; a bad one is a 400
-- carrying the error text (caught), or a 500 when left uncaught (?raise).
function api.make.get(ctx)
  local q = ctx:query()
  local function build()
    local b = cookie.set(q.name, q.value)
    if q.path then b:path(q.path) end
    if q.max_age then b:max_age(q.max_age) end
    if q.same_site then b:same_site(q.same_site) end
    if q.secure then b:secure() end
    return b:build()
  end
  if q.raise then return api.text("built"):header("Set-Cookie", build()) end
  local ok, c = pcall(build)
  if not ok then return api.text:status(400, tostring(c)) end
  return api.text("built"):header("Set-Cookie", c)
end

-- The request's cookies, parsed.
function api.read.get(ctx)
  return api.json(cookie.parse(ctx:headers().cookie))
end

-- A Set-Cookie line (request body) parsed into its fields.
function api.inspect.post(ctx)
  local c = cookie.parse_set_cookie(ctx:body():text())
  if c == nil then return api.json { ignored = true } end
  return api.json(c)
end

-- A cookie read from the request, set again with a longer life.
function api.renew.get(ctx)
  local jar = cookie.parse(ctx:headers()["Cookie"])
  if not jar.sid then return api:error(401, "no session") end
  return api.json({ sid = jar.sid, headers = {
    ["Set-Cookie"] = cookie.set("sid", jar.sid):path("/"):max_age(7200):http_only():build(),
  } })
end

return api
