-- rover.db's engine-independent part (runtime-modules.md §9): the query builder, the schema
-- DSL and rover.db.guard. Called with (guard), the module of prelude/guard.lua; returns B.
-- The migration DSL and runner (prelude/db_migrate.lua, called with B) are added to B there.
--
-- What B expects of a db object: db.engine = "sqlite" | "postgres"; db:query(sql, ...) ->
-- array of row tables; db:exec(sql, ...) -> number of affected rows. Parameters are passed
-- as varargs and may include nil (SQL NULL). The SQL uses `?` placeholders on both engines
-- (the engine translates them to $n for PostgreSQL).
--
--   B.table(db, name)       table handle: :find() :insert(row) :update() :delete() :sql()
--   B.schema.<t>(fields)    registers the fields (validators) of table t; B.schema_of(t)
--   B.guard                 rover.guard extended with :primary() :auto() :unique()
--                           :references("t.col") :index()
--   B.count(expr) B.sum(col) B.avg(col) B.min(col) B.max(col)   aggregates for :agg{}
--   B.column(name)          a column ("col" or "t.col") as the value of a comparison filter,
--                           so an :exists() subquery can refer to the outer query's row
--   B.null                  SQL NULL as a value in :insert{} and :set{}
--   B.quote(name)           a checked identifier, quoted ("users")
--   B.is_query(v), B.schema_of(t), and for db_migrate.lua: B.fail, B.describe, B.engine_of,
--   B.column_info, B.columns_of
--
-- Queries (db.<table>:find()) take filters by_<field>(v) / by_<field>_<op>(v), :select(...)
-- :order_by(col, dir) :limit(n) :offset(n) :group_by(...) :agg{} :exists(q) :merge(q) and end
-- in :all() :first() :count() or :inspect() -> sql, params (params: an array with a count n);
-- :count_sql() is the SQL :count() runs. :update() and :delete() take the filters, :exists
-- and :merge; update adds :set{}; both end in :exec() (affected rows) or :inspect().
--
-- The SQL text (what :inspect() returns): keywords upper case, one space between clauses,
-- every identifier double-quoted after it matched ^[A-Za-z_][A-Za-z0-9_]*$ (nothing else
-- is accepted), every value a `?` placeholder (LIMIT and OFFSET too, so one statement text
-- serves every page); columns of :insert{} and :set{} and aliases of :agg{} in sorted order.
--   SELECT * FROM "users" WHERE "age" > ? AND "name" LIKE ? ESCAPE '\' ORDER BY "id" DESC LIMIT ?
--
-- Choices where the spec is silent: every builder call returns a new query (a query can be
-- reused as a base); contains/starts_with/ends_with use LIKE on SQLite and ILIKE on
-- PostgreSQL, so both match ASCII letters regardless of case as SQLite's LIKE does; an empty
-- in_list is `1 = 0` and an empty not_in_list `1 = 1`; OFFSET without LIMIT on SQLite is
-- `LIMIT -1 OFFSET ?`; a nil filter value raises (use by_x_is_null()); with a registered
-- schema, insert and update write only the schema's fields (others are dropped, as
-- :expect drops them) and update validates the types of the fields it sets; :insert
-- returns the schema's primary field (RETURNING "<pk>"), or without one the `id` of
-- RETURNING * (nil when the table has no `id`); update and delete without a filter touch
-- every row.

local guard = ...

local type, pairs, ipairs, next, tostring, select, error =
  type, pairs, ipairs, next, tostring, select, error
local setmetatable, getmetatable, rawget = setmetatable, getmetatable, rawget
local unpack, tonumber, floor = unpack, tonumber, math.floor
local format, concat, sort = string.format, table.concat, table.sort

local B = {}
local schemas = {} -- by table name: { name, fields, columns, pk }

-- ---------------------------------------------------------------------------
-- Errors, identifiers, parameters

local function fail(message, ...)
  if select("#", ...) > 0 then
    message = format(message, ...)
  end
  error("db error: " .. message, 0)
