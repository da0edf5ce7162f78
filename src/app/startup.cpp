#include "app/startup.h"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <thread>

#include "app/static_files.h"
#include "core/dotenv.h"
#include "core/log.h"

namespace rover::app {

int cpusAvailable() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

void loadDotenvOfCwd() {
  std::vector<std::string> warnings;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) core::loadDotenv(cwd, &warnings);
  for (const std::string& w : warnings) {
    core::logLine(core::LogLevel::kWarn, "skipped .env line: " + w);
  }
}

lua::ConfigOverrides overridesOf(const CliOptions& cli) {
  lua::ConfigOverrides ov;
  if (cli.host) ov.host = &*cli.host;
  if (cli.port) ov.port = &*cli.port;
  if (cli.workers) ov.workers = &*cli.workers;
  return ov;
}

lua::LoadResult loadApp(lua::Vm& vm, const lua::AppArgs& args, const lua::ConfigOverrides& ov,
                        StartupApp* out, std::string* error) {
  lua::LoadResult loaded = vm.load(args, error);
  if (loaded != lua::LoadResult::kServer) return loaded;
  lua::ServerConfig& cfg = out->cfg;
  if (!vm.readConfig(ov, &cfg, error)) {
    *error = "❌ Error: " + *error;
    return lua::LoadResult::kFailed;
  }
  if (!cfg.strict_errors.empty()) {  // server-features.md §14
    *error = "❌ Invalid server startup config:";
    for (const std::string& e : cfg.strict_errors) *error += "\n   - " + e;
    return lua::LoadResult::kFailed;
  }
  out->pipeline = Pipeline::create(cfg, error);
  if (!out->pipeline) {
    *error = "❌ Error: " + *error;
    return lua::LoadResult::kFailed;
  }
  if (!net::resolveHost(cfg.host, cfg.port, &out->addr)) {
    *error = fmt::format("❌ Error: Invalid host '{}'", cfg.host);
    return lua::LoadResult::kFailed;
  }
  return loaded;
}

bool buildApp(lua::Vm& vm, router::Router& router, StartupApp* app,
              std::vector<lua::RouteInfo>* routes, std::string* error,
              router::Router* ws_router) {
  Pipeline& pipeline = *app->pipeline;
  if (!vm.buildRoutes(router, routes, error, ws_router)) {
    *error = "❌ Error: " + *error;
    return false;
  }
  std::unique_ptr<StaticMounts> mounts =
      StaticMounts::create(vm.staticMounts(), pipeline.staticCompression(), error);
  if (!mounts) {
    *error = "❌ Error: " + *error;
    return false;
  }
  if (!mounts->empty()) pipeline.setStaticMounts(std::move(mounts));
  if (pipeline.docsEnabled()) {
    std::string json, html;
    if (!vm.buildDocs(&json, &html, error)) {
      *error = "❌ Error: " + *error;
      return false;
    }
    pipeline.setDocuments(std::move(json), std::move(html));
  }
  return true;
}

}  // namespace rover::app
