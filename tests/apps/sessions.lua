-- rover.session (runtime-modules.md §3) on real requests, two workers: every
-- worker loads this file and opens the stores, which are shared by cookie
-- name. Used by test_sessions.py.
local api = rover.server { log_level = "info", workers = 2 }
local cookie = rover.cookie

local sessions = rover.session.new { cookie_name = "sid", ttl = 1800 }
local defaults = rover.session.new()
local full = rover.session.new {
  cookie_name = "full_sid", ttl = 120, secure = true, http_only = false,
  same_site = "Strict", domain = "example.com", path = "/app",
}
-- Fractional ttl: expiry is observable in well under a second.
local short = rover.session.new { cookie_name = "short_sid", ttl = 0.5 }

local function id_from(ctx, store)
  return cookie.parse(ctx:headers().cookie)[store:cookie_name()]
end

local function current(ctx, store) return store:get(id_from(ctx, store)) end

local function info(s)
  local visits = s:get("visits")
  return {
    id = s:id(),
    account = s:get("account") and s:get("account"):as_string() or nil,
    visits = visits and visits:as_integer() or 0,
    worker = rover.worker.id,
    created_at = s:created_at(),
    last_accessed = s:last_accessed(),
  }
end

-- The spec's example.
function api.signin.post(ctx)
  local s = sessions:create()
  s:set("account", "acct-9")
  s:save()
  return api.json { ok = true, id = s:id(), worker = rover.worker.id,
    headers = { ["Set-Cookie"] = s:cookie() } }
end

function api.me.get(ctx)
  local s = current(ctx, sessions)
  if not s then return api:error(401, "no session") end
  return info(s)
end

-- Counts visits in the session; ?nosave leaves the change in the handle only.
function api.visit.post(ctx)
  local s = current(ctx, sessions)
  if not s then return api:error(401, "no session") end
  local v = s:get("visits")
  s:set("visits", (v and v:as_integer() or 0) + 1)
  if not ctx:query().nosave then s:save() end
  return info(s)
end

-- Moves the session to a new id (after a privilege change, say).
function api.elevate.post(ctx)
  local s = current(ctx, sessions)
  if not s then return api:error(401, "no session") end
  local old = s:id()
  s:set("role", "admin")
  local moved = s:regenerate()
  return api.json { moved = moved, old = old, id = s:id(), state = s:state(),
    role = s:get("role"):as_string(), headers = { ["Set-Cookie"] = s:cookie() } }
end

function api.signout.post(ctx)
  local s = current(ctx, sessions)
  if not s then return api:error(401, "no session") end
  local destroyed = s:destroy()
  return api.json { destroyed = destroyed, state = s:state(), valid = s:is_valid(),
    exists = sessions:exists(s:id()),
    headers = { ["Set-Cookie"] = cookie.delete(sessions:cookie_name()) } }
end

-- get_or_create with whatever id the client sent.
function api.visitor.get(ctx)
  local sent = id_from(ctx, sessions)
  local s = sessions:get_or_create(sent)
  return api.json { id = s:id(), sent = sent, adopted = s:id() == sent,
    sent_exists = sent ~= nil and sessions:exists(sent),
    headers = { ["Set-Cookie"] = s:cookie() } }
end

-- Which worker answered, and whether it sees the session (not an access).
function api.probe.get(ctx)
  return { exists = sessions:exists(id_from(ctx, sessions)), worker = rover.worker.id }
end

function api.remove.p_id.post(ctx)
  return { deleted = sessions:delete(ctx:params().id) }
end

-- Cookies of the store with defaults and of the one with every option.
function api.cookie.default.get(ctx)
  local s = defaults:create()
  return api.json { id = s:id(), name = defaults:cookie_name(),
    headers = { ["Set-Cookie"] = s:cookie() } }
end

function api.cookie.full.get(ctx)
  local s = full:create()
  return api.json { id = s:id(), headers = { ["Set-Cookie"] = s:cookie() } }
end

-- The short-lived store: create, read (an access: slides the expiry), and
-- probe (exists: not an access).
function api.short.post(ctx)
  local s = short:create()
  s:set("k", "v")
  s:save()
  return api.json { id = s:id(), headers = { ["Set-Cookie"] = s:cookie() } }
end

function api.short.get(ctx)
  local s = current(ctx, short)
  return { alive = s ~= nil, value = s and s:get("k"):as_string() or nil }
end

function api.short.exists.get(ctx)
  return { exists = short:exists(id_from(ctx, short)) }
end

-- Storing a table is an error: uncaught it is a 500 at this line, caught
-- its message is returned.
function api.bad_set.get(ctx)
  local s = sessions:create()
  if ctx:query().caught then
    local ok, err = pcall(s.set, s, "t", {})
    return { ok = ok, error = tostring(err) }
  end
  s:set("t", { 1, 2 })
  return { unreachable = true }
end

return api
