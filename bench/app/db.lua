-- The database workload of bench/db.py, on the TechEmpower model: a World
-- table of 10,000 rows (id, randomnumber). DB_URL selects PostgreSQL,
-- otherwise DB_PATH is the SQLite file.
--   GET /db            one random row as a JSON object
--   GET /queries?queries=N   N random rows (N clamped to 1..500; 1 if missing or bad)
local api = rover.server { log_level = "nope" }
local db = rover.env.DB_URL
  and rover.db.connect { url = rover.env.DB_URL, pool = tonumber(rover.env.DB_POOL) or 8 }
  or rover.db.connect { path = rover.env.DB_PATH }
local random, tonumber, floor = math.random, tonumber, math.floor
local SQL = "SELECT id, randomnumber FROM world WHERE id = ?"

local function row()
  local r = db:query(SQL, random(1, 10000))[1]
  return { id = r.id, randomNumber = r.randomnumber }
end

function api.db.get(ctx)
  return row()
end

function api.queries.get(ctx)
  local n = tonumber(ctx:query().queries)
  n = n and floor(n) or 1
  if n < 1 then n = 1 elseif n > 500 then n = 500 end
  local out = {}
  for i = 1, n do out[i] = row() end
  return out
end

return api
