-- rover.guard: validates Lua tables against schemas (lua-api.md §10).
--
-- This chunk returns the guard module `g`. What the server relies on:
--   g(data, schema)       validate, return the new table or raise a guard error (level 0)
--   g.check(data, schema) non-raising form: `output, nil` or `nil, guard_error`; plain errors
--                         (bad data / invalid schema) still raise, as they mean a 500
--   g.validate(fn, ...)   `true, ...` or `false, guard_error | message string`
--   g.is_error(v)         true for guard error objects
--   g.is_validator(v)     true for validators made by any guard (base or extended)
--   g.resolve(spec, path) field spec (validator or raw table) -> validator-shaped record,
--                         or raises `Invalid schema for field '<path>'`
--
-- A guard error keeps its errors in `err.errors_list`: an array of
-- `{ field = <path>, path = <path>, message = <text>, type = "required"|"type"|"enum" }`
-- in validation order. Do not mutate it; `err:errors()` hands out copies.
--
-- Validators (and records from g.resolve) carry their rules in these fields, e.g. for the
-- OpenAPI generator: kind ("string", "number", "integer", "boolean", "array", "object"),
-- is_required, required_msg, has_default, default_value, enum_values, is_nullable,
-- element (array element spec or nil), schema (object field specs or nil).

local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local error, pcall, setmetatable, getmetatable = error, pcall, setmetatable, getmetatable
local floor, huge = math.floor, math.huge
local format, rep, concat, sort = string.format, string.rep, table.concat, table.sort

-- ---------------------------------------------------------------------------
-- Describing values

local function is_integral(x)
  return x == floor(x) and x ~= huge and x ~= -huge
end

-- Empty, or exactly the keys 1..n.
local function is_sequence(t)
  local count, max = 0, 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then
      return false
    end
    count = count + 1
    if k > max then
      max = k
    end
  end
  return count == max
end

local function is_nonempty_array(t)
  return t[1] ~= nil and is_sequence(t)
end

-- Shortest text that reads back as the same double, laid out like JavaScript's String(x)
-- (same rules as the JSON encoder, §9.1), so messages read `got float 0.1`, not 0.10000000000000001.
local function format_number(x)
  if x ~= x then
    return "NaN"
  elseif x == huge then
    return "Infinity"
  elseif x == -huge then
    return "-Infinity"
  elseif x == 0 then
    return "0"
  end
  local text
  for precision = 1, 17 do
    text = format("%." .. (precision - 1) .. "e", x)
    if tonumber(text) == x then
      break
    end
  end
  local sign, int, frac, exp = text:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (int .. frac):gsub("0+$", "")
  if digits == "" then
    digits = "0"
  end
  local e = tonumber(exp) -- value = 0.d1d2... * 10^(e+1)
  local n = #digits
  if e >= 21 or e < -6 then
    local mantissa = digits:sub(1, 1)
    if n > 1 then
      mantissa = mantissa .. "." .. digits:sub(2)
    end
    return sign .. mantissa .. "e" .. (e >= 0 and "+" or "-") .. (e >= 0 and e or -e)
  elseif e >= n - 1 then
    return sign .. digits .. rep("0", e - n + 1)
  elseif e >= 0 then
    return sign .. digits:sub(1, e + 1) .. "." .. digits:sub(e + 2)
  end
  return sign .. "0." .. rep("0", -e - 1) .. digits
end

-- The `<got>` of §10.4.
local function got_name(v)
  local t = type(v)
  if t == "number" then
    return is_integral(v) and "integer" or "number"
  elseif t == "table" then
    return is_nonempty_array(v) and "array" or "object"
  end
  return t
end

-- ---------------------------------------------------------------------------
-- Type checks: each returns nil when `v` is acceptable, else the type message.

local type_checks = {
  string = function(v)
    if type(v) ~= "string" then
      return "Must be a string, got " .. got_name(v)
    end
  end,
  number = function(v)
    if type(v) ~= "number" then
      return "Must be a number, got " .. got_name(v)
    end
  end,
  integer = function(v)
    if type(v) ~= "number" then
      return "Must be an integer, got " .. got_name(v)
    elseif not is_integral(v) then
      return "Must be an integer, got float " .. format_number(v)
    end
  end,
  boolean = function(v)
    if type(v) ~= "boolean" then
      return "Must be a boolean, got " .. got_name(v)
    end
  end,
  array = function(v)
    if type(v) ~= "table" or not is_sequence(v) then
      return "Must be an array, got " .. got_name(v)
    end
  end,
  object = function(v)
    if type(v) ~= "table" or is_nonempty_array(v) then
      return "Must be an object, got " .. got_name(v)
    end
  end,
}

