-- Returns a non-table value. Used by test_env.py.
return 42
