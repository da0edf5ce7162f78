-- Script mode: an uncaught error from rover.config.load. Used by test_env.py.
print("before the load")
local settings = rover.config.load("conf/broken.lua")
print("not reached")
