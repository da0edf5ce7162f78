-- rover.env, .env and rover.config (runtime-modules.md §1). The tests run
-- this file by absolute path from a temporary working directory holding a
-- .env file. $RVT_LOG_LEVEL (default "info") sets log_level; on_ready prints
-- READY for the quiet levels. Used by test_env.py.
local api = rover.server { log_level = os.getenv("RVT_LOG_LEVEL") or "info", workers = 1 }

local function names(ctx)
  local list = {}
  for n in (ctx:query().names or ""):gmatch("[^,]+") do
    list[#list + 1] = n
  end
  return list
end

function api.on_ready()
  print("READY")
end

-- { NAME = rover.env[NAME] } for ?names=A,B,... (unset names are absent).
function api.env.get(ctx)
  local out = {}
  for _, n in ipairs(names(ctx)) do
    out[n] = rover.env[n]
  end
  return out
end

-- The same through os.getenv: .env values are in the process environment.
function api.getenv.get(ctx)
  local out = {}
  for _, n in ipairs(names(ctx)) do
    out[n] = os.getenv(n)
  end
  return out
end

function api.access.get(ctx)
  return {
    dot = rover.env.RVT_PLAIN,
    bracket = rover.env["RVT_PLAIN"],
    dot_type = type(rover.env.RVT_PLAIN),
    unset_dot_is_nil = rover.env.RVT_SURELY_UNSET == nil,
    unset_bracket_is_nil = rover.env["RVT_SURELY_UNSET"] == nil,
    path_matches_getenv = rover.env.PATH == os.getenv("PATH"),
  }
end

-- Tries rover.env[name] = value (value "nil" assigns nil).
function api.assign.get(ctx)
  local q = ctx:query()
  local value = q.value
  if value == "nil" then value = nil end
  local ok, err = pcall(function()
    rover.env[q.name] = value
  end)
  return {
    ok = ok,
    err = err ~= nil and tostring(err) or nil,
    after = rover.env[q.name],
    getenv_after = os.getenv(q.name),
  }
end

function api.from_env.get(ctx)
  return { value = rover.config.from_env(ctx:query().prefix) }
end

-- rover.config.load(conf/<file>.lua), protected: { ok, value | err }.
function api.conf.p_file.get(ctx)
  local ok, res = pcall(rover.config.load, "conf/" .. ctx:params().file .. ".lua")
  if ok then
    return { ok = true, value = res, value_type = type(res) }
  end
  return { ok = false, err = tostring(res), err_type = type(res) }
end

return api
