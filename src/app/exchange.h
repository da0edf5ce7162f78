// One request in flight (ARCHITECTURE.md §2): owned by the worker's
// Processor from the moment the request's head is complete until its
// response has been queued. A connection has at most one at a time;
// pipelined requests wait in its receive buffer.
//
// The head is pinned, not copied: `request`'s views point into the
// connection's receive buffer, which the worker neither reads into nor
// compacts while the exchange lives (it watches the socket only for the peer
// going away). A handler that never waits runs and answers within one
// Processor::process() call.
#pragma once
#include <cstdint>

#include "http/request.h"
#include "lua/task.h"
#include "lua/vm.h"
#include "net/loop.h"
#include "router/router.h"

namespace rover::app {

class Processor;
struct Connection;

struct Exchange final : lua::TaskOwner {
  Processor* processor = nullptr;
  Connection* conn = nullptr;
  lua::Task* task = nullptr;  // the handler's task while it runs or waits
  http::Request request;      // views into conn->in (pinned)
  router::Match match;
  lua::RequestInfo info;
  bool head_request = false;
  uint64_t t0_ns = 0;      // when the head was complete (for the log line); 0: not logged
  uint64_t started_ms = 0;  // loop time when the handler started
  net::Timer deadline;      // timeouts.handler, armed when the handler first waits

  void taskFinished(lua::Task* t) override;
};

}  // namespace rover::app
