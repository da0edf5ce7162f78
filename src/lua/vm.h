// One LuaJIT state per worker (ARCHITECTURE.md §1, §3): the `rover` module,
// the app file, its configuration and routes, and the single call path that
// turns a routed request into response bytes. Owned and used by one thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "http/request.h"
#include "http/response.h"
#include "router/router.h"

struct lua_State;

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
  std::string host = "localhost";
  int port = 4242;
  std::string log_level = "debug";
  int workers = 0;  // 0: not set (use CPUs available)
  bool expose_errors = true;
  int64_t body_size_limit = 1024 * 1024;
  double drain_timeout_secs = 30;
  // Transport timeouts in seconds (lua-api.md §11.2).
  double head_timeout = 10, idle_timeout = 30, body_timeout = 10, output_timeout = 30, linger = 2;
  std::vector<std::string> unknown_keys;
};

struct RouteInfo {
  router::Method method;
  std::string pattern;
};

enum class LoadResult { kServer, kScript, kFailed };

// What the worker knows about a request beyond its bytes.
struct RequestInfo {
  const http::Request* request = nullptr;
  const router::Match* match = nullptr;
  router::Method method = router::Method::kGet;  // the request's method (HEAD stays HEAD)
  const char* client_ip = nullptr;               // NUL-terminated text
  int worker_id = 1;
  char request_id[260];  // cached by requestId()
  size_t request_id_len = 0;
};

struct ResponseOptions {
  bool head_request = false;
  http::ConnectionHeader connection = http::ConnectionHeader::kNone;
  // Set by another thread when a drain starts; checked once the handler has
  // run, so a request in flight at that moment answers `Connection: close`.
  const std::atomic<bool>* stopping = nullptr;
};

// Runs a snippet of Lua (startup only); returns false on error.
bool runString(lua_State* L, const std::string& code);

class Vm {
 public:
  Vm(int worker_id, int worker_count);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // Runs the app chunk. On kFailed, *error is the full startup message.
  LoadResult load(const AppArgs& args, std::string* error);
  // Validates the config of the returned server (worker 1). *error: message only.
  bool readConfig(const ConfigOverrides& overrides, ServerConfig* out, std::string* error);
  // Walks the route tree into `router`; handler ids index this VM's handlers.
  bool buildRoutes(router::Router& router, std::vector<RouteInfo>* routes, std::string* error);
  void setExposeErrors(bool expose) { expose_errors_ = expose; }
  // Calls api.<name>() if the app defines it (on_start, on_ready,
  // on_shutdown); errors are logged at ERROR and otherwise ignored.
  void callHook(const char* name);

  // Calls the handler of a matched request and appends the whole response to
  // `out`. Returns the status sent.
  int handle(RequestInfo& info, const ResponseOptions& opts, core::Buffer& out);

  lua_State* state() { return L_; }

 private:
  int handlerRef(int id) const { return handler_refs_[id]; }
  void writeResult(int index, RequestInfo& info, const ResponseOptions& opts, core::Buffer& out,
                   int* status);
  // A response object's slots, unpacked by dispatch at first .. first + 4.
  void writeResponseObject(int first, RequestInfo& info, const ResponseOptions& opts,
                           core::Buffer& out, int* status);
  void writeErrorValue(int err_index, RequestInfo& info, const ResponseOptions& opts,
                       core::Buffer& out, int* status);
  void writeJsonError(int status, std::string_view message, const ResponseOptions& opts,
                      core::Buffer& out);
  void write500(std::string_view message, RequestInfo& info, const ResponseOptions& opts,
                core::Buffer& out);

  lua_State* L_;
  int worker_id_;
  int root_ref_ = -2;
  int module_ref_ = -2;  // server.lua's M
  int ctx_cur_ref_ = -2;   // the prelude's CUR table (lua/ctx.h)
  int dispatch_ref_ = -2;  // the prelude's dispatch (lua/ctx.h)
  int renderer_mt_ref_ = -2;
  int error_response_ref_ = -2;
  int msgh_ref_ = -2;
  bool expose_errors_ = true;
  std::vector<int> handler_refs_;
  core::Buffer scratch_;
};

}  // namespace rover::lua
