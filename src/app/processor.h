// The HTTP side of a connection without its socket: parses what is in
// `c->in`, routes, calls Lua and appends every response to `c->out`
// (lua-api.md §5, §11). The worker does the I/O around it; fuzzers and
// benchmarks drive it with bytes alone.
#pragma once
#include <atomic>
#include <cstdint>

#include "app/connection.h"
#include "lua/vm.h"
#include "router/router.h"

namespace rover::app {

struct ProcessorSettings {
  int64_t body_size_limit = 1024 * 1024;
  int worker_id = 1;
};

class Processor {
 public:
  Processor(lua::Vm& vm, const router::Router& router, const ProcessorSettings& settings)
      : vm_(vm), router_(router), settings_(settings) {}

  // Prepares a recycled connection for a new client.
  void open(Connection* c) const;
  // Handles every complete request in c->in (stopping while 1 MiB of output
  // is pending) and drops the consumed input.
  void process(Connection* c);
  // Queues a transport rejection (Connection: close, then lingering close).
  void reject(Connection* c, int status) const;
  // While draining, every response carries Connection: close.
  void setDraining(bool draining) { draining_ = draining; }
  // The worker's stop request, seen by handlers already running when it comes.
  void setStopFlag(const std::atomic<bool>* flag) { stop_flag_ = flag; }

 private:
  void dispatch(Connection* c, const http::Request& req);
  const char* peerText(Connection* c) const;

  lua::Vm& vm_;
  const router::Router& router_;
  ProcessorSettings settings_;
  bool draining_ = false;
  const std::atomic<bool>* stop_flag_ = nullptr;
  http::Request request_;  // the request being answered (views into its connection)
  router::Match match_;    // its route
};

}  // namespace rover::app
