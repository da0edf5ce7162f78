-- Config validation (lua-api.md §2, server-features.md §0.2), loaded once per
-- VM by vm.cpp and handed to server.lua. Called with (native); returns C with
-- C.validate(entry, overrides), entry = { value = <config given to
-- rover.server>, given = <whether one was> }. Defaults come from
-- core/limits.h (native.defaults).
local native = ...
local type, tostring, tonumber, pairs, ipairs, error = type, tostring, tonumber, pairs, ipairs, error
local floor, huge = math.floor, math.huge
local sort = table.sort

local C = {}


local CONFIG_TYPES = {
  host = "string", port = "number", log_level = "string", workers = "number",
  expose_errors = "boolean", strict_mode = "boolean", allow_public_bind = "boolean",
  allow_insecure_http = "boolean", https_redirect = "boolean", body_size_limit = "number",
  allow_unbounded_body = "boolean", security_headers = "boolean",
  allow_insecure_security_header_overrides = "boolean", cors_methods = "string",
  cors_headers = "string", cors_credentials = "boolean", allow_wildcard_cors_credentials = "boolean",
  trusted_proxies = "table", readiness = "table", idempotency = "table", docs = "boolean",
  management_prefix = "string", management_token = "string",
  allow_unauthenticated_management = "boolean", drain_timeout_secs = "number", tls = "table",
  http2 = "boolean", permissions = "table", timeouts = "table", metrics = "boolean",
  -- several types allowed: checked below
  cors_origin = true, compress = true, rate_limit = true, load_shed = true,
}
local MULTI_TYPES = {
  cors_origin = { string = true, table = true },
  compress = { table = true, boolean = true },
  rate_limit = { table = true, boolean = true },
  load_shed = { table = true, boolean = true },
}
local MULTI_NAMES = { cors_origin = "string", compress = "table", rate_limit = "table",
                      load_shed = "table" }

