-- Script mode (no server returned): prints the global `arg` (lua-api.md §1.1).
-- Used by test_cli.py.
print("arg0=" .. tostring(arg[0]))
print("n=" .. #arg)
for i = 1, #arg do
  print(i .. "=" .. arg[i])
end
