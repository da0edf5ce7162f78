-- rover.http (runtime-modules.md §5). Used by test_http_client.py, which
-- starts the upstream and passes its base URL in UPSTREAM. POST /call runs
-- one call described by the JSON body:
--   { fn = "get", url = "{U}/json", data = ..., cfg = {...}, create = {...} }
-- ("{U}" in url and create.baseURL is replaced by UPSTREAM) and answers what
-- the call returned, or 502 { error = <message> } when it raised.
local api = rover.server { log_level = "info", timeouts = { handler = 3 } }
local U = assert(rover.env.UPSTREAM, "UPSTREAM is not set")

local LOAD_OK, LOAD_ERR = pcall(rover.http.get, U .. "/json")

local function expand(s)
  return type(s) == "string" and (s:gsub("{U}", U)) or s
end

local WITH_DATA = { post = true, put = true, patch = true }

local function run(spec)
  local target, colon = rover.http, false
  if spec.create then
    spec.create.baseURL = expand(spec.create.baseURL)
    target, colon = rover.http.create(spec.create), true
  end
  local f = target[spec.fn]
  local url = expand(spec.url)
  local data = spec.data
  if spec.data_nil then data = nil end
  if spec.data_rep then data = string.rep("x", spec.data_rep) end
  if WITH_DATA[spec.fn] then
    if colon then return f(target, url, data, spec.cfg) end
    return f(url, data, spec.cfg)
  end
  if colon then return f(target, url, spec.cfg) end
  return f(url, spec.cfg)
end

function api.call.post(ctx)
  local ok, res = pcall(run, ctx:body():json())
  if not ok then return api.json:status(502, { error = tostring(res) }) end
  return { status = res.status, ok = res.ok, headers = res.headers, data = res.data,
           data_type = type(res.data) }
end

-- Two requests on one worker, each waiting on the upstream's barrier: it
-- lets them through only when both are in flight at once.
function api.overlap.get(ctx)
  local r = rover.http.get(U .. "/barrier", { allow_private = true, timeout = 10000 })
  return { status = r.status, worker = rover.worker.id }
end

-- Waits on an upstream request that never answers (until its client goes).
function api.hold.p_id.get(ctx)
  rover.http.get(U .. "/hold/" .. ctx:params().id, { allow_private = true, timeout = 20000 })
  return { unexpected = true }
end

-- A call from a background task.
function api.task.get(ctx)
  local key = "task_" .. ctx:query().n
  rover.spawn(function()
    local r = rover.http.get(U .. "/json", { allow_private = true })
    rover.shared:set(key, r.data.message)
  end)
  while not rover.shared:get(key) do rover.delay(5) end
  return { message = rover.shared:get(key) }
end

function api.load.get(ctx)
  return { ok = LOAD_OK, err = LOAD_ERR }
end

return api
