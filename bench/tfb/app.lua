-- The six TechEmpower Framework Benchmarks tests, Rover's implementation
-- (issue 13; run by bench/tfb.sh, checked by bench/tfb/verify.py).
--   GET /plaintext            Hello, World! (text/plain)
--   GET /json                 {"message":"Hello, World!"}, the table built per request
--   GET /db                   one random World row
--   GET /queries?queries=N    N random rows, one statement each (N clamped 1..500; bad -> 1)
--   GET /fortunes             all Fortune rows + one added at request time, sorted by message,
--                             rendered through api.html with every message escaped
--   GET /updates?queries=N    N random rows (distinct ids), each selected on its own, given a new
--                             randomNumber 1..10000 and written back in one batched UPDATE
-- TFB_DB_URL selects PostgreSQL (pool TFB_DB_POOL, default 8), otherwise TFB_DB_PATH is the
-- SQLite file. Every response carries Server (set here) and Date (set by Rover).
-- TFB responses carry only the headers the rules ask for: no X-Frame-Options &c. (the
-- opt-out strict mode asks to be spelled out).
-- No compression either (TFB's clients send no Accept-Encoding; this drops `Vary`).
local api = rover.server { log_level = "nope", security_headers = false,
                          allow_insecure_security_header_overrides = true, compress = false }
local env = rover.env
local pg = env.TFB_DB_URL ~= nil and env.TFB_DB_URL ~= ""
local db = pg and rover.db.connect { url = env.TFB_DB_URL, pool = tonumber(env.TFB_DB_POOL) or 8 }
  or rover.db.connect { path = env.TFB_DB_PATH or "tfb.sqlite" }

-- each worker its own random sequence
math.randomseed(os.time() * 1000 + (rover.worker and rover.worker.id or 0))
local random, tonumber, floor, sort, concat = math.random, tonumber, math.floor, table.sort, table.concat
local SERVER = "Rover"
local SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = ?"
local SELECT_FORTUNES = "SELECT id, message FROM fortune"

local function one_row(id)
  local r = db:query(SELECT_WORLD, id)[1]
  return { id = r.id, randomNumber = r.randomnumber }
end

-- TFB: missing, not an integer or < 1 -> 1; > 500 -> 500.
local function count(ctx)
  local s = ctx:query().queries
  local n = s and s:find("^%d+$") and tonumber(s) or 1
  if n < 1 then return 1 elseif n > 500 then return 500 end
  return n
end

function api.plaintext.get(ctx)
  return api.text("Hello, World!"):header("Server", SERVER)
end

-- `json` is a reserved name on the root (the builder api.json, lua-api.md §4 rule 5), so
-- GET /json cannot be declared as api.json.get: it is served by the one parameter route at
-- the root (static routes are matched first), which answers /json and nothing else.
function api.p_test.get(ctx)
  if ctx.path ~= "/json" then return api.error(404, "Route not found") end
  return api.json({ message = "Hello, World!" }):header("Server", SERVER)
end

function api.db.get(ctx)
  return api.json(one_row(random(1, 10000))):header("Server", SERVER)
end

function api.queries.get(ctx)
  local out = {}
  for i = 1, count(ctx) do out[i] = one_row(random(1, 10000)) end
  return api.json(out):header("Server", SERVER)
end

local FORTUNES = [[<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>{{ for _, f in ipairs(fortunes) do }}<tr><td>{{ f.id }}</td><td>{{ escape(f.message) }}</td></tr>{{ end }}</table></body></html>]]

local escape = rover.html.escape
local function by_message(a, b) return a.message < b.message end

function api.fortunes.get(ctx)
  local rows = db:query(SELECT_FORTUNES)
  rows[#rows + 1] = { id = 0, message = "Additional fortune added at request time." }
  sort(rows, by_message)
  -- escape and ipairs in the data table: found at the first step of the template's name lookup
  return api.html({ fortunes = rows, escape = escape, ipairs = ipairs })(FORTUNES):header("Server", SERVER)
end

-- One UPDATE per distinct N, built once: PostgreSQL joins a VALUES list,
-- SQLite (no typed VALUES join needed) uses CASE.
local update_sql = {}
local function update_statement(n)
  local sql = update_sql[n]
  if sql then return sql end
  local parts = {}
  if pg then
    for i = 1, n do parts[i] = "(?::int, ?::int)" end
    sql = "UPDATE world SET randomnumber = v.r FROM (VALUES " .. concat(parts, ", ")
      .. ") AS v(id, r) WHERE world.id = v.id"
  else
    for i = 1, n do parts[i] = "WHEN ? THEN ?" end
    local ids = {}
    for i = 1, n do ids[i] = "?" end
    sql = "UPDATE world SET randomnumber = CASE id " .. concat(parts, " ")
      .. " END WHERE id IN (" .. concat(ids, ", ") .. ")"
  end
  update_sql[n] = sql
  return sql
end

local function by_id(a, b) return a.id < b.id end  -- not a closure per request (FNEW aborts the trace)

function api.updates.get(ctx)
  local n = count(ctx)
  local out, seen, params = {}, {}, {}
  for i = 1, n do
    local id = random(1, 10000)
    while seen[id] do id = random(1, 10000) end
    seen[id] = true
    local w = one_row(id)
    w.randomNumber = random(1, 10000)
    out[i] = w
  end
  -- ids in ascending order: concurrent batches lock rows in the same order (no deadlocks)
  local sorted = {}
  for i = 1, n do sorted[i] = out[i] end
  sort(sorted, by_id)
  local k = 0
  for i = 1, n do
    params[k + 1], params[k + 2] = sorted[i].id, sorted[i].randomNumber
    k = k + 2
  end
  if not pg then
    for i = 1, n do params[k + i] = sorted[i].id end
  end
  db:exec(update_statement(n), unpack(params))
  return api.json(out):header("Server", SERVER)
end

return api
