-- A small notes service with what a deployed API needs (server-features.md
-- §1-§8, §13, §15a; runtime-modules.md §1): settings from .env, a login
-- route with its own rate limit, bearer-token auth as a before hook, CORS for
-- the front end's origins, validated JSON bodies, one error format with the
-- request id (api.on_error), and the OpenAPI description at /_rover/docs.
--
-- Run (from this directory, so that .env is found):
--        cd examples/service && rover app.lua
-- Try:   curl http://localhost:4242/healthz
--        curl -X POST localhost:4242/login -H 'Content-Type: application/json' \
--             -d '{"user":"demo","password":"correct horse"}'        # {"token":"demo-token-change-me"}
--        curl -i localhost:4242/notes                                 # 401, no token
--        curl localhost:4242/notes -H 'Authorization: Bearer demo-token-change-me'
--        curl -X POST localhost:4242/notes -H 'Authorization: Bearer demo-token-change-me' \
--             -H 'Content-Type: application/json' -d '{"title":"milk","tags":["home"]}'
--        curl -X POST localhost:4242/notes -H 'Authorization: Bearer demo-token-change-me' \
--             -H 'Content-Type: application/json' -d '{"tags":"x"}'  # 400 with the field errors
--        curl -i -X OPTIONS localhost:4242/notes -H 'Origin: http://localhost:3000' \
--             -H 'Access-Control-Request-Method: POST'               # CORS preflight: 204
--        for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' -X POST localhost:4242/login; done
--                                                                     # 5 logins a minute, then 429
--        curl localhost:4242/_rover/openapi.json -H 'Authorization: Bearer admin-token-change-me'
--        open http://localhost:4242/_rover/docs with that header (e.g. a browser extension)

local env = rover.env
local g = rover.guard

local origins = {}
for o in (env.ALLOWED_ORIGINS or "http://localhost:3000"):gmatch("[^,%s]+") do
  origins[#origins + 1] = o
end

local api = rover.server {
  port = tonumber(env.PORT or "") or 4242,
  log_level = env.LOG_LEVEL or "info",
  workers = 1,                        -- the notes live in this worker's Lua state
  cors_origin = origins,
  cors_credentials = true,
  docs = true,
  management_token = env.ADMIN_TOKEN,
  rate_limit = {
    global = { requests_per_window = 600, window_secs = 60 },
    scoped = { { path_pattern = "/login", requests_per_window = 5, window_secs = 60 } },
  },
}

local TOKEN = env.API_TOKEN or error("API_TOKEN is not set (see examples/service/.env)")

-- Every error in one shape, with the id the log line carries.
function api.on_error(err, ctx)
  return api.json:status(err.status, {
    error = err.status == 500 and "internal error"
        or (err.errors and "invalid request body") or err.message,
    errors = err.errors,
    request_id = ctx:request_id(),
  })
end

-- Runs first for every route; the after hook last.
function api.before.stamp(ctx) ctx:set("started", os.clock()) end
local served = 0
function api.after.count(ctx) served = served + 1 end

local Login = { user = g.string():required(), password = g.string():required() }

function api.login.post(ctx)
  local body = ctx:body():expect(Login)
  if body.user ~= (env.API_USER or "demo") or body.password ~= env.API_PASSWORD then
    return api:error(401, "wrong user or password")
  end
  return { token = TOKEN }
end

-- Everything under /notes needs the token.
function api.notes.before.auth(ctx)
  local h = ctx:headers()["authorization"] or ""
  if h ~= "Bearer " .. TOKEN then
    return api:error(401, "missing or wrong bearer token"):header("WWW-Authenticate", "Bearer")
  end
  ctx:set("user", env.API_USER or "demo")
end

local Note = {
  title = g.string():required(),
  body = g.string():default(""),
  tags = g.array(g.string()):default({}),
}

local notes, next_id = {}, 1

function api.notes.get(ctx)
  local list = {}
  for _, n in pairs(notes) do list[#list + 1] = n end
  table.sort(list, function(a, b) return a.id < b.id end)
  return { notes = list, served = served }
end

function api.notes.post(ctx)
  local note = ctx:body():expect(Note)
  note.id, note.owner = next_id, ctx:get("user")
  notes[next_id] = note
  next_id = next_id + 1
  return api.json:status(201, note):header("Location", "/notes/" .. note.id)
end

function api.notes.p_id.get(ctx)
  local note = notes[tonumber(ctx:params().id)]
  if not note then return api:error(404, "no such note") end
  return note
end

function api.notes.p_id.delete(ctx)
  local id = tonumber(ctx:params().id)
  if not notes[id] then return api:error(404, "no such note") end
  notes[id] = nil
  return api:no_content()
end

return api
