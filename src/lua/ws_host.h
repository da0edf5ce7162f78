// What the WebSocket natives (lua/ws.cpp, runtime-modules.md §7) ask of the
// worker that owns the connections (app/ws_server.h): lua/ does not know
// sockets, app/ does not know Lua. Frames are whole server frames (header and
// payload), built once by the native; the host copies each into one shared,
// immutable buffer however many connections it goes to.
#pragma once
#include <cstdint>
#include <string_view>

namespace rover::lua {

class WsHost {
 public:
  // To one connection of this worker; ignored once it has closed.
  virtual void wsSend(uint64_t conn, std::string_view frame) = 0;
  // To every connection of `endpoint` (topic == nullptr) or every subscriber
  // of *topic, on every worker; `except` (0: none) is left out.
  virtual void wsBroadcast(int endpoint, const std::string_view* topic, uint64_t except,
                           std::string_view frame) = 0;
  // Subscribes a connection of this worker to a topic.
  virtual void wsListen(uint64_t conn, std::string_view topic) = 0;

 protected:
  ~WsHost() = default;
};

}  // namespace rover::lua