end
B.fail = fail

local function describe(v)
  if type(v) == "string" then
    return "'" .. v .. "'"
  end
  return type(v)
end
B.describe = describe

local IDENT = "^[A-Za-z_][A-Za-z0-9_]*$"

local function is_ident(name)
  return type(name) == "string" and name:match(IDENT) ~= nil
end

-- `name` checked and quoted; `what` names it in the error ("table", "column", "index").
local function quote(name, what)
  if not is_ident(name) then
    fail("invalid %s name %s", what or "identifier", describe(name))
  end
  return '"' .. name .. '"'
end
B.quote = quote

-- "col" or "t.col", quoted part by part.
local function quote_column(name)
  if type(name) == "string" then
    local t, c = name:match("^([^.]+)%.([^.]+)$")
    if t then
      return quote(t, "table") .. "." .. quote(c, "column")
    end
  end
  return quote(name, "column")
end

-- `db` may be a table or a userdata with fields.
local function engine_of(db)
  local t = type(db)
  local engine = (t == "table" or t == "userdata") and db.engine
  if engine ~= "sqlite" and engine ~= "postgres" then
    fail("unknown engine %s (expected 'sqlite' or 'postgres')", describe(engine))
  end
  return engine
end
B.engine_of = engine_of

-- Parameter lists are arrays with an explicit count `n`, as values may be nil.
local function new_params()
  return { n = 0 }
end

local function push(params, value)
  local n = params.n + 1
  params[n] = value
  params.n = n
end

local function append(params, other)
  for i = 1, other.n do
    push(params, other[i])
  end
end

