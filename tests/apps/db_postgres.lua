-- rover.db with PostgreSQL, direct SQL (runtime-modules.md §9). Used by
-- test_db_postgres.py, which starts a private cluster, creates the tables
-- below with psql and passes the database in $PG_URL (with an
-- application_name of its own per server, so the test finds the server's
-- backends in pg_stat_activity). $PG_POOL and $PG_MAX are the pool options (unset:
-- the defaults), $DB_HANDLER_TIMEOUT the handler limit (default 30 s),
-- $BOOT_TAG names the rows this server writes at load time.
--
-- Tables: items (id bigserial, name text NOT NULL, qty int, price float8,
-- note text, worker int), counts (k text, v int), boot (worker int, what text).
local api = rover.server {
  log_level = "info",
  timeouts = { handler = tonumber(os.getenv("DB_HANDLER_TIMEOUT") or "30") },
}
local worker = rover.worker.id
local shared = rover.shared
local url = assert(os.getenv("PG_URL"), "PG_URL is not set")

local db = rover.db.connect {
  url = url,
  pool = tonumber(os.getenv("PG_POOL") or "") or nil,
  max_connections = tonumber(os.getenv("PG_MAX") or "") or nil,
}

-- Load time (module level): a blocking connection, in every worker.
local boot = os.getenv("BOOT_TAG") or "boot"
local one = db:query("SELECT 1 AS one, ?::text AS tag", boot)[1]
db:exec("INSERT INTO boot (worker, what) VALUES (?, ?)", worker, boot .. ":query:" .. one.one)
db:transaction(function(tx)
  tx:exec("INSERT INTO boot (worker, what) VALUES (?, ?)", worker, boot .. ":tx")
end)
pcall(db.transaction, db, function(tx)
  tx:exec("INSERT INTO boot (worker, what) VALUES (?, ?)", worker, boot .. ":rolled_back")
  error("undo")
end)

-- With $SPAWN_AT_LOAD: a task started at load time runs up to its first
-- statement there, and is resumed by the worker's loop.
if os.getenv("SPAWN_AT_LOAD") then
  rover.spawn(function()
    db:exec("INSERT INTO boot (worker, what) VALUES (?, ?)", worker, boot .. ":spawned")
  end)
end

-- A database that cannot be reached, and one the server refuses (no such database).
local unreachable = rover.db.connect { url = "postgresql://rover@/postgres?host=/nonexistent/rover&port=1" }
local refused = os.getenv("PG_BAD_DB_URL") and rover.db.connect { url = os.getenv("PG_BAD_DB_URL") }
-- The same database named by a key=value string instead of a URI.
local kv = os.getenv("PG_KV") and rover.db.connect { url = os.getenv("PG_KV") }
-- A host list whose first host drops the connection (libpq goes on to the next).
local failover = os.getenv("PG_FAILOVER_URL") and rover.db.connect { url = os.getenv("PG_FAILOVER_URL") }

function api.ping.get() return { worker = worker, engine = db.engine } end

-- Types --------------------------------------------------------------------------

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

-- Each value as { type, text }: numbers in %.17g (exact for a double), so the
-- JSON encoder's number format does not matter.
local function described(row)
  local out = {}
  for k, v in pairs(row) do
    local t = type(v)
    if t == "number" then
      out[k] = { t, string.format("%.17g", v) }
    elseif t == "string" then
      out[k] = { t, v }
    else
      out[k] = { t, tostring(v) }
    end
  end
  return out
end