-- Returns normalized config or raises a plain message (no position).
-- `overrides` holds CLI values (host, port, workers) that replace the keys.
function C.validate(entry, overrides)
  local cfg = entry.value
  if entry.given and type(cfg) ~= "table" then error("Server config must be a table", 0) end
  cfg = cfg or {}
  local merged = {}
  for k, v in pairs(cfg) do merged[k] = v end
  for k, v in pairs(overrides) do merged[k] = v end
  local unknown = {}
  local keys = {}
  for k in pairs(merged) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  sort(keys)
  for _, k in ipairs(keys) do
    local want, v = CONFIG_TYPES[k], merged[k]
    if want == nil then
      unknown[#unknown + 1] = k
    elseif want == true then
      if not MULTI_TYPES[k][type(v)] then error(k .. " should be a " .. MULTI_NAMES[k], 0) end
    elseif type(v) ~= want then
      error(k .. " should be a " .. want, 0)
    end
  end
  local out = { unknown = unknown }
  local defaults = native.defaults  -- core/limits.h
  out.host = merged.host or defaults.host
  local port = merged.port
  if port == nil then port = defaults.port end
  if port ~= floor(port) or port < 0 or port > 65535 then
    error("port must be an integer between 0 and 65535", 0)
  end
  out.port = port
  local level = (merged.log_level or defaults.log_level):lower()
  if not ({ debug = 1, info = 1, warn = 1, error = 1, nope = 1 })[level] then
    error("log_level must be one of: debug, info, warn, error, nope", 0)
  end
  out.log_level = level
  local workers = merged.workers
  if workers ~= nil and (workers ~= floor(workers) or workers < 1 or workers == huge) then
    error("workers must be an integer >= 1", 0)
  end
  out.workers = workers or 0
  out.expose_errors = merged.expose_errors ~= false
  local limit = merged.body_size_limit
  if limit ~= nil and limit ~= floor(limit) then error("body_size_limit must be an integer", 0) end
  out.body_size_limit = limit or defaults.body_size_limit
  local drain = merged.drain_timeout_secs
  if drain ~= nil and not (drain > 0) then error("drain_timeout_secs must be a number > 0", 0) end
  out.drain_timeout_secs = drain or defaults.drain_timeout_secs
  -- Rover extension: transport timeouts in seconds (lua-api.md §11.2 defaults).
  out.timeouts = {}
  for k, v in pairs(defaults.timeouts) do out.timeouts[k] = v end
  for k, v in pairs(merged.timeouts or {}) do
    if out.timeouts[k] == nil then error("Unknown timeouts key '" .. tostring(k) .. "'", 0) end
    if type(v) ~= "number" or not (v > 0) or v == huge then
      error("timeouts." .. k .. " must be a number > 0", 0)
    end
    out.timeouts[k] = v
  end
  C.pipeline(merged, out)
  return out
end

-- server-features.md §0.2 keys beyond the core ------------------------------

local function is_int(v) return type(v) == "number" and v == floor(v) and v ~= huge and v ~= -huge end

local function describe(v)
  if type(v) == "string" then return v end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for _, k in ipairs({ "cidr", "start", "to", "end" }) do
    if v[k] ~= nil then parts[#parts + 1] = k .. " = " .. tostring(v[k]) end
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- trusted_proxies entries as text ("10.0.0.0/8", "a", "a-b"); C++ (net::IpSet)
-- checks the addresses and raises the same message for bad ones.
local function proxies(list)
  local out = {}
  for i, e in ipairs(list) do
    local text
    if type(e) == "string" then
      text = e
    elseif type(e) == "table" then
      if type(e.cidr) == "string" and e.start == nil then
        text = e.cidr
        if not text:find("/", 1, true) then text = nil end
      elseif type(e.start) == "string" and e.cidr == nil then
        local to = e.to
        if to == nil then to = e["end"] end
        if type(to) == "string" then text = e.start .. "-" .. to end
      end
    end
    if not text or text == "" then error("Invalid trusted_proxies entry: " .. describe(e), 0) end
    out[i] = { text, describe(e) }
  end
  return out
end

local function positive(v, name)
  if type(v) ~= "number" or not (v > 0) or v == huge then
    error(name .. " must be a number > 0", 0)
  end
  return v
end

local function rule(t, name, defaults)
  if type(t) ~= "table" then error(name .. " should be a table", 0) end
  local n = t.requests_per_window
  if n == nil then n = defaults and defaults.requests_per_window end
  if not is_int(n) or n < 1 then error(name .. ".requests_per_window must be an integer >= 1", 0) end
  local w = t.window_secs
  if w == nil then w = defaults and defaults.window_secs end
  positive(w, name .. ".window_secs")
  if t.key_header ~= nil and (type(t.key_header) ~= "string" or t.key_header == "") then
    error(name .. ".key_header should be a string", 0)
  end
  return { requests_per_window = n, window_secs = w, key_header = t.key_header,
           path_pattern = t.path_pattern }
end

local RATE_DEFAULT_GLOBAL = { requests_per_window = 1000, window_secs = 60 }

local function rate_limit(v)
  if v == nil or v == false then return nil end
  if v == true then
    v = { global = RATE_DEFAULT_GLOBAL,
          scoped = { { path_pattern = "/login", requests_per_window = 10, window_secs = 60 } } }
  end
  if v.enabled ~= nil and type(v.enabled) ~= "boolean" then
    error("rate_limit.enabled should be a boolean", 0)
  end
  if v.enabled == false then return nil end
  local out = { global = rule(v.global or {}, "rate_limit.global", RATE_DEFAULT_GLOBAL), scoped = {} }
  if v.scoped ~= nil then
    if type(v.scoped) ~= "table" then error("rate_limit.scoped should be a table", 0) end
    for i, s in ipairs(v.scoped) do
      local name = "rate_limit.scoped[" .. i .. "]"
      local r = rule(s, name, RATE_DEFAULT_GLOBAL)
      local p = r.path_pattern
      if type(p) ~= "string" or p:sub(1, 1) ~= "/" then
        error(name .. ".path_pattern must be a path starting with '/'", 0)
      end
      out.scoped[i] = r
    end
  end
  return out
end

local function check_fields(t, name, types)
  if t == nil then return end
  for k, want in pairs(types) do
    local v = t[k]
    if v ~= nil and type(v) ~= want then error(name .. "." .. k .. " should be a " .. want, 0) end
  end
end

local CAPABILITIES = { fs = true, net = true, env = true, process = true, ffi = true }

-- Keys whose behaviour arrives later (§16, compression in issue 10) are
-- type-checked only.
local function later_phase(m)
  local c = m.compress
  if type(c) == "table" then
    check_fields(c, "compress", { enabled = "boolean", algorithms = "table", min_size = "number",
                                  types = "table" })
    for _, a in ipairs(c.algorithms or {}) do
      if a ~= "gzip" and a ~= "deflate" and a ~= "br" then
        error("compress.algorithms: unsupported algorithm '" .. tostring(a) .. "'", 0)
      end
    end
  end
  check_fields(m.tls, "tls", { cert_file = "string", key_file = "string",
                               reload_interval_secs = "number" })
  if type(m.load_shed) == "table" then
    check_fields(m.load_shed, "load_shed", { max_inflight = "number", max_queue = "number" })
  end
  if m.load_shed == true then error("load_shed should be a table", 0) end
  local idem = m.idempotency
  if idem then
    check_fields(idem, "idempotency", { backend = "string", sqlite_path = "string" })
    if idem.backend ~= nil and idem.backend ~= "memory" and idem.backend ~= "sqlite" then
      error("idempotency.backend must be 'memory' or 'sqlite'", 0)
    end
    if idem.backend == "sqlite" and idem.sqlite_path == nil then
      error("idempotency.sqlite_path is required for backend 'sqlite'", 0)
    end
  end
  local perm = m.permissions
  if perm then
    check_fields(perm, "permissions", { mode = "string", allow = "table", deny = "table" })
    if perm.mode ~= nil and perm.mode ~= "development" and perm.mode ~= "production" then
      error("permissions.mode must be 'development' or 'production'", 0)
    end
    local seen = {}
    for _, cap in ipairs(perm.allow or {}) do
      if not CAPABILITIES[cap] then error("permissions: unknown capability '" .. tostring(cap) .. "'", 0) end
      seen[cap] = true
    end
    for _, cap in ipairs(perm.deny or {}) do
      if not CAPABILITIES[cap] then error("permissions: unknown capability '" .. tostring(cap) .. "'", 0) end
      if seen[cap] then error("permissions: capability '" .. cap .. "' is both allowed and denied", 0) end
    end
  end
end

-- §9: nil when off, else { algorithms, min_size, types } with the defaults.
local function compress(c)
  if c == false then return nil end
  if c == nil or c == true then c = {} end
  if c.enabled == false then return nil end
  local algorithms = c.algorithms or { "br", "gzip", "deflate" }
  local min_size = c.min_size or 1024
  if min_size ~= floor(min_size) or min_size < 0 then
    error("compress.min_size must be an integer >= 0", 0)
  end
  local types = {}
  for i, t in ipairs(c.types or {}) do
    if type(t) ~= "string" or t == "" then error("compress.types should be a table of strings", 0) end
    types[i] = t:lower()
  end
  return { algorithms = algorithms, min_size = min_size, types = types }
end

local function is_loopback(host)
  if host == "localhost" or host == "::1" or host == "[::1]" then return true end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return a ~= nil and tonumber(a) == 127 and tonumber(b) <= 255 and tonumber(c) <= 255
      and tonumber(d) <= 255
end

-- Strict mode (server-features.md §14): the violated rules, in the spec's order.
local function strict_violations(m, out)
  local list = {}
  if m.strict_mode == false then return list end
  if not is_loopback(out.host) then
    if not m.allow_public_bind then
      list[#list + 1] = "strict_mode blocks host '" .. out.host ..
          "'. Use localhost/127.0.0.1, or set allow_public_bind = true"
    elseif not m.https_redirect and not m.allow_insecure_http then
      list[#list + 1] = "strict_mode requires https_redirect=true for public bind. " ..
          "Set https_redirect = true, or set allow_insecure_http = true"
    end
  end
  if out.body_size_limit <= 0 and not m.allow_unbounded_body then
    list[#list + 1] = "strict_mode requires body_size_limit. " ..
        "Set a positive limit, or set allow_unbounded_body = true"
  end
  if m.cors_origin == "*" and m.cors_credentials == true and not m.allow_wildcard_cors_credentials then
    list[#list + 1] = "strict_mode blocks cors_origin='*' with cors_credentials=true. " ..
        "Set a specific origin, or set allow_wildcard_cors_credentials = true"
  end
  if m.security_headers == false and not m.allow_insecure_security_header_overrides then
    list[#list + 1] = "strict_mode requires security_headers=true. " ..
        "Set security_headers = true, or set allow_insecure_security_header_overrides = true"
  end
  if m.http2 == true and m.tls == nil then
    list[#list + 1] = "HTTP/2 requires TLS. Set tls = { cert_file = '...', key_file = '...' }, " ..
        "or set http2 = false"
  end
  return list
end

function C.pipeline(m, out)
  out.security_headers = m.security_headers ~= false
  out.allow_insecure_security_header_overrides = m.allow_insecure_security_header_overrides == true
  out.https_redirect = m.https_redirect == true
  local origin = m.cors_origin
  if origin ~= nil then
    local origins = {}
    if type(origin) == "string" then
      origins[1] = origin
    else
      for i, o in ipairs(origin) do
        if type(o) ~= "string" or o == "" then error("cors_origin should be a string", 0) end
        origins[i] = o
      end
      for k in pairs(origin) do
        if type(k) ~= "number" then error("cors_origin should be a string", 0) end
      end
    end
    if #origins > 0 then
      out.cors = { origins = origins, methods = m.cors_methods or "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD",
                   headers = m.cors_headers or "Content-Type, Authorization",
                   credentials = m.cors_credentials == true }
    end
  end
  out.trusted_proxies = proxies(m.trusted_proxies or {})
  local down = {}
  local readiness = m.readiness
  if readiness ~= nil then
    local deps = readiness.dependencies
    if deps ~= nil and type(deps) ~= "table" then error("readiness.dependencies should be a table", 0) end
    for name, up in pairs(deps or {}) do
      if type(up) ~= "boolean" then
        error("readiness.dependencies." .. tostring(name) .. " should be a boolean", 0)
      end
      if not up then down[#down + 1] = tostring(name) end
    end
  end
  sort(down)
  out.readiness_down = down
  local prefix = m.management_prefix or "/_rover"
  if prefix:sub(1, 1) ~= "/" or prefix == "/" then
    error("management_prefix must start with '/' and must not be '/'", 0)
  end
  prefix = prefix:gsub("/+$", "")
  if prefix == "" then error("management_prefix must start with '/' and must not be '/'", 0) end
  out.management_prefix = prefix
  if m.management_token ~= nil and m.management_token == "" then
    error("management_token must be a non-empty string", 0)
  end
  out.management_token = m.management_token
  out.allow_unauthenticated_management = m.allow_unauthenticated_management == true
  out.docs = m.docs == true
  out.metrics = m.metrics == true
  out.rate_limit = rate_limit(m.rate_limit)
  later_phase(m)
  out.compress = compress(m.compress)
  out.strict_errors = strict_violations(m, out)
end

return C
