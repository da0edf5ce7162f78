-- The OpenAPI 3 document and the docs page of the management endpoints
-- (server-features.md §13). Called with (guard), the module of prelude/guard.lua;
-- returns O:
--   O.build(routes) -> json_text, doc
--       routes: array, in registration order, of { method = "GET", pattern = "/books/{isbn}",
--       handler = fn }. json_text is the document (object keys sorted, no whitespace); doc is
--       the same document as Lua tables. Never raises: a route it cannot read is skipped, a
--       handler whose :expect argument cannot be found or evaluated gets the fallback body.
--   O.docs_html(doc [, json_text]) -> the self-contained HTML docs page; json_text (default
--       O.encode(doc)) is embedded verbatim, with "</" written as "<\/".
--   O.encode(value) -> JSON text of a document value (see "JSON" below)
--   O.array([t]) -> t marked as a JSON array
--   O.expect_value(handler) -> the value of the handler's first :expect argument, or nil, reason
--   O.schema_of(value) -> the OpenAPI schema of a validator or a raw schema table (may raise)
--
-- The :expect lookup reads the handler's lines (debug.getinfo's source, linedefined to
-- lastlinedefined) from its file, or from the source string of a chunk loaded from a string.
-- Names in the argument resolve to the handler's upvalues, then to the handler's environment
-- (normally _G); locals of the handler itself are not visible.
--
-- Choices where the spec is silent: a field with :required() and :default() is not listed in
-- "required" (the default fills it in); an operationId already taken gets "_2", "_3", ...
-- in registration order; a callable table handler is scanned through its __call; in the docs
-- page "<!--" in the JSON is also written "<\u0021--" (the same JSON string), so no "<script"
-- inside a string can keep the script element open.

local guard = ...

local type, pairs, ipairs, next, tostring, pcall, error =
  type, pairs, ipairs, next, tostring, pcall, error
local setmetatable, getmetatable, loadstring, setfenv, getfenv =
  setmetatable, getmetatable, loadstring, setfenv, getfenv
local tonumber, floor, huge = tonumber, math.floor, math.huge
local format, byte, concat, sort = string.format, string.byte, table.concat, table.sort
local open = io.open
local getinfo, getupvalue = debug.getinfo, debug.getupvalue
local resolve, is_validator = guard.resolve, guard.is_validator
local globals = _G

local O = {}

