-- Logging (lua-api.md §12). Used by test_logging.py.
-- `bogus_key` is deliberately unknown: it must be reported once at WARN.
local api = rover.server { log_level = "info", workers = 2, bogus_key = true }

function api.log.ok.get(ctx) return ctx:request_id() end
function api.log.ok.post(ctx) return "posted" end
function api.log.empty.get(ctx) return nil end
function api.log.unprocessable.get(ctx) return api:error(422, "nope") end
function api.log.boom.get(ctx) error("logged failure", 0) end
function api.log.print.get(ctx)
  print("PRINTED-MARKER", 42)
  io.write("WRITTEN-MARKER\n")
  return "printed"
end

return api
