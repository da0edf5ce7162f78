-- Script mode: an uncaught assignment to rover.env. Used by test_env.py.
print("before the assignment")
rover.env.RVT_ASSIGNED = "x"
print("not reached")