-- ---------------------------------------------------------------------------
-- Guard errors

local GuardError = {}
GuardError.__index = GuardError

local function new_error(list)
  return setmetatable({ errors_list = list }, GuardError)
end

local function is_error(v)
  return type(v) == "table" and getmetatable(v) == GuardError
end

function GuardError:errors()
  local out = {}
  for i, e in ipairs(self.errors_list) do
    out[i] = { field = e.field, path = e.path, message = e.message, type = e.type }
  end
  return out
end

function GuardError:to_json()
  local out = {}
  for i, e in ipairs(self.errors_list) do
    out[i] = { field = e.field, message = e.message, type = e.type }
  end
  return { errors = out }
end

-- Entries follow one another directly (no blank line between them), and the text has no
-- trailing newline, so it can be embedded in a log line or a plain-text body as is.
function GuardError:__tostring()
  local lines = { "Validation failed for request body:", "" }
  for i, e in ipairs(self.errors_list) do
    lines[#lines + 1] = format("  %d. Field '%s'", i, e.path)
    lines[#lines + 1] = "     Error: " .. e.message
    lines[#lines + 1] = "     Type: " .. e.type
  end
  return concat(lines, "\n")
end

-- ---------------------------------------------------------------------------
-- Validators
--
-- A validator is a table of rules (fields listed at the top) whose metatable gives it the
-- modifier methods. Every guard (base or extended) has its own metatable; all of them are
-- registered here so any guard recognises validators made by any other.

local validator_metatables = setmetatable({}, { __mode = "k" })

local function is_validator(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt ~= nil and mt ~= false and validator_metatables[mt] == true
end

local core_modifiers = {}

function core_modifiers:required(message)
  self.is_required = true
  self.is_nullable = false
  self.required_msg = message
  return self
end

function core_modifiers:default(value)
  self.has_default = value ~= nil
  self.default_value = value
  return self
end

function core_modifiers:enum(list)
  if type(list) ~= "table" then
    error("rover.guard: enum expects a table of allowed values", 2)
  end
  self.enum_values = list
  return self
end

function core_modifiers:nullable()
  self.is_nullable = true
  self.is_required = false
  return self
end

-- Extra methods first, core modifiers on top: an extension cannot change what
-- required/default/enum/nullable mean.
local function make_validator_metatable(extra)
  local methods = {}
  for name, fn in pairs(extra or {}) do
    methods[name] = fn
  end
  for name, fn in pairs(core_modifiers) do
    methods[name] = fn
  end
  local mt = { __index = methods }
  validator_metatables[mt] = true
  return mt, methods
end

local function new_validator(mt, kind, element, schema)
  return setmetatable({
    kind = kind,
    is_required = false,
    is_nullable = false,
    has_default = false,
    element = element,
    schema = schema,
  }, mt)
end

-- ---------------------------------------------------------------------------
-- Raw-table schemas (§10.2)

local function invalid_schema(path)
  error("Invalid schema for field '" .. path .. "'", 0)
end

-- Turns a field spec into a validator-shaped record. A raw table with both `required` and
-- `nullable` set counts as nullable (nil accepted), the lenient reading.
local function resolve(spec, path)
  if is_validator(spec) then
    return spec
  end
  if type(spec) ~= "table" or type(spec.type) ~= "string" or not type_checks[spec.type] then
    invalid_schema(path)
  end
  local nullable = spec.nullable == true
  return {
    kind = spec.type,
    is_required = spec.required == true and not nullable,
    required_msg = spec.required_msg,
    is_nullable = nullable,
    has_default = spec.default ~= nil,
    default_value = spec.default,
    enum_values = type(spec.enum) == "table" and spec.enum or nil,
    element = spec.element,
    schema = spec.schema,
  }
end

-- ---------------------------------------------------------------------------
-- Validation (§10.3)

-- Field names in lexicographic order; non-string keys (unusual) sort after strings by type.
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return ta > tb -- "string" > "number": strings first
  end
  if ta == "string" or ta == "number" then
    return a < b
  end
  return tostring(a) < tostring(b)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  sort(keys, key_less)
  return keys
end

local function field_path(parent, name)
  name = tostring(name)
  if parent == "" then
    return name
  end
  return parent .. "." .. name
end

local function add_error(errors, path, message, kind)
  errors[#errors + 1] = { field = path, path = path, message = message, type = kind }
end

local function enum_message(list, value)
  local members = {}
  for i, m in ipairs(list) do
    members[i] = tostring(m)
  end
  return "Must be one of: " .. concat(members, ", ") .. ". Got: '" .. tostring(value) .. "'"
end

local function in_enum(list, value)
  for _, m in ipairs(list) do
    if m == value then
      return true
    end
  end
  return false
end

-- Forward declarations: values, arrays and field maps recurse into each other.
local validate_value, validate_schema

local function shallow_copy(t)
  local out = {}
  for k, v in pairs(t) do
    out[k] = v
  end
  return out
end

local function validate_array(value, element_spec, path, errors)
  local out = {}
  if element_spec == nil then
    for i = 1, #value do
      out[i] = value[i]
    end
    return out
  end
  if value[1] == nil then
    return out
  end
  local rules = resolve(element_spec, path .. "[1]")
  for i = 1, #value do
    local element_path = path .. "[" .. i .. "]"
    out[i] = validate_value(value[i], rules, element_path, errors)
  end
  return out
end

-- Validates one present-or-absent value; returns the output value (nil = absent/skipped).
function validate_value(value, rules, path, errors)
  if value == nil then
    if rules.has_default then
      return rules.default_value
    end
    if rules.is_required then
      add_error(errors, path, rules.required_msg or ("Field '" .. path .. "' is required"), "required")
    end
    return nil
  end
  local type_message = type_checks[rules.kind](value)
  if type_message then
    add_error(errors, path, type_message, "type")
    return nil
  end
  if rules.enum_values and not in_enum(rules.enum_values, value) then
    add_error(errors, path, enum_message(rules.enum_values, value), "enum")
    return nil
  end
  if rules.kind == "array" then
    return validate_array(value, rules.element, path, errors)
  elseif rules.kind == "object" then
    if rules.schema == nil then
      return shallow_copy(value)
    end
    return validate_schema(value, rules.schema, path, errors)
  end
  return value
end

-- Validates `data` (a table) against a field map; returns the new table.
function validate_schema(data, schema, path, errors)
  if type(schema) ~= "table" then
    invalid_schema(path)
  end
  local out = {}
  for _, name in ipairs(sorted_keys(schema)) do
    local child = field_path(path, name)
    local rules = resolve(schema[name], child)
    out[name] = validate_value(data[name], rules, child, errors)
  end
  return out
end

-- Runs a whole validation; returns output, nil or nil, guard error.
local function check(data, schema)
  if type(data) ~= "table" then
    error("rover.guard: data must be a table", 0)
  end
  if type(schema) ~= "table" then
    error("rover.guard: schema must be a table", 0)
  end
  local errors = {}
  local out
  if is_validator(schema) then
    -- A whole-body validator such as g:object{...} is accepted too.
    out = validate_value(data, schema, "", errors)
  else
    out = validate_schema(data, schema, "", errors)
  end
  if #errors > 0 then
    return nil, new_error(errors)
  end
  return out, nil
end

-- pcall's results as g.validate reports them: other errors become their message string.
local function validate_results(ok, ...)
  if ok then
    return true, ...
  end
  local err = ...
  if is_error(err) then
    return false, err
  end
  return false, tostring(err)
end

local function validate(fn, ...)
  return validate_results(pcall(fn, ...))
end

-- ---------------------------------------------------------------------------
-- Guards

local guards = setmetatable({}, { __mode = "k" })

-- Lets every constructor be called as g:string() or g.string().
local function drop_guard(first, ...)
  if guards[first] then
    return ...
  end
  return first, ...
end

local GuardMeta = {
  __call = function(_, data, schema)
    local out, err = check(data, schema)
    if err then
      error(err, 0)
    end
    return out
  end,
}

local function make_guard(extra_methods)
  local mt = make_validator_metatable(extra_methods)
  local g = setmetatable({}, GuardMeta)
  guards[g] = true

  for kind in pairs(type_checks) do
    if kind ~= "array" and kind ~= "object" then
      g[kind] = function() -- scalar constructors take no arguments besides the guard
        return new_validator(mt, kind)
      end
    end
  end
  g.array = function(...)
    local element = drop_guard(...)
    return new_validator(mt, "array", element, nil)
  end
  g.object = function(...)
    local schema = drop_guard(...)
    return new_validator(mt, "object", nil, schema)
  end

  -- New guard whose validators also have `methods`; earlier extensions are kept.
  g.extend = function(...)
    local methods = drop_guard(...)
    local merged = {}
    for name, fn in pairs(extra_methods or {}) do
      merged[name] = fn
    end
    for name, fn in pairs(methods or {}) do
      merged[name] = fn
    end
    return make_guard(merged)
  end

  g.check = function(...)
    return check(drop_guard(...))
  end
  g.validate = function(...)
    return validate(drop_guard(...))
  end
  g.is_error = is_error
  g.is_validator = is_validator
  g.resolve = resolve
  return g
end

return make_guard(nil)
