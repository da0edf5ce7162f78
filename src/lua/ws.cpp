// The natives of the WebSocket server (runtime-modules.md §7; the Lua half is
// prelude/ws.lua, the connections are app/ws_server.cpp's): a send builds the
// whole frame here, once — the JSON payload with its `type` written straight
// into the frame buffer — and hands it to the worker (lua/ws_host.h), which
// shares that one buffer among every connection it goes to.
#include <lua.hpp>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "json/decode.h"
#include "json/encode.h"
#include "lua/native.h"
#include "lua/vm.h"
#include "lua/ws_host.h"
#include "ws/frame.h"

namespace rover::lua {
namespace {

WsHost* hostOf(lua_State* L, Vm* vm) {
  WsHost* h = vm->wsHost();
  if (!h) luaL_error(L, "WebSocket sends need a running server");
  return h;
}

// The text frame of `payload` (a table) with `type = event`: the field is set
// for the encoder and put back as it was, so the app's table is unchanged.
std::string_view buildFrame(lua_State* L, int payload, std::string_view event) {
  static thread_local core::Buffer frame;
  if (lua_type(L, payload) != LUA_TTABLE) {
    luaL_error(L, "ws.send.%s: payload must be a table", std::string(event).c_str());
  }
  lua_pushliteral(L, "type");
  lua_rawget(L, payload);  // the old value, restored below
  lua_pushliteral(L, "type");
  lua_pushlstring(L, event.data(), event.size());
  lua_rawset(L, payload);
  frame.clear();
  size_t at = ws::beginFrame(&frame);
  std::string reason;
  bool ok = json::encode(L, payload, frame, &reason);
  lua_pushliteral(L, "type");
  lua_insert(L, -2);
  lua_rawset(L, payload);
  if (!ok) {
    luaL_error(L, "ws.send.%s: cannot encode the payload: %s", std::string(event).c_str(),
               reason.c_str());
  }
  ws::endFrame(&frame, at, ws::Opcode::kText);
  return frame.view();
}

// ws_current() -> the running handler's connection id, or nil
int wsCurrent(lua_State* L) {
  uint64_t id = upvalueVm(L)->currentWsConn();
  if (id == 0) return 0;
  lua_pushnumber(L, static_cast<double>(id));
  return 1;
}

// ws_send(event, payload): to the running handler's connection
int wsSend(lua_State* L) {
  Vm* vm = upvalueVm(L);
  std::string_view event = checkView(L, 1);
  uint64_t id = vm->currentWsConn();
  if (id == 0) {
    return luaL_error(L, "ws.send.%s: no WebSocket connection here (use :all or :to)",
                      std::string(event).c_str());
  }
  WsHost* host = hostOf(L, vm);
  host->wsSend(id, buildFrame(L, 2, event));
  return 0;
}

// ws_broadcast(endpoint, topic or nil, except_current, event, payload)
int wsBroadcast(lua_State* L) {
  Vm* vm = upvalueVm(L);
  int endpoint = static_cast<int>(luaL_checkinteger(L, 1));
  std::string_view topic;
  bool has_topic = !lua_isnil(L, 2);
  if (has_topic) topic = checkView(L, 2);
  std::string_view event = checkView(L, 4);
  uint64_t except = 0;
  if (lua_toboolean(L, 3)) {
    except = vm->currentWsConn();
    if (except == 0) {
      return luaL_error(L, "ws.send.%s():except: no WebSocket connection here",
                        std::string(event).c_str());
    }
  }
  WsHost* host = hostOf(L, vm);
  host->wsBroadcast(endpoint, has_topic ? &topic : nullptr, except, buildFrame(L, 5, event));
  return 0;
}

// ws_listen(topic): subscribes the running handler's connection
int wsListen(lua_State* L) {
  Vm* vm = upvalueVm(L);
  std::string_view topic = checkView(L, 1);
  uint64_t id = vm->currentWsConn();
  if (id == 0) return luaL_error(L, "ws.listen: no WebSocket connection here");
  hostOf(L, vm)->wsListen(id, topic);
  return 0;
}

// ws_decode(text) -> the decoded value when text is a JSON object, else nil
int wsDecode(lua_State* L) {
  std::string_view text = checkView(L, 1);
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
    ++i;
  if (i == text.size() || text[i] != '{') return 0;
  std::string detail;
  if (!json::decode(L, text, &detail)) return 0;
  return 1;
}

}  // namespace

void addWsNatives(lua_State* L, int natives, Vm* vm) {
  const luaL_Reg fns[] = {{"ws_current", native<wsCurrent>},
                          {"ws_send", native<wsSend>},
                          {"ws_broadcast", native<wsBroadcast>},
                          {"ws_listen", native<wsListen>},
                          {nullptr, nullptr}};
  for (const luaL_Reg* f = fns; f->name; ++f) {
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, f->func, 1);
    lua_setfield(L, natives, f->name);
  }
  lua_pushcfunction(L, native<wsDecode>);
  lua_setfield(L, natives, "ws_decode");
}

}  // namespace rover::lua
