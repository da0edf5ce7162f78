// Tests for src/lua/vm.cpp: loading an app, its config and routes, the
// request call path and the app's hooks (tasks: tasks_test.cpp).
#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

// --- load ------------------------------------------------------------------

TEST_F(VmTest, LoadServer) {
  std::string err;
  EXPECT_EQ(load("local api = rover.server {}\nreturn api\n", &err), lua::LoadResult::kServer)
      << err;
}

TEST_F(VmTest, LoadScript) {
  std::string err;
  EXPECT_EQ(load("ran = true\n", &err), lua::LoadResult::kScript) << err;
  EXPECT_EQ(eval("return ran"), "true");
  EXPECT_EQ(load("return 42\n", &err), lua::LoadResult::kScript) << err;
  EXPECT_EQ(load("return {}\n", &err), lua::LoadResult::kScript) << err;
}

TEST_F(VmTest, LoadRuntimeErrorNamesFileAndLine) {
  std::string err;
  EXPECT_EQ(load("local x = 1\n\nerror('boom')\n", &err), lua::LoadResult::kFailed);
  EXPECT_NE(err.find("Error loading " + path_), std::string::npos) << err;
  EXPECT_NE(err.find(path_ + ":3: boom"), std::string::npos) << err;
  EXPECT_EQ(err.find("stack traceback"), std::string::npos) << err;
}

TEST_F(VmTest, LoadSyntaxErrorNamesFileAndLine) {
  std::string err;
  EXPECT_EQ(load("local a = 1\nlocal b = = 2\n", &err), lua::LoadResult::kFailed);
  EXPECT_NE(err.find(path_ + ":2:"), std::string::npos) << err;
}

TEST_F(VmTest, LoadMissingFile) {
  vm_ = std::make_unique<lua::Vm>(1, 1, &loop_);
  std::string err;
  std::string missing = ::testing::TempDir() + "/rover_lua_no_such_app.lua";
  EXPECT_EQ(vm_->load({missing, {}}, &err), lua::LoadResult::kFailed);
  EXPECT_NE(err.find("cannot read app file '" + missing + "'"), std::string::npos) << err;
}

TEST_F(VmTest, LoadSetsArgWorkerAndPackagePath) {
  // A module next to the app file is found by require.
  std::string helper = writeFile("return { answer = 42 }\n", "helper_mod.lua");
  std::string mod = helper.substr(helper.rfind('/') + 1);
  mod = mod.substr(0, mod.size() - 4);
  vm_ = std::make_unique<lua::Vm>(2, 4, &loop_);
  path_ = writeFile("answer = require('" + mod + "').answer\nfirst = arg[1]\nzero = arg[0]\n");
  std::string err;
  ASSERT_EQ(vm_->load({path_, {"one", "two"}}, &err), lua::LoadResult::kScript) << err;
  EXPECT_EQ(eval("return answer"), "42");
  EXPECT_EQ(eval("return first"), "one");
  EXPECT_EQ(eval("return zero"), path_);
  EXPECT_EQ(eval("return rover.worker.id .. '/' .. rover.worker.count"), "2/4");
}

// --- readConfig ----------------------------------------------------------------

TEST_F(VmTest, ReadConfigDefaults) {
  std::string err;
  ASSERT_EQ(load("return rover.server()\n", &err), lua::LoadResult::kServer) << err;
  lua::ServerConfig c;
  ASSERT_TRUE(vm_->readConfig({}, &c, &err)) << err;
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 4242);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.workers, 0);
  EXPECT_TRUE(c.expose_errors);
  EXPECT_EQ(c.body_size_limit, 1024 * 1024);
  EXPECT_EQ(c.drain_timeout_secs, 30);
  EXPECT_EQ(c.head_timeout, 10);
  EXPECT_EQ(c.idle_timeout, 30);
  EXPECT_EQ(c.body_timeout, 10);
  EXPECT_EQ(c.output_timeout, 30);
  EXPECT_EQ(c.linger, 2);
  EXPECT_EQ(c.handler_timeout, 30);
  EXPECT_TRUE(c.unknown_keys.empty());
}