local function sorted_keys(t, what)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      fail("%s: column names must be strings, got %s", what, type(k))
    end
    keys[#keys + 1] = k
  end
  sort(keys)
  return keys
end

-- ---------------------------------------------------------------------------
-- Markers: NULL, column references, aggregates

local Null = setmetatable({}, { __tostring = function() return "rover.db.null" end })
B.null = Null

local ColumnRef = {}
ColumnRef.__index = ColumnRef

function B.column(name)
  quote_column(name)
  return setmetatable({ name = name }, ColumnRef)
end

local Agg = {}
Agg.__index = Agg

local function aggregate(fn, allow_star)
  return function(expr)
    if expr == nil and allow_star then
      expr = "*"
    end
    if not (allow_star and expr == "*") then
      quote_column(expr)
    end
    return setmetatable({ fn = fn, expr = expr }, Agg)
  end
end

B.count = aggregate("COUNT", true)
B.sum = aggregate("SUM")
B.avg = aggregate("AVG")
B.min = aggregate("MIN")
B.max = aggregate("MAX")

local function agg_sql(a)
  return a.fn .. "(" .. (a.expr == "*" and "*" or quote_column(a.expr)) .. ")"
end

-- A value that can be bound: string, number, boolean (cdata: LuaJIT 64-bit integers).
local function check_scalar(value, where)
  local t = type(value)
  if t == "string" or t == "number" or t == "boolean" or t == "cdata" then
    return value
  end
  if value == nil then
    fail("%s needs a value (nil given)", where)
  end
  fail("%s: cannot bind a %s", where, t)
end

-- ---------------------------------------------------------------------------
-- Filters: by_<field>(v) and by_<field>_<op>(v)

local OPS = {
  "equals", "not_equals", "bigger_than", "smaller_than", "bigger_than_or_equals",
  "smaller_than_or_equals", "contains", "starts_with", "ends_with", "between", "in_list",
  "not_in_list", "is_null", "is_not_null",
}
-- Longest first, so by_x_bigger_than_or_equals is not read as a field x_bigger_than_or.
sort(OPS, function(a, b) return #a > #b or (#a == #b and a < b) end)

local COMPARE = {
  equals = "=", not_equals = "<>", bigger_than = ">", smaller_than = "<",
  bigger_than_or_equals = ">=", smaller_than_or_equals = "<=",
}

local LIKE_PATTERN = { contains = "%%%s%%", starts_with = "%s%%", ends_with = "%%%s" }

-- "by_created_at_bigger_than" -> "created_at", "bigger_than"; no op suffix -> "equals".
local function parse_filter(method)
  local rest = method:sub(4)
  for _, op in ipairs(OPS) do
    local cut = #rest - #op
    if cut > 1 and rest:sub(cut) == "_" .. op then
      return rest:sub(1, cut - 1), op
    end
  end
  return rest, "equals"
end

-- Each returns the condition's SQL text and pushes its values onto `params`.
local function compare_condition(column, op, value, where, params)
  if getmetatable(value) == ColumnRef then
    return column .. " " .. COMPARE[op] .. " " .. quote_column(value.name)
  end
  if value == nil then
    fail("%s needs a value (nil given; use %s_is_null())", where, where)
  end
  push(params, check_scalar(value, where))
  return column .. " " .. COMPARE[op] .. " ?"
end

local function like_condition(column, op, value, where, params, engine)
  local t = type(value)
  if t ~= "string" and t ~= "number" then
    fail("%s expects a string, got %s", where, value == nil and "nil" or t)
  end
  local escaped = tostring(value):gsub("[\\%%_]", "\\%0")
  push(params, format(LIKE_PATTERN[op], escaped))
  local like = engine == "postgres" and " ILIKE" or " LIKE"
  return column .. like .. " ? ESCAPE '\\'"
end

local function between_condition(column, value, where, params)
  if type(value) ~= "table" or value[1] == nil or value[2] == nil or value[3] ~= nil then
    fail("%s expects { low, high }", where)
  end
  push(params, check_scalar(value[1], where))
  push(params, check_scalar(value[2], where))
  return column .. " BETWEEN ? AND ?"
end

local function list_condition(column, op, value, where, params)
  if type(value) ~= "table" then
    fail("%s expects an array, got %s", where, value == nil and "nil" or type(value))
  end
  local n = 0
  for k in pairs(value) do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then
      fail("%s expects an array, got a table with key %s", where, describe(k))
    end
    n = n + 1
  end
  if n == 0 then
    return op == "in_list" and "1 = 0" or "1 = 1" -- nothing is in an empty list
  end
  local marks = {}
  for i = 1, n do
    if value[i] == nil then
      fail("%s expects an array, got a table with holes", where)
    end
    push(params, check_scalar(value[i], where))
    marks[i] = "?"
  end
  local keyword = op == "in_list" and " IN (" or " NOT IN ("
  return column .. keyword .. concat(marks, ", ") .. ")"
end

local function filter_condition(method, engine, nargs, value)
  local field, op = parse_filter(method)
  if not is_ident(field) then
    fail("invalid column name %s in %s()", describe(field), method)
  end
  local column = quote(field)
  local params = new_params()
  local text
  if op == "is_null" or op == "is_not_null" then
    if nargs > 0 and value ~= nil then
      fail("%s() takes no value", method)
    end
    text = column .. (op == "is_null" and " IS NULL" or " IS NOT NULL")
  elseif nargs > 1 then
    fail("%s() takes one value, got %d", method, nargs)
  elseif COMPARE[op] then
    text = compare_condition(column, op, value, method, params)
  elseif LIKE_PATTERN[op] then
    text = like_condition(column, op, value, method, params, engine)
  elseif op == "between" then
    text = between_condition(column, value, method, params)
  else
    text = list_condition(column, op, value, method, params)
  end
  return { text = text, params = params }
end

-- ---------------------------------------------------------------------------
-- Schema DSL and rover.db.guard

local function set_flag(name)
  return function(self)
    self[name] = true
    return self
  end
end

B.guard = guard.extend({
  primary = set_flag("is_primary"),
  auto = set_flag("is_auto"),
  unique = set_flag("is_unique"),
  index = set_flag("is_indexed"),
  references = function(self, target)
    local t, c
    if type(target) == "string" then
      t, c = target:match("^([^.]+)%.([^.]+)$")
    end
    if not (is_ident(t) and is_ident(c)) then
      fail("references expects 'table.column', got %s", describe(target))
    end
    self.references_table, self.references_column = t, c
    return self
  end,
})

-- A field's rules (guard.resolve's record) plus the column metadata; a raw-table field
-- spec may carry the metadata as keys: primary, auto, unique, index, references.
local function column_info(name, spec)
  local rules = guard.resolve(spec, name)
  local raw = not guard.is_validator(spec)
  local function flag(field, key)
    return spec[field] == true or (raw and spec[key] == true)
  end
  local info = {
    name = name, kind = rules.kind, is_required = rules.is_required,
    has_default = rules.has_default, default_value = rules.default_value,
    is_primary = flag("is_primary", "primary"), is_auto = flag("is_auto", "auto"),
    is_unique = flag("is_unique", "unique"), is_indexed = flag("is_indexed", "index"),
    references_table = spec.references_table, references_column = spec.references_column,
  }
  if raw and type(spec.references) == "string" then
    info.references_table, info.references_column = spec.references:match("^([^.]+)%.([^.]+)$")
  end
  return info
end
B.column_info = column_info

-- Checks a field map; returns its columns (primary first, then by name) and the primary key.
local function columns_of(table_name, fields)
  if type(fields) ~= "table" or next(fields) == nil then
    fail("table %s needs a table of fields", describe(table_name))
  end
  local columns, pk = {}, nil
  for _, name in ipairs(sorted_keys(fields, "fields of " .. table_name)) do
    quote(name, "column")
    local info = column_info(name, fields[name])
    if info.is_auto and not (info.is_primary and info.kind == "integer") then
      fail("%s.%s: auto() needs an integer primary() field", table_name, name)
    end
    if info.is_primary then
      if pk then
        fail("table %s has more than one primary field (%s, %s)", describe(table_name), pk, name)
      end
      pk = name
      table.insert(columns, 1, info)
    else
      columns[#columns + 1] = info
    end
  end
  return columns, pk
end
B.columns_of = columns_of

local function register(name, fields)
  quote(name, "table")
  local columns, pk = columns_of(name, fields)
  schemas[name] = { name = name, fields = fields, columns = columns, pk = pk }
  return fields
end

-- rover.db.schema.<table> { ... }
B.schema = setmetatable({}, {
  __index = function(_, name)
    quote(name, "table")
    return function(fields)
      return register(name, fields)
    end
  end,
  __newindex = function()
    fail("register a schema with rover.db.schema.<table> { fields }")
  end,
})

function B.schema_of(name)
  return schemas[name]
end

-- The row as the schema's guard outputs it (only schema fields; defaults filled); raises
-- the guard error. B.null values skip validation and stay NULL unless the field is required.
-- `partial` (update): only the given fields are checked.
local function validate_row(schema, row, partial)
  local data, nulls, fields = {}, {}, schema.fields
  for k, v in pairs(row) do
    if v == Null then
      nulls[k] = true
    else
      data[k] = v
    end
  end
  if partial then
    fields = {}
    for k in pairs(row) do
      fields[k] = schema.fields[k]
    end
  end
  local out, err = guard.check(data, fields)
  if err then
    error(err, 0)
  end
  for k in pairs(nulls) do
    if fields[k] ~= nil and not guard.resolve(fields[k], k).is_required then
      out[k] = Null
    end
  end
  return out
end

-- ---------------------------------------------------------------------------
-- Queries
--
-- A query is a table { kind = "select" | "update" | "delete", db, engine, table, conds,
-- columns, groups, orders, aggs, limit_n, offset_n, sets }. Builder methods never change a
-- query: each returns a copy with the one field replaced.

-- Optional fields are false when unset: a missing key would reach Query.__index.
local Query = {}
local methods = { select = {}, update = {}, delete = {} }
local filter_methods = {} -- by method name, so each by_* function is made once

local function is_query(v)
  return getmetatable(v) == Query
end
B.is_query = is_query

local function new_query(db, name, kind)
  return setmetatable({
    kind = kind, db = db, engine = engine_of(db), table = name, conds = {}, columns = {},
    groups = {}, orders = {}, aggs = {}, limit_n = false, offset_n = false, sets = false,
  }, Query)
end

local function derive(q, field, value)
  local out = {}
  for k, v in pairs(q) do
    out[k] = v
  end
  out[field] = value
  return setmetatable(out, Query)
end

local function with_item(q, field, item)
  local list = {}
  for i, v in ipairs(q[field]) do
    list[i] = v
  end
  list[#list + 1] = item
  return derive(q, field, list)
end

function Query.__index(q, key)
  local m = methods[rawget(q, "kind")][key]
  if m then
    return m
  end
  if type(key) ~= "string" then
    return nil
  end
  if key:sub(1, 3) == "by_" then
    local fn = filter_methods[key]
    if not fn then
      fn = function(self, ...)
        local cond = filter_condition(key, self.engine, select("#", ...), (...))
        return with_item(self, "conds", cond)
      end
      filter_methods[key] = fn
    end
    return fn
  end
  fail("%s query has no method '%s'", rawget(q, "kind"), key)
end

local function where_sql(q, params)
  if #q.conds == 0 then
    return ""
  end
  local parts = {}
  for i, cond in ipairs(q.conds) do
    parts[i] = cond.text
    append(params, cond.params)
  end
  return " WHERE " .. concat(parts, " AND ")
end

local function select_list(q)
  local cols = {}
  local source = #q.columns > 0 and q.columns or q.groups
  for i, c in ipairs(source) do
    cols[i] = c == "*" and "*" or quote_column(c)
  end
  for _, alias in ipairs(sorted_keys(q.aggs, "agg")) do
    cols[#cols + 1] = agg_sql(q.aggs[alias]) .. " AS " .. quote(alias, "alias")
  end
  if #cols == 0 then
    return "*"
  end
  return concat(cols, ", ")
end

local function limit_sql(q, params)
  local out = ""
  if q.limit_n then
    push(params, q.limit_n)
    out = " LIMIT ?"
  elseif q.offset_n and q.engine == "sqlite" then
    out = " LIMIT -1" -- SQLite has no OFFSET without LIMIT
  end
  if q.offset_n then
    push(params, q.offset_n)
    out = out .. " OFFSET ?"
  end
  return out
end

local function select_sql(q)
  local params = new_params()
  local parts = {
    "SELECT ", select_list(q), " FROM ", quote(q.table, "table"), where_sql(q, params),
  }
  if #q.groups > 0 then
    local cols = {}
    for i, c in ipairs(q.groups) do
      cols[i] = quote_column(c)
    end
    parts[#parts + 1] = " GROUP BY " .. concat(cols, ", ")
  end
  if #q.orders > 0 then
    local items = {}
    for i, o in ipairs(q.orders) do
      items[i] = quote_column(o.column) .. " " .. o.direction
    end
    parts[#parts + 1] = " ORDER BY " .. concat(items, ", ")
  end
  parts[#parts + 1] = limit_sql(q, params)
  return concat(parts), params
end

-- Writes of :insert{} and :set{}: B.null binds as nil.
local function bind_value(value, where)
  if value == Null then
    return nil
  end
  return check_scalar(value, where)
end

local function update_sql(q)
  if not q.sets or next(q.sets) == nil then
    fail("update of %s has nothing to set (call :set{...})", describe(q.table))
  end
  local params = new_params()
  local items = {}
  for i, col in ipairs(sorted_keys(q.sets, "set")) do
    items[i] = quote(col, "column") .. " = ?"
    push(params, bind_value(q.sets[col], "set " .. col))
  end
  local sql = "UPDATE " .. quote(q.table, "table") .. " SET " .. concat(items, ", ")
  return sql .. where_sql(q, params), params
end

local function delete_sql(q)
  local params = new_params()
  local sql = "DELETE FROM " .. quote(q.table, "table")
  return sql .. where_sql(q, params), params
end

local RENDER = { select = select_sql, update = update_sql, delete = delete_sql }

local function run_query(db, sql, params)
  return db:query(sql, unpack(params, 1, params.n))
end

local function run_exec(db, sql, params)
  return db:exec(sql, unpack(params, 1, params.n))
end

-- Shared by all kinds: exists, merge, inspect.
for _, m in pairs(methods) do
  function m:exists(sub)
    if not is_query(sub) or sub.kind ~= "select" then
      fail("exists expects a query (db.<table>:find()...)")
    end
    local sql, params = select_sql(sub)
    return with_item(self, "conds", { text = "EXISTS (" .. sql .. ")", params = params })
  end

  function m:merge(other)
    if not is_query(other) then
      fail("merge expects a query")
    end
    local conds = {}
    for i, c in ipairs(self.conds) do
      conds[i] = c
    end
    for _, c in ipairs(other.conds) do
      conds[#conds + 1] = c
    end
    return derive(self, "conds", conds)
  end

  -- The SQL text and its parameters (an array with a count `n`); nothing runs.
  function m:inspect()
    return RENDER[self.kind](self)
  end
end

local S = methods.select

local function column_list(where, ...)
  local cols = select("#", ...) == 1 and type((...)) == "table" and (...) or { ... }
  if #cols == 0 then
    fail("%s needs at least one column", where)
  end
  for _, c in ipairs(cols) do
    if not (where == "select" and c == "*") then
      quote_column(c)
    end
  end
  return cols
end

function S:select(...)
  local list = {}
  for _, c in ipairs(self.columns) do
    list[#list + 1] = c
  end
  for _, c in ipairs(column_list("select", ...)) do
    list[#list + 1] = c
  end
  return derive(self, "columns", list)
end

function S:group_by(...)
  local list = {}
  for _, c in ipairs(self.groups) do
    list[#list + 1] = c
  end
  for _, c in ipairs(column_list("group_by", ...)) do
    list[#list + 1] = c
  end
  return derive(self, "groups", list)
end

function S:order_by(column, direction)
  quote_column(column)
  local dir = direction == nil and "asc" or (type(direction) == "string" and direction:lower())
  if dir ~= "asc" and dir ~= "desc" then
    fail("order_by: direction must be 'asc' or 'desc', got %s", describe(direction))
  end
  return with_item(self, "orders", { column = column, direction = dir:upper() })
end

local function count_arg(n, where)
  if type(n) ~= "number" or n < 0 or n ~= floor(n) or n == math.huge then
    local got = type(n) == "number" and tostring(n) or type(n)
    fail("%s expects a non-negative integer, got %s", where, got)
  end
  return n
end

function S:limit(n)
  return derive(self, "limit_n", count_arg(n, "limit"))
end

function S:offset(n)
  return derive(self, "offset_n", count_arg(n, "offset"))
end

function S:agg(list)
  if type(list) ~= "table" or next(list) == nil then
    fail("agg expects a table { alias = rover.db.count('*'), ... }")
  end
  local aggs = {}
  for alias, a in pairs(self.aggs) do
    aggs[alias] = a
  end
  for alias, a in pairs(list) do
    quote(alias, "alias")
    if getmetatable(a) ~= Agg then
      fail("agg: %s is not an aggregate (rover.db.count/sum/avg/min/max)", describe(alias))
    end
    aggs[alias] = a
  end
  return derive(self, "aggs", aggs)
end

function S:all()
  local sql, params = select_sql(self)
  return run_query(self.db, sql, params)
end

function S:first()
  local q = derive(self, "limit_n", self.limit_n == 0 and 0 or 1)
  local sql, params = select_sql(q)
  return run_query(self.db, sql, params)[1]
end

-- The number of rows the query would return.
function S:count_sql()
  local q = self
  if next(q.aggs) ~= nil or #q.groups > 0 or q.limit_n or q.offset_n then
    local inner, params = select_sql(q)
    return 'SELECT COUNT(*) AS "count" FROM (' .. inner .. ') AS "rover_count"', params
  end
  local params = new_params()
  local sql = 'SELECT COUNT(*) AS "count" FROM ' .. quote(q.table, "table") .. where_sql(q, params)
  return sql, params
end

function S:count()
  local sql, params = self:count_sql()
  local row = run_query(self.db, sql, params)[1]
  return row and tonumber(row.count) or 0
end

local U = methods.update

-- With a registered schema the values are checked against it (as in insert).
function U:set(values)
  if type(values) ~= "table" then
    fail("set expects a table of column values")
  end
  local schema = schemas[self.table]
  if schema then
    values = validate_row(schema, values, true)
  end
  local sets = {}
  for k, v in pairs(self.sets or {}) do
    sets[k] = v
  end
  for k, v in pairs(values) do
    sets[k] = v
  end
  return derive(self, "sets", sets)
end

function U:exec()
  local sql, params = update_sql(self)
  return run_exec(self.db, sql, params)
end

function methods.delete:exec()
  local sql, params = delete_sql(self)
  return run_exec(self.db, sql, params)
end

-- ---------------------------------------------------------------------------
-- Table handles: db.<table>

local Table = {}
Table.__index = Table

function B.table(db, name)
  quote(name, "table")
  engine_of(db)
  return setmetatable({ db = db, name = name }, Table)
end

function Table:find()
  return new_query(self.db, self.name, "select")
end

function Table:update()
  return new_query(self.db, self.name, "update")
end

function Table:delete()
  return new_query(self.db, self.name, "delete")
end

-- INSERT's SQL and parameters for a row (validated with the schema when there is one).
function Table:insert_sql(row)
  if type(row) ~= "table" then
    fail("insert expects a table of column values")
  end
  local schema = schemas[self.name]
  if schema then
    row = validate_row(schema, row, false)
  end
  local params = new_params()
  local cols, marks = {}, {}
  for i, col in ipairs(sorted_keys(row, "insert")) do
    cols[i] = quote(col, "column")
    marks[i] = "?"
    push(params, bind_value(row[col], "insert " .. col))
  end
  local sql = "INSERT INTO " .. quote(self.name, "table")
  if #cols == 0 then
    sql = sql .. " DEFAULT VALUES"
  else
    sql = sql .. " (" .. concat(cols, ", ") .. ") VALUES (" .. concat(marks, ", ") .. ")"
  end
  local pk = schema and schema.pk
  return sql .. " RETURNING " .. (pk and quote(pk) or "*"), params, pk or "id"
end

function Table:insert(row)
  local sql, params, pk = self:insert_sql(row)
  local rows = run_query(self.db, sql, params)
  return rows[1] and rows[1][pk]
end

-- :sql():raw(sql, params) -> :all() :first() :exec() :inspect()
local Raw = {}
Raw.__index = Raw

local RawSql = {}
RawSql.__index = RawSql

function Table:sql()
  return setmetatable({ db = self.db }, RawSql)
end

function RawSql:raw(sql, params)
  if type(sql) ~= "string" then
    fail("raw expects an SQL string")
  end
  if params ~= nil and type(params) ~= "table" then
    fail("raw expects its parameters as an array")
  end
  local list = new_params()
  params = params or {}
  for i = 1, params.n or table.maxn(params) do
    push(list, params[i])
  end
  return setmetatable({ db = self.db, text = sql, params = list }, Raw)
end

function Raw:all()
  return run_query(self.db, self.text, self.params)
end

-- The first row the statement returns (the SQL is run as given: no LIMIT is added).
function Raw:first()
  return run_query(self.db, self.text, self.params)[1]
end

function Raw:exec()
  return run_exec(self.db, self.text, self.params)
end

function Raw:inspect()
  return self.text, self.params
end

return B
