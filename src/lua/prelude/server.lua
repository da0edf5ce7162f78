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

-- Static mounts (server-features.md §10): `api.<path>.static { dir = ... }`
-- records the mount on the node, in a side table (the walk reads it).
local MOUNTS = setmetatable({}, { __mode = "k" })

NODE.__index = function(t, k)
  if type(k) ~= "string" then return nil end
  if k == "static" then
    return function(a, b)
      local cfg = a
      if getmetatable(a) == NODE then cfg = b end  -- api.assets:static { ... }
      local list = MOUNTS[t]
      if not list then
        list = {}
        MOUNTS[t] = list
      end
      list[#list + 1] = cfg
    end
  end
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

-- Header names seen valid, so that the common case (a constant name) costs one
-- lookup, not a pattern match per response: string.find with a character class
-- is not compiled by the JIT, and the trace of a handler that set a header
-- ended there (GET with one :header() cost ~12,000 instructions instead of ~6,000,
-- bench/callgrind.sh). Bounded: names built per request stop being remembered.
local valid_names, n_valid_names = {}, 0
local find = string.find

local function is_token(s)
  if valid_names[s] then return true end
  if type(s) ~= "string" or s == "" or find(s, "[^%w!#$%%&'*+%-.^_`|~]") then return false end
  if n_valid_names < 512 then
    valid_names[s] = true
    n_valid_names = n_valid_names + 1
  end
  return true
end

-- Plain finds (compiled by the JIT) rather than one with a class.
local function bad_value(v)
  return type(v) ~= "string" or find(v, "\r", 1, true) ~= nil or find(v, "\n", 1, true) ~= nil
    or find(v, "\0", 1, true) ~= nil
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
    resp[5] = { { name, value } }
    return resp
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

-- Streams and server-sent events (server-features.md §11) -------------------
-- A stream is a response object of kind "p" whose payload is the producer;
-- C calls it in the request's coroutine each time the connection can take
-- more. An SSE producer is wrapped so that what C gets is always the text to
-- send (or nil at the end).

local function is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

local function stream_response(status, ctype, headers, producer, who)
  check_status(status)
  if type(ctype) ~= "string" then error(who .. ": content type must be a string", 3) end
  if headers ~= nil and type(headers) ~= "table" then error(who .. ": headers must be a table", 3) end
  if not is_callable(producer) then error(who .. ": producer must be a function", 3) end
  local resp = new_response(status, ctype, "p", producer)
  for name, value in pairs(headers or {}) do set_header(resp, name, value) end
  return resp
end

-- "data: <line>\n" per line of s, split on CRLF, CR or LF.
local function data_lines(s)
  s = s:gsub("\r\n", "\n"):gsub("\r", "\n")
  return "data: " .. s:gsub("\n", "\ndata: ") .. "\n"
end

local json_encode = native.json_encode

local function sse_producer(producer, retry)
  local auto = 0
  local pre = (type(retry) == "number" and retry > 0) and ("retry: " .. floor(retry) .. "\n\n") or nil
  local done = false
  return function()
    if done then return nil end
    local v = producer()
    local out = pre or ""
    pre = nil
    if v == nil then
      if out == "" then return nil end
      done = true  -- the retry block first, the end next time
      return out
    end
    local t = type(v)
    if t == "string" then
      auto = auto + 1
      return out .. "id: " .. auto .. "\n" .. data_lines(v) .. "\n"
    elseif t == "table" then
      if v.comment ~= nil then out = out .. ": " .. tostring(v.comment) .. "\n\n" end
      if v.retry ~= nil then out = out .. "retry: " .. tostring(v.retry) .. "\n\n" end
      if v.data ~= nil or v.event ~= nil or v.id ~= nil then
        local id = v.id
        if id == nil then
          auto = auto + 1
          id = auto
        end
        out = out .. "id: " .. tostring(id) .. "\n"
        if v.event ~= nil then out = out .. "event: " .. tostring(v.event) .. "\n" end
        local d = v.data
        if type(d) == "table" then
          local text, reason = json_encode(d)
          if not text then error("SSE data cannot be encoded: " .. tostring(reason), 0) end
          d = text
        elseif d == nil then
          d = ""
        else
          d = tostring(d)
        end
        out = out .. data_lines(d) .. "\n"
      end
      return out
    end
    error("SSE producer returned a " .. t, 0)
  end
end

local function sse_response(status, headers, producer, retry)
  check_status(status)
  if headers ~= nil and type(headers) ~= "table" then error("api.sse: headers must be a table", 3) end
  if not is_callable(producer) then error("api.sse: producer must be a function", 3) end
  local resp = new_response(status, "text/event-stream", "p", sse_producer(producer, retry))
  local has_cache = false
  for name, value in pairs(headers or {}) do
    set_header(resp, name, value)
    if type(name) == "string" and name:lower() == "cache-control" then has_cache = true end
  end
  if not has_cache then set_header(resp, "Cache-Control", "no-cache") end
  set_header(resp, "X-Accel-Buffering", "no")
  return resp
end

-- Builders with more than two arguments: a leading root node or the builder
-- itself is skipped (dot and colon calls).
local function wide_builder(call, sub)
  local b = {}
  local function shift(x, ...)
    if x == b or ROOTS[x] then return ... end
    return x, ...
  end
  for name, fn in pairs(sub or {}) do
    b[name] = function(...) return fn(shift(...)) end
  end
  return setmetatable(b, { __call = function(_, ...) return call(shift(...)) end })
end

-- Idempotency keys (server-features.md §12) ---------------------------------
-- api.idempotent returns a wrapper function; the route walk binds it to its
-- route pattern (the fingerprint is method, pattern and the body's SHA-256).
-- Records live in the process-wide store (core/idempotency_store).

local IDEMPOTENT = setmetatable({}, { __mode = "k" })  -- wrapper -> its config
M.IDEMPOTENT = IDEMPOTENT
local RUNNING_TTL_MS = 30000  -- a first request that never finished frees its key

local function idempotent(cfg, handler)
  if handler == nil then cfg, handler = nil, cfg end
  if cfg ~= nil and type(cfg) ~= "table" then error("api.idempotent: config must be a table", 3) end
  if not is_callable(handler) then error("api.idempotent: handler must be a function", 3) end
  local header = cfg and cfg.header or "Idempotency-Key"
  local ttl = cfg and cfg.ttl_ms or 300000
  if type(header) ~= "string" or header == "" then error("api.idempotent: header must be a string", 3) end
  if type(ttl) ~= "number" or not (ttl > 0) then error("api.idempotent: ttl_ms must be a number > 0", 3) end
  local rec = { header = header:lower(), ttl = ttl, handler = handler }
  local function wrapper(ctx) return M.run_idempotent(rec, "", ctx) end
  IDEMPOTENT[wrapper] = rec
  return wrapper
end

-- What can be stored of a handler's result: a response object with a body
-- of bytes (JSON encoded now), or nil for what is not stored (streams,
-- status >= 500, templates).
local function storable(v)
  if getmetatable(v) ~= RESP then
    local t = type(v)
    if t == "nil" then return new_response(204, false, false, nil) end
    if t == "string" or t == "number" then return text_response(200, v) end
    if t == "boolean" then return text_response(200, v and "true" or "false") end
    if t ~= "table" or getmetatable(v) ~= nil then return nil end
    v = new_response(200, "application/json", "j", v)
  end
  local kind = v[3]
  if kind == "p" or v[1] >= 500 then return nil end
  local body = ""
  if kind == "s" then
    body = v[4]
  elseif kind == "j" then
    body = json_encode(v[4])
    if not body then return nil end
  end
  local out = new_response(v[1], v[2], kind and "s" or false, body)
  out[5] = v[5]
  return out
end

local function stored_headers(resp)
  local list = {}
  if resp[2] then list[1] = { "Content-Type", resp[2] } end
  for _, h in ipairs(resp[5] or {}) do
    if type(h[2]) == "table" then
      for _, x in ipairs(h[2]) do list[#list + 1] = { h[1], x } end
    else
      list[#list + 1] = { h[1], h[2] }
    end
  end
  return list
end

function M.run_idempotent(rec, pattern, ctx)
  local key = ctx:headers()[rec.header]
  if key == nil or key == "" then return rec.handler(ctx) end
  if #key > 255 then return error_response(400, "Invalid idempotency key") end
  local fingerprint = ctx.method .. " " .. pattern .. " " .. native.sha256_hex(native.body_text(ctx))
  local state, status, headers, body = native.idem_begin(key, fingerprint,
                                                         math.min(rec.ttl, RUNNING_TTL_MS))
  if state == "replay" then
    local resp = new_response(status, false, body ~= "" and "s" or false, body)
    local list = {}
    for i, h in ipairs(headers) do list[i] = { h[1], h[2] } end
    resp[5] = list
    return resp
  elseif state == "conflict" then
    return error_response(409, "Idempotency key already used with different payload")
  elseif state == "busy" then
    return error_response(409, "Idempotency key is already being processed")
  end
  local ok, v = pcall(rec.handler, ctx)
  if not ok then
    native.idem_abandon(key)
    error(v, 0)
  end
  local resp = storable(v)
  if not resp then
    native.idem_abandon(key)
    return v
  end
  native.idem_complete(key, rec.ttl, resp[1], stored_headers(resp), resp[4] or "")
  return resp
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
  stream = wide_builder(function(status, ctype, producer)
    return stream_response(status, ctype, nil, producer, "api.stream")
  end),
  stream_with_headers = wide_builder(function(status, ctype, headers, producer)
    return stream_response(status, ctype, headers, producer, "api.stream_with_headers")
  end),
  idempotent = wide_builder(idempotent),
  sse = wide_builder(function(producer, retry) return sse_response(200, nil, producer, retry) end, {
    status = function(code, producer, retry) return sse_response(code, nil, producer, retry) end,
    with_headers = function(code, headers, producer, retry)
      return sse_response(code, headers, producer, retry)
    end,
  }),
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
M.callable = callable

-- Middleware of one node (server-features.md §1): the unnamed hook (a
-- function, a callable table, or the array part of the container) first, then
-- named hooks in lexicographic order. Each entry is { name, fn }.
local function node_hooks(node, kind, route)
  local c = rawget(node, kind)
  if c == nil then return nil end
  local list = {}
  if type(c) == "function" then
    list[1] = { kind, c }
    return list
  end
  if type(c) ~= "table" then
    error("Middleware '" .. kind .. "' at '" .. route .. "' must be a function", 0)
  end
  if callable(c) then list[1] = { kind, c } end
  for i = 1, #c do
    if not callable(c[i]) then
      error("Middleware '" .. kind .. "[" .. i .. "]' at '" .. route .. "' must be a function", 0)
    end
    list[#list + 1] = { kind, c[i] }
  end
  for _, name in ipairs(sorted_keys(c)) do
    local fn = rawget(c, name)
    if not callable(fn) then
      error("Middleware '" .. name .. "' at '" .. route .. "' must be a function", 0)
    end
    list[#list + 1] = { name, fn }
  end
  return list
end

local function extend(chain, more)
  if not more or #more == 0 then return chain end
  local out = {}
  for i = 1, #chain do out[i] = chain[i] end
  for i = 1, #more do out[#out + 1] = more[i] end
  return out
end

local function walk(node, path, params, out, is_root_node, befores, afters)
  local route = path == "" and "/" or path
  local mounts = MOUNTS[node]
  if mounts then
    if #mounts > 1 then error("Static mount already defined at '" .. route .. "'", 0) end
    local cfg = mounts[1]
    if type(cfg) ~= "table" or type(cfg.dir) ~= "string" or cfg.dir == "" then
      error("Static mount '" .. route .. "': dir is required", 0)
    end
    if cfg.cache ~= nil and type(cfg.cache) ~= "string" then
      error("Static mount '" .. route .. "': cache should be a string", 0)
    end
    out.mounts[#out.mounts + 1] = { route, cfg.dir, cfg.cache or false }
  end
  befores = extend(befores, node_hooks(node, "before", route))
  afters = extend(afters, node_hooks(node, "after", route))
  for _, key in ipairs(sorted_keys(node)) do
    local v = rawget(node, key)
    local lower = key:lower()
    local method = METHODS[lower]
    local reserved = (is_root_node and ROOT_RESERVED[key]) or ANY_RESERVED[key]
        or key:sub(1, 8) == "__rover_"
    if key == "ws" and callable(v) then  -- a WebSocket endpoint (runtime-modules.md §7)
      out.ws[#out.ws + 1] = { route, v, befores, afters }
    elseif method then
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
      out[#out + 1] = { method, route, v, befores, afters }
    elseif reserved then
      if not is_root_node and type(v) == "table" and (ROOT_RESERVED[key] or key:sub(1, 8) == "__rover_")
          and has_content(v) then
        error("Reserved name '" .. key .. "' cannot be used as a path segment (at '" .. route .. "')", 0)
      end
      if is_root_node and type(v) == "table" and BUILDERS[key] == v then
        -- `function api.json.get` sets a field of the api.json builder: say so
        -- rather than serve nothing at /json.
        for k in pairs(v) do
          if type(k) == "string" and METHODS[k:lower()] then
            error("Reserved name '" .. key .. "' cannot be used as a path segment (at '/" .. key ..
                  "'): it is the api." .. key .. " builder; use a parameter route or another name", 0)
          end
        end
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
        walk(v, path .. "/" .. segment, params, out, false, befores, afters)
        params[#params] = nil
      else
        if key:find(SEGMENT_BAD) or key == "" then
          error("Invalid path segment '" .. key .. "' at '" .. route .. "'", 0)
        end
        walk(v, path .. "/" .. key, params, out, false, befores, afters)
      end
    end
  end
end

-- Returns an array of { METHOD, pattern, handler, before hooks, after hooks, run }
-- in a stable order (hooks: arrays of { name, fn }, root first).
-- [6] is what the router calls: the handler wrapped with its middleware
-- (M.pipeline). out.mounts: the static mounts, { prefix, dir, cache or false };
-- out.ws: the WebSocket endpoints (M.ws_handlers); out.on_error: api.on_error.
function M.collect_routes(root)
  local out = { mounts = {}, ws = {} }
  walk(root, "", {}, out, true, {}, {})
  local on_error = rawget(root, "on_error")
  if on_error ~= nil and not callable(on_error) then error("api.on_error must be a function", 0) end
  out.on_error = on_error
  for _, r in ipairs(out) do
    local handler = r[3]
    local idem = IDEMPOTENT[handler]
    if idem then  -- bound to its route pattern; the docs see the wrapped function
      local pattern = r[2]
      handler = function(ctx) return M.run_idempotent(idem, pattern, ctx) end
      r[3] = idem.handler
    end
    r[6] = M.pipeline(handler, r[4], r[5], on_error)
  end
  return out
end

-- The handlers of the WebSocket endpoints collect_routes found (out.ws:
-- { pattern, function, before hooks, after hooks }): each endpoint's join step
-- (prelude/ws.lua) with the node's middleware, numbered from first_id.
function M.ws_handlers(routes, W, first_id)
  local list = {}
  for i, r in ipairs(routes.ws) do
    list[i] = M.pipeline(W.endpoint(r[2], r[1], first_id + i - 1), r[3], r[4], routes.on_error)
  end
  return list
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

-- Middleware and on_error (server-features.md §1, §2) ----------------------------

-- What `err.message` says for on_error: the full message, whatever
-- expose_errors says.
local function error_record(err, ctx)
  local status, body, msg = M.error_response(err, true)
  local rec = { status = status, path = ctx.path, method = ctx.method, code = "ERROR" }
  if guard.is_error(err) then
    rec.message = message_of(err)
    rec.errors = body.errors
  else
    rec.message = msg or body.error
  end
  return rec
end

-- The function the router calls for a route: the handler itself when the
-- route has no middleware and the app no on_error (nothing added to the
-- request path), else a closure running before hooks, the handler and after
-- hooks (in reverse) in the request's coroutine, so any of them may wait.
-- `on_error` runs while the ctx is live; a response object it returns is
-- sent, anything else (or its own failure) leaves the error to the default
-- handling of lua-api.md §8, which logs it. When on_error answers, the error
-- is logged here the same way.
function M.pipeline(handler, befores, afters, on_error)
  local nb, na = #befores, #afters
  if nb == 0 and na == 0 and not on_error then return handler end
  local bf, af, an = {}, {}, {}
  for i = 1, nb do bf[i] = befores[i][2] end
  for i = 1, na do af[i], an[i] = afters[i][2], afters[i][1] end
  local log_error, log_request_error, msgh = native.log_error, native.log_request_error, native.msgh
  local function run(ctx)
    for i = 1, nb do
      local r = bf[i](ctx)
      if getmetatable(r) == RESP then return r end
    end
    local v = handler(ctx)
    for i = na, 1, -1 do
      local ok, err = pcall(af[i], ctx)
      if not ok then
        log_request_error(ctx, "after hook '" .. an[i] .. "' failed: " .. message_of(err))
      end
    end
    return v
  end
  if not on_error then return run end
  return function(ctx)
    local ok, v = xpcall(run, msgh, ctx)
    if ok then return v end
    local rec = error_record(v, ctx)
    local ok2, r = pcall(on_error, rec, ctx)
    if ok2 and getmetatable(r) == RESP then
      if rec.status == 500 then log_request_error(ctx, rec.message) end
      return r
    end
    if not ok2 then log_request_error(ctx, "on_error failed: " .. message_of(r)) end
    error(v, 0)
  end
end

-- ctx (lua-api.md §6): prelude/ctx.lua, which vm.cpp runs with this module
-- and which sets M.ctx_methods and M.make_ctx.

return M
