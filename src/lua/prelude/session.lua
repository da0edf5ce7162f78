-- rover.session (runtime-modules.md §3): server-side sessions. The sessions
-- live in C++ (core/session_store.h, shared by every worker and keyed by
-- cookie_name), reached through the natives of lua/session.cpp; a session
-- handle is a Lua object holding its own copy of the data until :save().
-- Cookies are written with rover.cookie's builder, so the attribute order
-- is §2's. Called with (natives, rover.cookie); returns the module.
local native, cookie = ...
local type, error, tostring, tonumber, pairs, ipairs, next, setmetatable, getmetatable =
  type, error, tostring, tonumber, pairs, ipairs, next, setmetatable, getmetatable
local find, lower, format, floor, ceil = string.find, string.lower, string.format, math.floor,
  math.ceil
local n_store, n_create, n_get, n_save = native.store, native.create, native.get, native.save
local n_refresh, n_regenerate, n_delete = native.refresh, native.regenerate, native.delete
local n_exists, n_now = native.exists, native.now

local M = {}
local NEW = "rover.session.new: "
local MAX_TTL = 2147483647  -- seconds (68 years): Max-Age stays a plain integer
local SAME_SITE = { lax = true, strict = true, none = true }
local OPTIONS = {
  cookie_name = true, ttl = true, secure = true, http_only = true, same_site = true,
  domain = true, path = true, max_sessions = true,
}

-- RFC 9110 token characters, as rover.cookie checks names.
local function is_token(s) return type(s) == "string" and find(s, "^[%w!#$%%&'*+%-.^_`|~]+$") ~= nil end
-- An attribute value rover.cookie accepts: no ';' (it would start another
-- attribute) and no control characters.
local function is_attr(s) return type(s) == "string" and s ~= "" and not find(s, "[%z\1-\31;\127]") end
-- What the store hands out: 32 lower-case hex characters. Anything else is
-- unknown without asking the store.
local function is_id(s) return type(s) == "string" and #s == 32 and not find(s, "[^0-9a-f]") end

-- Options -----------------------------------------------------------------------

local function option(opts, name, default)
  local v = opts[name]
  if v == nil then return default end
  return v
end

