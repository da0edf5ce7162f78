// One LuaJIT state per worker (ARCHITECTURE.md §1, §3): the `rover` module,
// the app file, its configuration and routes, the pool of task coroutines
// every handler and background task runs in (lua/task.h), and the single call
// path that turns a routed request into response bytes. Owned and used by one
// thread.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/limits.h"
#include "http/request.h"
#include "http/response.h"
#include "lua/task.h"
#include "router/router.h"

struct lua_State;

namespace rover::client {
class HttpClient;
}

namespace rover::lua {

struct AppArgs {
  std::string path;                // app path as given on the command line
  std::vector<std::string> extra;  // arguments after `--`
};

// CLI values that replace config keys before validation (lua-api.md §2).
struct ConfigOverrides {
  const std::string* host = nullptr;
  const int64_t* port = nullptr;
  const int64_t* workers = nullptr;
};

struct ServerConfig {
  std::string host{core::kDefaultHost};
  int port = core::kDefaultPort;
  std::string log_level{core::kDefaultLogLevel};
  int workers = 0;  // 0: not set (use CPUs available)
  bool expose_errors = true;
  int64_t body_size_limit = core::kDefaultBodySizeLimit;
  double drain_timeout_secs = core::kDefaultDrainTimeoutMs / 1000.0;
  // Transport timeouts in seconds (lua-api.md §11.2).
  double head_timeout = core::kHeadTimeoutMs / 1000.0;
  double idle_timeout = core::kIdleTimeoutMs / 1000.0;
  double body_timeout = core::kBodyTimeoutMs / 1000.0;
  double output_timeout = core::kOutputStallTimeoutMs / 1000.0;
  double linger = core::kLingerMs / 1000.0;
  double handler_timeout = core::kHandlerTimeoutMs / 1000.0;  // runtime-modules.md §6
  double ws_ping = core::kWsPingMs / 1000.0;  // runtime-modules.md §7
  double ws_idle = core::kWsIdleMs / 1000.0;
  std::vector<std::string> unknown_keys;
  std::vector<std::string> strict_errors;  // server-features.md §14: refuse to start
  // The request pipeline (server-features.md §0.2).
  bool security_headers = true;
  bool allow_insecure_security_header_overrides = false;
  bool https_redirect = false;
  bool cors = false;
  std::vector<std::string> cors_origins;  // "*" alone: any origin
  std::string cors_methods, cors_headers;
  bool cors_credentials = false;
  // trusted_proxies entries as text ("10.0.0.0/8", "a-b") and as written (errors)
  std::vector<std::pair<std::string, std::string>> trusted_proxies;
  std::vector<std::string> readiness_down;  // dependencies declared down, sorted
  bool docs = false;
  bool metrics = false;
  std::string management_prefix = "/_rover";
  std::string management_token;  // empty: none
  bool allow_unauthenticated_management = false;
  struct RateRule {
    double requests_per_window = 0;
    double window_secs = 0;
    std::string key_header;    // global only; empty: the client address
    std::string path_pattern;  // scoped only
  };
  bool compress = false;  // server-features.md §9
  std::vector<std::string> compress_algorithms;
  int64_t compress_min_size = 1024;
  std::vector<std::string> compress_types;  // lower case; empty: the default set
  bool rate_limit = false;
  RateRule rate_global;
  std::vector<RateRule> rate_scoped;
};

struct RouteInfo {
  router::Method method;
  std::string pattern;
  bool websocket = false;  // a WebSocket endpoint (its handshake's GET)
};

struct StaticMountInfo {  // server-features.md §10
  std::string prefix;      // the node's route ("/" for the root)
  std::string dir;
  std::string cache;       // Cache-Control for every file; empty: by extension
};

// `rover check`: where a route's handler and hooks are defined ("file:line").
struct RouteDetail {
  struct Hook {
    std::string name;  // the hook's key ("auth"), or "before" / "after" for an unnamed one
    std::string where;
  };
  std::string method, pattern, where;
  std::vector<Hook> before, after;  // in the order they run (after: as listed, run in reverse)
};

enum class LoadResult { kServer, kScript, kFailed };

// What the worker knows about a request beyond its bytes.
struct RequestInfo {
  const http::Request* request = nullptr;
  const router::Match* match = nullptr;   // while the handler starts
  const router::Param* params = nullptr;  // the route's captures (views like request's)
  size_t param_count = 0;
  router::Method method = router::Method::kGet;  // the request's method (HEAD stays HEAD)
  const char* client_ip = nullptr;               // NUL-terminated text
  bool https = false;                            // ctx.proto (server-features.md §3)
  bool trusted_peer = false;                     // forwarding headers kept in ctx:headers()
  int worker_id = 1;
  uint64_t ws_conn = 0;  // a WebSocket handshake's connection (runtime-modules.md §7)
  char request_id[260];  // cached by requestId()
  size_t request_id_len = 0;
};

// Runs a snippet of Lua (startup only); returns false on error.
bool runString(lua_State* L, const std::string& code);

class Vm;
class WsHost;
// The Vm a native was registered with as its first upvalue (lua/*.cpp).
Vm* upvalueVm(lua_State* L);

class Vm {
 public:
  // `loop`: the worker's event loop that waits (rover.delay, ...) register
  // with; nullptr for a VM that only runs handlers that never wait (tests,
  // fuzzers), where waiting calls raise.
  Vm(int worker_id, int worker_count, net::Loop* loop = nullptr);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // Runs the app chunk. On kFailed, *error is the full startup message.
  LoadResult load(const AppArgs& args, std::string* error);
  // Validates the config of the returned server (worker 1). *error: message only.
  bool readConfig(const ConfigOverrides& overrides, ServerConfig* out, std::string* error);
  // Walks the route tree into `router`; handler ids index this VM's handlers.
  // WebSocket endpoints (runtime-modules.md §7) go into `ws_router` (GET), if given.
  bool buildRoutes(router::Router& router, std::vector<RouteInfo>* routes, std::string* error,
                   router::Router* ws_router = nullptr);
  // The static mounts of the route tree buildRoutes walked.
  std::vector<StaticMountInfo> staticMounts();
  // The OpenAPI document and docs page of the routes buildRoutes walked
  // (server-features.md §13). Startup only.
  bool buildDocs(std::string* json, std::string* html, std::string* error);
  void setExposeErrors(bool expose) { expose_errors_ = expose; }
  // `rover check` (lua/check.cpp, prelude/check.lua). Before load(): the
  // app's rover.db.run_migrations calls report instead of applying.
  void enterCheckMode();
  // After buildRoutes: the routes with their handlers' and hooks' sources.
  std::vector<RouteDetail> routeDetails();
  // Lines on the app's pending migrations; `files` are db/migrations/*.lua
  // of the working directory as (name, path). false: *error (a broken file).
  bool migrationReport(const std::vector<std::pair<std::string, std::string>>& files,
                       std::vector<std::string>* lines, std::string* error);
  // Runs api.<name>() as a task if the app defines it (on_start, on_ready,
  // on_shutdown); errors are logged at ERROR and otherwise ignored. A hook
  // that waits goes on as a background task.
  void callHook(const char* name);

