-- Script mode (lua-api.md §1.2): prints a few rover.env values, one per
-- line as NAME=<value> or NAME=<nil>, then the settings' name. Used by
-- test_env.py.
for _, n in ipairs({ "RVT_PLAIN", "RVT_EXPORTED", "RVT_KEEP", "RVT_SURELY_UNSET" }) do
  local v = rover.env[n]
  print(n .. "=" .. (v == nil and "<nil>" or v))
end
print("settings=" .. rover.config.load("conf/settings.lua").name)
