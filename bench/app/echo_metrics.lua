-- bench/app/echo.lua with metrics = true (issue 14 item 6): what counting
-- costs the request path (bash bench/callgrind.sh build/rover bench/app/echo_metrics.lua);
-- scrape with curl -H 'Authorization: Bearer t' http://127.0.0.1:PORT/_rover/metrics.
--   GET  /echo       -> {"message":"Echo GET","method":"GET"}
--   GET  /users/123  -> {"id":"123"}
--   POST /echo       -> {"message":"Echo POST","received_body":"<the raw body>"}
-- Port and workers come from the command line (run.sh passes --port, --host
-- and, in pinned mode, --workers 1); logging is off so it costs nothing.
local api = rover.server { port = 19102, log_level = "nope", metrics = true, management_token = "t" }

function api.echo.get(ctx)
  return api.json { message = "Echo GET", method = ctx.method }
end

function api.echo.post(ctx)
  return api.json { message = "Echo POST", received_body = ctx:body():text() }
end

function api.users.p_id.get(ctx)
  return { id = ctx:params().id }
end

return api
