-- A chat with rooms (runtime-modules.md §2, §4, §7): log in with a nickname
-- (a JWT in an HttpOnly cookie), then join rooms over a WebSocket. Rooms are
-- topics, so two people in one room may be served by different workers.
--
-- Run (from this directory, so that `public/` is found):
--        cd examples/chat && rover app.lua        # then open http://localhost:4242/ in two tabs
-- Try:   curl -i -X POST -H 'Content-Type: application/json' -d '{"nick":"ann"}' \
--             http://localhost:4242/login
--        curl http://localhost:4242/rooms
-- Set CHAT_SECRET to sign tokens with your own key (default: a random one per start).

local api = rover.server { log_level = "info", workers = 2 }

api.static { dir = "public" }  -- index.html, chat.js, chat.css

function api.get(ctx) return api.redirect("/index.html") end

-- One signing key for every worker: the first to load the app picks it.
local function random_key()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f:read(32)
  f:close()
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
rover.shared:add("chat_secret", os.getenv("CHAT_SECRET") or random_key())
local SECRET = rover.shared:get("chat_secret")
local TOKEN_TTL = 8 * 3600

local login_schema = { nick = rover.guard.string():required() }

function api.login.post(ctx)
  local body = ctx:body():expect(login_schema)
  if #body.nick > 24 or not body.nick:match("^[%w_%-]+$") then
    return api:error(400, "nick: 1 to 24 letters, digits, _ or -")
  end
  local now = os.time()
  local token = rover.auth.create({ sub = body.nick, iat = now, exp = now + TOKEN_TTL }, SECRET)
  local cookie = rover.cookie.set("chat_token", token):path("/"):max_age(TOKEN_TTL)
    :http_only():same_site("strict"):build()
  return api.json { nick = body.nick, headers = { ["Set-Cookie"] = cookie } }
end

function api.logout.post(ctx)
  return api.json { ok = true, headers = { ["Set-Cookie"] = rover.cookie.delete("chat_token") } }
end

-- Who is where, for every worker (rover.shared is process-wide).
function api.rooms.get(ctx)
  local rooms = {}
  for _, key in ipairs(rover.shared:keys()) do
    local room = key:match("^members:(.+)$")
    local n = room and rover.shared:get(key) or 0
    if n > 0 then rooms[#rooms + 1] = { room = room, members = n } end
  end
  table.sort(rooms, function(a, b) return a.room < b.room end)
  return { rooms = rooms }
end

local room_name = "^[%w_%-]+$"

function api.rooms.p_room.ws(ws)
  function ws.join(ctx)
    local room = ctx:params().room
    if not room:match(room_name) or #room > 32 then ws.error(400, "invalid room name") end
    local token = rover.cookie.parse(ctx:headers()["cookie"]).chat_token
    local claims = token and rover.auth.verify(token, SECRET)
    if not (claims and claims.valid) then ws.error(401, "log in first") end
    local members = rover.shared:incr("members:" .. room, 1, 0)
    ws.send.joined():to("room:" .. room) { nick = claims.sub, members = members }  -- the others
    ws.listen("room:" .. room)
    ws.send.welcome { room = room, nick = claims.sub, members = members }
    return { room = room, nick = claims.sub }
  end

  function ws.listen.say(msg, ctx, state)
    if type(msg.text) ~= "string" or msg.text == "" then return end
    ws.send.said():to("room:" .. state.room) { nick = state.nick, text = msg.text:sub(1, 500),
                                               at = os.time() }
  end

  function ws.leave(state)
    local members = rover.shared:incr("members:" .. state.room, -1, 0)
    ws.send.left():to("room:" .. state.room) { nick = state.nick, members = members }
  end
end

return api
