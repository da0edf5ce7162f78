// rover: CLI -> load app in worker 1's VM -> config -> routes -> other
// workers -> bind -> banner -> serve -> drain on SIGTERM/SIGINT, reload on
// SIGHUP or --watch (lua-api.md §1.3, ARCHITECTURE.md §1).
#include <fmt/format.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "app/check_cli.h"
#include "app/cli.h"
#include "app/db_cli.h"
#include "app/startup.h"
#include "app/test_cli.h"
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

// One loaded version of the app (issue: reload without dropping
// connections): its workers with their VMs, the pipeline they share, their
// threads. A reload loads the next one beside it; the old one drains and goes.
struct Generation {
  StartupApp app;
  std::unique_ptr<Metrics> metrics;  // metrics = true (app/metrics.h): outlives the workers
  int count = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  std::atomic<int> running{0};

  void start() {
    running.store(count);
    for (auto& w : workers) {
      Worker* wp = w.get();
      threads.emplace_back([this, wp] {
        wp->run();
        running.fetch_sub(1);
      });
    }
  }
  void join() {
    for (auto& t : threads) t.join();
    threads.clear();
  }
};

WorkerSettings settingsOf(const lua::ServerConfig& cfg, const Pipeline* pipeline) {
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
  return settings;
}

// Loads and validates the app into a new generation of workers (startup's
// sequence, lua-api.md §1.3). nullptr: *error is the message (or, with
// *script, the app was a script that ran to completion).
std::unique_ptr<Generation> loadGeneration(const CliOptions& cli, const lua::AppArgs& args,
                                           bool* script, std::string* error) {
  int guess = cli.workers && *cli.workers >= 1 ? static_cast<int>(*cli.workers) : cpusAvailable();
  auto loop1 = std::make_unique<net::Loop>();
  auto vm1 = std::make_unique<lua::Vm>(1, guess, loop1.get());
  auto gen = std::make_unique<Generation>();
  lua::LoadResult loaded = loadApp(*vm1, args, overridesOf(cli), &gen->app, error);
  if (loaded == lua::LoadResult::kFailed) return nullptr;
  if (loaded == lua::LoadResult::kScript) {
    *script = true;
    return nullptr;
  }
  const lua::ServerConfig& cfg = gen->app.cfg;
  Pipeline* pipeline = gen->app.pipeline.get();
  int count = cfg.workers > 0 ? cfg.workers : cpusAvailable();
  if (count != guess) setWorkerCount(*vm1, count);
  gen->count = count;
  WorkerSettings settings = settingsOf(cfg, pipeline);
  std::vector<lua::RouteInfo> routes1;
  gen->workers.push_back(std::make_unique<Worker>(1, std::move(loop1), std::move(vm1), settings));
  if (!buildApp(gen->workers[0]->vm(), gen->workers[0]->router(), &gen->app, &routes1, error,
                &gen->workers[0]->wsRouter())) {
    return nullptr;
  }
  if (pipeline->metricsEnabled()) {  // a reload's counters start from zero (a counter reset)
    gen->metrics = std::make_unique<Metrics>(routes1, count);
    gen->workers[0]->setMetrics(gen->metrics->worker(1), gen->metrics.get());
  }
  for (int id = 2; id <= count; ++id) {
    auto loop = std::make_unique<net::Loop>();
    auto vm = std::make_unique<lua::Vm>(id, count, loop.get());
    if (vm->load(args, error) != lua::LoadResult::kServer) {
      if (error->empty()) {
        *error = fmt::format("❌ Error loading {}:\nworker {} did not return a server", args.path, id);
      }
      return nullptr;
    }
    vm->setExposeErrors(cfg.expose_errors);
    gen->workers.push_back(std::make_unique<Worker>(id, std::move(loop), std::move(vm), settings));
    std::vector<lua::RouteInfo> routes;
    if (!gen->workers.back()->vm().buildRoutes(gen->workers.back()->router(), &routes, error,
                                               &gen->workers.back()->wsRouter())) {
      *error = "❌ Error: " + *error;
      return nullptr;
    }
    if (routes.size() != routes1.size()) {
      *error = fmt::format("❌ Error: worker {} built a different route tree", id);
      return nullptr;
    }
    if (gen->metrics) gen->workers.back()->setMetrics(gen->metrics->worker(id), gen->metrics.get());
  }
  return gen;
}

void applyLogging(const Generation& gen) {
  const lua::ServerConfig& cfg = gen.app.cfg;
  core::LogLevel level;
  core::parseLogLevel(cfg.log_level, &level);
  core::setLogLevel(level);
  for (const std::string& key : cfg.unknown_keys) {
    core::logLine(core::LogLevel::kWarn, fmt::format("Unknown config key '{}' ignored", key));
  }
  if (gen.app.pipeline->docsUnreachable() && core::logEnabled(core::LogLevel::kWarn)) {
    core::logLine(core::LogLevel::kWarn, "docs enabled but no management_token set; docs are unreachable");
  }
  if (gen.app.pipeline->metricsUnreachable() && core::logEnabled(core::LogLevel::kWarn)) {
    core::logLine(core::LogLevel::kWarn,
                  "metrics enabled but no management_token set; metrics are unreachable");
  }
}

