-- Minimal server for CLI tests (lua-api.md §1). Used by test_cli.py.
local api = rover.server { log_level = "info", workers = 1 }

function api.get(ctx)
  return { count = rover.worker.count }
end

return api
