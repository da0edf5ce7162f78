-- Workers and process-wide shared state.
--
-- Every worker thread has its own Lua state: module-level variables are per
-- worker. rover.shared is one store seen by all workers.
--
-- Run:   rover examples/workers.lua --workers 4
-- Try:   curl http://localhost:4242/whoami
--        curl -X POST http://localhost:4242/hits       # run it a few times
--        curl http://localhost:4242/hits
--        for i in $(seq 20); do curl -s http://localhost:4242/whoami; echo; done

local api = rover.server { log_level = "info", workers = 2 }

local local_hits = 0        -- per worker!

function api.whoami.get(ctx)
  return { worker = rover.worker.id, of = rover.worker.count }
end

function api.hits.post(ctx)
  local_hits = local_hits + 1
  local total = rover.shared:incr("hits", 1, 0)   -- atomic across workers
  return { total = total, this_worker = local_hits, worker = rover.worker.id }
end

function api.hits.get(ctx)
  return { total = rover.shared:get("hits") or 0 }
end

-- Claim a name once, whatever the worker: add() only succeeds if absent.
function api.claim.p_name.post(ctx)
  local name = ctx:params().name
  if rover.shared:add("claim:" .. name, rover.worker.id, 3600) then
    return api.json:status(201, { claimed = name })
  end
  return api:error(409, name .. " is already claimed")
end

return api
