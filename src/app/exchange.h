// One request in flight (ARCHITECTURE.md §2): owned by the worker's
// Processor from the moment the request's head is complete until its
// response has been queued. A connection has at most one at a time;
// pipelined requests wait in its receive buffer.
//
// A handler that never waits runs and answers within one process() call,
// reading the request where the parser left it (views into the receive
// buffer, the Processor's RequestStorage and Match). A handler that waits
// gets its request copied out first (detach(): the message's bytes, its
// header and capture arrays, each sized to fit), so the connection's receive
// buffer goes back to the worker's pool while it waits. Measured with
// bench/suspended.py (10,000 requests in rover.delay on one worker): pinning
// the buffer instead cost ~10 KB per waiting request.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "app/pipeline.h"
#include "http/request.h"
#include "lua/task.h"
#include "lua/vm.h"
#include "net/loop.h"
#include "router/router.h"

namespace rover::app {

class Processor;
struct Connection;
struct WsConn;

struct Exchange final : lua::TaskOwner {
  Processor* processor = nullptr;
  Connection* conn = nullptr;
  lua::Task* task = nullptr;  // the handler's task while it runs or waits
  lua::RequestInfo info;      // info.request: the Processor's, then `request` once detached
  http::Request request;      // the copy: views into `bytes` (or `body`)
  std::string bytes;          // the message as received (request line, head, body)
  std::string body;           // a chunked body (decoded by the parser, not in `bytes`)
  std::vector<http::Header> headers;
  std::vector<router::Param> params;
  bool head_request = false;
  // A stream (server-features.md §11): the producer runs in `task`.
  bool streaming = false;
  bool pulling = false;          // the producer runs or waits
  bool pull_armed = false;       // `deadline` is armed to pull on the next loop turn
  bool close_delimited = false;  // HTTP/1.0: no chunk framing, close at the end
  int stream_status = 0;
  RequestState state;        // what the pipeline's stages found for the filters
  ClientInfo client;         // server-features.md §3
  char client_ip[net::kIpTextCap];  // the resolved address when it is not the peer's
  uint64_t t0_ns = 0;   // when the head was complete (log line, metrics); 0: neither
  uint32_t route = 0;   // the handler id (metrics; set when t0_ns is, UINT32_MAX: no route)
  uint8_t method_slot = 0;  // router::Method, or app::kMethodSlots - 1 (metrics; the same)
  net::Timer deadline;  // timeouts.handler, armed when the handler first waits
  WsConn* ws_join = nullptr;  // a WebSocket handshake whose join runs (runtime-modules.md §7)

  void taskFinished(lua::Task* t) override;
};

}  // namespace rover::app
