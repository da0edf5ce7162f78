-- bench/app/echo.lua with one global before hook and one global after hook
-- (server-features.md §1): what middleware costs per request.
--   bash bench/callgrind.sh build/rover bench/app/echo_middleware.lua
local api = dofile((arg[0]:gsub("[^/]*$", "")) .. "echo.lua")

local seen = 0
function api.before.tag(ctx) seen = seen + 1 end
function api.after.count(ctx) seen = seen - 1 end

return api
