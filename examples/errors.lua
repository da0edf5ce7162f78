-- Errors: what a raised error becomes, and how to answer errors yourself.
--
-- Run:   rover examples/errors.lua
-- Try:   curl -i http://localhost:4242/ok
--        curl -i http://localhost:4242/boom          # 500 {"error":"examples/errors.lua:NN: something broke"}
--        curl -i http://localhost:4242/reports/1     # 503 from api:error
--        curl -i -X POST http://localhost:4242/needs-body    # 400 {"error":"Request has no body"}
-- Set expose_errors = false to answer 500s with {"error":"Internal Server Error"}.

local api = rover.server { log_level = "info", expose_errors = true }

function api.ok.get(ctx) return "the server keeps serving after errors" end

function api.boom.get(ctx)
  error("something broke")                         -- message includes file:line
end

function api.table_error.get(ctx)
  error({ message = "a table error with a message field" })
end

local function load_report(id)
  error("report store unavailable")
end

function api.reports.p_id.get(ctx)
  local ok, report = pcall(load_report, ctx:params().id)
  if not ok then return api:error(503, "report store unavailable") end
  return report
end

api["needs-body"].post = function(ctx)
  return { got = ctx:body():text() }               -- no body -> 400
end

return api
