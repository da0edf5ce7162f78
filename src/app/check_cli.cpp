#include "app/check_cli.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/db_cli.h"
#include "app/startup.h"
#include "net/loop.h"

namespace rover::app {
namespace {

constexpr const char* kUsage =
    "usage: rover check <app.lua> [--port N] [--host H] [--workers N] [-- args...]\n"
    "  Loads and validates the app as startup does (config, routes, strict mode,\n"
    "  static mounts, docs, pending migrations) without binding a socket, and\n"
    "  prints its route table. Exit 0 when it would start, 1 otherwise.\n";

int usage(const std::string& why) {
  std::fprintf(stderr, "rover check: %s\n\n%s", why.c_str(), kUsage);
  return 2;
}

// Method order of the route table: the router's (GET, HEAD, POST, ...).
int methodRank(const std::string& m) {
  auto parsed = router::parseMethod(m);
  return parsed ? static_cast<int>(*parsed) : router::kMethodCount;
}

// Hooks in the order they run: "app.lua:2, auth app.lua:3" (an unnamed hook,
// whose name is its kind, by its place alone).
std::string hookList(const std::vector<lua::RouteDetail::Hook>& hooks, const char* kind,
                     bool reverse) {
  std::string out;
  for (size_t i = 0; i < hooks.size(); ++i) {
    const auto& h = hooks[reverse ? hooks.size() - 1 - i : i];
    if (!out.empty()) out += ", ";
    out += h.name == kind ? h.where : h.name + " " + h.where;
  }
  return out;
}

// "before: app.lua:2, auth app.lua:3; after: timing app.lua:12", or "-".
std::string chainOf(const lua::RouteDetail& r) {
  std::string out;
  if (!r.before.empty()) out = "before: " + hookList(r.before, "before", false);
  if (!r.after.empty()) {
    out += (out.empty() ? "after: " : "; after: ") + hookList(r.after, "after", true);
  }
  return out.empty() ? "-" : out;
}

void printTable(std::vector<lua::RouteDetail> routes) {
  std::stable_sort(routes.begin(), routes.end(), [](const auto& a, const auto& b) {
    if (a.pattern != b.pattern) return a.pattern < b.pattern;
    return methodRank(a.method) < methodRank(b.method);
  });
  size_t wm = 6, wp = 7, wh = 7;  // the headers' widths
  for (const auto& r : routes) {
    wm = std::max(wm, r.method.size());
    wp = std::max(wp, r.pattern.size());
    wh = std::max(wh, r.where.size());
  }
  auto row = [&](const std::string& m, const std::string& p, const std::string& h,
                 const std::string& c) {
    std::printf("%s\n", fmt::format("{:<{}}  {:<{}}  {:<{}}  {}", m, wm, p, wp, h, wh, c).c_str());
  };
  row("METHOD", "PATTERN", "HANDLER", "MIDDLEWARE");
  for (const auto& r : routes) row(r.method, r.pattern, r.where, chainOf(r));
}

std::string plural(size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

int runCheckCommand(int argc, char** argv) {
  CliOptions cli;
  std::string error;
  // argv[1] ("check") stands where parseCli expects the program name.
  if (!parseCli(argc - 1, argv + 1, &cli, &error)) return usage(error);
  if (cli.help || cli.version) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  loadDotenvOfCwd();
  lua::AppArgs args{cli.app_path, cli.extra_args};
  int guess = cli.workers && *cli.workers >= 1 ? static_cast<int>(*cli.workers) : cpusAvailable();
  // The loop is never run: load-time waits register with it as at startup.
  net::Loop loop;
  lua::Vm vm(1, guess, &loop);
  vm.enterCheckMode();
  StartupApp app;
  lua::LoadResult loaded = loadApp(vm, args, overridesOf(cli), &app, &error);
  if (loaded == lua::LoadResult::kFailed) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  if (loaded == lua::LoadResult::kScript) {
    std::printf("%s is a script (it returns no rover.server): it ran to completion, no routes\n",
                cli.app_path.c_str());
    return 0;
  }
  router::Router router, ws_router;
  std::vector<lua::RouteInfo> routes;
  if (!buildApp(vm, router, &app, &routes, &error, &ws_router)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::vector<std::string> migrations;
  if (!vm.migrationReport(migrationFiles(), &migrations, &error)) {
    std::fprintf(stderr, "❌ Error: %s\n", error.c_str());
    return 1;
  }
  for (const std::string& key : app.cfg.unknown_keys) {
    std::fprintf(stderr, "⚠️  Unknown config key '%s' ignored\n", key.c_str());
  }
  if (app.pipeline->docsUnreachable()) {
    std::fprintf(stderr,
                 "⚠️  docs enabled but no management_token set; docs are unreachable\n");
  }

  printTable(vm.routeDetails());
  std::vector<lua::StaticMountInfo> mounts = vm.staticMounts();
  for (const auto& m : mounts) {
    std::printf("static  %s -> %s%s\n", m.prefix.c_str(), m.dir.c_str(),
                m.cache.empty() ? "" : fmt::format(" (Cache-Control: {})", m.cache).c_str());
  }
  for (const std::string& line : migrations) std::printf("migrations  %s\n", line.c_str());
  int workers = app.cfg.workers > 0 ? app.cfg.workers : cpusAvailable();
  std::printf("✅ %s: %s, %s; would listen on %s:%d with %s\n", cli.app_path.c_str(),
              plural(routes.size(), "route", "routes").c_str(),
              plural(mounts.size(), "static mount", "static mounts").c_str(), app.cfg.host.c_str(),
              app.cfg.port, plural(static_cast<size_t>(workers), "worker", "workers").c_str());
  return 0;
}

}  // namespace rover::app
