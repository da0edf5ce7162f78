-- A syntax error. Used by test_env.py.
return { name = 
