-- The request context: method, path, headers, query, params, body, request id.
--
-- Run:   rover examples/context.lua
-- Try:   curl 'http://localhost:4242/inspect/42?q=lua+jit&tag=c%2B%2B&debug'
--        curl -H 'X-Request-ID: my-id-1' http://localhost:4242/inspect/1
--        curl -X POST http://localhost:4242/body -d 'raw text'
--        curl -X POST http://localhost:4242/body/parsed -H 'Content-Type: application/json' -d '{"a":[1,2]}'

local api = rover.server { log_level = "info" }

function api.inspect.p_id.get(ctx)
  local h = ctx:headers()
  return {
    method = ctx.method,
    path = ctx.path,                 -- no query, not percent-decoded
    client_ip = ctx.client_ip,
    proto = ctx.proto,
    user_agent = h["User-Agent"],    -- lookups are case-insensitive
    query = ctx:query(),             -- { q = "lua jit", tag = "c++", debug = "" }
    params = ctx:params(),           -- { id = "42" }
    request_id = ctx:request_id(),
  }
end

function api.body.post(ctx)
  local text = ctx:body():text()
  return { bytes = #text, text = text }
end

function api.body.parsed.post(ctx)
  local ok, data = pcall(function() return ctx:body():json() end)
  if not ok then
    -- request errors carry a status and a message
    return api:error(data.status, data.message)
  end
  return { parsed = data }
end

return api