-- ---------------------------------------------------------------------------
-- JSON
--
-- Document values: strings, numbers, booleans and tables. A table whose metatable is ARRAY is
-- an array (elements 1..#t); every other table is an object (keys sorted, written as strings).

local ARRAY = {}

local function array(t)
  return setmetatable(t or {}, ARRAY)
end

local string_escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                         ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function escape_char(c)
  return string_escapes[c] or format("\\u%04x", byte(c))
end

local function encode_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', escape_char) .. '"'
end

-- Integers without a fraction; other numbers in the shortest form that reads back the same.
local function encode_number(x)
  if x ~= x or x == huge or x == -huge then
    return "null"
  elseif x == floor(x) and x > -2 ^ 53 and x < 2 ^ 53 then
    return format("%d", x)
  end
  for precision = 15, 16 do
    local text = format("%." .. precision .. "g", x)
    if tonumber(text) == x then
      return text
    end
  end
  return format("%.17g", x)
end

local function encode_value(v, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = encode_string(v)
  elseif t == "number" then
    out[#out + 1] = encode_number(v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t ~= "table" then
    out[#out + 1] = "null"
  elseif getmetatable(v) == ARRAY then
    out[#out + 1] = "["
    for i = 1, #v do
      if i > 1 then
        out[#out + 1] = ","
      end
      encode_value(v[i], out)
    end
    out[#out + 1] = "]"
  else
    local keys = {}
    for k in pairs(v) do
      keys[#keys + 1] = tostring(k)
    end
    sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      out[#out + 1] = (i > 1 and "," or "") .. encode_string(k) .. ":"
      local value = v[k]
      if value == nil then
        value = v[tonumber(k)] -- a non-string key, written through tostring
      end
      encode_value(value, out)
    end
    out[#out + 1] = "}"
  end
end

local function encode(v)
  local out = {}
  encode_value(v, out)
  return concat(out)
end

O.encode, O.array, O.ARRAY = encode, array, ARRAY

-- ---------------------------------------------------------------------------
-- Guard schemas -> OpenAPI schemas (the §13 table)

local function is_sequence(t)
  local count = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then
      return false
    end
    count = count + 1
  end
  return count == #t
end

-- A user value (enum member, default) as a document value; empty tables are arrays only
-- where an array is expected. Raises on cycles (via the depth limit) and odd types.
local function doc_value(v, kind, depth)
  local t = type(v)
  if t == "string" or t == "boolean" or (t == "number" and v == v and v ~= huge and v ~= -huge) then
    return v
  elseif t ~= "table" or depth > 32 then
    error("openapi: value cannot be written as JSON", 0)
  end
  if (next(v) == nil and kind == "array") or (next(v) ~= nil and is_sequence(v)) then
    local out = array()
    for i = 1, #v do
      out[i] = doc_value(v[i], nil, depth + 1)
    end
    return out
  end
  local out = {}
  for k, value in pairs(v) do
    out[tostring(k)] = doc_value(value, nil, depth + 1)
  end
  return out
end

local rules_schema

local function fields_schema(fields, path)
  if type(fields) ~= "table" then
    error("Invalid schema for field '" .. path .. "'", 0)
  end
  local properties, required = {}, array()
  for key, spec in pairs(fields) do
    local name = tostring(key)
    local child = path == "" and name or path .. "." .. name
    local rules = resolve(spec, child)
    properties[name] = rules_schema(rules, child)
    -- A default wins over :required() (lua-api.md §10.1): such a field may be left out.
    if rules.is_required and not rules.has_default then
      required[#required + 1] = name
    end
  end
  sort(required)
  local out = { type = "object", properties = properties }
  if #required > 0 then
    out.required = required
  end
  return out
end

function rules_schema(rules, path)
  local kind, out = rules.kind, nil
  if kind == "array" then
    local items = {}
    if rules.element ~= nil then
      local child = path .. "[1]"
      items = rules_schema(resolve(rules.element, child), child)
    end
    out = { type = "array", items = items }
  elseif kind == "object" and rules.schema ~= nil then
    out = fields_schema(rules.schema, path)
  else
    out = { type = kind }
  end
  if rules.enum_values ~= nil then
    out.enum = doc_value(rules.enum_values, "array", 1)
  end
  if rules.has_default then
    out.default = doc_value(rules.default_value, kind, 1)
  end
  if rules.is_nullable then
    out.nullable = true
  end
  return out
end

-- The schema of what ctx:body():expect(value) accepts: a validator or a raw field map.
local function schema_of(value)
  if is_validator(value) then
    return rules_schema(value, "")
  elseif type(value) == "table" then
    return fields_schema(value, "")
  end
  error("openapi: :expect argument is not a schema", 0)
end

O.schema_of = schema_of

-- ---------------------------------------------------------------------------
-- Finding the :expect argument in a handler's source

-- Index just past the long bracket (string or comment body) opening at i, or nil.
local function skip_long_bracket(text, i)
  local level = text:match("^%[(=*)%[", i)
  if not level then
    return nil
  end
  local _, stop = text:find("]" .. level .. "]", i + #level + 2, true)
  return (stop or #text) + 1
end

local function skip_short_string(text, i, quote)
  local j = i + 1
  while true do
    j = text:find("[\\\n" .. quote .. "]", j)
    if not j then
      return #text + 1
    end
    local c = text:sub(j, j)
    if c == "\\" then
      j = j + 2
    else
      return j + 1 -- closing quote, or the newline ending an unterminated string
    end
  end
end

-- Index just past the string or comment starting at i, or nil when none starts there.
local function skip_literal(text, i)
  local c = text:sub(i, i)
  if c == '"' or c == "'" then
    return skip_short_string(text, i, c)
  elseif c == "[" then
    return skip_long_bracket(text, i)
  elseif c == "-" and text:sub(i + 1, i + 1) == "-" then
    local after = skip_long_bracket(text, i + 2)
    if after then
      return after
    end
    local newline = text:find("\n", i + 2, true)
    return newline and newline + 1 or #text + 1
  end
  return nil
end

-- Position of the "(" or "{" that opens the first :expect call's argument, or nil.
local function find_expect(text)
  local i = 1
  while true do
    i = text:find("[\"'%[%-:]", i)
    if not i then
      return nil
    end
    local after = skip_literal(text, i)
    if after then
      i = after
    else
      local name_end = text:match("^:%s*expect()", i)
      if name_end and not text:find("^[%w_]", name_end) then
        local paren = text:match("^%s*()[({]", name_end)
        if paren then
          return paren
        end
      end
      i = i + 1
    end
  end
end

-- Position of the bracket closing the one at `first`, or nil.
local function find_close(text, first)
  local depth, i = 0, first
  while true do
    i = text:find("[\"'%[%]%-(){}]", i)
    if not i then
      return nil
    end
    local after = skip_literal(text, i)
    if after then
      i = after
    else
      local c = text:sub(i, i)
      if c == "(" or c == "{" or c == "[" then
        depth = depth + 1
      elseif c == ")" or c == "}" or c == "]" then
        depth = depth - 1
        if depth == 0 then
          return i
        end
      end
      i = i + 1
    end
  end
end

-- Lines first..last of a source ("@file" read once per build through `files`, or the text
-- of a chunk loaded from a string).
local function source_lines(source, first, last, files)
  local lines = files[source]
  if lines == nil then
    lines = false
    local text
    if source:sub(1, 1) == "@" then
      local file = open(source:sub(2), "rb")
      if file then
        text = file:read("*a")
        file:close()
      end
    elseif source:sub(1, 1) ~= "=" then
      text = source
    end
    if text then
      lines = {}
      for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        lines[#lines + 1] = line
      end
    end
    files[source] = lines
  end
  if not lines or first < 1 or last < first or last > #lines then
    return nil
  end
  return concat(lines, "\n", first, last)
end

-- The function a handler runs: itself, or the __call of a callable table.
local function handler_function(handler)
  if type(handler) == "table" then
    local mt = getmetatable(handler)
    handler = type(mt) == "table" and mt.__call or nil
  end
  return type(handler) == "function" and handler or nil
end

-- An environment reading the handler's upvalues by name, then its globals.
local function handler_env(fn)
  local upvalues, i = {}, 1
  while true do
    local name, value = getupvalue(fn, i)
    if name == nil then
      break
    end
    if upvalues[name] == nil then
      upvalues[name] = { value }
    end
    i = i + 1
  end
  local fenv = getfenv(fn)
  local outer = type(fenv) == "table" and fenv or globals
  return setmetatable({}, {
    __index = function(_, name)
      local up = upvalues[name]
      if up then
        return up[1]
      end
      return outer[name]
    end,
  })
end

local function expect_value(handler, files)
  files = files or {}
  local fn = handler_function(handler)
  if not fn then
    return nil, "handler is not a function"
  end
  local info = getinfo(fn, "S")
  if info.what == "C" then
    return nil, "handler is a C function"
  end
  local text = source_lines(info.source, info.linedefined, info.lastlinedefined, files)
  if not text then
    return nil, "handler source not readable"
  end
  local first = find_expect(text)
  local last = first and find_close(text, first)
  if not last then
    return nil, "no :expect call"
  end
  -- expect(<expr>) evaluates <expr>; expect { ... } evaluates the table constructor.
  local expr = text:sub(first, first) == "(" and text:sub(first + 1, last - 1)
    or text:sub(first, last)
  local chunk, err = loadstring("return " .. expr, "=:expect argument")
  if not chunk then
    return nil, err
  end
  setfenv(chunk, handler_env(fn))
  local ok, value = pcall(chunk)
  if not ok then
    return nil, tostring(value)
  end
  if type(value) ~= "table" then
    return nil, ":expect argument is not a table"
  end
  return value
end

O.expect_value = function(handler)
  return expect_value(handler)
end

-- ---------------------------------------------------------------------------
-- The document

local body_methods = { post = true, put = true, patch = true }

local function request_body(method, handler, files)
  local ok, value = pcall(expect_value, handler, files)
  local schema
  if ok and value ~= nil then
    ok, schema = pcall(schema_of, value)
    if not ok then
      schema = nil
    end
  end
  if schema == nil then
    if not body_methods[method] then
      return nil
    end
    schema = { type = "object" }
  end
  return { required = true, content = { ["application/json"] = { schema = schema } } }
end

local function operation_id(method, pattern, used)
  local parts = {}
  for segment in pattern:gmatch("[^/]+") do
    parts[#parts + 1] = (segment:gsub("[{}]", ""))
  end
  local base = method .. "_" .. (#parts > 0 and concat(parts, "_") or "root")
  local id, n = base, 1
  while used[id] do
    n = n + 1
    id = base .. "_" .. n
  end
  used[id] = true
  return id
end

local function add_operation(paths, used_ids, files, route)
  local method, pattern = route.method, route.pattern
  if type(method) ~= "string" or type(pattern) ~= "string" then
    return
  end
  method = method:lower()
  local item = paths[pattern] or {}
  paths[pattern] = item
  if item[method] then
    return
  end
  local op = {
    summary = method:upper() .. " " .. pattern,
    operationId = operation_id(method, pattern, used_ids),
    responses = { ["200"] = { description = "Successful response" } },
  }
  local parameters = array()
  for name in pattern:gmatch("{([^}]*)}") do
    parameters[#parameters + 1] =
      { name = name, ["in"] = "path", required = true, schema = { type = "string" } }
  end
  if #parameters > 0 then
    op.parameters = parameters
  end
  op.requestBody = request_body(method, route.handler, files)
  item[method] = op
end

function O.build(routes)
  local paths, used_ids, files = {}, {}, {}
  if type(routes) == "table" then
    for _, route in ipairs(routes) do
      if type(route) == "table" then
        pcall(add_operation, paths, used_ids, files, route)
      end
    end
  end
  local doc = { openapi = "3.0.3", info = { title = "API", version = "1.0.0" }, paths = paths }
  return encode(doc), doc
end

-- ---------------------------------------------------------------------------
-- The docs page

local html_escapes =
  { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

local function esc(v)
  return (tostring(v):gsub("[&<>\"']", html_escapes))
end

local method_order = { "get", "post", "put", "patch", "delete", "head", "options" }

local function type_label(schema)
  if type(schema) ~= "table" or schema.type == nil then
    return "any"
  elseif schema.type == "array" then
    return "array of " .. type_label(schema.items)
  end
  return tostring(schema.type)
end

local function notes(schema)
  local out = {}
  if type(schema.enum) == "table" then
    local members = {}
    for i, m in ipairs(schema.enum) do
      members[i] = encode(m)
    end
    out[#out + 1] = "one of " .. concat(members, ", ")
  end
  if schema.default ~= nil then
    out[#out + 1] = "default " .. encode(schema.default)
  end
  if schema.nullable then
    out[#out + 1] = "nullable"
  end
  return concat(out, "; ")
end

-- Table rows for an object schema's fields, nested objects as dotted names.
local function field_rows(schema, prefix, rows, depth)
  if type(schema.properties) ~= "table" or depth > 8 then
    return rows
  end
  local required = {}
  for _, name in ipairs(type(schema.required) == "table" and schema.required or {}) do
    required[name] = true
  end
  local names = {}
  for name in pairs(schema.properties) do
    names[#names + 1] = name
  end
  sort(names)
  for _, name in ipairs(names) do
    local field = schema.properties[name]
    if type(field) == "table" then
      rows[#rows + 1] = format("<tr><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td></tr>",
        esc(prefix .. name), esc(type_label(field)), required[name] and "yes" or "",
        esc(notes(field)))
      field_rows(field, prefix .. name .. ".", rows, depth + 1)
    end
  end
  return rows
end

local function operation_html(path, method, op, out)
  out[#out + 1] = format(
    '<section class="op"><h2><span class="method %s">%s</span> <code>%s</code></h2>',
    esc(method), esc(method:upper()), esc(path))
  out[#out + 1] = format('<p class="id">%s</p>', esc(op.operationId or ""))
  if type(op.parameters) == "table" and #op.parameters > 0 then
    out[#out + 1] = "<h3>Parameters</h3><table><tr><th>Name</th><th>In</th><th>Type</th></tr>"
    for _, p in ipairs(op.parameters) do
      out[#out + 1] = format("<tr><td><code>%s</code></td><td>%s</td><td>%s</td></tr>",
        esc(p.name), esc(p["in"]), esc(type_label(p.schema)))
    end
    out[#out + 1] = "</table>"
  end
  local body = type(op.requestBody) == "table" and type(op.requestBody.content) == "table"
    and op.requestBody.content["application/json"]
  if type(body) == "table" and type(body.schema) == "table" then
    out[#out + 1] = format("<h3>Request body</h3><p>application/json: %s</p>",
      esc(type_label(body.schema)))
    local rows = field_rows(body.schema, "", {}, 1)
    if #rows > 0 then
      out[#out + 1] = "<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Notes</th></tr>"
        .. concat(rows) .. "</table>"
    end
  end
  out[#out + 1] = "</section>"
end

local style = "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;"
  .. "padding:0 1em;color:#222}"
  .. ".op{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:1em 0}"
  .. "h2{font-size:1.1em}h3{font-size:.95em;margin:.8em 0 .3em}.id{color:#777;margin:0}"
  .. ".method{display:inline-block;min-width:4.5em;padding:.1em .4em;border-radius:4px;"
  .. "background:#555;color:#fff;font-size:.85em;text-align:center}"
  .. ".get{background:#2a7ab0}.post{background:#2d8a4e}.put,.patch{background:#b07a2a}"
  .. ".delete{background:#b03a2a}"
  .. "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}"

function O.docs_html(doc, json_text)
  doc = type(doc) == "table" and doc or {}
  json_text = json_text or encode(doc)
  local info = type(doc.info) == "table" and doc.info or {}
  local title = esc(info.title or "API") .. " " .. esc(info.version or "")
  local out = { '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
                "<title>" .. title .. "</title><style>" .. style .. "</style></head><body>",
                "<h1>" .. title .. "</h1>" }
  local paths = type(doc.paths) == "table" and doc.paths or {}
  local names = {}
  for path in pairs(paths) do
    names[#names + 1] = path
  end
  sort(names)
  for _, path in ipairs(names) do
    for _, method in ipairs(method_order) do
      local op = type(paths[path]) == "table" and paths[path][method]
      if type(op) == "table" then
        operation_html(path, method, op, out)
      end
    end
  end
  if #names == 0 then
    out[#out + 1] = "<p>No routes.</p>"
  end
  -- "<!--" would make a later "<script" keep the element open; "\u0021" is the same JSON string.
  local embedded = json_text:gsub("</", "<\\/"):gsub("<!%-%-", "<\\u0021--")
  out[#out + 1] = '<script type="application/json" id="openapi">' .. embedded .. "</script>"
  out[#out + 1] = "</body></html>\n"
  return concat(out, "\n")
end

return O
