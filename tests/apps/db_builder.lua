-- rover.db's query builder, schema DSL and migrations (runtime-modules.md §9) on a real
-- engine. Used by test_db_builder.py, which runs the same scenario on SQLite
-- ($DB_ENGINE=sqlite, the file $DB_PATH) and PostgreSQL ($DB_ENGINE=postgres, $PG_URL).
-- Migration files are in db/migrations/ under the working directory (a temporary one).
local api = rover.server { log_level = "info" }
local g = rover.db.guard
local N = rover.db
local engine = os.getenv("DB_ENGINE")
local db
if engine == "postgres" then
  db = rover.db.connect { url = os.getenv("PG_URL"), pool = 2 }
else
  db = rover.db.connect { path = os.getenv("DB_PATH") }
end

rover.db.schema.authors {
  id = g:integer():primary():auto(),
  name = g:string():required():unique(),
  country = g:string(),
}
rover.db.schema.books {
  id = g:integer():primary():auto(),
  title = g:string():required(),
  author_id = g:integer():required():references("authors.id"):index(),
  year = g:integer(),
  price = g:number(),
  in_print = g:boolean():default(true),
  note = g:string(),
}

-- The migration runner `rover db` uses (prelude/db_migrate.lua).
local run_migrations = rover.db.run_migrations

