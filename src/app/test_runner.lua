-- `rover test` (app/test_cli.h): runs one *_test.lua file in its own plain Lua
-- state. Called with (native, file, filter); returns passed, failed.
--
-- The file's chunk runs first and only collects: describe(name, fn) runs fn
-- at once, it(name, fn) records a test. Then the tests run in the order they
-- were declared, one line each on stdout. `t.app(path)` loads an app into its
-- own Vm (native.app_open); a client's requests go through that app's real
-- Processor and event loop (native.request), so handlers that wait work.
local native, file, filter = ...
local type, tostring, pairs, ipairs, error = type, tostring, pairs, ipairs, error
local format, concat, sort = string.format, table.concat, table.sort

local tests = {}    -- { name = "a › b", fn = f } or { name = ..., err = "message" }
local stack = {}    -- the enclosing describe names

local function full_name(name)
  if #stack == 0 then return name end
  return concat(stack, " › ") .. " › " .. name
end

-- "file:line: " of the innermost caller outside this chunk (the test file).
local function where()
  for level = 2, 50 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source ~= "=rover-test" and info.currentline and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline .. ": "
    end
  end
  return ""
end

local function raise(message) error(where() .. tostring(message), 0) end

local function message_of(err)
  if type(err) == "table" and err.rover_test_failure then return err.message end
  return tostring(err)
end

-- ---------------------------------------------------------------------------
-- Readable values and the deep diff of t.eq

local show

