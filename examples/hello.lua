-- Hello, Rover!
--
-- Run:   rover examples/hello.lua
-- Try:   curl http://localhost:4242/
--        curl http://localhost:4242/hello/ada
--        curl -X POST http://localhost:4242/echo -H 'Content-Type: application/json' -d '{"say":"hi"}'

local api = rover.server {}          -- defaults: localhost:4242, log_level = "debug"

-- GET /  -> a table is sent as JSON
function api.get(ctx)
  return { message = "Hello from Rover!", docs = "https://example.com/rover" }
end

-- GET /hello/{name}  -> a string is sent as plain text
function api.hello.p_name.get(ctx)
  return "Hello, " .. ctx:params().name .. "!"
end

-- POST /echo  -> sends the JSON body back with a 201
function api.echo.post(ctx)
  return api.json:status(201, { you_sent = ctx:body():json() })
end

return api
