-- rover.http (runtime-modules.md §5) over native.http_request (lua/http.cpp),
-- which suspends the calling coroutine until libcurl is done. Here: the
-- methods, `params`, header merging, JSON request bodies and `create`.
-- Called with (native, json_encode, version); returns the module.
local native, json_encode, version = ...
local request = native.http_request
local type, pairs, tostring, error, setmetatable = type, pairs, tostring, error, setmetatable
local sort, concat = table.sort, table.concat
local format, byte, gsub, lower, find, sub = string.format, string.byte, string.gsub,
  string.lower, string.find, string.sub

local DEFAULT_TIMEOUT = 30000
local USER_AGENT = "rover/" .. version
local FAILED = "http request failed: "

local function percent(s)
  return (gsub(s, "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

local function scalar(v, what)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" or t == "boolean" then return tostring(v) end
  error(FAILED .. what .. " must be strings, numbers or booleans", 4)
end

-- `params` appended as a query string: keys sorted, array values repeated.
local function with_params(url, params)
  if params == nil then return url end
  if type(params) ~= "table" then error(FAILED .. "params must be a table", 4) end
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  if #keys == 0 then return url end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    local name, v = percent(scalar(k, "params")), params[k]
    if type(v) == "table" then
      for _, item in ipairs(v) do parts[#parts + 1] = name .. "=" .. percent(scalar(item, "params")) end
    else
      parts[#parts + 1] = name .. "=" .. percent(scalar(v, "params"))
    end
  end
  local fragment = ""
  local hash = find(url, "#", 1, true)
  if hash then url, fragment = sub(url, 1, hash - 1), sub(url, hash) end
  local sep = find(url, "?", 1, true) and (sub(url, -1) == "?" and "" or "&") or "?"
  return url .. sep .. concat(parts, "&") .. fragment
end

-- Header tables merged case-insensitively, later ones winning; "Name: value" lines.
local function header_lines(base, call, has_json)
  local names, values, order = {}, {}, {}
  local function add(tbl)
    if tbl == nil then return end
    if type(tbl) ~= "table" then error(FAILED .. "headers must be a table", 5) end
    for name, value in pairs(tbl) do
      if type(name) ~= "string" then error(FAILED .. "header names must be strings", 5) end
      local key = lower(name)
      if not names[key] then order[#order + 1] = key end
      names[key], values[key] = name, scalar(value, "header values")
    end
  end
  add(base)
  add(call)
  if has_json and not names["content-type"] then
    order[#order + 1] = "content-type"
    names["content-type"], values["content-type"] = "Content-Type", "application/json"
  end
  if not names["user-agent"] then
    order[#order + 1] = "user-agent"
    names["user-agent"], values["user-agent"] = "User-Agent", USER_AGENT
  end
  local lines = {}
  for i, key in ipairs(order) do lines[i] = names[key] .. ": " .. values[key] end
  return lines
end

local function join(base, url)
  if base == nil or find(url, "^[%a][%w+.-]*://") then return url end
  if url == "" then return base end
  return (gsub(base, "/+$", "")) .. "/" .. (gsub(url, "^/+", ""))
end

-- The one path of every call; `defaults` is a create{} client's settings.
local function call(defaults, method, url, data, has_data, cfg)
  if type(url) ~= "string" then error(FAILED .. "url must be a string", 3) end
  if cfg ~= nil and type(cfg) ~= "table" then error(FAILED .. "cfg must be a table", 3) end
  cfg = cfg or {}
  local body, is_json
  if has_data then
    local t = type(data)
    if t == "table" then
      body, is_json = json_encode(data), true
    elseif t == "string" then
      body = data
    elseif data == nil then
      body = ""
    else
      error(FAILED .. "data must be a table or a string", 3)
    end
  end
  local timeout = cfg.timeout or (defaults and defaults.timeout) or DEFAULT_TIMEOUT
  if type(timeout) ~= "number" or not (timeout > 0) then
    error(FAILED .. "timeout must be a number of ms > 0", 3)
  end
  local allow_private = cfg.allow_private
  if allow_private == nil and defaults then allow_private = defaults.allow_private end
  url = with_params(join(defaults and defaults.baseURL, url), cfg.params)
  local lines = header_lines(defaults and defaults.headers, cfg.headers, is_json)
  local status, headers, result = request(method, url, lines, body, timeout, allow_private == true)
  if not status then error(headers, 3) end
  return { status = status, ok = status >= 200 and status <= 299, headers = headers, data = result }
end

local M = {}
local Client = {}
Client.__index = Client

for _, m in ipairs({ "get", "delete", "head", "options" }) do
  local method = m:upper()
  M[m] = function(url, cfg) return call(nil, method, url, nil, false, cfg) end
  Client[m] = function(self, url, cfg) return call(self, method, url, nil, false, cfg) end
end
for _, m in ipairs({ "post", "put", "patch" }) do
  local method = m:upper()
  M[m] = function(url, data, cfg) return call(nil, method, url, data, true, cfg) end
  Client[m] = function(self, url, data, cfg) return call(self, method, url, data, true, cfg) end
end

function M.create(opts)
  if opts ~= nil and type(opts) ~= "table" then error("rover.http.create: options must be a table", 2) end
  opts = opts or {}
  if opts.baseURL ~= nil and type(opts.baseURL) ~= "string" then
    error("rover.http.create: baseURL must be a string", 2)
  end
  if opts.headers ~= nil and type(opts.headers) ~= "table" then
    error("rover.http.create: headers must be a table", 2)
  end
  if opts.timeout ~= nil and (type(opts.timeout) ~= "number" or not (opts.timeout > 0)) then
    error("rover.http.create: timeout must be a number of ms > 0", 2)
  end
  return setmetatable({ baseURL = opts.baseURL, timeout = opts.timeout, headers = opts.headers,
                        allow_private = opts.allow_private }, Client)
end

return M
