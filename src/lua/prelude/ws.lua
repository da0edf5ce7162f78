-- WebSocket endpoints (runtime-modules.md §7), the Lua half: the `ws` object
-- an endpoint's function fills in, the join step (run as the route's handler,
-- after the node's before hooks), and the dispatch of each received message
-- and of the end of a connection. lua/ws.cpp has the natives; the
-- connections themselves are app/ws_server.cpp's. Loaded by vm_load.cpp only
-- for an app that declares an endpoint. Run with (native, M = server.lua's
-- module); returns W.
local native, M = ...
local type, error, pcall, rawget, rawset, setmetatable, getmetatable, tostring =
  type, error, pcall, rawget, rawset, setmetatable, getmetatable, tostring
local floor = math.floor
local RESP = M.RESP
local message_of = M.message_of
local ws_current, ws_send, ws_broadcast, ws_listen, ws_decode =
  native.ws_current, native.ws_send, native.ws_broadcast, native.ws_listen, native.ws_decode
local log_error = native.log_error

local W = {}

-- Connection id -> { endpoint, state, ctx }, from a successful join to the end.
local CONNS = {}

-- What handlers get as ctx: the handshake request, kept for the connection's
-- life (the request's own ctx ends with the 101).
local WSCTX = {}
WSCTX.__index = WSCTX
function WSCTX:params() return self.params_ end
function WSCTX:query() return self.query_ end
function WSCTX:headers() return self.headers_ end
function WSCTX:request_id() return self.request_id_ end

-- ws.error's raised value.
local REFUSAL = {}

local BCAST = {}
BCAST.__index = BCAST
function BCAST:all(payload) ws_broadcast(self[1], nil, false, self[2], payload) end
function BCAST:except(payload) ws_broadcast(self[1], nil, true, self[2], payload) end
function BCAST:to(topic)
  if type(topic) ~= "string" or topic == "" then
    error("ws.send." .. self[2] .. "():to: topic must be a non-empty string", 2)
  end
  local id, event = self[1], self[2]
  return function(payload) ws_broadcast(id, topic, false, event, payload) end
end

local function make_send(id)
  return setmetatable({}, { __index = function(t, event)
    if type(event) ~= "string" then return nil end
    local b = setmetatable({ id, event }, BCAST)
    local function sender(payload)
      if payload == nil then return b end
      ws_send(event, payload)
    end
    rawset(t, event, sender)
    return sender
  end })
end

local function make_listen()
  return setmetatable({}, { __call = function(_, topic)
    if type(topic) ~= "string" or topic == "" then
      error("ws.listen: topic must be a non-empty string", 2)
    end
    ws_listen(topic)
  end })
end

local callable = M.callable

-- The route handler of an endpoint: runs its function once (this worker's
-- startup) and returns what the request task calls for a handshake. `id` is
-- the endpoint's number, the same on every worker.
function W.endpoint(fn, pattern, id)
  local ws = { send = make_send(id), listen = make_listen() }
  function ws.error(code, message)
    if type(code) ~= "number" or code ~= floor(code) or code < 400 or code > 599 then
      error("ws.error: code must be an HTTP status 400..599", 2)
    end
    error(setmetatable({ code = code, message = tostring(message or "") }, REFUSAL), 0)
  end
  fn(ws)
  for _, name in ipairs({ "join", "leave" }) do
    local h = rawget(ws, name)
    if h ~= nil and not callable(h) then
      error("ws." .. name .. " at '" .. pattern .. "' must be a function", 0)
    end
  end
  local ep = { ws = ws, listen = ws.listen, pattern = pattern }
  local upgrade = setmetatable({ 101, false, "s", "", false }, RESP)
  return function(ctx)
    local wctx = setmetatable({ params_ = ctx:params(), query_ = ctx:query(),
                                headers_ = ctx:headers(), request_id_ = ctx:request_id(),
                                client_ip = ctx.client_ip }, WSCTX)
    local id = ws_current()
    local join = rawget(ws, "join")
    local state
    if join then
      local ok, v = pcall(join, wctx)
      if not ok then
        if getmetatable(v) == REFUSAL then
          local resp = setmetatable({ v.code, "application/json", "j", { error = v.message }, false },
                                    RESP)
          return resp
        end
        error(v, 0)
      end
      state = v
    end
    if state == nil then state = {} end
    CONNS[id] = { ep, state, wctx }
    return upgrade
  end
end

local function failed(ep, what, err)
  if getmetatable(err) == REFUSAL then err = "ws.error is only valid in ws.join" end
  log_error("WebSocket " .. ep.pattern .. " - " .. what .. " failed: " .. message_of(err))
end

-- A received message (kind 1: text, 2: binary), the end of the connection
-- (kind 3), or a join whose upgrade did not happen (kind 4), in a task of its own.
function W.dispatch(id, kind, data)
  local c = CONNS[id]
  if not c then return end
  local ep = c[1]
  if kind == 4 then
    CONNS[id] = nil
    return
  end
  if kind == 3 then
    CONNS[id] = nil
    local leave = rawget(ep.ws, "leave")
    if leave then
      local ok, err = pcall(leave, c[2])
      if not ok then failed(ep, "ws.leave", err) end
    end
    return
  end
  local listen = ep.listen
  local msg, h
  if kind == 1 then
    msg = ws_decode(data)
    if msg then
      local t = rawget(msg, "type")
      if type(t) == "string" then h = rawget(listen, t) end
    else
      msg = { type = "message", text = data }
    end
  else
    msg = { type = "binary", data = data }
  end
  local typed = h ~= nil
  if not h then h = rawget(listen, "message") end
  if not h then return end
  local ok, v = pcall(h, msg, c[3], c[2])
  if not ok then
    failed(ep, "ws.listen." .. (typed and msg.type or "message"), v)
  elseif v ~= nil then
    c[2] = v
  end
end

return W
