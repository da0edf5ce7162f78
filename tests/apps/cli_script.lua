-- Script mode: the chunk returns something other than a server, so rover
-- runs it and exits 0 (lua-api.md §1.2). Used by test_cli.py.
print("script ran")
print("rover is " .. type(rover))
return { not_a_server = true }
