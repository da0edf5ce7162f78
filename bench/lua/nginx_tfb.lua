-- TechEmpower plaintext and json for the nginx-lua peer of bench/tfb.sh, in the
-- style of the reference handlers (lua/nginx_handlers.lua): a Lua handler per
-- location, Content-Length instead of chunked encoding, the json object built
-- and cjson-encoded per request.
local cjson = require "cjson"
local encode = cjson.encode
local ngx = ngx

local M = {}

function M.plaintext()
  ngx.header["Content-Type"] = "text/plain"
  ngx.header["Content-Length"] = 13
  ngx.print("Hello, World!")
end

function M.json()
  local s = encode({ message = "Hello, World!" })
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #s
  ngx.print(s)
end

return M