TEST_F(VmTest, ReadConfigGivenValues) {
  std::string err;
  ASSERT_EQ(load(R"lua(
return rover.server {
  host = "0.0.0.0", port = 8080, log_level = "WARN", workers = 3, expose_errors = false,
  body_size_limit = 4096, drain_timeout_secs = 5,
  timeouts = { handler = 2.5, head = 3, linger = 0.5 },
  mystery = 1,
}
)lua",
                 &err),
            lua::LoadResult::kServer)
      << err;
  lua::ServerConfig c;
  ASSERT_TRUE(vm_->readConfig({}, &c, &err)) << err;
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.workers, 3);
  EXPECT_FALSE(c.expose_errors);
  EXPECT_EQ(c.body_size_limit, 4096);
  EXPECT_EQ(c.drain_timeout_secs, 5);
  EXPECT_EQ(c.handler_timeout, 2.5);
  EXPECT_EQ(c.head_timeout, 3);
  EXPECT_EQ(c.linger, 0.5);
  EXPECT_EQ(c.idle_timeout, 30);  // not given: default
  ASSERT_EQ(c.unknown_keys.size(), 1u);
  EXPECT_EQ(c.unknown_keys[0], "mystery");
}

TEST_F(VmTest, ReadConfigOverridesReplaceKeys) {
  std::string err;
  ASSERT_EQ(load("return rover.server { host = 'a', port = 1, workers = 2 }\n", &err),
            lua::LoadResult::kServer)
      << err;
  std::string host = "b";
  int64_t port = 9090, workers = 7;
  lua::ServerConfig c;
  ASSERT_TRUE(vm_->readConfig({&host, &port, &workers}, &c, &err)) << err;
  EXPECT_EQ(c.host, "b");
  EXPECT_EQ(c.port, 9090);
  EXPECT_EQ(c.workers, 7);
}

TEST_F(VmTest, ReadConfigRejectsBadValues) {
  std::string err;
  ASSERT_EQ(load("return rover.server { timeouts = { handler = 0 } }\n", &err),
            lua::LoadResult::kServer);
  lua::ServerConfig c;
  EXPECT_FALSE(vm_->readConfig({}, &c, &err));
  EXPECT_EQ(err, "timeouts.handler must be a number > 0");
  ASSERT_EQ(load("return rover.server { timeouts = { nap = 1 } }\n", &err),
            lua::LoadResult::kServer);
  EXPECT_FALSE(vm_->readConfig({}, &c, &err));
  EXPECT_EQ(err, "Unknown timeouts key 'nap'");
  ASSERT_EQ(load("return rover.server { port = 'x' }\n", &err), lua::LoadResult::kServer);
  EXPECT_FALSE(vm_->readConfig({}, &c, &err));
  EXPECT_EQ(err, "port should be a number");
}

// --- buildRoutes ---------------------------------------------------------------

TEST_F(VmTest, BuildRoutesGivesHandlerIdsInRouteOrder) {
  loadServer(R"lua(
local api = rover.server {}
function api.get() return "root" end
function api.users.p_id.get(ctx) return "user" end
function api.b.post() return "b" end
function api.a.get() return "a" end
return api
)lua");
  // Keys are walked in sorted order: a, b, get, users.
  ASSERT_EQ(routes_.size(), 4u);
  EXPECT_EQ(routes_[0].method, router::Method::kGet);
  EXPECT_EQ(routes_[0].pattern, "/a");
  EXPECT_EQ(routes_[1].method, router::Method::kPost);
  EXPECT_EQ(routes_[1].pattern, "/b");
  EXPECT_EQ(routes_[2].pattern, "/");
  EXPECT_EQ(routes_[3].pattern, "/users/{id}");
  EXPECT_EQ(router_.size(), 4u);
  router::Match m;
  ASSERT_TRUE(router_.match(router::Method::kGet, "/a", &m));
  EXPECT_EQ(m.handler, 0);
  ASSERT_TRUE(router_.match(router::Method::kPost, "/b", &m));
  EXPECT_EQ(m.handler, 1);
  ASSERT_TRUE(router_.match(router::Method::kGet, "/", &m));
  EXPECT_EQ(m.handler, 2);
  ASSERT_TRUE(router_.match(router::Method::kGet, "/users/9", &m));
  EXPECT_EQ(m.handler, 3);
  // Each id runs its own handler.
  EXPECT_NE(get("/").find("\r\n\r\nroot"), std::string::npos);
  EXPECT_NE(get("/a").find("\r\n\r\na"), std::string::npos);
  EXPECT_NE(get("/users/9").find("\r\n\r\nuser"), std::string::npos);
}

