-- Workers and rover.shared (lua-api.md §3). Used by test_workers.py.
local api = rover.server { log_level = "info", workers = 2 }

local load_id = rover.worker.id        -- readable at load time
local load_count = rover.worker.count
local served = 0                        -- per worker

function api.id.get(ctx)
  served = served + 1
  return {
    id = rover.worker.id,
    count = rover.worker.count,
    load_id = load_id,
    load_count = load_count,
  }
end

-- Atomic increments from every worker.
function api.incr.p_key.post(ctx)
  local v = rover.shared:incr(ctx:params().key, 1, 0)
  return { value = v, id = rover.worker.id }
end
function api.value.p_key.get(ctx)
  local v = rover.shared:get(ctx:params().key)
  return { value = v, type = type(v) }
end
function api.value.p_key.put(ctx)
  rover.shared:set(ctx:params().key, ctx:body():text())
  return { id = rover.worker.id }
end

-- get/set/add/incr/delete/keys semantics in one request.
function api.semantics.get(ctx)
  local s = rover.shared
  local r = {}
  r.missing_is_nil = s:get("sem:missing") == nil
  s:set("sem:str", "v")
  r.str = s:get("sem:str")
  s:set("sem:num", 2.5)
  r.num = s:get("sem:num")
  s:set("sem:false", false)
  r.bool_false = s:get("sem:false")
  r.bool_type = type(s:get("sem:false"))
  s:set("sem:str", "replaced")
  r.replaced = s:get("sem:str")
  s:set("sem:ttl", "with ttl", 3600)
  r.ttl_value = s:get("sem:ttl")
  r.add_new = s:add("sem:add", "first")
  r.add_again = s:add("sem:add", "second")
  r.add_value = s:get("sem:add")
  r.add_ttl = s:add("sem:add_ttl", 1, 3600)
  r.incr_init = s:incr("sem:ctr", 5, 10)
  r.incr_more = s:incr("sem:ctr", 2)
  r.incr_negative = s:incr("sem:ctr", -7)
  r.incr_float = s:incr("sem:ctr", 0.5)
  local keys = s:keys()
  table.sort(keys)
  r.keys = {}
  for _, k in ipairs(keys) do
    if k:sub(1, 4) == "sem:" then r.keys[#r.keys + 1] = k end
  end
  s:delete("sem:str")
  r.deleted_is_nil = s:get("sem:str") == nil
  s:delete("sem:never-existed")
  r.add_after_delete = s:add("sem:str", "again")
  local after = {}
  for _, k in ipairs(s:keys()) do after[k] = true end
  r.keys_after_has_str = after["sem:str"] == true
  s:delete("sem:num")
  after = {}
  for _, k in ipairs(s:keys()) do after[k] = true end
  r.keys_after_has_num = after["sem:num"] == true
  return r
end

function api.shared_table.get(ctx)
  rover.shared:set("tbl", { 1, 2 })
  return "unexpected"
end
function api.shared_table_caught.get(ctx)
  local results = {}
  for _, name in ipairs({ "set", "add" }) do
    local ok, err = pcall(rover.shared[name], rover.shared, "tbl:" .. name, {})
    results[name] = ok and "no error" or tostring(err)
  end
  local ok, err = pcall(rover.shared.set, rover.shared, "tbl:fn", print)
  results.fn = ok and "no error" or tostring(err)
  return results
end

return api