  // The request path (ARCHITECTURE.md §2.6-2.8): a pooled task runs the
  // handler of a matched request in its coroutine. kDone: respond() turns
  // its result into a response value, then release(). kSuspended: the task
  // waits; the loop resumes it and, when it is done, tells info's owner.
  Task* acquireTask(TaskKind kind);
  RunStatus startRequest(Task* t, RequestInfo& info, TaskOwner* owner);
  // startRequest + respond for the next request: returns the status of the
  // response value filled in `out`, or 0 when the handler waits (*waiting is
  // its task). Either way release(*task) follows once `out` is serialized.
  int handle(RequestInfo& info, TaskOwner* owner, http::Response* out, Task** task);
  // After kDone: fills `out` (views valid until release); returns its status.
  int respond(Task* t, http::Response* out);
  // A request task that left nothing behind is kept aside for the next
  // request (no pool push/pop on the request path).
  void release(Task* t) {
    if (t->kind == TaskKind::kRequest && !t->co_dead && t->store_ref == -2 /* LUA_NOREF */ &&
        t->producer_ref == -2 && !hot_) {
      clearStack(t);
      endGeneration(t);
      hot_ = t;
      return;
    }
    releaseSlow(t);
  }
  // Streams (server-features.md §11). After respond() filled a producer
  // response: keeps the producer and ends the handler's run (its ctx is
  // dead from here on); the task stays with its owner until release().
  void startStream(Task* t);
  // Calls the producer once in the task's coroutine (it may wait: kSuspended,
  // then the owner is told when it returned).
  RunStatus pull(Task* t);
  // What the producer returned: 1 with *chunk (views valid until the next
  // pull; "" = nothing to send), 0 at the end (nil), -1 when it failed or
  // returned something else (logged at ERROR).
  int streamChunk(Task* t, std::string_view* chunk);
  // Cancels what the task waits on and drops its coroutine, never to be
  // resumed; releases the task.
  void abort(Task* t);
  // Resumes a suspended task whose wait is over (called from the loop). With
  // nargs > 0 the waker pushed that many values on the task's coroutine
  // (after clearing it): the waiting call returns them.
  void resume(Task* t, int nargs = 0);

  // Runs the function on top of L_'s stack (popped) as a background task;
  // `label` names it in error logs ("<label> failed: <message>").
  Task* spawn(const char* label);
  // handle:cancel() of spawn/interval (no-op once the task has ended).
  void cancel(Task* t, uint32_t generation);

