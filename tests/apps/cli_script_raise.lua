-- Script mode, raising: rover exits 1 (lua-api.md §1.2, §1.4).
print("before the error")
error("script failed")  -- marker:raise