-- Returns the checked configuration; errors point at new's caller.
local function configure(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error(NEW .. "options must be a table", 3) end
  for k in pairs(opts) do
    if not OPTIONS[k] then error(NEW .. "unknown option '" .. tostring(k) .. "'", 3) end
  end
  local c = {
    cookie_name = option(opts, "cookie_name", "rover_session"),
    ttl = option(opts, "ttl", 3600),
    secure = option(opts, "secure", false),
    http_only = option(opts, "http_only", true),
    same_site = option(opts, "same_site", "lax"),
    domain = opts.domain,
    path = option(opts, "path", "/"),
    max_sessions = option(opts, "max_sessions", native.default_max_sessions),
  }
  if not is_token(c.cookie_name) then
    error(NEW .. "cookie_name must be a valid cookie name (a non-empty token)", 3)
  end
  local ttl = c.ttl
  if type(ttl) ~= "number" or not (ttl > 0) or ttl > MAX_TTL then
    error(NEW .. "ttl must be a positive number of seconds (at most " .. MAX_TTL .. ")", 3)
  end
  for _, flag in ipairs({ "secure", "http_only" }) do
    if type(c[flag]) ~= "boolean" then error(NEW .. flag .. " must be a boolean", 3) end
  end
  if type(c.same_site) ~= "string" or not SAME_SITE[lower(c.same_site)] then
    error(NEW .. "same_site must be 'lax', 'strict' or 'none'", 3)
  end
  if not is_attr(c.path) or find(c.path, "^[^/]") then
    error(NEW .. "path must be a string starting with '/', without ';' or control characters", 3)
  end
  if c.domain ~= nil and not is_attr(c.domain) then
    error(NEW .. "domain must be a non-empty string without ';' or control characters", 3)
  end
  local max = c.max_sessions
  if type(max) ~= "number" or max < 1 or max ~= floor(max) or max >= 2 ^ 53 then
    error(NEW .. "max_sessions must be a positive integer", 3)
  end
  return c
end

-- Values ------------------------------------------------------------------------

local VALUE = {}
VALUE.__index = VALUE

local function integral(n) return n == floor(n) and n > -2 ^ 53 and n < 2 ^ 53 end

-- Strings as they are; numbers as written by Lua (integers without ".0");
-- booleans as "true" / "false".
function VALUE:as_string()
  local v = self.value
  if type(v) == "number" and integral(v) then return format("%d", v) end
  return tostring(v)
end

-- Integral numbers, and strings that spell an integer; otherwise nil.
function VALUE:as_integer()
  local v = self.value
  if type(v) == "string" and find(v, "^%s*[-+]?%d+%s*$") then v = tonumber(v) end
  if type(v) == "number" and integral(v) then return v end
  return nil
end

-- Booleans, and the strings "true" / "false"; otherwise nil.
function VALUE:as_bool()
  local v = self.value
  if type(v) == "boolean" then return v end
  if v == "true" then return true end
  if v == "false" then return false end
  return nil
end

VALUE.__tostring = VALUE.as_string

-- Sessions ----------------------------------------------------------------------

local SESSION = {}
SESSION.__index = SESSION

local function check_session(s, method)
  if getmetatable(s) ~= SESSION then
    error("rover.session: call " .. method .. " with ':' on a session", 3)
  end
end

local function check_key(key, method)
  if type(key) ~= "string" then error("session:" .. method .. ": key must be a string", 3) end
end

local function handle(store, id, data, created_at, last_accessed, ttl)
  return setmetatable({
    store_ = store, id_ = id, data_ = data, created_ = created_at, last_ = last_accessed,
    ttl_ = ttl, invalidated_ = false,
  }, SESSION)
end

function SESSION:id() check_session(self, "id"); return self.id_ end
function SESSION:created_at() check_session(self, "created_at"); return self.created_ end
function SESSION:last_accessed() check_session(self, "last_accessed"); return self.last_ end

function SESSION:get(key)
  check_session(self, "get")
  check_key(key, "get")
  local v = self.data_[key]
  if v == nil then return nil end
  return setmetatable({ value = v }, VALUE)
end

function SESSION:set(key, value)
  check_session(self, "set")
  check_key(key, "set")
  local t = type(value)
  if t ~= "string" and t ~= "number" and t ~= "boolean" then
    error("session:set: value must be a string, number or boolean, not " .. t, 2)
  end
  self.data_[key] = value
  return self
end

function SESSION:remove(key)
  check_session(self, "remove")
  check_key(key, "remove")
  local had = self.data_[key] ~= nil
  self.data_[key] = nil
  return had
end

function SESSION:has(key)
  check_session(self, "has")
  check_key(key, "has")
  return self.data_[key] ~= nil
end

function SESSION:len()
  check_session(self, "len")
  local n = 0
  for _ in pairs(self.data_) do n = n + 1 end
  return n
end

function SESSION:is_empty() check_session(self, "is_empty"); return next(self.data_) == nil end

-- The state this handle knows of: invalidated through it (or found gone from
-- the store while its own clock said alive), expired by its last access
-- through it, or active.
function SESSION:state()
  check_session(self, "state")
  if self.invalidated_ then return "invalidated" end
  if n_now(self.store_.h_) >= self.last_ + self.ttl_ then return "expired" end
  return "active"
end

function SESSION:is_expired() check_session(self, "is_expired"); return self:state() == "expired" end
function SESSION:is_valid() check_session(self, "is_valid"); return self:state() == "active" end

-- After the store answered "gone": if not by expiry, someone removed it.
local function lost(self)
  if self:state() == "active" then self.invalidated_ = true end
  return false
end

-- Writes this handle's data; false (nothing written, never re-created) when
-- the session is no longer in the store.
function SESSION:save()
  check_session(self, "save")
  if self.invalidated_ then return false end
  local last = n_save(self.store_.h_, self.id_, self.data_)
  if not last then return lost(self) end
  self.last_ = last
  return true
end

function SESSION:refresh()
  check_session(self, "refresh")
  if self.invalidated_ then return false end
  local last = n_refresh(self.store_.h_, self.id_)
  if not last then return lost(self) end
  self.last_ = last
  return true
end

-- Moves this handle's data to a new id at once; the old id stops working.
function SESSION:regenerate()
  check_session(self, "regenerate")
  if self.invalidated_ then return false end
  local id, _, last = n_regenerate(self.store_.h_, self.id_, self.data_)
  if not id then return lost(self) end
  self.id_, self.last_ = id, last
  return true
end

function SESSION:destroy()
  check_session(self, "destroy")
  self.invalidated_ = true
  return n_delete(self.store_.h_, self.id_)
end
SESSION.invalidate = SESSION.destroy

function SESSION:cookie()
  check_session(self, "cookie")
  local c = self.store_.config_
  local b = cookie.set(c.cookie_name, self.id_):path(c.path)
  if c.domain then b:domain(c.domain) end
  b:max_age(ceil(self.ttl_))
  if c.secure then b:secure() end
  if c.http_only then b:http_only() end
  return b:same_site(c.same_site):build()
end

-- Stores ------------------------------------------------------------------------

local STORE = {}
STORE.__index = STORE

local function check_store(s, method)
  if getmetatable(s) ~= STORE then
    error("rover.session: call " .. method .. " with ':' on a store", 3)
  end
end

function STORE:create()
  check_store(self, "create")
  local id, created_at, last_accessed, ttl = n_create(self.h_, self.config_.ttl)
  return handle(self, id, {}, created_at, last_accessed, ttl)
end

function STORE:get(id)
  check_store(self, "get")
  if not is_id(id) then return nil end
  local data, created_at, last_accessed, ttl = n_get(self.h_, id)
  if not data then return nil end
  return handle(self, id, data, created_at, last_accessed, ttl)
end

-- An unknown id is never adopted: the new session has a new id.
function STORE:get_or_create(id)
  check_store(self, "get_or_create")
  return self:get(id) or self:create()
end

function STORE:delete(id)
  check_store(self, "delete")
  if not is_id(id) then return false end
  return n_delete(self.h_, id)
end

function STORE:exists(id)
  check_store(self, "exists")
  if not is_id(id) then return false end
  return n_exists(self.h_, id)
end

function STORE:cookie_name() check_store(self, "cookie_name"); return self.config_.cookie_name end

function M.new(opts)
  local c = configure(opts)
  c.same_site = lower(c.same_site)
  local s = setmetatable({ h_ = n_store(c.cookie_name, c.max_sessions), config_ = c }, STORE)
  return s
end

return M
