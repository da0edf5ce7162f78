-- `rover check` (lua-api.md §1.1): what the check reads of a loaded app. Run by
-- Vm::enterCheckMode before the app chunk, called with (rover); returns C:
--   C.routes(list) -> the route list of M.collect_routes with where each handler and
--       hook is defined: array of { method, pattern, where, befores, afters } (method "WS":
--       a WebSocket endpoint, where its function is), hooks as
--       arrays of { name, where }; where is "file:line" (debug.getinfo "S": the chunk name
--       without its "@", and linedefined) or "[C]".
--   C.migrations(files) -> array of report lines, or raises "db error: ..." for a broken
--       migration file. files: db/migrations/*.lua of the working directory, as
--       `rover db` finds them ({ name, path }).
--
-- While the app loads, rover.db.run_migrations does not touch the schema: it reads which
-- of its files are pending on that database (rover_migrations, never created here; an
-- SQLite file that does not exist is not created), checks that each pending file loads and
-- defines change() or up(), and records them for C.migrations. rover.db.connect is wrapped
-- to record the databases the app connects, which the working directory's migrations are
-- reported against when the app runs none at load.

local rover = ...
local getinfo, getmetatable, type, error, pcall, loadfile, setfenv, setmetatable, rawget, tostring,
  ipairs, sort, open = debug.getinfo, getmetatable, type, error, pcall, loadfile, setfenv,
  setmetatable, rawget, tostring, ipairs, table.sort, io.open
local globals = _G

local C = {}

local function where(fn)
  if type(fn) ~= "function" then
    local mt = getmetatable(fn)
    fn = type(mt) == "table" and rawget(mt, "__call") or nil
    if type(fn) ~= "function" then return "?" end
  end
  local info = getinfo(fn, "S")
  if info.what == "C" then return "[C]" end
  local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
  return src .. ":" .. info.linedefined
end

local function hooks(list)
  local out = {}
  for i, h in ipairs(list) do out[i] = { h[1], where(h[2]) } end
  return out
end

function C.routes(list)
  local out = {}
  for i, r in ipairs(list) do
    out[i] = { r[1], r[2], where(r[3]), hooks(r[4]), hooks(r[5]) }
  end
  for _, r in ipairs(list.ws or {}) do  -- WebSocket endpoints: { pattern, fn, befores, afters }
    out[#out + 1] = { "WS", r[1], where(r[2]), hooks(r[3]), hooks(r[4]) }
  end
  return out
end

-- Migrations ---------------------------------------------------------------------

local db = rover.db
local runs, connected = {}, {}

local function fail(message) error("db error: " .. message, 0) end

local function describe_db(conn)
  if conn.engine == "postgres" then
    return "postgres " .. (tostring(conn.url):gsub("(//[^:/@]*):[^@]*@", "%1:***@"))
  end
  return "sqlite " .. tostring(conn.path)
end

-- Names recorded in rover_migrations, read without creating anything.
local function applied_set(conn)
  if conn.engine == "sqlite" and conn.path ~= ":memory:" and not conn.path:find("^file:") then
    local f = open(conn.path, "rb")
    if not f then return {} end
    f:close()
  end
  local ok, rows = pcall(conn.query, conn, 'SELECT "name" FROM "rover_migrations"')
  if not ok then
    local msg = tostring(rows)
    if msg:find("no such table", 1, true) or msg:find("does not exist", 1, true) then return {} end
    error(rows, 0)
  end
  local set = {}
  for _, row in ipairs(rows) do set[row.name] = true end
  return set
end

-- What apply() of the real runner checks before it runs anything.
local function check_file(file)
  local chunk, err = loadfile(file.path)
  if not chunk then fail("migration " .. file.name .. ": cannot load: " .. tostring(err)) end
  local dsl = setmetatable({}, { __index = function()
    error("db error: migration operations belong inside change(), up() or down()", 2)
  end })
  local env = setmetatable({ migration = dsl }, { __index = globals })
  setfenv(chunk, env)
  local ok, e = pcall(chunk)
  if not ok then
    fail("migration " .. file.name .. ": " .. tostring(e):gsub("^db error: ", ""))
  end
  if type(rawget(env, "change")) ~= "function" and type(rawget(env, "up")) ~= "function" then
    fail("migration " .. file.name .. ": it defines neither change() nor up()")
  end
end

local function pending_of(conn, files)
  local list = {}
  for i, f in ipairs(files) do
    if type(f) ~= "table" or type(f.name) ~= "string" or type(f.path) ~= "string" then
      fail("migration file " .. i .. " needs a name and a path")
    end
    list[i] = f
  end
  sort(list, function(a, b) return a.name < b.name end)
  local applied = applied_set(conn)
  local pending = {}
  for _, f in ipairs(list) do
    if not applied[f.name] then
      check_file(f)
      pending[#pending + 1] = f.name
    end
  end
  return pending, #list
end

if type(db) == "table" then
  local connect = db.connect
  db.connect = function(opts)
    local ok, conn = pcall(connect, opts)
    if not ok then error(conn, type(conn) == "string" and 2 or 0) end
    connected[#connected + 1] = conn
    return conn
  end
  db.run_migrations = function(conn, files, command)
    if type(conn) ~= "table" or (conn.engine ~= "sqlite" and conn.engine ~= "postgres") then
      fail("run_migrations expects a database from rover.db.connect")
    end
    if type(files) ~= "table" then fail("run_migrations expects an array of { name, path }") end
    local pending, total = pending_of(conn, files)
    runs[#runs + 1] = { conn = conn, pending = pending, total = total, command = command }
    local lines = {}
    for i, name in ipairs(pending) do lines[i] = "pending " .. name end
    if #lines == 0 then lines[1] = "nothing to migrate" end
    return lines
  end
end

local function report_line(label, pending, total)
  if #pending == 0 then
    return label .. ": " .. total .. " applied, none pending"
  end
  return label .. ": " .. #pending .. " of " .. total .. " pending: " .. table.concat(pending, ", ")
end

function C.migrations(files)
  local out = {}
  for _, r in ipairs(runs) do
    local label = "run_migrations " .. tostring(r.command) .. " at load on " .. describe_db(r.conn)
    out[#out + 1] = report_line(label, r.pending, r.total)
  end
  if #runs > 0 or #files == 0 then return out end
  if #connected == 0 then
    for _, f in ipairs(files) do check_file(f) end
    out[1] = "db/migrations: " .. #files .. " files; the app connects no database at load, "
      .. "so their state is not known (rover db status)"
    return out
  end
  for _, conn in ipairs(connected) do
    local pending, total = pending_of(conn, files)
    out[#out + 1] = report_line("db/migrations on " .. describe_db(conn), pending, total)
  end
  return out
end

return C
