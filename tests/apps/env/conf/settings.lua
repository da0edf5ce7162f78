-- Loaded with rover.config.load("conf/settings.lua") (relative to the app
-- file's directory). Used by test_env.py.
return {
  name = "settings",
  port = tonumber(rover.env.RVT_SETTINGS_PORT or "0"),
  nested = { level = "deep", list = { "a", "b" } },
}
