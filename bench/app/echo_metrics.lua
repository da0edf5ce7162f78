-- bench/app/echo.lua with metrics = true (issue 14 item 6): what counting
-- costs the request path (bash bench/callgrind.sh build/rover bench/app/echo_metrics.lua);
-- scrape with curl -H 'Authorization: Bearer t' http://127.0.0.1:PORT/_rover/metrics.
-- The same routes: echo.lua (found next to this file), with two config keys
-- added before the server's config is validated.
local api = require("echo")
api.config.metrics = true
api.config.management_token = "t"
return api
