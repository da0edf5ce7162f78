-- The Lua half of Rover's server module, loaded once per VM by vm.cpp:
-- route tree nodes, builders and response objects (lua-api.md §4, §7),
-- route extraction and error mapping (§8). Called with (native, guard, html,
-- config); config validation (§2) is prelude/config.lua, ctx (§6) is
-- prelude/ctx.lua. Returns M.
--
-- Response objects are tables with metatable RESP and the array slots
--   [1] status  [2] content type or false  [3] body kind: "s" (string),
--   "j" (value to JSON-encode) or false (none)  [4] payload  [5] headers
-- where headers is false or an array of { name, value } (value: string or
-- array of strings). respond.cpp reads these slots directly.
local native, guard, html, config = ...

local type, tostring, pairs, ipairs, select, error, rawget, rawset, setmetatable, getmetatable =
  type, tostring, pairs, ipairs, select, error, rawget, rawset, setmetatable, getmetatable
local floor, huge = math.floor, math.huge
local sort, concat = table.sort, table.concat

local M = {}

-- Route tree -----------------------------------------------------------------

local NODE = {}
local ROOTS = setmetatable({}, { __mode = "k" })

NODE.__index = function(t, k)
  if type(k) ~= "string" then return nil end
  local child = setmetatable({}, NODE)
  rawset(t, k, child)
  return child
end

local METHODS = { get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE",
                  head = "HEAD", options = "OPTIONS" }
local BUILDER_NAMES = { "json", "text", "html", "redirect", "error", "no_content", "raw", "stream",
                        "stream_with_headers", "sse", "idempotent" }
local ROOT_RESERVED = { config = true, on_error = true, on_start = true, on_ready = true,
                        on_shutdown = true }
for _, n in ipairs(BUILDER_NAMES) do ROOT_RESERVED[n] = true end
local ANY_RESERVED = { before = true, after = true, static = true, ws = true }

local function is_root(v) return type(v) == "table" and ROOTS[v] == true end
M.is_root = is_root

-- Response objects ---------------------------------------------------------

local RESP = {}
RESP.__index = RESP
M.RESP = RESP

local function is_token(s)
  return type(s) == "string" and s ~= "" and not s:find("[^%w!#$%%&'*+%-.^_`|~]")
end

local function bad_value(v)
  return type(v) ~= "string" or v:find("[\r\n%z]") ~= nil
end

local function normalize_header_value(name, value)
  if type(value) == "number" then value = tostring(value) end
  if type(value) == "table" then
    local out = {}
    for i = 1, #value do
      local v = value[i]
      if type(v) == "number" then v = tostring(v) end
      if bad_value(v) then error("invalid header '" .. tostring(name) .. "'", 3) end
      out[i] = v
    end
    return out
  end
  if bad_value(value) then error("invalid header '" .. tostring(name) .. "'", 3) end
  return value
end