TEST_F(VmTest, BuildRoutesReportsABadTree) {
  std::string err;
  ASSERT_EQ(load("local api = rover.server {}\napi.fetch = function() end\nreturn api\n", &err),
            lua::LoadResult::kServer);
  EXPECT_FALSE(vm_->buildRoutes(router_, nullptr, &err));
  EXPECT_NE(err.find("Unknown HTTP method 'fetch' at path '/'"), std::string::npos) << err;
}

// --- the request call path ---------------------------------------------------------

TEST_F(VmTest, RequestsReuseTheirCoroutineAndAFailedOneIsReplaced) {
  loadServer(R"lua(
local api = rover.server {}
function api.ok.get() cos[#cos + 1] = coroutine.running(); return "ok" end
function api.fail.get() cos[#cos + 1] = coroutine.running(); error("bad") end
cos = {}
return api
)lua");
  get("/ok");
  get("/ok");
  EXPECT_EQ(eval("return rawequal(cos[1], cos[2])"), "true");  // one coroutine, reused
  EXPECT_EQ(get("/fail").rfind("HTTP/1.1 500 ", 0), 0u);
  EXPECT_EQ(eval("return coroutine.status(cos[3])"), "dead");
  std::string out = get("/ok");
  EXPECT_NE(out.find("\r\n\r\nok"), std::string::npos) << out;
  EXPECT_EQ(eval("return rawequal(cos[3], cos[4])"), "false");  // replaced
  get("/ok");
  EXPECT_EQ(eval("return rawequal(cos[4], cos[5])"), "true");  // and the new one reused
  for (int i = 0; i < 100; ++i) get(i % 2 ? "/ok" : "/fail");
  EXPECT_NE(get("/ok").find("\r\n\r\nok"), std::string::npos);
  uint32_t tasks = 0;
  while (vm_->taskAt(tasks)) ++tasks;
  EXPECT_LE(tasks, 3u);  // failed tasks go back to the pool
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
}

TEST_F(VmTest, WaitingCallsRaiseWithoutALoop) {
  loadServer(R"lua(
local api = rover.server {}
function api.wait.get() rover.delay(1) return "late" end
return api
)lua",
             /*with_loop=*/false);
  std::string out = get("/wait");
  EXPECT_EQ(out.rfind("HTTP/1.1 500 ", 0), 0u) << out;
  EXPECT_NE(out.find("rover.delay must be called inside a handler or task"), std::string::npos)
      << out;
}

// --- hooks ----------------------------------------------------------------------

TEST_F(VmTest, CallHookRunsTheHookAsATask) {
  loadServer(R"lua(
local api = rover.server {}
function api.get() return "ok" end
function api.on_start() started = rover.worker.id end
function api.on_ready() rover.delay(5) ready = true end
function api.on_shutdown() error("hook failure") end
return api
)lua");
  vm_->callHook("on_start");
  EXPECT_EQ(eval("return started"), "1");
  vm_->callHook("on_ready");
  EXPECT_EQ(eval("return ready"), "nil");
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("return ready"), "true");
  vm_->callHook("on_shutdown");  // logged, otherwise ignored
  vm_->callHook("on_missing");
  EXPECT_NE(get("/").find("\r\n\r\nok"), std::string::npos);
}

TEST_F(VmTest, CallHookOnAScriptDoesNothing) {
  std::string err;
  ASSERT_EQ(load("x = 1\n", &err), lua::LoadResult::kScript);
  vm_->callHook("on_start");
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
}

// A Vm destroyed while tasks wait leaves no timer armed in the loop.
TEST_F(VmTest, DestroyingTheVmDisarmsItsWaits) {
  std::string err;
  ASSERT_EQ(load("rover.spawn(function() rover.delay(1000) end)\n", &err),
            lua::LoadResult::kScript);
  EXPECT_EQ(loop_.armedTimers(), 1u);
  vm_.reset();
  EXPECT_EQ(loop_.armedTimers(), 0u);
}

}  // namespace
}  // namespace rover::lua_test