local function split(s)
  local out = {}
  for part in (s or ""):gmatch("[^,]+") do out[#out + 1] = part end
  return out
end

-- GET /migrate?command=&names=a.lua,b.lua&steps=&force=1 -> { lines } | 500 { error }
function api.migrate.get(ctx)
  local q = ctx:query()
  local files = {}
  for i, name in ipairs(split(q.names)) do
    files[i] = { name = name, path = "db/migrations/" .. name }
  end
  local ok, lines = pcall(run_migrations, db, files, q.command,
    { steps = tonumber(q.steps), force = q.force == "1" })
  if not ok then return api.json:status(500, { error = tostring(lines) }) end
  return { lines = lines }
end

-- Data ---------------------------------------------------------------------------------

function api.seed.get()
  local ids = { authors = {}, books = {} }
  for _, a in ipairs {
    { name = "Ann", country = "NZ" }, { name = "Bob" }, { name = "Cid", country = "FR" },
  } do
    ids.authors[#ids.authors + 1] = db.authors:insert(a)
  end
  for _, b in ipairs {
    { title = "Alpha", author_id = 1, year = 1999, price = 10.5, note = "first" },
    { title = "beta 50%_off", author_id = 1, year = 2001, price = 20, note = N.null },
    { title = "Gamma", author_id = 2, year = 2005, note = "x\\y" },
    { title = "delta", author_id = 2, year = 2010, price = 5.25, note = "last", in_print = false },
    { title = "Epsilon", author_id = 1, price = 7, note = "n", ignored = "dropped by the schema" },
  } do
    ids.books[#ids.books + 1] = db.books:insert(b)
  end
  return ids
end

-- :inspect()'s parameters ({ n = count, ... }) as a JSON array.
local function plain(params)
  local out = {}
  for i = 1, params.n do out[i] = params[i] end
  return out
end

-- Queries by name: each returns a query (nothing runs until the route does).
local Q = {
  all = function() return db.books:find() end,
  equals = function() return db.books:find():by_year(2001) end,
  equals_op = function() return db.books:find():by_year_equals(2005) end,
  not_equals = function() return db.books:find():by_year_not_equals(2001) end,
  bigger_than = function() return db.books:find():by_year_bigger_than(2001) end,
  smaller_than = function() return db.books:find():by_year_smaller_than(2001) end,
  bigger_than_or_equals = function() return db.books:find():by_year_bigger_than_or_equals(2005) end,
  smaller_than_or_equals = function() return db.books:find():by_year_smaller_than_or_equals(2001) end,
  contains = function() return db.books:find():by_title_contains("ta") end,
  contains_case = function() return db.books:find():by_title_contains("AL") end,
  contains_wildcards = function() return db.books:find():by_title_contains("%_") end,
  contains_backslash = function() return db.books:find():by_note_contains("\\") end,
  starts_with = function() return db.books:find():by_title_starts_with("ga") end,
  ends_with = function() return db.books:find():by_title_ends_with("A") end,
  between = function() return db.books:find():by_year_between({ 2000, 2005 }) end,
  in_list = function() return db.books:find():by_id_in_list({ 1, 3, 5 }) end,
  in_empty = function() return db.books:find():by_id_in_list({}) end,
  not_in_list = function() return db.books:find():by_author_id_not_in_list({ 2 }) end,
  not_in_empty = function() return db.books:find():by_author_id_not_in_list({}) end,
  is_null = function() return db.books:find():by_price_is_null() end,
  is_null_note = function() return db.books:find():by_note_is_null() end,
  is_not_null = function() return db.books:find():by_year_is_not_null() end,
  boolean = function() return db.books:find():by_in_print(false) end,
  chained = function() return db.books:find():by_author_id(1):by_year_bigger_than(2000) end,
  merge = function()
    return db.books:find():by_author_id(1):merge(db.books:find():by_price_bigger_than(8))
  end,
  exists = function()
    return db.authors:find():exists(db.books:find():by_author_id(N.column("authors.id")))
  end,
  exists_late = function()
    return db.authors:find():exists(
      db.books:find():by_author_id(N.column("authors.id")):by_year_bigger_than(2004))
  end,
  price_desc = function() return db.books:find():by_price_is_not_null():order_by("price", "desc") end,
  page = function()
    return db.books:find():by_price_is_not_null():order_by("price", "desc"):limit(2):offset(1)
  end,
  offset_only = function()
    return db.books:find():by_price_is_not_null():order_by("price", "desc"):offset(2)
  end,
  limit_zero = function() return db.books:find():limit(0) end,
  two_orders = function() return db.books:find():order_by("author_id"):order_by("id", "desc") end,
}

-- GET /find/<name> -> { ids (in the order returned), count, sql, params }
function api.find.p_name.get(ctx)
  local q = Q[ctx:params().name]()
  local ids = {}
  for i, row in ipairs(q:all()) do ids[i] = row.id end
  local sql, params = q:inspect()
  return { ids = ids, count = q:count(), sql = sql, params = plain(params) }
end

function api.rows.get()
  return {
    book1 = db.books:find():by_id(1):first(),
    book2 = db.books:find():by_id(2):first(),
    book4 = db.books:find():by_id(4):first(),
    picked = db.books:find():select("id", "title"):by_id(3):first(),
    none = db.books:find():by_id(99):first() == nil,
  }
end

function api.groups.get()
  local q = db.books:find():group_by("author_id")
    :agg { n = N.count("*"), total = N.sum("price"), avg_year = N.avg("year"),
           first = N.min("year"), last = N.max("year") }
    :order_by("author_id")
  local sql = q:inspect()
  return {
    rows = q:all(), count = q:count(), sql = sql,
    totals = db.books:find():agg { n = N.count() }:first(),
  }
end

-- Writes -------------------------------------------------------------------------------

function api.writes.get()
  local out = {}
  out.update = db.books:update():by_author_id(2):set { price = 9 }:exec()
  out.update_none = db.books:update():by_id(99):set { price = 1 }:exec()
  out.prices = {}
  for _, r in ipairs(db.books:find():by_author_id(2):order_by("id"):all()) do
    out.prices[#out.prices + 1] = r.price
  end
  out.set_null = db.books:update():by_id(1):set { note = N.null }:exec()
  out.note_gone = db.books:find():by_id(1):first().note == nil
  local extra = db.books:insert { title = "Zeta", author_id = 3 }
  out.extra_id = extra
  out.delete = db.books:delete():by_id(extra):exec()
  out.delete_none = db.books:delete():by_id(extra):exec()
  out.count_after = db.books:find():count()
  return out
end

function api.rawsql.get()
  local rows = db.books:sql():raw("SELECT title FROM books WHERE year > ? ORDER BY id", { 2004 }):all()
  local titles = {}
  for i, r in ipairs(rows) do titles[i] = r.title end
  local first = db.books:sql():raw("SELECT title FROM books WHERE id = ?", { 3 }):first()
  local changed = db.books:sql():raw("UPDATE books SET note = ? WHERE id = ?", { "raw", 5 }):exec()
  local sql, params = db.books:sql():raw("SELECT ? AS a", { 1 }):inspect()
  return { titles = titles, first = first.title, changed = changed, sql = sql, params = plain(params),
           note = db.books:find():by_id(5):first().note }
end

-- tx.<table>: the builder inside a transaction, committed and rolled back.
function api.tx_builder.get()
  local id = db:transaction(function(tx) return tx.authors:insert { name = "Dee" } end)
  local ok = pcall(db.transaction, db, function(tx)
    tx.authors:insert { name = "Eve" }
    error("undo")
  end)
  local names = {}
  for i, r in ipairs(db.authors:find():by_name_in_list({ "Dee", "Eve" }):all()) do
    names[i] = r.name
  end
  local deleted = db.authors:delete():by_name("Dee"):exec()
  return { id_type = type(id), ok = ok, names = names, deleted = deleted }
end

function api.bad_insert.get(ctx)
  if ctx:query().what == "type" then
    return { id = db.books:insert { title = 42, author_id = 1 } }
  end
  return { id = db.books:insert { author_id = 1, year = 1.5 } }
end

function api.bad_update.get()
  return { n = db.books:update():by_id(1):set { year = "soon" }:exec() }
end

function api.duplicate.get() return { id = db.authors:insert { name = "Ann" } } end
function api.orphan.get() return { id = db.books:insert { title = "Orphan", author_id = 99 } } end

-- The SQL text of queries that are not run.
function api.inspect.get()
  local out = {}
  local function add(name, q)
    local sql, params = q:inspect()
    out[name] = { sql = sql, params = plain(params) }
  end
  add("select", db.books:find():by_year_bigger_than(2000):by_title_contains("a")
    :order_by("id", "desc"):limit(3))
  add("offset", db.books:find():offset(5))
  add("columns", db.books:find():select("id", "title"):by_author_id_in_list({ 1, 2 }))
  add("between", db.books:find():by_year_between({ 1, 2 }):by_note_is_null())
  add("group", db.books:find():group_by("author_id"):agg { n = N.count("*") })
  add("exists", db.authors:find():exists(db.books:find():by_author_id(N.column("authors.id"))))
  add("update", db.books:update():by_id(1):set { price = 2, note = "n" })
  add("delete", db.books:delete():by_year_smaller_than(1900))
  return out
end

return api
