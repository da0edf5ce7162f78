// Route lookup (rover::router::Router): a static path (hash) and a path with
// two parameters (segment tree), in a table shaped like a small REST API.
#include <benchmark/benchmark.h>

#include <string>

#include "router/router.h"

namespace {

using rover::router::Match;
using rover::router::Method;
using rover::router::Router;

void addRoutes(Router& r) {
  int id = 0;
  auto add = [&](Method m, const char* pattern) {
    std::string err = r.add(m, pattern, id++);
    if (!err.empty()) std::abort();
  };
  add(Method::kGet, "/");
  add(Method::kGet, "/echo");
  add(Method::kPost, "/echo");
  add(Method::kGet, "/health");
  add(Method::kGet, "/metrics");
  add(Method::kGet, "/api/v1/status");
  add(Method::kGet, "/users");
  add(Method::kPost, "/users");
  add(Method::kGet, "/users/{id}");
  add(Method::kPut, "/users/{id}");
  add(Method::kDelete, "/users/{id}");
  add(Method::kGet, "/users/{id}/posts");
  add(Method::kGet, "/users/{id}/posts/{post_id}");
  add(Method::kPatch, "/users/{id}/posts/{post_id}");
  add(Method::kGet, "/users/{id}/posts/{post_id}/comments");
  add(Method::kGet, "/orgs/{org}/repos/{repo}");
  add(Method::kGet, "/orgs/{org}/members");
  add(Method::kGet, "/static/{file}");
}

void lookup(benchmark::State& state, Method m, std::string_view path, size_t params) {
  Router r;
  addRoutes(r);
  Match match;
  if (!r.match(m, path, &match) || match.param_count != params) {
    state.SkipWithError("route not found");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(path.data());
    bool found = r.match(m, path, &match);
    benchmark::DoNotOptimize(found);
    benchmark::DoNotOptimize(match.params[0].raw.data());
  }
}

void BM_RouteStatic(benchmark::State& state) { lookup(state, Method::kGet, "/api/v1/status", 0); }
BENCHMARK(BM_RouteStatic);

void BM_RouteTwoParams(benchmark::State& state) {
  lookup(state, Method::kGet, "/users/123/posts/456", 2);
}
BENCHMARK(BM_RouteTwoParams);

}  // namespace
