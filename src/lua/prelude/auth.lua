-- rover.auth (runtime-modules.md §4): HS256 JSON Web Tokens (RFC 7519 over
-- RFC 7515's compact form), key sets with rotation, and the before hooks
-- `require` and `allow_roles` (server-features.md §1). The cryptography is in
-- lua/auth.cpp: HMAC-SHA-256, base64url and a constant-time comparison.
-- Called with (native); returns the module.
local native = ...
local hmac, constant_eq = native.hmac_sha256, native.constant_eq
local b64_encode, b64_decode = native.b64url_encode, native.b64url_decode
local json_encode, json_decode = native.json_encode, native.json_decode
local type, error, pairs, ipairs, tostring, next = type, error, pairs, ipairs, tostring, next
local find, sub, lower, match = string.find, string.sub, string.lower, string.match
local sort, concat = table.sort, table.concat

local M = {}
local LEEWAY = 60  -- seconds, for exp and nbf
local HEADER = '{"alg":"HS256","typ":"JWT"}'
local SIGNING = "signing"

local function now() return os.time() end

local function is_key(v) return type(v) == "string" and v ~= "" end

-- Key sets --------------------------------------------------------------------

local function check_set(set, level)
  if type(set) ~= "table" or type(set.keys) ~= "table" then
    error("rover.auth: secret must be a non-empty string or a key set", level + 1)
  end
end

local function check_purpose(purpose, level)
  if purpose ~= SIGNING then
    error("rover.auth: unknown key purpose '" .. tostring(purpose) .. "' (only 'signing')",
          level + 1)
  end
end

function M.secrets(initial)
  local set = { active = nil, keys = {} }
  if initial == nil then return set end
  if type(initial) ~= "table" then error("rover.auth.secrets: initial keys must be a table", 2) end
  local count, only = 0, nil
  for id, key in pairs(initial) do
    if type(id) ~= "string" or not is_key(key) then
      error("rover.auth.secrets: keys must map string ids to non-empty strings", 2)
    end
    set.keys[id] = key
    count, only = count + 1, id
  end
  if count == 1 then set.active = only end
  return set
end

function M.rotate(set, purpose, id, key)
  check_set(set, 2)
  check_purpose(purpose, 2)
  if type(id) ~= "string" or id == "" then error("rover.auth.rotate: id must be a non-empty string", 2) end
  if not is_key(key) then error("rover.auth.rotate: key must be a non-empty string", 2) end
  set.keys[id] = key
  set.active = id
  return set
end

function M.active(set, purpose)
  check_set(set, 2)
  check_purpose(purpose, 2)
  local id = set.active
  local key = id ~= nil and set.keys[id] or nil
  if not is_key(key) then return nil end
  return { id = id, key = key }
end

-- The signing key and its id (nil for a plain secret).
local function signing_key(secret, level)
  if is_key(secret) then return secret, nil end
  check_set(secret, level + 1)
  local id = secret.active
  local key = id ~= nil and secret.keys[id] or nil
  if type(id) ~= "string" or not is_key(key) then
    error("rover.auth: the key set has no active key", level + 1)
  end
  return key, id
end

-- The keys verify tries, in order: the token's kid, the active key, then the
-- others (by id, so the order does not depend on table layout).
local function verify_keys(secret, kid)
  if is_key(secret) then return { secret } end
  check_set(secret, 3)
  local out, seen = {}, {}
  local function add(id)
    local key = id ~= nil and secret.keys[id]
    if not seen[id] and is_key(key) then
      out[#out + 1], seen[id] = key, true
    end
  end
  if type(kid) == "string" then add(kid) end
  if type(secret.active) == "string" then add(secret.active) end
  local ids = {}
  for id in pairs(secret.keys) do
    if type(id) == "string" then ids[#ids + 1] = id end
  end
  sort(ids)
  for _, id in ipairs(ids) do add(id) end
  return out
end

-- Tokens ---------------------------------------------------------------------

local function sign(key, input) return b64_encode(hmac(key, input)) end

function M.create(claims, secret)
  if type(claims) ~= "table" then error("rover.auth.create: claims must be a table", 2) end
  if type(claims.sub) ~= "string" then
    error("rover.auth.create: claims.sub (string) is required", 2)
  end
  local key, kid = signing_key(secret, 2)
  local header = HEADER
  if kid then header = sub(HEADER, 1, -2) .. ',"kid":' .. json_encode(kid) .. "}" end
  local payload, reason = json_encode(claims)
  if not payload then error("rover.auth.create: " .. reason, 2) end
  local input = b64_encode(header) .. "." .. b64_encode(payload)
  return input .. "." .. sign(key, input)
end

-- A JSON object segment, or nil.
local function object_segment(text)
  local bytes = b64_decode(text)
  if not bytes then return nil end
  local ok, value = json_decode(bytes)
  if not ok or type(value) ~= "table" or not match(bytes, "^%s*{") then return nil end
  return value
end

-- header, claims, signing input, signature text of a compact JWS; nil when
-- it is not one (three base64url segments, the first two JSON objects).
local function split(token)
  if type(token) ~= "string" then return nil end
  local d1 = find(token, ".", 1, true)
  local d2 = d1 and find(token, ".", d1 + 1, true)
  if not d2 or find(token, ".", d2 + 1, true) then return nil end
  local header = object_segment(sub(token, 1, d1 - 1))
  local claims = header and object_segment(sub(token, d1 + 1, d2 - 1))
  if not claims then return nil end
  return header, claims, sub(token, 1, d2 - 1), sub(token, d2 + 1)
end

-- claims | nil, reason. Only HS256 is accepted, whatever the header says
-- (no "none", no algorithm chosen by the token's sender).
local function check(token, secret)
  local header, claims, input, signature = split(token)
  if not header or header.alg ~= "HS256" or signature == "" then return nil, "invalid token" end
  local signed = false
  for _, key in ipairs(verify_keys(secret, header.kid)) do
    if constant_eq(sign(key, input), signature) then
      signed = true
      break
    end
  end
  if not signed then return nil, "invalid signature" end
  local exp, nbf = claims.exp, claims.nbf
  if exp == nil then return nil, "missing exp claim" end
  if type(exp) ~= "number" or (nbf ~= nil and type(nbf) ~= "number") then
    return nil, "invalid token"
  end
  local t = now()
  if t >= exp + LEEWAY then return nil, "token expired" end
  if nbf ~= nil and nbf > t + LEEWAY then return nil, "token not yet valid" end
  return claims
end

function M.verify(token, secret)
  local claims, reason = check(token, secret)
  if not claims then return { valid = false, error = reason } end
  local out = {}
  for k, v in pairs(claims) do out[k] = v end
  out.valid = true
  return out
end

function M.decode(token)
  local _, claims = split(token)
  if not claims then return nil, "invalid token" end
  return claims
end

-- Before hooks ---------------------------------------------------------------

local function check_api(api, what)
  if type(api) ~= "table" then error("rover.auth." .. what .. ": the first argument must be the api", 3) end
end

local function check_opts(opts, what)
  if opts ~= nil and type(opts) ~= "table" then
    error("rover.auth." .. what .. ": options must be a table", 3)
  end
  return opts or {}
end

function M.require(api, secret, opts)
  check_api(api, "require")
  opts = check_opts(opts, "require")
  if not is_key(secret) then check_set(secret, 2) end
  local header = opts.header or "Authorization"
  local claims_key = opts.claims_key or "auth"
  return function(ctx)
    local value = ctx:headers()[header]
    if value == nil or value == "" then
      return api:error(401, "Unauthorized: missing Authorization bearer token")
    end
    local scheme, token = match(value, "^(%S+)[ \t]+(%S+)$")
    if not scheme or lower(scheme) ~= "bearer" then
      return api:error(401, "Unauthorized: Authorization must use Bearer token")
    end
    local claims = check(token, secret)
    if not claims then return api:error(401, "Unauthorized: invalid or expired token") end
    ctx:set(claims_key, claims)
  end
end

-- A role claim is a string (or a number), or an array of them when a token
-- carries several roles: any one listed is enough.
function M.allow_roles(api, roles, opts)
  check_api(api, "allow_roles")
  opts = check_opts(opts, "allow_roles")
  if type(roles) == "string" then roles = { roles } end
  if type(roles) ~= "table" or next(roles) == nil then
    error("rover.auth.allow_roles: roles must be a string or an array of strings", 2)
  end
  local allowed = {}
  for _, r in ipairs(roles) do allowed[tostring(r)] = true end
  local claims_key = opts.claims_key or "auth"
  local role_key = opts.role_key or "role"
  return function(ctx)
    local claims = ctx:get(claims_key)
    if type(claims) ~= "table" then return api:error(401, "Unauthorized: missing auth context") end
    local role = claims[role_key]
    if role == nil then return api:error(403, "Forbidden: missing role claim") end
    if type(role) == "table" then
      local names = {}
      for i, r in ipairs(role) do
        if allowed[tostring(r)] then return end
        names[i] = tostring(r)
      end
      role = concat(names, ",")
    elseif allowed[tostring(role)] then
      return
    end
    return api:error(403, "Forbidden: role '" .. tostring(role) .. "' not allowed")
  end
end

return M