local function show_key(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. show(k, 0) .. "]"
end

show = function(v, depth)
  depth = depth or 0
  local tv = type(v)
  if tv == "string" then return (format("%q", v):gsub("\\\n", "\\n")) end
  if tv ~= "table" then return tostring(v) end
  if depth >= 3 then return "{...}" end
  local n = #v
  local parts, keys = {}, {}
  for i = 1, n do parts[#parts + 1] = show(v[i], depth + 1) end
  for k in pairs(v) do
    if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  for _, k in ipairs(keys) do parts[#parts + 1] = show_key(k) .. " = " .. show(v[k], depth + 1) end
  if #parts > 12 then
    local cut = {}
    for i = 1, 12 do cut[i] = parts[i] end
    cut[13] = "..."
    parts = cut
  end
  if #parts == 0 then return "{}" end
  return "{ " .. concat(parts, ", ") .. " }"
end

local function path_step(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return "." .. k end
  return "[" .. show(k, 0) .. "]"
end

-- Differences between a (actual) and b (expected), at most 5, into out.
local function diff(a, b, path, out, seen)
  if #out >= 5 then return end
  if rawequal(a, b) then return end
  if type(a) ~= "table" or type(b) ~= "table" then
    if a ~= b or type(a) ~= type(b) then
      out[#out + 1] = (path == "" and "" or path .. ": ") .. "expected " .. show(b) .. ", got "
        .. show(a)
    end
    return
  end
  seen[a] = seen[a] or {}
  if seen[a][b] then return end
  seen[a][b] = true
  local keys, have = {}, {}
  for k in pairs(b) do keys[#keys + 1] = k; have[k] = true end
  for k in pairs(a) do if not have[k] then keys[#keys + 1] = k end end
  sort(keys, function(x, y)
    if type(x) == type(y) and (type(x) == "string" or type(x) == "number") then return x < y end
    return type(x) < type(y)
  end)
  for _, k in ipairs(keys) do
    diff(a[k], b[k], path .. path_step(k), out, seen)
    if #out >= 5 then return end
  end
end

-- ---------------------------------------------------------------------------
-- Assertions: a failure is raised at the caller's line (file:line: message).

local function fail(message, msg, level)
  if msg ~= nil then message = tostring(msg) .. ": " .. message end
  local info = debug.getinfo(level or 3, "Sl")
  local where = info and info.currentline and info.currentline > 0
    and (info.short_src .. ":" .. info.currentline .. ": ") or ""
  error({ rover_test_failure = true, message = where .. message }, 0)
end

local t = {}

function t.eq(actual, expected, msg)
  local out = {}
  diff(actual, expected, "", out, {})
  if #out > 0 then fail(concat(out, "; "), msg) end
end

function t.ok(v, msg)
  if not v then fail("expected a true value, got " .. show(v), msg) end
  return v
end

function t.match(s, pattern, msg)
  if type(s) ~= "string" then fail("expected a string matching " .. show(pattern) .. ", got "
    .. show(s), msg) end
  if not s:find(pattern) then fail(show(s) .. " does not match " .. show(pattern), msg) end
  return s
end

function t.errors(fn, pattern, msg)
  if type(fn) ~= "function" then error("t.errors: expected a function", 2) end
  local ok, err = pcall(fn)
  if ok then fail("expected an error, none was raised", msg) end
  local text = message_of(err)
  if pattern ~= nil and not text:find(pattern) then
    fail("error " .. show(text) .. " does not match " .. show(pattern), msg)
  end
  return text
end

-- Runs fn after the file's tests (removing a temporary file, ...); an error
-- in it is reported as a failure of the file.
local cleanups = {}
function t.cleanup(fn)
  if type(fn) ~= "function" then error("t.cleanup: expected a function", 2) end
  cleanups[#cleanups + 1] = fn
end

function t.fail(message) fail(tostring(message or "failed")) end

t.json = {
  encode = function(v)
    local ok, r = pcall(native.json_encode, v)
    if not ok then raise(r) end
    return r
  end,
  decode = function(s)
    local ok, r = pcall(native.json_decode, s)
    if not ok then raise(r) end
    return r
  end,
}

-- ---------------------------------------------------------------------------
-- The app client

-- Header lookup by any case: res.headers["content-type"] == res.headers["Content-Type"].
local headers_mt = {
  __index = function(h, name)
    if type(name) ~= "string" then return nil end
    return rawget(h, name:lower())
  end,
}

local Response = {}
Response.__index = Response

function Response:json()
  if self._json == nil then
    local ok, v = pcall(native.json_decode, self.body)
    if not ok then
      raise("response body is not JSON (" .. tostring(v) .. "): " .. show(self.body:sub(1, 200)))
    end
    self._json = { v }
  end
  return self._json[1]
end

local function response(status, list, body)
  local headers = setmetatable({}, headers_mt)
  local header_list = {}
  for i = 1, #list, 2 do
    local name, value = list[i], list[i + 1]
    header_list[#header_list + 1] = { name, value }
    local key = name:lower()
    local prev = rawget(headers, key)
    rawset(headers, key, prev and (prev .. ", " .. value) or value)
  end
  return setmetatable({ status = status, headers = headers, header_list = header_list,
                        body = body }, Response)
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return format("%%%02X", c:byte()) end))
end

local Client = {}
Client.__index = Client

function Client:request(method, path, opts)
  if type(method) ~= "string" then error("request: method must be a string", 2) end
  if type(path) ~= "string" then error("request: path must be a string", 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("request: options must be a table", 2) end
  local flat, has_ct = {}, false
  if opts.headers then
    for name, v in pairs(opts.headers) do
      name = tostring(name)
      if name:lower() == "content-type" then has_ct = true end
      if type(v) == "table" then
        for _, x in ipairs(v) do flat[#flat + 1] = name; flat[#flat + 1] = tostring(x) end
      else
        flat[#flat + 1] = name; flat[#flat + 1] = tostring(v)
      end
    end
  end
  if opts.query then
    local keys, parts = {}, {}
    for k in pairs(opts.query) do keys[#keys + 1] = k end
    sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(opts.query[k])
    end
    if #parts > 0 then
      path = path .. (path:find("?", 1, true) and "&" or "?") .. concat(parts, "&")
    end
  end
  local body = opts.body
  if body ~= nil and type(body) ~= "string" then error("request: body must be a string", 2) end
  if opts.json ~= nil then
    local ok, text = pcall(native.json_encode, opts.json)
    if not ok then raise("request: json: " .. tostring(text)) end
    body = text
    if not has_ct then flat[#flat + 1] = "Content-Type"; flat[#flat + 1] = "application/json" end
  end
  local ok, status, list, rbody = pcall(native.request, self._handle, method:upper(), path, flat,
                                       body)
  if not ok then raise(status) end
  return response(status, list, rbody)
end

for _, m in ipairs { "get", "post", "put", "patch", "delete", "head", "options" } do
  local upper = m:upper()
  Client[m] = function(self, path, opts) return self:request(upper, path, opts) end
end

function Client:close() native.app_close(self._handle) end

function t.app(path, opts)
  if type(path) ~= "string" then error("t.app: path must be a string", 2) end
  opts = opts or {}
  local env, args = opts.env or {}, opts.args or {}
  local names, values = {}, {}
  for k, v in pairs(env) do names[#names + 1] = tostring(k); values[#values + 1] = tostring(v) end
  local argv = {}
  for i, a in ipairs(args) do argv[i] = tostring(a) end
  local ok, handle = pcall(native.app_open, path, names, values, argv)
  if not ok then raise(handle) end
  return setmetatable({ _handle = handle, path = path }, Client)
end

-- ---------------------------------------------------------------------------
-- describe / it

function describe(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("describe(name, fn): a string and a function", 2)
  end
  stack[#stack + 1] = name
  local ok, err = xpcall(fn, function(e) return message_of(e) end)
  stack[#stack] = nil
  -- a describe body that raised: reported as a failed test of its name
  if not ok then tests[#tests + 1] = { name = full_name(name), err = err } end
end

function it(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("it(name, fn): a string and a function", 2)
  end
  tests[#tests + 1] = { name = full_name(name), fn = fn }
end

_G.t = t

local chunk, load_err = loadfile(file)
if not chunk then
  io.write("✗ ", file, ": ", tostring(load_err), "\n")
  io.flush()
  return 0, 1
end
local ok, err = xpcall(chunk, function(e) return message_of(e) end)
-- the file itself failed (e.g. t.app of a broken app): reported whatever --filter says
if not ok then tests[#tests + 1] = { name = file, err = err, always = true } end

local passed, failed = 0, 0
for _, test in ipairs(tests) do
  if filter == nil or test.always or test.name:find(filter, 1, true) then
    local tok, terr
    if test.err then
      tok, terr = false, test.err
    else
      tok, terr = xpcall(test.fn, function(e)
        if type(e) == "table" and e.rover_test_failure then return e.message end
        return debug.traceback(tostring(e), 2):gsub("\nstack traceback:.*", "")
      end)
    end
    if tok then
      passed = passed + 1
      io.write("✓ ", test.name, "\n")
    else
      failed = failed + 1
      io.write("✗ ", test.name, ": ", tostring(terr), "\n")
    end
    io.flush()
  end
end
for i = #cleanups, 1, -1 do
  local cok, cerr = xpcall(cleanups[i], function(e) return message_of(e) end)
  if not cok then
    failed = failed + 1
    io.write("✗ ", file, " (cleanup): ", tostring(cerr), "\n")
    io.flush()
  end
end
return passed, failed
