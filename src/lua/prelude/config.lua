-- Config validation (lua-api.md §2, server-features.md §0.2), loaded once per
-- VM by vm.cpp and handed to server.lua. Called with (native); returns C with
-- C.validate(entry, overrides), entry = { value = <config given to
-- rover.server>, given = <whether one was> }. Defaults come from
-- core/limits.h (native.defaults).
local native = ...
local type, tostring, pairs, ipairs, error = type, tostring, pairs, ipairs, error
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
  http2 = "boolean", permissions = "table", timeouts = "table",
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
  return out
end

return C
