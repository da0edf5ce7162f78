-- rover.db (runtime-modules.md §9), the SQLite engine with direct SQL:
-- rover.db.connect, db:query, db:exec, db:transaction, over the db_* natives
-- of lua/db_natives.cpp. Called with (native, B): B is the query builder
-- (prelude/db_builder.lua) or nil. Returns the rover.db table.
--
-- A native answers with its result, with nil + "db error: ..." (raised here,
-- at the caller's line), or with false + a marker when it could not run yet:
-- BUSY (another connection holds a lock) or HELD (another coroutine of this
-- worker holds the connection for its transaction). settle() then suspends
-- the coroutine (the natives' waits on the worker's loop) and calls again,
-- for at most 5 s before raising "db error: database is locked". Outside a
-- handler or task nothing can wait: a lock met there raises at once.
local native, B = ...
local type, error, setmetatable, pcall, rawget, ipairs = type, error, setmetatable, pcall,
  rawget, ipairs
local db_sqlite, db_query, db_exec = native.db_sqlite, native.db_query, native.db_exec
local db_begin, db_commit, db_rollback = native.db_begin, native.db_commit, native.db_rollback
local wait_busy, wait_conn, now = native.db_wait_busy, native.db_wait_conn, native.now_ms

local BUSY = 1  -- the markers of lua/db_natives.cpp (2: HELD)
local LOCKED = "db error: database is locked"
local LOCK_LIMIT_MS = 5000
local PAUSE_MAX_MS = 50  -- retries after a lock: 1, 2, 4, ... 50, 50, ... ms

-- f(c, ...) answered false, why: waits, calls it again until it answers
-- anything else, and returns that; nil, LOCKED after 5 s.
local function settle(why, f, c, ...)
  local started = now()
  local pause = 1
  while true do
    local left = LOCK_LIMIT_MS - (now() - started)
    if left <= 0 then return nil, LOCKED end
    if why == BUSY then
      if wait_busy(pause < left and pause or left) == false then return nil, LOCKED end
      pause = pause * 2
      if pause > PAUSE_MAX_MS then pause = PAUSE_MAX_MS end
    elseif wait_conn(c, left) == false then
      return nil, LOCKED
    end
    local r
    r, why = f(c, ...)
    if r ~= false then return r, why end
  end
end

local CONN = {}  -- key of a db or tx object's connection handle (false: a finished tx)

local function conn_of(self, name)
  if type(self) == "table" then
    local c = rawget(self, CONN)
    if c then return c end
    if c == false then error("db error: the transaction has ended", 3) end
  end
  error("db:" .. name .. " must be called with a colon (db:" .. name .. "(...))", 3)
end

local function query(self, sql, ...)
  local c = conn_of(self, "query")
  if type(sql) ~= "string" then error("db:query: sql must be a string", 2) end
  local r, why = db_query(c, sql, ...)
  if r then return r end
  if r == false then
    r, why = settle(why, db_query, c, sql, ...)
    if r then return r end
  end
  error(why, 2)
end

local function exec(self, sql, ...)
  local c = conn_of(self, "exec")
  if type(sql) ~= "string" then error("db:exec: sql must be a string", 2) end
  local r, why = db_exec(c, sql, ...)
  if r then return r end
  if r == false then
    r, why = settle(why, db_exec, c, sql, ...)
    if r then return r end
  end
  error(why, 2)
end

local TX = { query = query, exec = exec }
local TX_MT = { __index = TX }

-- The end of a transaction: commit after fn returned (its results are
-- returned), roll back and re-raise its error after it raised.
local function finish(c, tx, ok, ...)
  tx[CONN] = false
  if not ok then
    db_rollback(c)
    error((...), 0)
  end
  local r, why = db_commit(c)
  if r == false then r, why = settle(why, db_commit, c) end
  if not r then
    db_rollback(c)
    error(why, 2)
  end
  return ...
end

local function transaction(self, fn)
  local c = conn_of(self, "transaction")
  if type(fn) ~= "function" then error("db:transaction: fn must be a function", 2) end
  local r, why = db_begin(c)
  if r == false then r, why = settle(why, db_begin, c) end
  if not r then error(why, 2) end
  local tx = setmetatable({ engine = "sqlite", [CONN] = c }, TX_MT)
  return finish(c, tx, pcall(fn, tx))
end

local DB = { query = query, exec = exec, transaction = transaction }
local DB_MT = { __index = DB }

-- PostgreSQL (lua/db_pg.cpp): each native waits by itself (the pool on the
-- worker's loop) and answers with its result and the command tag, or nil +
-- "db error: ...". A transaction leases a connection of the worker's pool
-- for itself.
local pg_pool, pg_query, pg_exec = native.pg_pool, native.pg_query, native.pg_exec
local pg_tx, pg_lease, pg_hold, pg_release = native.pg_tx, native.pg_lease, native.pg_hold,
  native.pg_release

local function pg_statement(f, name)
  return function(self, sql, ...)
    local c = conn_of(self, name)
    if type(sql) ~= "string" then error("db:" .. name .. ": sql must be a string", 2) end
    local r, why = f(c, sql, ...)
    if r == nil then error(why, 2) end
    return r
  end
end

local PG_ROLLED_BACK = "db error: the transaction was rolled back (a statement in it failed)"
local PG_TX = { query = pg_statement(pg_query, "query"), exec = pg_statement(pg_exec, "exec") }
local PG_TX_MT = { __index = PG_TX }

local function pg_finish(t, tx, ok, ...)
  tx[CONN] = false
  if not ok then
    pg_query(t, "ROLLBACK")
    pg_hold(t, false)
    pg_release(t)
    error((...), 0)
  end
  local r, why = pg_query(t, "COMMIT")
  pg_hold(t, false)
  pg_release(t)
  if r == nil then error(why, 2) end
  -- A failed statement (caught inside fn) aborted the transaction: PostgreSQL
  -- answers its COMMIT with ROLLBACK, no error. What fn wrote is gone, which
  -- must not pass for a commit.
  if why == "ROLLBACK" then error(PG_ROLLED_BACK, 2) end
  return ...
end

local function pg_transaction(self, fn)
  local h = conn_of(self, "transaction")
  if type(fn) ~= "function" then error("db:transaction: fn must be a function", 2) end
  local t = pg_tx(h)
  local ok, why = pg_lease(t)
  if not ok then error(why, 2) end
  pg_hold(t, true)
  local r
  r, why = pg_query(t, "BEGIN")
  if r == nil then
    pg_hold(t, false)
    pg_release(t)
    error(why, 2)
  end
  local tx = setmetatable({ engine = "postgres", [CONN] = t }, PG_TX_MT)
  return pg_finish(t, tx, pcall(fn, tx))
end

local PG = { query = pg_statement(pg_query, "query"), exec = pg_statement(pg_exec, "exec"),
             transaction = pg_transaction }
local PG_MT = { __index = PG }

local M = {}

-- (a tail call of connect: level 2 is connect's caller)
local function connect_pg(opts)
  local url = opts.url
  if type(url) ~= "string" or url == "" then
    error("rover.db.connect: url must be a non-empty string", 2)
  end
  local pool = opts.pool
  if pool == nil then pool = 8 end
  if type(pool) ~= "number" or pool < 1 or pool % 1 ~= 0 then
    error("rover.db.connect: pool must be an integer >= 1", 2)
  end
  local max = opts.max_connections
  if max == nil then max = pool * rover.worker.count end
  if type(max) ~= "number" or max < 1 or max % 1 ~= 0 then
    error("rover.db.connect: max_connections must be an integer >= 1", 2)
  end
  return setmetatable({ engine = "postgres", url = url,
                        [CONN] = pg_pool(url, pool, max, opts.max_connections == nil) }, PG_MT)
end

-- rover.db.connect { path = "rover.sqlite" }: the file is opened by each
-- worker on its first statement (a path that cannot be opened raises
-- "db error: connection failed: ..." there, and is tried again next time).
function M.connect(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error("rover.db.connect: options must be a table", 2) end
  if opts.url ~= nil then return connect_pg(opts) end
  local path = opts.path
  if path == nil then path = "rover.sqlite" end
  if type(path) ~= "string" or path == "" then
    error("rover.db.connect: path must be a non-empty string", 2)
  end
  return setmetatable({ engine = "sqlite", path = path, [CONN] = db_sqlite(path) }, DB_MT)
end

-- The query builder: db.<table> (and tx.<table>) for any other key, and its
-- schema DSL, guard and aggregates under rover.db.
if B then
  local function index_with_tables(methods)
    return function(self, key)
      local m = methods[key]
      if m ~= nil then return m end
      if type(key) == "string" then return B.table(self, key) end
      return nil
    end
  end
  DB_MT.__index = index_with_tables(DB)
  TX_MT.__index = index_with_tables(TX)
  PG_MT.__index = index_with_tables(PG)
  PG_TX_MT.__index = index_with_tables(PG_TX)
  M.schema = B.schema
  M.guard = B.guard
  -- run_migrations(db, files, command, opts): the runner `rover db` uses.
  for _, name in ipairs { "count", "sum", "avg", "min", "max", "null", "column", "run_migrations" } do
    M[name] = B[name]
  end
end

return M
