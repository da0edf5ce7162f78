// One client connection, owned by the worker thread that accepted it for its
// whole life. Holds the receive buffer the request views point into, the
// parser, and the send buffer all responses of one read batch go into.
#pragma once
#include <sys/socket.h>

#include <cstdint>

#include "core/buffer.h"
#include "http/parser.h"

namespace rover::app {

enum class ConnState : uint8_t {
  kOpen,       // reading requests
  kClosing,    // send what is queued, then close
  kLingering,  // after a transport rejection: half-closed, discarding input
};

enum class TimerKind : uint8_t { kIdle, kHead, kBody, kLinger };

struct Connection {
  int fd = -1;
  ConnState state = ConnState::kOpen;
  bool want_write = false;  // EPOLLOUT armed
  bool reading = true;      // EPOLLIN armed
  bool peer_eof = false;
  bool linger = false;      // half-close and drain input after the last response
  TimerKind timer = TimerKind::kIdle;
  uint64_t output_progress_ms = 0;
  uint32_t index = 0;       // slot in the worker's connection list
  uint64_t deadline_ms = 0; // timeout of the current state (0: none)
  sockaddr_storage peer{};
  char peer_text[48] = {0};  // filled on first use
  core::Buffer in;
  core::Buffer out;
  size_t out_sent = 0;  // bytes of `out` already written
  http::RequestParser parser;
};

}  // namespace rover::app
