-- The WebSocket bench app (bench/ws.py, issue #12): one endpoint, /echo.
--   {"type":"echo","text":T} -> {"type":"echo","text":T} to the sender
--   {"type":"go","t":N}      -> {"type":"tick","t":N} to every connection of the
--                               endpoint, on every worker
-- WS_WORKERS: the number of workers (default 1). Logging is off, as in the other
-- bench apps (the default level, debug, writes two lines per handshake).
local api = rover.server { workers = tonumber(os.getenv("WS_WORKERS") or "1"), log_level = "nope" }

function api.echo.ws(ws)
  function ws.listen.echo(msg) ws.send.echo { text = msg.text } end
  function ws.listen.go(msg) ws.send.tick():all { t = msg.t } end
end

return api