// `rover --watch`: inotify on the app's directory and its subdirectories
// (not hidden ones, not node_modules); a change to a .lua file asks for a reload.
class Watcher {
 public:
  explicit Watcher(const std::string& app_path) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) return;
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(app_path, ec).parent_path();
    add(dir);
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!it->is_directory(ec)) continue;
      if (name.empty() || name[0] == '.' || name == "node_modules") {
        it.disable_recursion_pending();
        continue;
      }
      add(it->path());
    }
  }
  ~Watcher() {
    if (fd_ >= 0) ::close(fd_);
  }
  // True when a .lua file changed since the last call.
  bool changed() {
    bool lua = false;
    alignas(inotify_event) char buf[8192];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        std::string_view name(ev->len ? ev->name : "");
        if (name.size() > 4 && name.substr(name.size() - 4) == ".lua") lua = true;
        p += sizeof(inotify_event) + ev->len;
      }
    }
    return lua;
  }
  bool ok() const { return fd_ >= 0; }

 private:
  void add(const std::filesystem::path& p) {
    inotify_add_watch(fd_, p.c_str(),
                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM);
  }
  int fd_ = -1;
};

// Serves until drained. SIGINT/SIGTERM start the drain (a second one exits at
// once); SIGHUP, or a change `--watch` sees, reloads: the next generation
// loads and validates beside the running one, takes over the same listening
// sockets (never closed, so no connection attempt is refused), and the old
// workers finish what they have (the drain rules of server-features.md §15)
// and exit. A version that fails to load leaves the running one serving.
void serve(const CliOptions& cli, const lua::AppArgs& args, std::unique_ptr<Generation> current,
           const std::vector<int>& fds, const sigset_t& set, Watcher* watcher) {
  std::vector<std::unique_ptr<Generation>> retiring;
  bool draining = false;
  int quiet_ticks = -1;  // --watch: ticks since the last change (-1: none pending)
  for (;;) {
    timespec tick{0, 100'000'000};
    int sig = sigtimedwait(&set, nullptr, &tick);
    bool reload = sig == SIGHUP;
    if (watcher && watcher->ok()) {
      if (watcher->changed()) {
        quiet_ticks = 0;  // wait for the editor to finish writing
      } else if (quiet_ticks >= 0 && ++quiet_ticks >= 2) {
        quiet_ticks = -1;
        reload = true;
      }
    }
    if (sig == SIGINT || sig == SIGTERM) {
      if (draining) std::_Exit(0);
      draining = true;
      for (auto& w : current->workers) w->requestStop();
    }
    if (reload && !draining) {
      std::string error;
      bool script = false;
      std::unique_ptr<Generation> next = loadGeneration(cli, args, &script, &error);
      const lua::ServerConfig& was = current->app.cfg;
      if (!next) {
        core::logLine(core::LogLevel::kError,
                      fmt::format("Reload of {} failed; still serving the running version:\n{}",
                                  args.path, script ? "it no longer returns a server" : error));
      } else if (next->count != current->count || next->app.cfg.port != was.port ||
                 next->app.cfg.host != was.host) {
        core::logLine(core::LogLevel::kError,
                      fmt::format("Reload of {} refused: host, port and workers cannot change "
                                  "while running (restart to change them)", args.path));
      } else {
        applyLogging(*next);
        for (auto& w : next->workers) w->vm().callHook("on_start");
        for (int i = 0; i < next->count; ++i) next->workers[i]->setListenFd(fds[i]);
        next->start();
        for (auto& w : current->workers) w->requestHandover();
        retiring.push_back(std::move(current));
        current = std::move(next);
        core::logLine(core::LogLevel::kInfo, fmt::format("🔄 Reloaded {} ({} workers)", args.path,
                                                         current->count));
      }
    }
    for (size_t i = retiring.size(); i-- > 0;) {
      if (retiring[i]->running.load() != 0) continue;
      retiring[i]->join();
      retiring.erase(retiring.begin() + static_cast<ptrdiff_t>(i));
    }
    if (draining && current->running.load() == 0 && retiring.empty()) break;
  }
  current->join();
}

int runServer(const CliOptions& cli) {
  loadDotenvOfCwd();
  lua::AppArgs args{cli.app_path, cli.extra_args};
  std::string error;
  bool script = false;
  std::unique_ptr<Generation> gen = loadGeneration(cli, args, &script, &error);
  if (!gen) return script ? 0 : fail(error);
  applyLogging(*gen);
  const lua::ServerConfig& cfg = gen->app.cfg;
  for (auto& w : gen->workers) w->vm().callHook("on_start");
  std::vector<int> fds;
  int port = 0;
  if (int rc = bindAll(cfg, gen->app.addr, gen->count, &fds, &port)) return rc;
  for (int i = 0; i < gen->count; ++i) gen->workers[i]->setListenFd(fds[i]);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  gen->start();
  core::logLine(core::LogLevel::kInfo,
                fmt::format("🚀 Rover server running at http://{}:{}", cfg.host, port));
  if (gen->app.pipeline->docsEnabled()) {
    core::logLine(core::LogLevel::kInfo,
                  fmt::format("📚 API docs available at http://{}:{}{}/docs", cfg.host, port,
                              cfg.management_prefix));
  }
  if (core::logEnabled(core::LogLevel::kDebug)) {
    core::logLine(core::LogLevel::kInfo, "🐛 Debug mode enabled");
  }
  std::unique_ptr<Watcher> watcher;
  if (cli.watch) {
    watcher = std::make_unique<Watcher>(cli.app_path);  // before the line that says so
    core::logLine(core::LogLevel::kInfo,
                  fmt::format("👀 Watching {} for changes to .lua files", args.path));
  }
  serve(cli, args, std::move(gen), fds, set, watcher.get());
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
  if (argc >= 2 && std::strcmp(argv[1], "test") == 0) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    rover::client::initHttpClients();
    try {
      return runTestCommand(argc, argv);
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