  // WebSocket handlers (runtime-modules.md §7, prelude/ws.lua). The worker
  // that owns the connections; the connection of the running handler (0: none).
  void setWsHost(WsHost* host) { ws_host_ = host; }
  WsHost* wsHost() { return ws_host_; }
  uint64_t currentWsConn() const { return current_ ? current_->ws_conn : 0; }
  // Runs a connection's handler in `t` (kind kWebSocket): kind 1 a text
  // message, 2 a binary one, 3 the end of the connection (ws.leave), 4 a
  // handshake that never upgraded (its join's state is dropped). On
  // kSuspended, `owner` is told when it finished (nullptr: it ends as a
  // background task). After kDone or taskFinished: finishWs().
  RunStatus startWs(Task* t, TaskOwner* owner, uint64_t conn, int kind, std::string_view data);
  // Logs a failed run and releases the task.
  void finishWs(Task* t) { finishBackground(t); }

  net::Loop* loop() { return loop_; }
  // This worker's outbound HTTP clients (rover.http), made on first use;
  // only with a loop. Calls with allow_private get their own client, so a
  // kept-alive connection to a private address is never reused by a call
  // that did not opt out.
  client::HttpClient* httpClient(bool allow_private);
  Task* taskAt(uint32_t slot) { return slot < tasks_.size() ? tasks_[slot].get() : nullptr; }
  // The task whose coroutine is running, or nullptr (load time, hooks).
  Task* currentTask() { return current_; }
  // The task a waiting call made on coroutine L may suspend: L is the
  // running task's own coroutine and a loop will resume it. nullptr at load
  // time, on an app's own coroutine, or without a loop.
  Task* suspendableTask(lua_State* L) {
    return current_ && current_->co == L && loop_ ? current_ : nullptr;
  }
  size_t suspendedTasks() const { return suspended_count_; }

  lua_State* state() { return L_; }

 private:
  int handlerRef(int id) const { return handler_refs_[id]; }
  bool buildWsRoutes(int list, router::Router& ws_router, std::vector<RouteInfo>* routes,
                     std::string* error);
  void ensureCoroutine(Task* t);
  void releaseSlow(Task* t);
  static void clearStack(Task* t);
  // The run is over: ctx handles of it are dead from here on.
  static void endGeneration(Task* t) {
    ++t->generation;
    t->failed = false;
    t->info = nullptr;
    t->owner = nullptr;
    t->ws_conn = 0;
    t->in_use = false;
  }
  void endRun(Task* t);
  RunStatus run(Task* t, int nargs);
  RunStatus afterYield(Task* t, int rc);
  void finishBackground(Task* t);
  void dropCoroutine(Task* t);
  void setCurrentCtx(lua_State* L, Task* t);
  void clearCurrentCtx(lua_State* L);
  std::string errorMessage(lua_State* from, int idx);

  void fillResult(lua_State* L, int index, RequestInfo& info, http::Response& out);
  // A response object's slots, unpacked by dispatch at first .. first + 4.
  void fillResponseObject(lua_State* L, int first, RequestInfo& info, http::Response& out);
  void fillErrorValue(lua_State* L, int err_index, RequestInfo& info, http::Response& out);
  void fillJsonError(int status, std::string_view message, http::Response& out);
  void fill500(std::string_view message, RequestInfo& info, http::Response& out);

  lua_State* L_;
  int worker_id_;
  net::Loop* loop_;
  int root_ref_ = -2;
  int routes_ref_ = -2;
  int set_app_dir_ref_ = -2;  // prelude/env.lua's set_app_dir  // collect_routes' list (buildDocs)
  int module_ref_ = -2;    // server.lua's M
  int ctx_cur_ref_ = -2;   // the prelude's CUR table (lua/ctx.h)
  int dispatch_ref_ = -2;  // the prelude's dispatch (lua/ctx.h)
  int renderer_mt_ref_ = -2;
  int error_response_ref_ = -2;
  int msgh_ref_ = -2;
  int natives_ref_ = -2;      // the natives table (modules loaded after startup)
  int ws_dispatch_ref_ = -2;  // prelude/ws.lua's W.dispatch (apps with endpoints)
  WsHost* ws_host_ = nullptr;
  int check_ref_ = -2;  // prelude/check.lua's C (rover check only)
  bool expose_errors_ = true;
  std::vector<int> handler_refs_;
  core::Buffer scratch_;
  std::deque<std::string> hook_labels_;  // stable storage for Task::label
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<Task*> free_tasks_;
  Task* current_ = nullptr;
  Task* hot_ = nullptr;  // a free request task kept out of the pool for the next request
  size_t suspended_count_ = 0;
  // After the tasks: their waits are cancelled first.
  std::unique_ptr<client::HttpClient> http_[2];  // [allow_private]
};

}  // namespace rover::lua
