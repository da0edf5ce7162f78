// One full request through a worker without sockets: the bench app
// (bench/app/echo.lua) in a Lua VM, its routes, rover::app::Processor on one
// Connection. Per iteration: the request bytes are appended to c.in,
// process() parses, routes, calls the Lua handler and writes the response
// into c.out, which is then cleared. What the load benchmark's server does per
// request minus the socket I/O and epoll.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/processor.h"
#include "core/log.h"
#include "lua/vm.h"
#include "router/router.h"

namespace {

using namespace rover;

struct App {
  lua::Vm vm{1, 1};
  router::Router router;
  std::unique_ptr<app::Processor> proc;
  std::string error;

  App() {
    core::setLogLevel(core::LogLevel::kNope);
    lua::ServerConfig cfg;
    if (vm.load({ROVER_BENCH_APP, {}}, &error) != lua::LoadResult::kServer) return;
    if (!vm.readConfig({}, &cfg, &error)) return;
    if (!vm.buildRoutes(router, nullptr, &error)) return;
    app::ProcessorSettings settings;
    settings.body_size_limit = cfg.body_size_limit;
    proc = std::make_unique<app::Processor>(vm, router, settings);
  }
};

// One app per thread: what each worker thread has (its own VM, router,
// processor), so the multi-threaded benchmark below shares nothing either.
App& theApp() {
  thread_local App app;
  return app;
}

const std::string kGetEcho = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:19102\r\n\r\n";
const std::string kGetUser = "GET /users/123 HTTP/1.1\r\nHost: 127.0.0.1:19102\r\n\r\n";
const std::string kPostEcho =
    "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:19102\r\nContent-Type: application/json\r\n"
    "Content-Length: 27\r\n\r\n{\"name\":\"bench\",\"value\":42}";

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t p = 0; (p = text.find(what, p)) != std::string_view::npos; p += what.size()) ++n;
  return n;
}

// `request` holds `per_iter` requests; each iteration sends them in one go.
// `expect`: a fragment every response body must contain (key order is free).
void fullRequest(benchmark::State& state, const std::string& request, int per_iter,
                 std::string_view expect) {
  App& a = theApp();
  if (!a.proc) {
    state.SkipWithError(("loading the bench app failed: " + a.error).c_str());
    return;
  }
  app::Connection c;
  a.proc->open(&c);
  // check once that every response is what the load benchmark expects
  c.in.append(request);
  a.proc->process(&c);
  std::string_view out = c.out.view();
  size_t n = static_cast<size_t>(per_iter);
  if (count(out, "HTTP/1.1 200 OK\r\n") != n || count(out, expect) != n || !c.in.empty()) {
    std::fprintf(stderr, "unexpected output:\n%.*s\n", static_cast<int>(out.size()), out.data());
    state.SkipWithError("unexpected response");
    return;
  }
  size_t response_bytes = out.size();
  c.out.clear();
  c.out_sent = 0;
  for (auto _ : state) {
    c.in.append(request);
    a.proc->process(&c);
    benchmark::DoNotOptimize(c.out.data());
    c.out.clear();
    c.out_sent = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_iter));
  state.counters["response_bytes"] = benchmark::Counter(
      static_cast<double>(response_bytes) / per_iter, benchmark::Counter::kAvgThreads);
}

void BM_FullRequestGetEcho(benchmark::State& state) {
  fullRequest(state, kGetEcho, 1, R"("message":"Echo GET")");
}
BENCHMARK(BM_FullRequestGetEcho);

void BM_FullRequestGetUser(benchmark::State& state) {
  fullRequest(state, kGetUser, 1, R"({"id":"123"})");
}
BENCHMARK(BM_FullRequestGetUser);

void BM_FullRequestPostEcho(benchmark::State& state) {
  fullRequest(state, kPostEcho, 1, R"("received_body":"{\"name\":\"bench\",\"value\":42}")");
}
BENCHMARK(BM_FullRequestPostEcho);

// 16 GET /echo arriving in one read (the get_echo_p16 workload); items/s
// counts requests.
void BM_FullRequestGetEchoPipelined16(benchmark::State& state) {
  std::string batch;
  for (int i = 0; i < 16; ++i) batch += kGetEcho;
  fullRequest(state, batch, 16, R"("message":"Echo GET")");
}
BENCHMARK(BM_FullRequestGetEchoPipelined16);

// The same on 1 and on 2 threads at once, each with its own app (as workers
// are): items/s over wall time, all threads together. 2 threads / 1 thread is
// how Rover's own work scales with workers when no load generator and no
// loopback kernel work share the CPUs (bench/README.md, "2 workers vs 1").
// Run unpinned (bench/micro.sh runs it apart from the pinned ones).
void BM_WorkersGetEchoPipelined16(benchmark::State& state) {
  std::string batch;
  for (int i = 0; i < 16; ++i) batch += kGetEcho;
  fullRequest(state, batch, 16, R"("message":"Echo GET")");
}
BENCHMARK(BM_WorkersGetEchoPipelined16)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