function api.types.get()
  local rows = db:query([[SELECT 1::int2 AS i2, '-2147483648'::int4 AS i4, 0::int8 AS i8_zero,
    9007199254740992::int8 AS i8_max, -9007199254740992::int8 AS i8_min,
    9007199254740993::int8 AS i8_big, -9007199254740993::int8 AS i8_small,
    9223372036854775807::int8 AS i8_top, 1.5::float4 AS f4, -2.25::float8 AS f8,
    12.5::numeric AS num, -0.000125::numeric AS num_small, 123456789012345::numeric AS num15,
    1234567890123456::numeric AS num16, 3.14159265358979323846::numeric AS num_pi,
    2.5000000000000000::numeric AS num_scale, avg(x) AS num_avg,
    1.00000000000000000001::numeric AS num_tail, 1000000000000000000::numeric AS num_e18,
    26::oid AS o, true AS yes, false AS no, 'héllo'::text AS t, 'abc'::varchar(10) AS v,
    'x'::char(3) AS c, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u,
    '{"a": [1, 2]}'::json AS j, '{"b": 1, "a": [1, 2]}'::jsonb AS jb,
    DATE '2024-02-29' AS d, TIME '13:45:06' AS tm, TIMESTAMP '2024-02-29 13:45:06.5' AS ts,
    TIMESTAMPTZ '2024-02-29 13:45:06+00' AS tstz, INTERVAL '1 day 2 hours' AS iv,
    NULL::int AS n_int, NULL::text AS n_text, NULL::bool AS n_bool, NULL::bytea AS n_bytea,
    ''::text AS empty FROM (VALUES (2000::int8), (2010::int8)) AS v (x)]])
  return { count = #rows, row = described(rows[1]) }
end

-- bytea: every byte value, and the empty string.
function api.bytea.get()
  local all = {}
  for i = 0, 255 do all[#all + 1] = string.char(i) end
  all = table.concat(all)
  local row = db:query("SELECT decode(?, 'hex') AS b, ''::bytea AS e, '\\x00'::bytea AS z",
    hex(all))[1]
  return { same = row.b == all, len = #row.b, type = type(row.b), e = row.e, z = hex(row.z) }
end

-- Parameters ---------------------------------------------------------------------

local TRICKY = "it's a ? and ''?'' \\ $1 ? -- not a comment"

function api.params.get()
  local row = db:query([[SELECT ?::text AS s, ?::int4 AS i, ?::int8 AS big, ?::float8 AS f,
    ?::numeric AS num, ?::bool AS yes, ?::bool AS no, ?::int AS n, ?::text AS tricky,
    ?::text AS injected, ?::text AS empty, ?::text AS utf8, ?::int8 AS big60,
    ?::int8 AS big62, ?::float8 AS huge]],
    "str", -7, 2 ^ 53, 0.1, 12.25, true, false, nil, TRICKY, "'); DROP TABLE items; --", "",
    "日本", 2 ^ 60, -2 ^ 62, 1e300)[1]
  return { row = described(row), tricky_ok = row.tricky == TRICKY }
end

-- Parameters written into typed columns and read back.
function api.params_roundtrip.get(ctx)
  local name = ctx:query().name
  db:exec("INSERT INTO items (name, qty, price, note) VALUES (?, ?, ?, ?)", name, 3, 1.25, TRICKY)
  db:exec("INSERT INTO items (name, qty, price, note) VALUES (?, ?, ?, ?)", name, nil, nil, nil)
  local rows = db:query("SELECT qty, price, note FROM items WHERE name = ? ORDER BY id", name)
  return { first = described(rows[1]), second = described(rows[2]), n = #rows }
end

-- A trailing nil is a parameter too.
function api.params_nil.get()
  return described(db:query("SELECT ?::int AS a, ?::int AS b", 1, nil)[1])
end

function api.bind_table.get() return db:query("SELECT ?::int AS a", { 1 }) end
function api.bind_table_exec.get() return { n = db:exec("INSERT INTO counts (k) VALUES (?)", {}) } end
function api.too_few.get() return db:query("SELECT ?::int AS a, ?::int AS b", 1) end
function api.too_many.get() return db:query("SELECT 1 AS a", 1) end

-- `?` inside literals, quoted identifiers, comments and dollar quotes is not a placeholder.
function api.literals.get()
  local row = db:query([[SELECT '?' AS q, 'a''?''b' AS q2, E'\'?' AS q3, $$?$$ AS q4,
    $t$ ? $t$ AS q5, 1 AS "what?", ?::int AS p -- a ? in a comment
    /* and ? /* nested ? */ here */]], 7)[1]
  return row
end

-- Writes and counts ----------------------------------------------------------------

-- GET /items/add?name=&qty= -> { changed, worker }
function api.items.add.get(ctx)
  local q = ctx:query()
  local changed = db:exec("INSERT INTO items (name, qty, worker) VALUES (?, ?, ?)",
    q.name, tonumber(q.qty), worker)
  return { changed = changed, worker = worker }
end

-- GET /items/list?name= -> { qty = [...], written_by = [...], worker }
function api.items.list.get(ctx)
  local rows = db:query("SELECT qty, worker FROM items WHERE name = ? ORDER BY id", ctx:query().name)
  local qty, by = {}, {}
  for i, r in ipairs(rows) do
    qty[i] = r.qty or "null"
    by[i] = r.worker or "null"
  end
  return { qty = qty, written_by = by, n = #rows, worker = worker }
end

function api.counts.get(ctx)
  local tag = ctx:query().tag
  local out = {}
  out.insert = db:exec("INSERT INTO counts (k, v) VALUES (?, 1), (?, 2), (?, 3)", tag, tag, tag)
  out.update = db:exec("UPDATE counts SET v = v + 10 WHERE k = ? AND v >= 2", tag)
  out.none = db:exec("UPDATE counts SET v = 0 WHERE k = ? AND v > 1000", tag)
  out.ddl = db:exec("CREATE TABLE IF NOT EXISTS counts_" .. tag .. " (a int)")
  out.returning = db:exec("INSERT INTO counts (k, v) VALUES (?, 4) RETURNING v", tag)
  out.select = db:exec("SELECT * FROM counts WHERE k = ?", tag)
  out.delete = db:exec("DELETE FROM counts WHERE k = ?", tag)
  return out
end

-- Transactions -----------------------------------------------------------------------

function api.tx.commit.get(ctx)
  local name = ctx:query().name
  local a, b, c, d = db:transaction(function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", name)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 2)", name)
    return #tx:query("SELECT * FROM items WHERE name = ?", name), "two", nil, tx.engine
  end)
  return { a = a, b = b, c_is_nil = c == nil, d = d }
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

-- An engine error inside a transaction, caught outside it.
function api.tx.engine_error.get(ctx)
  local name = ctx:query().name
  local ok, err = pcall(db.transaction, db, function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", name)
    tx:exec("INSERT INTO items (name) VALUES (NULL)")
  end)
  local seen = #db:query("SELECT * FROM items WHERE name = ?", name)
  return { ok = ok, err = tostring(err), seen = seen }
end

-- A statement failing inside a transaction, caught there; the function returns.
-- PostgreSQL has aborted the transaction: its COMMIT rolls back.
function api.tx.caught_failure.get(ctx)
  local name = ctx:query().name
  local ok, err = pcall(db.transaction, db, function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", name)
    pcall(tx.exec, tx, "INSERT INTO items (name) VALUES (NULL)")
    return "returned"
  end)
  local seen = #db:query("SELECT * FROM items WHERE name = ?", name)
  return { ok = ok, err = tostring(err), seen = seen }
end

-- A statement cached on the connection, its table altered (by the test),
-- then the statement inside a transaction.
function api.tx.stale.get(ctx)
  local ok, err = pcall(db.transaction, db, function(tx)
    return tx:query("SELECT * FROM alt ORDER BY a")
  end)
  return { ok = ok, err = type(err) == "string" and err or "rows" }
end

-- An error inside a transaction that nobody catches: 500, rolled back.
function api.tx.raise.get(ctx)
  db:transaction(function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", ctx:query().name)
    error("raised inside the transaction")
  end)
end

-- A finished tx object raises.
function api.tx.finished.get()
  local kept
  db:transaction(function(tx) kept = tx end)
  local ok, err = pcall(kept.query, kept, "SELECT 1 AS a")
  return { ok = ok, err = tostring(err) }
end

-- GET /tx/hold?name=: a transaction that writes, then waits (suspended in
-- rover.delay) until /release?name=, writes again and commits.
function api.tx.hold.get(ctx)
  local name = ctx:query().name
  db:transaction(function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", name)
    print("TX HOLDING " .. name)
    while not shared:get("release:" .. name) do rover.delay(5) end
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 2)", name)
  end)
  shared:set("done:" .. name, true)
  return { worker = worker }
end

-- GET /tx/block?name=&key=: a transaction that writes, then runs a statement
-- that waits on the advisory lock `key` the test holds.
function api.tx.block.get(ctx)
  local q = ctx:query()
  db:transaction(function(tx)
    tx:exec("INSERT INTO items (name, qty) VALUES (?, 1)", q.name)
    print("TX BLOCKING " .. q.name)
    tx:query("SELECT pg_advisory_xact_lock_shared(?) AS l", tonumber(q.key))
    shared:set("resumed:" .. q.name, true)
  end)
  shared:set("done:" .. q.name, true)
  return { worker = worker }
end

function api.release.get(ctx)
  shared:set("release:" .. ctx:query().name, true)
  return "ok"
end

-- GET /mark?name= -> what rover.shared holds for the name.
function api.mark.get(ctx)
  local name = ctx:query().name
  return { done = shared:get("done:" .. name) or false,
           resumed = shared:get("resumed:" .. name) or false }
end

-- Waits ------------------------------------------------------------------------------------

-- GET /sleep?secs=&name=: pg_sleep, then marks the name done.
function api.sleep.get(ctx)
  local q = ctx:query()
  print("SLEEP START " .. q.name)
  db:query("SELECT pg_sleep(?) AS s", tonumber(q.secs))
  shared:set("done:" .. q.name, true)
  print("SLEEP DONE " .. q.name)
  return { worker = worker }
end

-- GET /block?key=&name=: a statement waiting on the advisory lock `key` the
-- test holds (released at the end of the statement's implicit transaction).
function api.block.get(ctx)
  local q = ctx:query()
  print("BLOCK START " .. q.name)
  local ok, err = pcall(db.query, db, "SELECT pg_advisory_xact_lock_shared(?) AS l", tonumber(q.key))
  shared:set("done:" .. q.name, true)
  print("BLOCK DONE " .. q.name)
  if not ok then return api.json:status(500, { error = err, worker = worker }) end
  return { worker = worker }
end

-- A statement from a coroutine of the handler's own (not the handler's):
-- it cannot suspend the handler, and must not block the worker.
function api.nested.get()
  local ok, err = pcall(coroutine.wrap(function() return db:query("SELECT 1 AS a") end))
  return { ok = ok, err = tostring(err) }
end

-- GET /backend -> { pid } of the connection the statement ran on.
function api.backend.get()
  return { pid = db:query("SELECT pg_backend_pid() AS pid")[1].pid, worker = worker }
end

-- GET /load: one statement that sees how many connections the app has now;
-- every count seen is marked in rover.shared ("seen:<n>").
function api.load.get()
  local row = db:query([[SELECT count(*) AS n, pg_sleep(0.002)::text AS s FROM pg_stat_activity
    WHERE application_name = current_setting('application_name')]])[1]
  shared:set("seen:" .. row.n, true)
  return { n = row.n, worker = worker }
end

function api.max_seen.get()
  local max = 0
  for _, k in ipairs(shared:keys()) do
    local n = tonumber(k:match("^seen:(%d+)$"))
    if n and n > max then max = n end
  end
  return { max = max }
end

-- GET /sql?name=&q=: runs the statement q (no parameters) after printing
-- "SQL START <name>" -> { rows } or 500 { error }.
function api.sql.get(ctx)
  local q = ctx:query()
  print("SQL START " .. (q.name or ""))
  local ok, rows = pcall(db.query, db, q.q)
  if not ok then return api.json:status(500, { error = rows, worker = worker }) end
  local out = {}
  for i, r in ipairs(rows) do out[i] = described(r) end
  return { rows = out, n = #rows, worker = worker }
end

-- Errors ----------------------------------------------------------------------------------

function api.bad.syntax.get() return db:query("SELEC 1") end
function api.bad.table.get() return db:query("SELECT * FROM nope") end
function api.bad.constraint.get() return { n = db:exec("INSERT INTO items (name) VALUES (NULL)") } end
function api.bad.unreachable.get() return unreachable:query("SELECT 1 AS a") end
function api.bad.refused.get() return refused:query("SELECT 1 AS a") end
function api.bad.tx_unreachable.get()
  return unreachable:transaction(function(tx) return tx:query("SELECT 1 AS a") end)
end
function api.bad.tx_refused.get()
  return refused:transaction(function(tx) return tx:query("SELECT 1 AS a") end)
end
function api.kv.get()
  return { rows = kv:query("SELECT current_setting('application_name') AS app"), worker = worker }
end
function api.failover.get()
  return { rows = failover:query("SELECT 1 AS a"), worker = worker }
end
function api.bad.caught.get()
  local ok, err = pcall(db.query, db, "SELECT * FROM nope")
  return { ok = ok, err = err }
end

return api
