// GET <management_prefix>/metrics (issue 14 item 6): the Prometheus text
// exposition format of what the workers counted.
//
// Counters are per worker: each worker owns its WorkerMetrics and is the only
// thread that writes it, with relaxed atomic loads and stores (on x86 a plain
// mov each, no lock prefix, no shared cache line between workers). A scrape,
// served by whichever worker got the request, reads every worker's counters
// with relaxed loads and sums them; it never waits for another worker, so the
// scraping worker's loop is held only for the rendering (microseconds).
// Values a worker can only read on its own thread (Lua memory, suspended
// tasks, open connections) it publishes into its WorkerMetrics once a second
// (a loop timer, only when metrics are on) and when it serves a scrape, so a
// scrape's figures for the other workers are at most a second old.
//
// The request path pays nothing when metrics are off: the processor holds a
// null WorkerMetrics pointer and the only test is the one that already
// decides whether a request is timed for its log line.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lua/vm.h"

namespace rover::app {

// The exposition format's content type. Pipeline::management answers an
// authorized scrape with it (and no body); the processor, seeing this very
// view, renders the body (it knows the worker). "This very view": its
// characters' address, an inline array (one object program-wide); a view of a
// string literal let each translation unit fold in its own copy, and clang's
// build never matched.
inline constexpr char kMetricsContentTypeText[] = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kMetricsContentType{kMetricsContentTypeText,
                                                      sizeof kMetricsContentTypeText - 1};

// Upper bounds of the latency histogram's buckets, in seconds (+Inf after).
inline constexpr int kLatencyBounds = 14;
inline constexpr int kMethodSlots = 8;  // router::Method's 7, then any other
inline constexpr int kStatusClasses = 5;  // 1xx .. 5xx

// One worker's figures. Written only by its worker, read by any scrape.
struct WorkerMetrics {
  struct Route {
    std::atomic<uint64_t> requests[kMethodSlots][kStatusClasses] = {};
    std::atomic<uint64_t> buckets[kLatencyBounds + 1] = {};  // not cumulative; last: +Inf
    std::atomic<uint64_t> sum_ns{0};
  };
  explicit WorkerMetrics(size_t routes) : route_count(routes + 1), routes(new Route[routes + 1]) {}
  // `route`: a handler id, or any value >= the route count for "no route".
  // Owner thread only.
  void record(uint32_t route, int method_slot, int status, uint64_t ns);

  size_t route_count;  // handler ids, then the slot of requests no route answered
  std::unique_ptr<Route[]> routes;
  // Published by the owner (see the file comment).
  alignas(64) std::atomic<uint64_t> open_connections{0};
  std::atomic<uint64_t> suspended{0};
  std::atomic<uint64_t> lua_bytes{0};
  std::atomic<uint64_t> ws_connections{0};
};

// Process-wide: the route labels and every worker's figures. Made at startup
// (before the workers run), read-only afterwards apart from the counters.
class Metrics {
 public:
  Metrics(const std::vector<lua::RouteInfo>& routes, int workers);
  WorkerMetrics* worker(int id) { return workers_[static_cast<size_t>(id - 1)].get(); }
  // The exposition text, summed over the workers, into `out`.
  void render(std::string& out) const;

 private:
  // One series per route pattern: the escaped label, and the slots (handler
  // ids: GET and POST /echo are two) counted under it; the last is "no route".
  std::vector<std::string> labels_;
  std::vector<std::vector<size_t>> slots_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
};

// A worker's own figures, published on its thread.
void publishWorkerGauges(WorkerMetrics* m, lua::Vm& vm, size_t open_connections,
                         size_t ws_connections);

}  // namespace rover::app
