-- WebSocket endpoints (runtime-modules.md §7), for tests/integration/test_websocket.py.
local api = rover.server {
  workers = tonumber(os.getenv("WS_WORKERS") or "2"),
  timeouts = { ws_ping = tonumber(os.getenv("WS_PING") or "30"),
               ws_idle = tonumber(os.getenv("WS_IDLE") or "60") },
  drain_timeout_secs = 3,
}

-- Before hooks of the node's scope run first and may refuse.
function api.private.before(ctx)
  if ctx:headers()["x-token"] ~= "ok" then return api.json:status(401, { error = "no token" }) end
end

function api.private.ws(ws)
  function ws.join(ctx) ws.send.hello { who = ctx:headers()["x-token"] } end
end

local echo_ws
function api.echo.ws(ws)
  echo_ws = ws
  function ws.join(ctx)
    ws.send.welcome { worker = rover.worker.id, id = ctx:request_id() }
    return { count = 0, worker = rover.worker.id }
  end
  function ws.listen.message(msg, ctx, state)
    if msg.type == "binary" then
      ws.send.binary { size = #msg.data }
    elseif msg.type == "message" then
      ws.send.text { text = msg.text, size = #msg.text }
    else
      ws.send.object { got = msg }
    end
  end
  function ws.listen.echo(msg, ctx, state)
    ws.send.echo { text = msg.text, count = state.count + 1 }
    return { count = state.count + 1, worker = state.worker }
  end
  function ws.listen.slow(msg)
    rover.delay(msg.ms or 50)
    ws.send.slow { text = msg.text }
  end
  function ws.listen.fail(msg) error("handler failed on purpose") end
  function ws.listen.whoami(msg, ctx, state)
    ws.send.whoami { worker = state.worker, request_id = ctx:request_id(), ip = ctx.client_ip }
  end
  function ws.listen.all(msg) ws.send.all():all { text = msg.text } end
  function ws.listen.except(msg) ws.send.except():except { text = msg.text } end
  function ws.listen.topic(msg) ws.send.topic():to(msg.topic) { text = msg.text } end
  function ws.listen.sub(msg)
    ws.listen(msg.topic)
    ws.send.subscribed { topic = msg.topic, worker = rover.worker.id }
  end
  function ws.listen.flood(msg)
    local chunk = string.rep("x", msg.size or 65536)
    for i = 1, msg.count or 100 do ws.send.flood():to(msg.topic) { i = i, data = chunk } end
    ws.send.flooded { count = msg.count }
  end
  function ws.listen.bad_send(msg) ws.send.bad(42) end
  function ws.listen.bad_error(msg) ws.error(400, "too late") end
end

function api.rooms.p_room.ws(ws)
  function ws.join(ctx)
    local room = ctx:params().room
    if room == "closed" then ws.error(403, "room is closed") end
    if room == "slow" then rover.delay(50) end
    if room == "slower" then rover.delay(400) end
    if room == "boom" then error("join failed") end
    ws.listen("room:" .. room)
    ws.send.welcome { room = room }
    return { room = room, nick = ctx:query().nick or "anon" }
  end
  function ws.listen.say(msg, ctx, state)
    ws.send.said():to("room:" .. state.room) { nick = state.nick, text = msg.text }
  end
  function ws.leave(state)
    ws.send.left():to("room:" .. state.room) { nick = state.nick }
  end
end

-- A node with both: plain GET is HTTP, an upgrade is a WebSocket.
function api.both.get() return { http = true } end
function api.both.ws(ws)
  function ws.join() ws.send.hi {} end
end

-- Broadcast from an HTTP handler.
function api.notify.post(ctx)
  local b = ctx:body():json()
  if b.topic then
    echo_ws.send.news():to(b.topic) { text = b.text }
  else
    echo_ws.send.news():all { text = b.text }
  end
  return { ok = true }
end

return api
