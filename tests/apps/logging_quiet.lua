-- Quiet log levels (lua-api.md §12): the level comes from $TEST_LOG_LEVEL
-- ("warn", "error" or "nope"). No banner is logged at these levels, so the
-- app prints READY from the on_ready hook (server-features.md §15) to tell
-- the test that it is accepting connections. Used by test_logging.py.
local api = rover.server { log_level = os.getenv("TEST_LOG_LEVEL"), workers = 1, bogus_key = 1 }

function api.on_ready()
  print("READY")
end

function api.ok.get(ctx) return "ok" end
function api.boom.get(ctx) error("quiet failure", 0) end
function api.print.p_marker.get(ctx)
  print("PRINTED " .. ctx:params().marker)
  return "printed"
end

return api
