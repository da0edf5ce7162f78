#include "app/metrics.h"

#include <fmt/format.h>
#include <lua.hpp>

#include <unordered_map>

#include "core/shared_store.h"
#include "db/postgres.h"
#include "router/router.h"

namespace rover::app {
namespace {

constexpr uint64_t kBoundNs[kLatencyBounds] = {
    500'000,       1'000'000,     2'500'000,     5'000'000,     10'000'000,
    25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
constexpr const char* kBoundText[kLatencyBounds] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                                     "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                                     "1",      "2.5",   "5",      "10"};
constexpr const char* kClassText[kStatusClasses] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr const char* kUnmatched = "(unmatched)";

inline void bump(std::atomic<uint64_t>& a, uint64_t by = 1) {
  a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline uint64_t get(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// A label value (exposition format: backslash, double quote and newline escaped).
std::string escapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view methodLabel(int slot) {
  return slot < router::kMethodCount ? router::methodName(static_cast<router::Method>(slot))
                                     : std::string_view("OTHER");
}

}  // namespace

void WorkerMetrics::record(uint32_t route, int method_slot, int status, uint64_t ns) {
  Route& r = routes[route < route_count ? route : route_count - 1];
  int cls = status / 100 - 1;
  if (cls < 0) cls = 0;
  if (cls >= kStatusClasses) cls = kStatusClasses - 1;
  bump(r.requests[method_slot][cls]);
  int b = 0;
  while (b < kLatencyBounds && ns > kBoundNs[b]) ++b;
  bump(r.buckets[b]);
  bump(r.sum_ns, ns);
}

Metrics::Metrics(const std::vector<lua::RouteInfo>& routes, int workers) {
  std::unordered_map<std::string, size_t> index;
  for (size_t id = 0; id < routes.size(); ++id) {
    auto [it, added] = index.try_emplace(routes[id].pattern, labels_.size());
    if (added) {
      labels_.push_back(escapeLabel(routes[id].pattern));
      slots_.emplace_back();
    }
    slots_[it->second].push_back(id);
  }
  labels_.push_back(kUnmatched);
  slots_.push_back({routes.size()});
  for (int i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<WorkerMetrics>(routes.size()));
  }
}

void publishWorkerGauges(WorkerMetrics* m, lua::Vm& vm, size_t open_connections,
                         size_t ws_connections) {
  lua_State* L = vm.state();
  uint64_t bytes = static_cast<uint64_t>(lua_gc(L, LUA_GCCOUNT, 0)) * 1024 +
                   static_cast<uint64_t>(lua_gc(L, LUA_GCCOUNTB, 0));
  m->lua_bytes.store(bytes, std::memory_order_relaxed);
  m->suspended.store(vm.suspendedTasks(), std::memory_order_relaxed);
  m->open_connections.store(open_connections, std::memory_order_relaxed);
  m->ws_connections.store(ws_connections, std::memory_order_relaxed);
}

void Metrics::render(std::string& out) const {
  out.clear();
  auto back = std::back_inserter(out);
  auto label = [&](size_t p) -> std::string_view { return labels_[p]; };

  // Requests by route, method and status class, summed over the workers.
  out +=
      "# HELP rover_http_requests_total HTTP requests answered, by route pattern, method and "
      "status class.\n# TYPE rover_http_requests_total counter\n";
  std::vector<uint64_t> sums(static_cast<size_t>(kMethodSlots * kStatusClasses));
  for (size_t r = 0; r < labels_.size(); ++r) {
    std::fill(sums.begin(), sums.end(), 0);
    for (const auto& w : workers_) {
      for (size_t slot : slots_[r]) {
        for (int m = 0; m < kMethodSlots; ++m) {
          for (int c = 0; c < kStatusClasses; ++c) {
            sums[static_cast<size_t>(m * kStatusClasses + c)] +=
                get(w->routes[slot].requests[m][c]);
          }
        }
      }
    }
    for (int m = 0; m < kMethodSlots; ++m) {
      for (int c = 0; c < kStatusClasses; ++c) {
        uint64_t n = sums[static_cast<size_t>(m * kStatusClasses + c)];
        if (n == 0) continue;
        fmt::format_to(back, "rover_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       label(r), methodLabel(m), kClassText[c], n);
      }
    }
  }

  // Latency per route: from the complete request head to the response queued
  // (a stream: its head queued).
  out +=
      "# HELP rover_http_request_duration_seconds Time from a request's complete head to its "
      "response queued, by route pattern.\n"
      "# TYPE rover_http_request_duration_seconds histogram\n";
  for (size_t r = 0; r < labels_.size(); ++r) {
    uint64_t buckets[kLatencyBounds + 1] = {};
    uint64_t sum_ns = 0;
    for (const auto& w : workers_) {
      for (size_t slot : slots_[r]) {
        for (int b = 0; b <= kLatencyBounds; ++b) buckets[b] += get(w->routes[slot].buckets[b]);
        sum_ns += get(w->routes[slot].sum_ns);
      }
    }
    uint64_t count = 0;
    for (uint64_t b : buckets) count += b;
    if (count == 0) continue;
    uint64_t cumulative = 0;
    for (int b = 0; b < kLatencyBounds; ++b) {
      cumulative += buckets[b];
      fmt::format_to(back, "rover_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                     label(r), kBoundText[b], cumulative);
    }
    fmt::format_to(back,
                   "rover_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n"
                   "rover_http_request_duration_seconds_sum{{route=\"{}\"}} {:.9f}\n"
                   "rover_http_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                   label(r), count, label(r), static_cast<double>(sum_ns) / 1e9, label(r), count);
  }

  // Per-worker gauges.
  struct Gauge {
    const char* name;
    const char* help;
    std::atomic<uint64_t> WorkerMetrics::*field;
  };
  static constexpr Gauge kGauges[] = {
      {"rover_open_connections", "Client connections open (HTTP and WebSocket), per worker.",
       &WorkerMetrics::open_connections},
      {"rover_suspended_requests", "Handlers waiting (delay, HTTP client, database), per worker.",
       &WorkerMetrics::suspended},
      {"rover_lua_memory_bytes", "Memory held by the worker's Lua state.",
       &WorkerMetrics::lua_bytes},
      {"rover_websocket_connections", "WebSocket connections open, per worker.",
       &WorkerMetrics::ws_connections},
  };
  for (const Gauge& g : kGauges) {
    fmt::format_to(back, "# HELP {} {}\n# TYPE {} gauge\n", g.name, g.help, g.name);
    for (size_t i = 0; i < workers_.size(); ++i) {
      fmt::format_to(back, "{}{{worker=\"{}\"}} {}\n", g.name, i + 1, get(*workers_[i].*g.field));
    }
  }

  fmt::format_to(back,
                 "# HELP rover_shared_entries Entries held by rover.shared (process-wide).\n"
                 "# TYPE rover_shared_entries gauge\nrover_shared_entries {}\n",
                 core::SharedStore::instance().size());

  std::vector<db::PgPoolStats> pools = db::pgPoolStats();
  if (!pools.empty()) {
    out +=
        "# HELP rover_db_pool_connections PostgreSQL connections open (all workers), per "
        "database.\n# TYPE rover_db_pool_connections gauge\n";
    for (const db::PgPoolStats& p : pools) {
      fmt::format_to(back, "rover_db_pool_connections{{pool=\"{}\",database=\"{}\"}} {}\n",
                     p.index, escapeLabel(p.database), p.open);
    }
    out +=
        "# HELP rover_db_pool_max_connections The cap on a database's connections (all "
        "workers).\n# TYPE rover_db_pool_max_connections gauge\n";
    for (const db::PgPoolStats& p : pools) {
      fmt::format_to(back, "rover_db_pool_max_connections{{pool=\"{}\",database=\"{}\"}} {}\n",
                     p.index, escapeLabel(p.database), p.max);
    }
  }
}

}  // namespace rover::app
