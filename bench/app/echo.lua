-- The load-benchmark app (bench/run.sh): the same work as the nginx+Lua peer
-- (bench/lua/nginx_handlers.lua); same behaviour as the shared reference
-- ../shared/bench/app/rover_echo.lua.
--   GET  /echo       -> {"message":"Echo GET","method":"GET"}
--   GET  /users/123  -> {"id":"123"}
--   POST /echo       -> {"message":"Echo POST","received_body":"<the raw body>"}
-- Port and workers come from the command line (run.sh passes --port, --host
-- and, in pinned mode, --workers 1); logging is off so it costs nothing.
local api = rover.server { port = 19102, log_level = "nope" }

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