local function set_header(resp, name, value)
  if not is_token(name) then error("invalid header '" .. tostring(name) .. "'", 3) end
  value = normalize_header_value(name, value)
  local list = resp[5]
  if not list then
    list = {}
    resp[5] = list
  end
  local lname = name:lower()
  for i = 1, #list do
    if list[i][1]:lower() == lname then
      list[i] = { name, value }
      return resp
    end
  end
  list[#list + 1] = { name, value }
  return resp
end

function RESP:header(name, value)
  return set_header(self, name, value)
end

-- Hot paths assign setmetatable's result before returning it: a tail call of
-- a built-in from the function a trace starts in aborts the trace ("NYI:
-- return to lower frame"), which left every builder interpreted.
local function new_response(status, ctype, kind, payload)
  local resp = setmetatable({ status, ctype, kind, payload, false }, RESP)
  return resp
end

local function check_status(code)
  if type(code) ~= "number" or code ~= floor(code) or code < 200 or code > 599 then
    error("invalid status code " .. tostring(code), 3)
  end
  return code
end

-- Builders -------------------------------------------------------------------

-- A builder is a callable table; `sub` holds its sub-builders (status, ...).
-- A leading argument that is a root node or the builder itself is skipped,
-- so api.json{...}, api:json{...}, api.json:status(...) and
-- api.json.status(...) all work.
-- Builders take at most two arguments, so the wrappers use fixed arity
-- (varargs keep the interpreter on its slow path).
local function make_builder(call, sub)
  local b = {}
  for name, fn in pairs(sub or {}) do
    b[name] = function(x, y, z)
      if x == b or ROOTS[x] then return fn(y, z) end
      return fn(x, y)
    end
  end
  return setmetatable(b, { __call = function(_, x, y, z)
    if x == b or ROOTS[x] then return call(y, z) end
    return call(x, y)
  end })
end

local function json_response(status, v)
  if type(v) == "table" then
    local hdrs = rawget(v, "headers")
    if type(hdrs) == "table" then
      local body = {}
      for k, x in pairs(v) do
        if k ~= "headers" then body[k] = x end
      end
      local resp = new_response(status, "application/json", "j", body)
      for name, value in pairs(hdrs) do set_header(resp, name, value) end
      return resp
    end
    return new_response(status, "application/json", "j", v)
  elseif type(v) == "string" then
    return new_response(status, "application/json", "s", v)
  elseif v == nil then
    return new_response(status, "application/json", "s", "{}")
  end
  return new_response(status, "application/json", "j", v)
end

local function text_response(status, s)
  if type(s) ~= "string" then s = tostring(s) end
  return new_response(status, "text/plain; charset=utf-8", "s", s)
end

local RENDERER = {}
M.RENDERER = RENDERER
RENDERER.__call = function(self, template)
  return new_response(self.status, "text/html; charset=utf-8", "s",
                      html.render(template, self.data))
end

local function html_response(status, v)
  if type(v) == "table" or v == nil then
    local r = setmetatable({ status = status, data = v }, RENDERER)
    return r
  end
  if type(v) ~= "string" then v = tostring(v) end
  return new_response(status, "text/html; charset=utf-8", "s", v)
end

local function redirect_response(status, url)
  local resp = new_response(status, false, "s", "")
  return set_header(resp, "Location", tostring(url))
end

local REASONS = native.reasons

local function error_message_for_builder(code, msg)
  if guard.is_error(msg) then return { errors = msg:to_json().errors } end
  if msg == nil then return { error = REASONS[code] or "" } end
  if type(msg) == "string" then return { error = msg } end
  if type(msg) == "table" and type(rawget(msg, "message")) == "string" then
    return { error = msg.message }
  end
  return { error = tostring(msg) }
end

local function error_response(code, msg)
  check_status(code)
  return new_response(code, "application/json", "j", error_message_for_builder(code, msg))
end

local function raw_response(status, s)
  if type(s) ~= "string" then s = tostring(s) end
  return new_response(status, "application/octet-stream", "s", s)
end

local BUILDERS = {
  json = make_builder(function(v) return json_response(200, v) end,
                      { status = function(code, v) return json_response(check_status(code), v) end }),
  text = make_builder(function(s) return text_response(200, s) end,
                      { status = function(code, s) return text_response(check_status(code), s) end }),
  html = make_builder(function(v) return html_response(200, v) end,
                      { status = function(code, v) return html_response(check_status(code), v) end }),
  redirect = make_builder(function(url) return redirect_response(302, url) end, {
    permanent = function(url) return redirect_response(301, url) end,
    status = function(code, url) return redirect_response(check_status(code), url) end,
  }),
  error = make_builder(error_response),
  no_content = make_builder(function() return new_response(204, false, false, nil) end),
  raw = make_builder(function(s) return raw_response(200, s) end,
                     { status = function(code, s) return raw_response(check_status(code), s) end }),
}
M.BUILDERS = BUILDERS

-- rover.server ---------------------------------------------------------------

local CONFIGS = setmetatable({}, { __mode = "k" })

function M.server(config)
  local root = setmetatable({}, NODE)
  ROOTS[root] = true
  CONFIGS[root] = { value = config, given = config ~= nil }
  for name, b in pairs(BUILDERS) do rawset(root, name, b) end
  rawset(root, "config", type(config) == "table" and config or {})
  return root
end

-- Config validation: prelude/config.lua ----------------------------------------

function M.validate_config(root, overrides)
  return config.validate(CONFIGS[root], overrides)
end

-- Route extraction (lua-api.md §4) -------------------------------------------

local SEGMENT_BAD = "[^A-Za-z0-9%-%._~!%$&'%(%)%*%+,;=:@]"

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  sort(keys)
  return keys
end

local function has_content(node)
  for _, v in pairs(node) do
    if type(v) == "function" or type(v) == "table" then return true end
  end
  return false
end

local function callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

local function walk(node, path, params, out, is_root_node)
  local route = path == "" and "/" or path
  for _, key in ipairs(sorted_keys(node)) do
    local v = rawget(node, key)
    local lower = key:lower()
    local method = METHODS[lower]
    local reserved = (is_root_node and ROOT_RESERVED[key]) or ANY_RESERVED[key]
        or key:sub(1, 8) == "__rover_"
    if method then
      if not callable(v) then
        error("Handler for " .. method .. " " .. route .. " must be a function", 0)
      end
      local seen = {}
      for _, p in ipairs(params) do
        if seen[p] then
          error("Duplicate parameter name '" .. p .. "' in route '" .. route .. "'", 0)
        end
        seen[p] = true
      end
      out[#out + 1] = { method, route, v }
    elseif reserved then
      if not is_root_node and type(v) == "table" and (ROOT_RESERVED[key] or key:sub(1, 8) == "__rover_")
          and has_content(v) then
        error("Reserved name '" .. key .. "' cannot be used as a path segment (at '" .. route .. "')", 0)
      end
    elseif type(v) == "function" then
      error("Unknown HTTP method '" .. key .. "' at path '" .. route ..
            "'. Valid methods: get, post, put, patch, delete, head, options", 0)
    elseif type(v) == "table" then
      if not is_root_node and ROOT_RESERVED[key] and has_content(v) then
        error("Reserved name '" .. key .. "' cannot be used as a path segment (at '" .. route .. "')", 0)
      end
      local segment
      if key:sub(1, 2) == "p_" then
        local name = key:sub(3)
        if name == "" then error("Empty parameter name at path '" .. route .. "'", 0) end
        segment = "{" .. name .. "}"
        params[#params + 1] = name
        walk(v, path .. "/" .. segment, params, out, false)
        params[#params] = nil
      else
        if key:find(SEGMENT_BAD) or key == "" then
          error("Invalid path segment '" .. key .. "' at '" .. route .. "'", 0)
        end
        walk(v, path .. "/" .. key, params, out, false)
      end
    end
  end
end

-- Returns an array of { METHOD, pattern, handler } in a stable order.
function M.collect_routes(root)
  local out = {}
  walk(root, "", {}, out, true)
  return out
end

-- Errors (lua-api.md §8) -------------------------------------------------------

local REQERR = {}
REQERR.__tostring = function(e) return e.message end
M.REQERR = REQERR

function M.request_error(status, message)
  return setmetatable({ status = status, message = message }, REQERR)
end

local function message_of(err)
  local t = type(err)
  if t == "string" then
    return (err:gsub("\n?stack traceback:.*$", ""))
  end
  if t == "table" and type(rawget(err, "message")) == "string" then return err.message end
  local mt = getmetatable(err)
  if t == "number" or (type(mt) == "table" and mt.__tostring) then return tostring(err) end
  return "unknown error (" .. t .. ")"
end
M.message_of = message_of

-- Maps a raised value to (status, body table, message-to-log-or-nil).
function M.error_response(err, expose)
  if guard.is_error(err) then
    return 400, { errors = err:to_json().errors }
  end
  if getmetatable(err) == REQERR then
    return err.status, { error = err.message }
  end
  local msg = message_of(err)
  return 500, { error = expose and msg or "Internal Server Error" }, msg
end

-- ctx (lua-api.md §6): prelude/ctx.lua, which vm.cpp runs with this module
-- and which sets M.ctx_methods and M.make_ctx.

return M
