-- rover.db with SQLite, direct SQL (runtime-modules.md §9). Used by
-- test_db_sqlite.py. The database is $DB_PATH (a file in the test's temporary
-- directory); the number of workers comes from --workers, the handler time
-- limit from $DB_HANDLER_TIMEOUT (default 30 s).
local api = rover.server {
  log_level = "info",
  timeouts = { handler = tonumber(os.getenv("DB_HANDLER_TIMEOUT") or "30") },
}
local worker = rover.worker.id

-- Connected and used at load time, in every worker.
local db = rover.db.connect { path = os.getenv("DB_PATH") }
db:exec([[CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, price REAL, note TEXT)]])
db:exec("CREATE TABLE IF NOT EXISTS counts (k TEXT, v INTEGER)")
-- A path that cannot be opened: connect does not open it, the first statement fails.
local missing = rover.db.connect { path = os.getenv("DB_PATH") .. ".d/missing/x.sqlite" }

function api.ping.get() return { worker = worker, engine = db.engine } end

-- GET /ping_after?ms=N: answers after rover.delay(N).
function api.ping_after.get(ctx)
  rover.delay(tonumber(ctx:query().ms))
  return { worker = worker }
end

-- Types --------------------------------------------------------------------------

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

function api.types.get()
  local rows = db:query([[SELECT 42 AS i, -7 AS neg, 2.5 AS r, 'héllo' AS t, x'00ff41' AS b,
    NULL AS n, 9007199254740992 AS big, '' AS empty]])
  local row = rows[1]
  return {
    count = #rows, keys = sorted_keys(row),
    i = row.i, neg = row.neg, r = row.r, t = row.t, b_hex = hex(row.b), b_type = type(row.b),
    i_type = type(row.i), r_type = type(row.r), n_present = row.n ~= nil,
    big = string.format("%.0f", row.big), empty = row.empty,
  }
end

function api.params.get()
  local row = db:query([[SELECT ? AS s, ? AS i, ? AS f, ? AS yes, ? AS no, ? AS n,
    typeof(?) AS tn, typeof(?) AS tb, typeof(?) AS ti, typeof(?) AS tf, typeof(?) AS ts,
    ? || ? AS injected]],
    "str", 42, 1.5, true, false, nil, nil, true, 42, 1.5, "x", "'); DROP TABLE items; --", "")[1]
  return { row = row, keys = sorted_keys(row) }
end

-- A trailing nil is a parameter too (select('#', ...)).
function api.params_nil.get()
  local row = db:query("SELECT typeof(?) AS a, typeof(?) AS b", 1, nil)[1]
  return row
end

function api.bind_table.get() return db:query("SELECT ?", { 1 }) end
function api.bind_table_exec.get() return { n = db:exec("INSERT INTO items (name) VALUES (?)", {}) } end

-- Writes and counts ----------------------------------------------------------------

-- GET /items/add?name=&qty=&price=&note= -> { changed, worker }
function api.items.add.get(ctx)
  local q = ctx:query()
  local changed = db:exec("INSERT INTO items (name, qty, price, note) VALUES (?, ?, ?, ?)",
    q.name, tonumber(q.qty), tonumber(q.price), q.note)
  return { changed = changed, worker = worker }
end

-- GET /items/list?name= -> { rows, worker }
function api.items.list.get(ctx)
  return { rows = db:query("SELECT * FROM items WHERE name = ? ORDER BY id", ctx:query().name),
           worker = worker }
end

function api.counts.get(ctx)
  local tag = ctx:query().tag
  local out = {}
  out.insert = db:exec("INSERT INTO counts (k, v) VALUES (?, 1), (?, 2), (?, 3)", tag, tag, tag)
  out.update = db:exec("UPDATE counts SET v = v + 10 WHERE k = ? AND v >= 2", tag)
  out.none = db:exec("UPDATE counts SET v = 0 WHERE k = ? AND v > 1000", tag)
  out.ddl = db:exec("CREATE TABLE IF NOT EXISTS counts_" .. tag .. " (a)")
  out.select = db:exec("SELECT * FROM counts WHERE k = ?", tag)
  out.delete = db:exec("DELETE FROM counts WHERE k = ?", tag)
  return out
end

-- Transactions -----------------------------------------------------------------------

function api.tx.commit.get(ctx)
  local name = ctx:query().name
  local a, b, c = db:transaction(function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", name)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 2)", name)
    return #tx:query("SELECT * FROM items WHERE name = ?", name), "two", nil
  end)
  return { a = a, b = b, c_is_nil = c == nil }
end

function api.tx.rollback.get(ctx)
  local name = ctx:query().name
  local ok, err = pcall(db.transaction, db, function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", name)
    error({ code = "custom" })
  end)
  local seen = #db:query("SELECT * FROM items WHERE name = ?", name)
  return { ok = ok, code = type(err) == "table" and err.code or tostring(err), seen = seen }
end

-- An error inside a transaction that nobody catches: 500, rolled back.
function api.tx.raise.get(ctx)
  db:transaction(function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", ctx:query().name)
    error("raised inside the transaction")
  end)
end

-- GET /tx/hold?name=: a transaction that writes, waits until /release?name=,
-- writes again and commits. Meanwhile other coroutines of the worker wait for
-- the connection.
local released = {}
function api.tx.hold.get(ctx)
  local name = ctx:query().name
  db:transaction(function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", name)
    print("TX HOLDING " .. name)
    while not released[name] do rover.delay(5) end
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 2)", name)
  end)
  return { worker = worker }
end
function api.release.get(ctx)
  released[ctx:query().name] = true
  return "ok"
end

-- Errors ----------------------------------------------------------------------------------

function api.bad.syntax.get() return db:query("SELEC 1") end
function api.bad.table.get() return db:query("SELECT * FROM nowhere") end
function api.bad.constraint.get() return { n = db:exec("INSERT INTO items (name) VALUES (NULL)") } end
function api.bad.path.get() return missing:query("SELECT 1") end
function api.bad.caught.get()
  local ok, err = pcall(db.query, db, "SELEC 1")
  return { ok = ok, err = err }
end

-- Locks -----------------------------------------------------------------------------------

-- GET /locked_write?name=: a write that may meet a lock held by another process.
function api.locked_write.get(ctx)
  local name = ctx:query().name
  print("WRITE START " .. name)
  local n = db:exec("INSERT INTO items (name) VALUES (?)", name)
  print("WRITE DONE " .. name)
  return { changed = n, worker = worker }
end

-- A read while the lock is held (WAL: readers go on).
function api.read_count.get()
  return { n = db:query("SELECT count(*) AS n FROM items")[1].n, worker = worker }
end

-- The default path, rover.sqlite in the working directory.
function api.default_path.get()
  local d = rover.db.connect {}
  d:exec("CREATE TABLE IF NOT EXISTS here (a)")
  return { path = d.path, n = d:exec("INSERT INTO here VALUES (1)") }
end

return api
