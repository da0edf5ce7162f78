-- Copied from the project's shared reference configs ../shared/bench/lua/nginx_handlers.lua
-- (the peer-benchmark method); keep the two in step when either changes.
-- nginx-lua peer (OpenResty-class anchor): nginx does the routing with
-- locations, a Lua handler builds a table per request and encodes it with cjson.
local cjson = require "cjson"
local encode = cjson.encode
local ngx = ngx
local req_get_method = ngx.req.get_method
local req_read_body = ngx.req.read_body
local req_get_body_data = ngx.req.get_body_data

local M = {}

-- Content-Length instead of nginx's default chunked encoding, like Node/Go do.
local function send(s)
  ngx.header["Content-Length"] = #s
  ngx.print(s)
end

function M.echo()
  local method = req_get_method()
  if method == "POST" then
    req_read_body()
    local body = req_get_body_data() or ""
    send(encode({ message = "Echo POST", received_body = body }))
  else
    send(encode({ message = "Echo GET", method = method }))
  end
end

function M.user(id)
  send(encode({ id = id }))
end

return M
