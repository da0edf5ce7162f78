// A worker thread (ARCHITECTURE.md §1, §2): its own listening socket, event
// loop (epoll, timers, inbox), Lua VM and router. Accepts, reads, parses,
// routes, runs handlers, resumes the ones that waited and writes, all on this
// thread; nothing here is touched by another thread except requestStop()
// (which posts to the inbox).
//
// A connection is a state machine (ConnState), one function per state:
// reading (head and body, onReadable), handling (an exchange waits:
// onHandling), sending (flush), closing, lingering (onLingering), upgraded
// (a WebSocket: onUpgraded, app/ws_server.h).
#pragma once
#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "app/connection.h"
#include "app/processor.h"
#include "app/ws_server.h"
#include "core/limits.h"
#include "lua/vm.h"
#include "net/loop.h"
#include "net/reactor.h"
#include "net/timers.h"
#include "router/router.h"

namespace rover::app {

struct WorkerSettings {
  uint64_t handler_timeout_ms = core::kHandlerTimeoutMs;
  int64_t body_size_limit = core::kDefaultBodySizeLimit;
  int drain_timeout_ms = core::kDefaultDrainTimeoutMs;
  uint64_t head_timeout_ms = core::kHeadTimeoutMs;
  uint64_t idle_timeout_ms = core::kIdleTimeoutMs;
  uint64_t body_timeout_ms = core::kBodyTimeoutMs;
  uint64_t output_timeout_ms = core::kOutputStallTimeoutMs;
  uint64_t linger_ms = core::kLingerMs;
  uint64_t ws_ping_ms = core::kWsPingMs;
  uint64_t ws_idle_ms = core::kWsIdleMs;
  const Pipeline* pipeline = nullptr;
};

class Worker final : ProcessorHost {
 public:
  // `loop` is the one `vm` was made with.
  Worker(int id, std::unique_ptr<net::Loop> loop, std::unique_ptr<lua::Vm> vm,
         const WorkerSettings& settings);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  router::Router& router() { return router_; }
  router::Router& wsRouter() { return ws_router_; }  // WebSocket handshakes (runtime-modules.md §7)
  void setListenFd(int fd) { listen_fd_ = fd; }
  // metrics = true (app/metrics.h): before run().
  void setMetrics(WorkerMetrics* m, const Metrics* registry) {
    metrics_ = m;
    processor_.setMetrics(m, registry);
  }
  lua::Vm& vm() { return *vm_; }
  // Serves until stopped; returns when drained.
  void run();
  // Thread-safe: begins the graceful drain.
  void requestStop();
  // Thread-safe: a reload's new workers accept on this worker's listening
  // socket now; this one stops accepting (without closing the socket, so no
  // connection waiting in its queue is lost) and drains.
  void requestHandover();

 private:
  void onAccept();
  void onInbox();
  void onEvent(Connection* c, uint32_t events);
  void onReadable(Connection* c);
  void onHandling(Connection* c, uint32_t events);
  void onLingering(Connection* c);
  void onUpgraded(Connection* c, uint32_t events);
  void serviceWebSockets();
  static void closeFile(Connection* c);
  void exchangeFinished(Connection* c) override;
  void publishMetrics() override;
  static void onMetricsTimer(net::Timer* t);
  // The earliest deadline the loop must wake for besides its timer heap.
  uint64_t nextDeadline() const {
    uint64_t d = next_sweep_ms_;
    if (listener_paused_ && listener_retry_ms_ < d) d = listener_retry_ms_;
    if (draining_ && drain_deadline_ms_ < d) d = drain_deadline_ms_;
    return d;
  }
  void flush(Connection* c);
  void updateInterest(Connection* c);
  void close(Connection* c);
  void sweep();
  void resumeListener();
  void rearm(Connection* c, bool output_progressed);
  void lend(core::Buffer& b);
  void reclaim(core::Buffer& b);
  void beginDrain();

  int id_;
  std::unique_ptr<net::Loop> loop_;  // first: outlives the VM's waits
  std::unique_ptr<lua::Vm> vm_;
  int listen_fd_;
  net::EventSource listen_source_{net::SourceKind::kListener};
  WorkerSettings settings_;
  net::Reactor& reactor_;
  router::Router router_;
  router::Router ws_router_;
  Processor processor_;  // after router_ and vm_: it refers to both
  std::unique_ptr<WsServer> ws_;  // an app with WebSocket endpoints; before processor_ goes
  net::TimerLists<kTimerKinds> timers_;
  std::vector<Connection*> conns_;
  // Idle connections' buffers, a fixed array (a push is a few moves, inline).
  std::array<core::Buffer, 256> spare_;
  size_t spare_count_ = 0;
  std::vector<Connection*> free_;
  std::vector<Connection*> pending_free_;  // closed during this event batch
  bool listener_paused_ = false;
  uint64_t listener_retry_ms_ = 0;
  uint64_t next_sweep_ms_ = 0;  // connection timers: nothing expires before
  uint64_t shortest_timer_ms_ = 0;
  std::atomic<bool> stop_requested_{false};
  bool draining_ = false;
  uint64_t drain_deadline_ms_ = 0;
  WorkerMetrics* metrics_ = nullptr;  // metrics = true: the gauges published each second
  net::Timer metrics_timer_;
};

}  // namespace rover::app
