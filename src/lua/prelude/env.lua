-- rover.env and rover.config (runtime-modules.md §1). Called with (native);
-- returns { env = <read-only view of the environment>, config = { load,
-- from_env }, set_app_dir = <called by the Vm with the app file's directory> }.
-- The .env file itself is read by C++ before the app is loaded (core/dotenv).
local native = ...
local type, error, setmetatable, getenv, loadfile, tostring = type, error, setmetatable, os.getenv,
  loadfile, tostring

local app_dir = "."

local env = setmetatable({}, {
  __index = function(_, name)
    if type(name) ~= "string" then return nil end
    return getenv(name)
  end,
  __newindex = function() error("rover.env is read-only", 2) end,
  __metatable = false,
})

local config = {}

-- Runs the Lua file at `path` (relative to the app file's directory) and
-- returns its value; errors propagate.
function config.load(path)
  if type(path) ~= "string" or path == "" then
    error("rover.config.load: path must be a string", 2)
  end
  local full = path:sub(1, 1) == "/" and path or (app_dir .. "/" .. path)
  local chunk, err = loadfile(full)
  if not chunk then error(err, 2) end
  return chunk()
end

-- { <rest of the name, lower case, "__" nesting> = value } of <PREFIX>_... variables.
function config.from_env(prefix)
  if type(prefix) ~= "string" or prefix == "" then
    error("rover.config.from_env: prefix must be a string", 2)
  end
  local out = {}
  local names, values = native.environment_with_prefix(prefix)
  for i = 1, #names do
    local path = names[i]:lower()
    local t = out
    local start = 1
    while true do
      local s, e = path:find("__", start, true)
      if not s then break end
      local key = path:sub(start, s - 1)
      if type(t[key]) ~= "table" then t[key] = {} end
      t = t[key]
      start = e + 1
    end
    local key = path:sub(start)
    if key ~= "" and type(t[key]) ~= "table" then t[key] = values[i] end
  end
  return out
end

return {
  env = env,
  config = config,
  set_app_dir = function(dir) app_dir = tostring(dir) end,
}
