// Helpers for testing lua::Vm through its public API: an app file written to
// a temp dir and loaded into a Vm bound to a real net::Loop, hand-built
// requests routed with the app's own routes, and a loop the test drives
// itself (updateNow / runDueTimers / epoll wait) until a condition holds.
#pragma once

#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <lua.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/request.h"
#include "http/response.h"
#include "lua/task.h"
#include "lua/vm.h"
#include "net/loop.h"
#include "router/router.h"

namespace rover::lua_test {

// Records the request tasks whose wait is over (lua::TaskOwner).
class RecordingOwner : public lua::TaskOwner {
 public:
  void taskFinished(lua::Task* t) override { finished.push_back(t); }
  std::vector<lua::Task*> finished;
};

// One request as the worker would hand it to the Vm. Lives at a stable
// address (the task keeps a pointer to `info` while it waits).
struct Exchange {
  http::RequestStorage request;
  router::Match match;
  lua::RequestInfo info;
};

using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

// The response text with the Date header's value replaced by "<date>".
inline std::string withoutDate(std::string_view out) {
  std::string s(out);
  size_t at = s.find("\r\nDate: ");
  if (at == std::string::npos) return s;
  size_t value = at + 8;
  size_t end = s.find("\r\n", value);
  if (end == std::string::npos) return s;
  return s.replace(value, end - value, "<date>");
}

class VmTest : public ::testing::Test {
 protected:
  void SetUp() override { core::setLogLevel(core::LogLevel::kNope); }

  // Writes `code` to a file named after the running test (tests may run in
  // parallel processes) and returns its path.
  std::string writeFile(const std::string& code, const std::string& name = "app.lua") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string dir = ::testing::TempDir();
    if (!dir.empty() && dir.back() != '/') dir += '/';
    // Short: Lua shortens chunk names in messages beyond 60 bytes.
    std::string test = std::string(info->test_suite_name()) + "." + info->name();
    char id[17];
    std::snprintf(id, sizeof id, "%016zx", std::hash<std::string>{}(test));
    std::string path = dir + "rl_" + id + "_" + name;
    std::ofstream(path) << code;
    return path;
  }

  // Creates the Vm (with the loop unless `with_loop` is false) and loads `code`.
  lua::LoadResult load(const std::string& code, std::string* error, bool with_loop = true,
                       std::vector<std::string> extra = {}) {
    vm_ = std::make_unique<lua::Vm>(1, 1, with_loop ? &loop_ : nullptr);
    path_ = writeFile(code);
    return vm_->load({path_, std::move(extra)}, error);
  }

  // Loads a server app, reads its config and builds its routes.
  void loadServer(const std::string& code, bool with_loop = true) {
    std::string err;
    ASSERT_EQ(load(code, &err, with_loop), lua::LoadResult::kServer) << err;
    ASSERT_TRUE(vm_->readConfig({}, &config_, &err)) << err;
    ASSERT_TRUE(vm_->buildRoutes(router_, &routes_, &err)) << err;
  }

