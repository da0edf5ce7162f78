-- The request context (lua-api.md §6; request id: server-features.md §3).
-- Used by test_context.py. One worker so that module-level state is shared
-- by all requests of the test (the stale-ctx test also uses one connection).
local api = rover.server { log_level = "info", workers = 1 }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

function api.info.get(ctx)
  return api.json({
    method = ctx.method,
    path = ctx.path,
    client_ip = ctx.client_ip,
    ip = ctx.ip,
    proto = ctx.proto,
    client_proto = ctx.client_proto,
  }):header("X-Method", ctx.method):header("X-Path", ctx.path)
end
function api.info.post(ctx) return { method = ctx.method } end
function api.info.p_rest.get(ctx) return { path = ctx.path, rest = ctx:params().rest } end

-- Headers -------------------------------------------------------------------

function api.headers.get(ctx)
  local h = ctx:headers()
  local copy = {}
  for k, v in pairs(h) do copy[k] = v end
  return {
    names = sorted_keys(h),
    all = copy,
    lookups = {
      lower = h["user-agent"],
      mixed = h["User-Agent"],
      upper = h["USER-AGENT"],
      dot = h.Authorization,
      auth_upper = h["AUTHORIZATION"],
    },
  }
end

-- Returns one header value verbatim as the body (to check bytes exactly).
function api.header.p_name.get(ctx)
  local v = ctx:headers()[ctx:params().name]
  if v == nil then return api.text:status(404, "absent") end
  return api.raw(v)
end

-- Query and params ------------------------------------------------------------

function api.query.get(ctx) return ctx:query() end
function api.params.p_a.x.p_b.get(ctx) return ctx:params() end
function api.noparams.get(ctx)
  local p = ctx:params()
  return { type = type(p), count = #sorted_keys(p) }
end

function api.fresh.p_x.get(ctx)
  local h1, h2 = ctx:headers(), ctx:headers()
  local q1, q2 = ctx:query(), ctx:query()
  local p1, p2 = ctx:params(), ctx:params()
  h1.host = "modified"
  h1["x-added"] = "added"
  q1.x = "modified"
  p1.x = "modified"
  return {
    headers_new = h1 ~= h2,
    query_new = q1 ~= q2,
    params_new = p1 ~= p2,
    host = h2.host,
    added = h2["x-added"] == nil,
    qx = q2.x,
    px = p2.x,
  }
end

-- Body ------------------------------------------------------------------------

function api.body.as_text.post(ctx) return api.raw(ctx:body():text()) end
function api.body.as_string.post(ctx) return api.raw(ctx:body():as_string()) end
function api.body.length.post(ctx) return #ctx:body():text() end
function api.body.bytes.post(ctx) return ctx:body():bytes() end
function api.body.as_json.post(ctx)
  local v = ctx:body():json()
  return { type = type(v), value = v }
end
function api.body.as_raw.post(ctx)
  local v = ctx:body():raw()
  return { type = type(v), value = v }
end
-- ctx:body() on a GET request (with or without a body).
function api.body.as_text.get(ctx) return api.raw(ctx:body():text()) end

function api.body.expect.post(ctx)
  local g = rover.guard
  local v = ctx:body():expect({
    name = g:string():required(),
    count = g:integer():default(1),
  })
  return v
end

function api.body.twice.post(ctx)
  local b = ctx:body()
  local t1 = b:json()
  local t2 = b:json()
  t1.a = "changed"
  local t3 = ctx:body():json()
  return { same = t1 == t2, a2 = t2.a, a3 = t3.a }
end

-- Request errors caught with pcall: the handler decides.
function api.body.caught.post(ctx)
  local ok, err = pcall(function() return ctx:body():json() end)
  if ok then return { ok = true } end
  return {
    ok = false,
    status = err.status,
    message = err.message,
    tostring = tostring(err),
  }
end

-- Stale context ---------------------------------------------------------------

local saved_ctx
function api.stale.save.get(ctx)
  saved_ctx = ctx
  return "saved"
end
function api.stale.use.get(ctx)
  local results = {}
  local function try(name, fn)
    local ok, err = pcall(fn)
    results[name] = ok and "no error" or tostring(err)
  end
  try("headers", function() return saved_ctx:headers() end)
  try("query", function() return saved_ctx:query() end)
  try("body", function() return saved_ctx:body() end)
  try("params", function() return saved_ctx:params() end)
  try("method", function() return saved_ctx.method end)
  try("path", function() return saved_ctx.path end)
  return results
end

-- Request-scoped storage -------------------------------------------------------

function api.store.get(ctx)
  ctx:set("name", "value")
  ctx:set("tbl", { x = 1 })
  ctx:set("name2", 2)
  ctx:set("name2", 3)
  local t = ctx:get("tbl")
  return {
    name = ctx:get("name"),
    x = t.x,
    overwritten = ctx:get("name2"),
    missing_is_nil = ctx:get("missing") == nil,
  }
end
-- A new request does not see the values of an earlier one.
function api.store.fresh.get(ctx)
  return { missing_is_nil = ctx:get("name") == nil }
end

-- Request id --------------------------------------------------------------------

function api.reqid.get(ctx)
  local a, b = ctx:request_id(), ctx:request_id()
  if a ~= b then return api.text:status(500, "request id changed") end
  return api.raw(a)
end

return api
