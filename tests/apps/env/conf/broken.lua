-- Raises while loading. Used by test_env.py.
error("settings are broken", 0)