  // A request for `target` ("/path?query"), routed; header names and values
  // and the body must outlive the exchange (string literals in tests).
  std::unique_ptr<Exchange> request(router::Method method, std::string_view target,
                                    const HeaderList& headers = {}, std::string_view body = {}) {
    auto ex = std::make_unique<Exchange>();
    http::Request& r = ex->request;
    r.method = router::methodName(method);
    r.target = target;
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string_view::npos) {
      r.query = target.substr(q + 1);
      r.has_query = true;
    }
    for (const auto& [name, value] : headers) {
      r.headers[r.header_count++] = {name, value};
    }
    r.body = body;
    r.has_body = !body.empty();
    EXPECT_TRUE(router_.match(method, r.path, &ex->match)) << "no route for " << target;
    ex->info.request = &ex->request;
    ex->info.match = &ex->match;
    ex->info.params = ex->match.params;
    ex->info.param_count = ex->match.param_count;
    ex->info.method = method;
    ex->info.client_ip = "192.0.2.7";
    ex->info.worker_id = 1;
    return ex;
  }

  // Serializes the response value `t` filled into `resp` (views valid until
  // release), then releases the task; returns the response text.
  std::string serializeAndRelease(lua::Task* t, const http::Response& resp,
                                  const http::SerializeOptions& opts = {}) {
    core::Buffer out;
    http::serialize(resp, opts, out);
    vm_->release(t);
    return std::string(out.view());
  }

  // After the owner was told a waiting task is done: fills its response,
  // serializes it and releases the task; returns the response text.
  std::string respondWaited(lua::Task* t, const http::SerializeOptions& opts = {},
                            int* status = nullptr) {
    http::Response resp;
    int st = vm_->respond(t, &resp);
    if (status) *status = st;
    return serializeAndRelease(t, resp, opts);
  }

  // Runs a request whose handler does not wait; returns the response with
  // the Date value masked.
  std::string respond(Exchange& ex, const http::SerializeOptions& opts = {},
                      int* status = nullptr) {
    if (ex.match.handler < 0) return "<no route>";
    http::Response resp;
    lua::Task* task = nullptr;
    int st = vm_->handle(ex.info, &owner_, &resp, &task);
    EXPECT_NE(task, nullptr);
    if (!task) return "<no task>";
    if (st == 0) {  // it waits: not what this helper is for
      ADD_FAILURE() << "the handler waited";
      vm_->abort(task);
      return "<waited>";
    }
    if (status) *status = st;
    return withoutDate(serializeAndRelease(task, resp, opts));
  }

  std::string get(std::string_view target, const HeaderList& headers = {}) {
    auto ex = request(router::Method::kGet, target, headers);
    return respond(*ex);
  }

  // Drives the loop until done() holds or `timeout_ms` passes; returns done().
  template <typename Done>
  bool driveUntil(Done done, uint64_t timeout_ms = 5000) {
    const uint64_t deadline = loop_.updateNow() + timeout_ms;
    epoll_event events[8];
    for (;;) {
      loop_.updateNow();
      loop_.runDueTimers();
      if (done()) return true;
      if (loop_.now() >= deadline) return false;
      uint64_t left = deadline - loop_.now();
      int cap = left < 50 ? static_cast<int>(left) : 50;
      loop_.reactor().wait(events, 8, loop_.waitTimeoutMs(UINT64_MAX, cap));
    }
  }
  void driveFor(uint64_t ms) {
    driveUntil([] { return false; }, ms);
  }

  // Runs a chunk in the Vm's main state; returns tostring() of its first
  // result, or "error: <message>" when it raises.
  std::string eval(const std::string& code) {
    lua_State* L = vm_->state();
    int top = lua_gettop(L);
    std::string out;
    if (luaL_loadbuffer(L, code.data(), code.size(), "=test") != 0 || lua_pcall(L, 0, 1, 0) != 0) {
      out = "error: " + toString(L, -1);
    } else {
      out = toString(L, -1);
    }
    lua_settop(L, top);
    return out;
  }

  // Pushes a function compiled from `code` and spawns it as a background task.
  lua::Task* spawnCode(const std::string& code, const char* label = "test task") {
    lua_State* L = vm_->state();
    EXPECT_EQ(luaL_loadbuffer(L, code.data(), code.size(), "=spawned"), 0);
    return vm_->spawn(label);
  }

  static std::string toString(lua_State* L, int idx) {
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, idx);
    std::string out = "<tostring failed>";
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_isstring(L, -1)) out = lua_tostring(L, -1);
    lua_pop(L, 1);
    return out;
  }

  // Destroyed in reverse order: the Vm (which cancels its waits) before the loop.
  net::Loop loop_;
  router::Router router_;
  std::vector<lua::RouteInfo> routes_;
  lua::ServerConfig config_;
  RecordingOwner owner_;
  std::string path_;
  std::unique_ptr<lua::Vm> vm_;
};

}  // namespace rover::lua_test
