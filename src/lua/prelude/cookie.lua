-- rover.cookie (runtime-modules.md §2): Cookie header parsing, Set-Cookie
-- parsing (attribute names case-insensitive, RFC 6265 §5.2) and a builder
-- that writes attributes in one fixed order. Pure Lua, no natives; returns
-- the module.
local type, error, tostring, tonumber, setmetatable = type, error, tostring, tonumber,
  setmetatable
local find, sub, lower, match, floor = string.find, string.sub, string.lower, string.match,
  math.floor

local M = {}
local INVALID = "invalid cookie"
local EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"

local function trim(s) return (match(s, "^%s*(.-)%s*$")) end

-- Calls fn(name, value) for each `;`-separated piece holding a `=` (value
-- nil for the others), both trimmed.
local function each_piece(s, fn)
  local at, n = 1, #s
  while at <= n + 1 do
    local stop = find(s, ";", at, true) or n + 1
    local piece = sub(s, at, stop - 1)
    local eq = find(piece, "=", 1, true)
    if eq then
      fn(trim(sub(piece, 1, eq - 1)), trim(sub(piece, eq + 1)))
    else
      fn(trim(piece), nil)
    end
    at = stop + 1
  end
end

function M.parse(header)
  local out = {}
  if header == nil or header == "" then return out end
  if type(header) ~= "string" then error("rover.cookie.parse: header must be a string", 2) end
  each_piece(header, function(name, value)
    if value == nil or name == "" or out[name] ~= nil then return end
    if #value >= 2 and sub(value, 1, 1) == '"' and sub(value, -1) == '"' then
      value = sub(value, 2, -2)
    end
    out[name] = value
  end)
  return out
end

local SAME_SITE = { lax = "Lax", strict = "Strict", none = "None" }

-- RFC 6265 §5.2: the first piece is the name-value pair (without `=` or with
-- an empty name the whole line is ignored: nil); later attributes of the same
-- name win; unrecognised attributes and values are skipped.
function M.parse_set_cookie(s)
  if s == nil or s == "" then return nil end
  if type(s) ~= "string" then error("rover.cookie.parse_set_cookie: argument must be a string", 2) end
  local c, first = { secure = false, http_only = false }, true
  local ok = true
  each_piece(s, function(name, value)
    if first then
      first = false
      if value == nil or name == "" then ok = false end
      c.name, c.value = name, value
      return
    end
    local attr = lower(name)
    if attr == "secure" then
      c.secure = true
    elseif attr == "httponly" then
      c.http_only = true
    elseif value == nil or value == "" then
      return
    elseif attr == "path" then
      c.path = value
    elseif attr == "domain" then
      c.domain = value
    elseif attr == "expires" then
      c.expires = value
    elseif attr == "max-age" then
      if match(value, "^%-?%d+$") then c.max_age = tonumber(value) end
    elseif attr == "samesite" then
      c.same_site = SAME_SITE[lower(value)]
    end
  end)
  if not ok then return nil end
  return c
end

-- Builder ----------------------------------------------------------------------

-- RFC 9110 token characters.
local function is_token(s) return type(s) == "string" and find(s, "^[%w!#$%%&'*+%-.^_`|~]+$") ~= nil end

-- cookie-octets without whitespace, '"', ',', ';', '\' or control characters.
local function is_value(s) return not find(s, "[%z\1-\32\",;\\\127]") end

-- Attribute values: anything but ';' and control characters (a ';' would
-- start another attribute).
local function check_attr(v)
  if type(v) ~= "string" or find(v, "[%z\1-\31;\127]") then error(INVALID, 3) end
  return v
end

local BUILDER = {}
BUILDER.__index = BUILDER

function BUILDER:path(p) self.path_ = check_attr(p); return self end
function BUILDER:domain(d) self.domain_ = check_attr(d); return self end
function BUILDER:expires(date) self.expires_ = check_attr(date); return self end
function BUILDER:secure() self.secure_ = true; return self end
function BUILDER:http_only() self.http_only_ = true; return self end

function BUILDER:max_age(seconds)
  local n = tonumber(seconds)
  if not n or n ~= floor(n) or n >= 2 ^ 53 or n <= -2 ^ 53 then error(INVALID, 2) end
  self.max_age_ = n
  return self
end

function BUILDER:same_site(v)
  local name = type(v) == "string" and SAME_SITE[lower(v)]
  if not name then error(INVALID, 2) end
  self.same_site_ = name
  return self
end

function BUILDER:build()
  local out = self.name_ .. "=" .. self.value_
  if self.path_ then out = out .. "; Path=" .. self.path_ end
  if self.domain_ then out = out .. "; Domain=" .. self.domain_ end
  if self.max_age_ then out = out .. "; Max-Age=" .. string.format("%d", self.max_age_) end
  if self.expires_ then out = out .. "; Expires=" .. self.expires_ end
  if self.secure_ then out = out .. "; Secure" end
  if self.http_only_ then out = out .. "; HttpOnly" end
  if self.same_site_ then out = out .. "; SameSite=" .. self.same_site_ end
  return out
end
BUILDER.__tostring = BUILDER.build

local function builder(name, value, level)
  if type(value) == "number" then value = tostring(value) end
  if not is_token(name) or type(value) ~= "string" or not is_value(value) then
    error(INVALID, level)
  end
  return setmetatable({ name_ = name, value_ = value }, BUILDER)
end

function M.set(name, value)
  local b = builder(name, value, 3)  -- not a tail call: level 3 is set's caller
  return b
end

function M.delete(name, opts)
  if opts ~= nil and type(opts) ~= "table" then error(INVALID, 2) end
  local b = builder(name, "", 3)
  b:path(opts and opts.path or "/")
  if opts and opts.domain ~= nil then b:domain(opts.domain) end
  return b:max_age(0):expires(EPOCH):build()
end

return M
