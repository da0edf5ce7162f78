// The HTTP side of a connection without its socket: parses what is in
// `c->in`, routes, runs handlers in their tasks and appends every response to
// `c->out` (lua-api.md §5, §11). The worker does the I/O around it; fuzzers
// and benchmarks drive it with bytes alone. A handler that waits leaves the
// connection's exchange pending (process() stops there); when the loop has
// resumed it to the end, the response is queued, the requests pipelined
// behind it are processed, and the host is told to send.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/connection.h"
#include "app/exchange.h"
#include "app/metrics.h"
#include "app/pipeline.h"
#include "core/limits.h"
#include "http/response.h"
#include "lua/vm.h"
#include "router/router.h"

namespace rover::app {

class WsServer;

struct ProcessorSettings {
  int64_t body_size_limit = core::kDefaultBodySizeLimit;
  int worker_id = 1;
  uint64_t handler_timeout_ms = core::kHandlerTimeoutMs;
  const Pipeline* pipeline = nullptr;  // stages and filters; nullptr: none (tests)
  // metrics = true (app/metrics.h): this worker's counters and the registry
  // a scrape renders; nullptr: metrics off.
  WorkerMetrics* metrics = nullptr;
  const Metrics* registry = nullptr;
};

// The driver of the connections (the worker): told when an exchange that
// waited has finished, so it sends what was queued and reads again.
class ProcessorHost {
 public:
  virtual void exchangeFinished(Connection* c) = 0;
  // A metrics scrape is served: publish this worker's gauges first.
  virtual void publishMetrics() {}

 protected:
  ~ProcessorHost() = default;
};

class Processor {
 public:
  Processor(lua::Vm& vm, const router::Router& router, const ProcessorSettings& settings,
            ProcessorHost* host = nullptr)
      : vm_(vm), router_(router), settings_(settings), host_(host) {}
  ~Processor();

  // Prepares a recycled connection for a new client.
  void open(Connection* c) const;
  // Handles every complete request in c->in (stopping while 1 MiB of output
  // is pending, or at a request whose handler waits) and drops the consumed
  // input.
  void process(Connection* c);
  // Queues a transport rejection (Connection: close, then lingering close).
  void reject(Connection* c, int status);
  // The connection is going away: its exchange (if any) is aborted, its
  // handler never resumed.
  void abort(Connection* c);
  // While draining, every response carries Connection: close.
  void setDraining(bool draining) { draining_ = draining; }
  // metrics = true: this worker's counters and the registry scrapes render.
  void setMetrics(WorkerMetrics* m, const Metrics* registry) {
    settings_.metrics = m;
    settings_.registry = registry;
  }
  // The worker's stop request, seen by handlers already running when it comes.
  void setStopFlag(const std::atomic<bool>* flag) { stop_flag_ = flag; }
  // WebSocket endpoints (runtime-modules.md §7): their handshakes' routes and
  // the worker's connections. Without them every request is plain HTTP.
  void setWebSockets(const router::Router* ws_router, WsServer* ws) {
    ws_router_ = ws_router;
    ws_ = ws;
  }

  // Exchange callbacks.
  void finish(Exchange* x);
  void timedOut(Exchange* x);
  // The connection's output has drained: a stream's producer is called for
  // more (called by the host's flush loop, which writes what it queues).
  void onWritable(Connection* c);

 private:
  // Returns false when the request's handler waits.
  bool dispatch(Connection* c);
  // -1: not a WebSocket handshake (route it as HTTP); 0: run its join; 1: answered.
  // Out of dispatch's body (and its inlining budget): apps without WebSocket
  // endpoints never call them.
  [[gnu::noinline]] int dispatchUpgrade(Connection* c, Exchange* x, const http::Request& req);
  [[gnu::noinline]] bool upgradeRequired(const http::Request& req);
  void endJoin(Connection* c, Exchange* x, const http::Request& req, int status);
  bool answeredBeforeRouting(Connection* c, Exchange* x, const http::Request& req,
                             router::Method method);
  http::ConnectionHeader connectionHeader(Connection* c, const http::Request& req) const;
  bool isDraining() const {
    return draining_ || (stop_flag_ && stop_flag_->load(std::memory_order_relaxed));
  }
  const char* peerText(Connection* c) const;
  Exchange* newExchange();
  // Out of dispatch's body: the head's time, for the log line and metrics.
  [[gnu::noinline]] void startTiming(Exchange* x, int method_slot);
  // The response of a timed exchange is queued: its log line and metrics.
  void logRequest(Exchange* x, int status);
  [[gnu::noinline]] void renderMetrics();
  Exchange* acquire(Connection* c) {
    Exchange* x;
    if (free_exchanges_.empty()) {
      x = newExchange();
    } else {
      x = free_exchanges_.back();
      free_exchanges_.pop_back();
    }
    x->conn = c;
    x->info.request_id_len = 0;
    x->info.ws_conn = 0;
    x->state.clear();
    return x;
  }
  void releaseExchange(Exchange* x) {
    x->conn = nullptr;
    x->task = nullptr;
    x->streaming = x->pulling = x->pull_armed = false;
    free_exchanges_.push_back(x);
  }
  // The response is queued: log it, and the exchange goes back to the pool.
  void complete(Exchange* x, int status) {
    x->conn->fresh = false;
    if (x->t0_ns) logRequest(x, status);
    releaseExchange(x);
  }

  lua::Vm& vm_;
  const router::Router& router_;
  ProcessorSettings settings_;
  ProcessorHost* host_;
  bool draining_ = false;
  const std::atomic<bool>* stop_flag_ = nullptr;
  const router::Router* ws_router_ = nullptr;
  WsServer* ws_ = nullptr;
  void detach(Connection* c, Exchange* x);
  // x: the request's exchange (nullptr for transport rejections).
  void send(Connection* c, bool head_request, http::ConnectionHeader conn, Exchange* x);
  void endWait(Exchange* x, int status);
  void startStream(Connection* c, Exchange* x, const http::Request& req);
  void pullStream(Exchange* x, bool from_host);
  void onPulled(Exchange* x, bool from_host);
  void endStream(Exchange* x, bool complete_body, bool from_host);
  size_t stream_turn_bytes_ = 0;  // produced in this flush turn

  http::RequestStorage request_;  // the request being dispatched (views into its connection)
  router::Match match_;           // its route
  http::Response resp_;           // the response being built (one at a time)
  std::string allow_;             // Allow header values (no allocation once warm)
  std::string scratch_;           // bodies made here (400, 413)
  FilterScratch filter_scratch_;
  StaticScratch static_scratch_;
  std::vector<std::unique_ptr<Exchange>> exchanges_;
  std::vector<Exchange*> free_exchanges_;
};

}  // namespace rover::app
