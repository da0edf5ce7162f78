// One client connection, owned by the worker thread that accepted it for its
// whole life. Holds the receive buffer the request views point into, the
// parser, and the send buffer all responses of one read batch go into.
#pragma once
#include <sys/socket.h>

#include <cstdint>

#include "core/buffer.h"
#include "http/parser.h"
#include "net/loop.h"
#include "net/timers.h"

namespace rover::app {

enum class ConnState : uint8_t {
  kOpen,       // reading requests
  kClosing,    // send what is queued, then close
  kLingering,  // after a transport rejection: half-closed, discarding input
  kUpgraded,   // a WebSocket (runtime-modules.md §7): frames, in `ws`
};

// Timeouts of lua-api.md §11.2, one timer list each (net/timers.h).
enum TimerKind : int {
  kTimerIdle,
  kTimerHead,
  kTimerBody,
  kTimerOutput,
  kTimerLinger,
  kTimerWsPing,  // an upgraded connection: ping, or close a silent peer
  kTimerKinds
};

struct Exchange;
struct WsConn;

struct Connection : net::TimerNode, net::EventSource {
  Connection() : net::EventSource(net::SourceKind::kConnection) {}
  int fd = -1;
  ConnState state = ConnState::kOpen;
  uint32_t events = 0;  // epoll interest: EPOLLIN (reading), EPOLLRDHUP (an exchange
                        // waits), EPOLLOUT (output pending)
  bool peer_eof = false;
  bool fresh = true;             // no response queued yet (the drain gives it time)
  bool linger = false;           // half-close and drain input after the last response
  size_t body_period_bytes = 0;  // body bytes in the current body-timeout period
  uint32_t index = 0;            // slot in the worker's connection list
  sockaddr_storage peer{};
  char peer_text[48] = {0};  // filled on first use
  core::Buffer in;
  core::Buffer out;
  size_t out_sent = 0;  // bytes of `out` already written
  // A file body queued after `out` (server-features.md §10), sent with
  // sendfile; requests behind it wait until it is sent.
  int file_fd = -1;
  uint64_t file_offset = 0;
  uint64_t file_left = 0;
  http::RequestParser parser;
  Exchange* exchange = nullptr;  // the request whose handler is waiting, if any
  WsConn* ws = nullptr;          // kUpgraded: the WebSocket side (app/ws_server.h)
  size_t ws_queued = 0;          // bytes of its frames not yet sent (after `out`)

  size_t outPending() const { return out.size() - out_sent; }
  // Queued, not yet sent: bytes of `out`, then of the file or the WebSocket frames.
  size_t pending() const { return outPending() + static_cast<size_t>(file_left) + ws_queued; }
};

}  // namespace rover::app
