// rover: CLI -> load app in worker 1's VM -> config -> routes -> other
// workers -> bind -> banner -> serve -> drain on SIGTERM/SIGINT
// (lua-api.md §1.3, ARCHITECTURE.md §1).
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "app/check_cli.h"
#include "app/cli.h"
#include "app/db_cli.h"
#include "app/startup.h"
#include "app/worker.h"
#include "client/http_client.h"
#include "core/log.h"
#include "net/address.h"
#include "net/listener.h"

namespace rover::app {
namespace {

constexpr int kBacklog = 4096;

void raiseFileLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int fail(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return 1;
}

void setWorkerCount(lua::Vm& vm, int count) {
  std::string code = fmt::format("rover.worker.count = {}", count);
  lua::runString(vm.state(), code);
}

int bindAll(const lua::ServerConfig& cfg, const net::Address& base, int count,
            std::vector<int>* fds, int* bound_port) {
  net::Address addr = base;
  for (int i = 0; i < count; ++i) {
    int fd = net::openListener(addr, kBacklog);
    if (fd < 0) {
      int err = errno;
      for (int f : *fds) ::close(f);
      if (err == EADDRINUSE) {
        char ip[64];
        net::addressText(addr.storage, ip, sizeof ip);
        std::fprintf(stderr,
                     "❌ Error: Unable to start server\n   Port %d is already in use on %s\n"
                     "   Please choose a different port or stop the process using port %d\n",
                     cfg.port, ip, cfg.port);
      } else {
        std::fprintf(stderr, "❌ Error starting server: %s\n", std::strerror(err));
      }
      return 1;
    }
    if (i == 0) {
      *bound_port = net::localPort(fd);
      net::resolveHost(cfg.host, *bound_port, &addr);
    }
    fds->push_back(fd);
  }
  return 0;
}

// Waits for workers; the first signal starts the drain, a second exits at once.
void waitForSignals(std::vector<std::unique_ptr<Worker>>& workers,
                    std::vector<std::thread>& threads, const sigset_t& set,
                    std::atomic<int>& running) {
  bool draining = false;
  for (;;) {
    timespec tick{0, 100'000'000};
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      if (draining) std::_Exit(0);
      draining = true;
      for (auto& w : workers) w->requestStop();
    }
    if (running.load() == 0) break;
  }
  for (auto& t : threads) t.join();
}

int runServer(const CliOptions& cli) {
  loadDotenvOfCwd();
  lua::AppArgs args{cli.app_path, cli.extra_args};
  int guess = cli.workers && *cli.workers >= 1 ? static_cast<int>(*cli.workers) : cpusAvailable();
  auto loop1 = std::make_unique<net::Loop>();
  auto vm1 = std::make_unique<lua::Vm>(1, guess, loop1.get());
  std::string error;
  StartupApp app;
  lua::LoadResult loaded = loadApp(*vm1, args, overridesOf(cli), &app, &error);
  if (loaded == lua::LoadResult::kFailed) return fail(error);
  if (loaded == lua::LoadResult::kScript) return 0;
  const lua::ServerConfig& cfg = app.cfg;
  Pipeline* pipeline = app.pipeline.get();
  core::LogLevel level;
  core::parseLogLevel(cfg.log_level, &level);
  core::setLogLevel(level);
  for (const std::string& key : cfg.unknown_keys) {
    core::logLine(core::LogLevel::kWarn, fmt::format("Unknown config key '{}' ignored", key));
  }
  if (pipeline->docsUnreachable() && core::logEnabled(core::LogLevel::kWarn)) {
    core::logLine(core::LogLevel::kWarn, "docs enabled but no management_token set; docs are unreachable");
  }
  if (pipeline->metricsUnreachable() && core::logEnabled(core::LogLevel::kWarn)) {
    core::logLine(core::LogLevel::kWarn,
                  "metrics enabled but no management_token set; metrics are unreachable");
  }
  const net::Address& addr = app.addr;
  int count = cfg.workers > 0 ? cfg.workers : cpusAvailable();
  if (count != guess) setWorkerCount(*vm1, count);

  WorkerSettings settings;
  settings.body_size_limit = cfg.body_size_limit;
  auto ms = [](double secs) { return static_cast<uint64_t>(secs * 1000.0); };
  settings.drain_timeout_ms = static_cast<int>(ms(cfg.drain_timeout_secs));
  settings.head_timeout_ms = ms(cfg.head_timeout);
  settings.idle_timeout_ms = ms(cfg.idle_timeout);
  settings.body_timeout_ms = ms(cfg.body_timeout);
  settings.output_timeout_ms = ms(cfg.output_timeout);
  settings.linger_ms = ms(cfg.linger);
  settings.handler_timeout_ms = ms(cfg.handler_timeout);
  settings.ws_ping_ms = ms(cfg.ws_ping);
  settings.ws_idle_ms = ms(cfg.ws_idle);
  settings.pipeline = pipeline;
  std::unique_ptr<Metrics> metrics;  // metrics = true (app/metrics.h): outlives the workers
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<lua::RouteInfo> routes1;
  workers.push_back(std::make_unique<Worker>(1, std::move(loop1), std::move(vm1), settings));
  if (!buildApp(workers[0]->vm(), workers[0]->router(), &app, &routes1, &error,
                &workers[0]->wsRouter())) {
    return fail(error);
  }
  if (pipeline->metricsEnabled()) {
    metrics = std::make_unique<Metrics>(routes1, count);
    workers[0]->setMetrics(metrics->worker(1), metrics.get());
  }
  for (int id = 2; id <= count; ++id) {
    auto loop = std::make_unique<net::Loop>();
    auto vm = std::make_unique<lua::Vm>(id, count, loop.get());
    if (vm->load(args, &error) != lua::LoadResult::kServer) {
      return fail(
          error.empty()
              ? fmt::format("❌ Error loading {}:\nworker {} did not return a server", args.path, id)
              : error);
    }
    vm->setExposeErrors(cfg.expose_errors);
    workers.push_back(std::make_unique<Worker>(id, std::move(loop), std::move(vm), settings));
    std::vector<lua::RouteInfo> routes;
    if (!workers.back()->vm().buildRoutes(workers.back()->router(), &routes, &error,
                                          &workers.back()->wsRouter())) {
      return fail("❌ Error: " + error);
    }
    if (routes.size() != routes1.size()) {
      return fail(fmt::format("❌ Error: worker {} built a different route tree", id));
    }
    if (metrics) workers.back()->setMetrics(metrics->worker(id), metrics.get());
  }

  for (auto& w : workers) w->vm().callHook("on_start");
  std::vector<int> fds;
  int port = 0;
  if (int rc = bindAll(cfg, addr, count, &fds, &port)) return rc;
  for (int i = 0; i < count; ++i) workers[i]->setListenFd(fds[i]);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::atomic<int> running{count};
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    Worker* wp = w.get();
    threads.emplace_back([wp, &running] {
      wp->run();
      running.fetch_sub(1);
    });
  }
  core::logLine(core::LogLevel::kInfo,
                fmt::format("🚀 Rover server running at http://{}:{}", cfg.host, port));
  if (pipeline->docsEnabled()) {
    core::logLine(core::LogLevel::kInfo,
                  fmt::format("📚 API docs available at http://{}:{}{}/docs", cfg.host, port,
                              cfg.management_prefix));
  }
  if (level == core::LogLevel::kDebug) core::logLine(core::LogLevel::kInfo, "🐛 Debug mode enabled");
  waitForSignals(workers, threads, set, running);
  return 0;
}

}  // namespace
}  // namespace rover::app

int main(int argc, char** argv) {
  using namespace rover::app;
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 2 && std::strcmp(argv[1], "db") == 0) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
      return runDbCommand(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "❌ Error: %s\n", e.what());
      return 1;
    }
  }
  if (argc >= 2 && std::strcmp(argv[1], "check") == 0) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    rover::client::initHttpClients();
    try {
      return runCheckCommand(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "❌ Error: %s\n", e.what());
      return 1;
    }
  }
  CliOptions cli;
  std::string error;
  if (!parseCli(argc, argv, &cli, &error)) {
    std::fprintf(stderr, "rover: %s\n\n%s", error.c_str(), usageText());
    return 2;
  }
  if (cli.help) {
    std::fputs(usageText(), stdout);
    return 0;
  }
  if (cli.version) {
    std::printf("rover %s\n", ROVER_VERSION);
    return 0;
  }
  raiseFileLimit();
  rover::client::initHttpClients();
  setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    return runServer(cli);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "❌ Error: %s\n", e.what());
    return 1;
  }
}
