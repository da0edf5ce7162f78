// Tests for src/lua/tasks.cpp: request and background tasks that wait on the
// worker's loop (rover.delay, rover.spawn, rover.interval), the one resume
// path, abort and cancel.
#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

class TasksTest : public VmTest {};

// --- rover.delay ------------------------------------------------------------------

constexpr const char* kDelayApp = R"lua(
local api = rover.server {}
function api.slow.get(ctx)
  rover.delay(20)
  after_delay = true
  return { waited = true }
end
function api.slow_fail.get() rover.delay(5) error("late failure") end
function api.fast.get() return "fast" end
function api.twice.get()
  rover.delay(1)
  rover.delay(1)
  return "twice"
end
function api.negative.get() rover.delay(-1) end
function api.nan.get() rover.delay(0/0) end
function api.string.get() rover.delay("10") end
function api.zero.get() rover.delay(0) return "zero" end
return api
)lua";

class DelayTest : public VmTest {
 protected:
  void SetUp() override {
    VmTest::SetUp();
    loadServer(kDelayApp);
  }

  // Starts a request that waits; returns its task.
  lua::Task* start(Exchange& ex) {
    http::Response resp;
    lua::Task* waiting = nullptr;
    EXPECT_EQ(vm_->handle(ex.info, &owner_, &resp, &waiting), 0);
    EXPECT_TRUE(resp.headers.empty() && resp.body.empty());  // nothing filled yet
    EXPECT_NE(waiting, nullptr);
    return waiting;
  }

  // Waits for the task to finish, then serializes its response and releases it.
  std::string finish(lua::Task* t) {
    EXPECT_TRUE(driveUntil([&] {
      return std::find(owner_.finished.begin(), owner_.finished.end(), t) != owner_.finished.end();
    }));
    // Tasks are pooled: the same Task may finish again for a later request.
    owner_.finished.erase(std::find(owner_.finished.begin(), owner_.finished.end(), t));
    return withoutDate(respondWaited(t));
  }
};

TEST_F(DelayTest, HandlerSuspendsAndRespondsAfterTheLoopFires) {
  auto ex = request(router::Method::kGet, "/slow");
  uint64_t started = core::monotonicNs();
  lua::Task* t = start(*ex);
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_EQ(loop_.armedTimers(), 1u);
  EXPECT_TRUE(owner_.finished.empty());
  EXPECT_EQ(eval("return after_delay"), "nil");
  EXPECT_EQ(finish(t),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 15\r\n\r\n{\"waited\":true}");
  EXPECT_GE(core::monotonicNs() - started, 20'000'000u);  // never shorter than asked
  EXPECT_TRUE(owner_.finished.empty());                   // taskFinished was called once, for t
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_EQ(loop_.armedTimers(), 0u);
  EXPECT_NE(get("/fast").find("\r\n\r\nfast"), std::string::npos);
}

TEST_F(DelayTest, AcquireStartRespondRelease) {
  auto fast = request(router::Method::kGet, "/fast");
  lua::Task* t = vm_->acquireTask(lua::TaskKind::kRequest);
  ASSERT_EQ(vm_->startRequest(t, fast->info, &owner_), lua::RunStatus::kDone);
  int status = 0;
  std::string out = respondWaited(t, {}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(withoutDate(out),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 4\r\n\r\nfast");
  auto slow = request(router::Method::kGet, "/slow");
  t = vm_->acquireTask(lua::TaskKind::kRequest);
  ASSERT_EQ(vm_->startRequest(t, slow->info, &owner_), lua::RunStatus::kSuspended);
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_NE(finish(t).find("{\"waited\":true}"), std::string::npos);
}

TEST_F(DelayTest, DestroyingTheVmWhileARequestWaitsDisarmsItsTimer) {
  auto ex = request(router::Method::kGet, "/slow");
  start(*ex);
  EXPECT_EQ(loop_.armedTimers(), 1u);
  vm_.reset();
  EXPECT_EQ(loop_.armedTimers(), 0u);
  driveFor(40);
  EXPECT_TRUE(owner_.finished.empty());
}

TEST_F(DelayTest, OtherRequestsRunWhileOneWaits) {
  auto slow = request(router::Method::kGet, "/slow");
  lua::Task* t = start(*slow);
  for (int i = 0; i < 5; ++i) EXPECT_NE(get("/fast").find("\r\n\r\nfast"), std::string::npos);
  EXPECT_NE(finish(t).find("{\"waited\":true}"), std::string::npos);
}

TEST_F(DelayTest, SeveralWaitsInOneHandler) {
  auto ex = request(router::Method::kGet, "/twice");
  lua::Task* t = start(*ex);
  EXPECT_NE(finish(t).find("\r\n\r\ntwice"), std::string::npos);
  auto zero = request(router::Method::kGet, "/zero");
  t = start(*zero);
  std::string out = finish(t);
  EXPECT_NE(out.find("\r\n\r\nzero"), std::string::npos) << out;
}

TEST_F(DelayTest, ErrorAfterAWaitIs500) {
  auto ex = request(router::Method::kGet, "/slow_fail");
  lua::Task* t = start(*ex);
  std::string out = finish(t);
  EXPECT_EQ(out.rfind("HTTP/1.1 500 ", 0), 0u) << out;
  EXPECT_NE(out.find("late failure"), std::string::npos) << out;
  EXPECT_NE(get("/fast").find("\r\n\r\nfast"), std::string::npos);
}

TEST_F(DelayTest, AbortCancelsTheTimerAndNeverResumes) {
  auto ex = request(router::Method::kGet, "/slow");
  lua::Task* t = start(*ex);
  ASSERT_EQ(loop_.armedTimers(), 1u);
  vm_->abort(t);
  EXPECT_EQ(loop_.armedTimers(), 0u);
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  driveFor(60);
  EXPECT_EQ(eval("return after_delay"), "nil");
  EXPECT_TRUE(owner_.finished.empty());
  // The aborted task's slot serves the next requests.
  EXPECT_NE(get("/fast").find("\r\n\r\nfast"), std::string::npos);
  auto again = request(router::Method::kGet, "/slow");
  EXPECT_NE(finish(start(*again)).find("{\"waited\":true}"), std::string::npos);
}

TEST_F(DelayTest, BadArgumentsRaise) {
  for (const char* target : {"/negative", "/nan", "/string"}) {
    std::string out = get(target);
    EXPECT_EQ(out.rfind("HTTP/1.1 500 ", 0), 0u) << target << ": " << out;
    EXPECT_NE(out.find("rover.delay: ms must be a number >= 0"), std::string::npos)
        << target << ": " << out;
  }
  EXPECT_EQ(loop_.armedTimers(), 0u);
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
}

TEST_F(TasksTest, DelayAtLoadTimeRaises) {
  std::string err;
  EXPECT_EQ(load("local api = rover.server {}\nrover.delay(10)\nreturn api\n", &err),
            lua::LoadResult::kFailed);
  EXPECT_NE(err.find(path_ + ":2: rover.delay must be called inside a handler or task"),
            std::string::npos)
      << err;
  EXPECT_EQ(eval("return select(2, pcall(rover.delay, 1))"),
            "rover.delay must be called inside a handler or task");
}

TEST_F(TasksTest, DelayInAnAppCoroutineRaises) {
  loadServer(R"lua(
local api = rover.server {}
function api.get()
  local co = coroutine.create(function() rover.delay(1) end)
  local ok, err = coroutine.resume(co)
  return err
end
return api
)lua");
  EXPECT_NE(get("/").find("rover.delay must be called inside a handler or task"),
            std::string::npos);
}

// --- rover.spawn ------------------------------------------------------------------

TEST_F(TasksTest, SpawnAtLoadTimeRunsToItsFirstWaitThenCompletes) {
  std::string err;
  ASSERT_EQ(load(R"lua(
stage = 0
task = rover.spawn(function(a, b)
  stage = a + b
  rover.delay(10)
  stage = 10
end, 1, 2)
)lua",
                 &err),
            lua::LoadResult::kScript)
      << err;
  EXPECT_EQ(eval("return stage"), "3");
  EXPECT_EQ(eval("return getmetatable(task)"), "rover.task");
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_EQ(loop_.armedTimers(), 1u);
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("return stage"), "10");
  EXPECT_EQ(loop_.armedTimers(), 0u);
}

TEST_F(TasksTest, SpawnFromAHandlerOutlivesTheRequest) {
  loadServer(R"lua(
local api = rover.server {}
function api.get()
  rover.spawn(function() rover.delay(10); done = (done or 0) + 1 end)
  return "started"
end
return api
)lua");
  EXPECT_NE(get("/").find("\r\n\r\nstarted"), std::string::npos);
  EXPECT_NE(get("/").find("\r\n\r\nstarted"), std::string::npos);
  EXPECT_EQ(vm_->suspendedTasks(), 2u);
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("return done"), "2");
}

TEST_F(TasksTest, SpawnThatNeverWaitsIsDoneAtOnce) {
  std::string err;
  ASSERT_EQ(load("h = rover.spawn(function() ran = true end)\nh:cancel()\n", &err),
            lua::LoadResult::kScript)
      << err;
  EXPECT_EQ(eval("return ran"), "true");
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
}

TEST_F(TasksTest, SpawnChecksItsArgument) {
  std::string err;
  ASSERT_EQ(load("x = 1\n", &err), lua::LoadResult::kScript);
  EXPECT_EQ(eval("return select(2, pcall(rover.spawn, 42))"), "rover.spawn: fn must be a function");
}

TEST_F(TasksTest, CancelStopsASpawnedTask) {
  std::string err;
  ASSERT_EQ(load(R"lua(
h = rover.spawn(function() rover.delay(10); finished = true end)
)lua",
                 &err),
            lua::LoadResult::kScript)
      << err;
  ASSERT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_EQ(eval("h:cancel() return true"), "true");
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_EQ(loop_.armedTimers(), 0u);
  driveFor(40);
  EXPECT_EQ(eval("return finished"), "nil");
  EXPECT_EQ(eval("h:cancel() return true"), "true");  // again: a no-op
}

TEST_F(TasksTest, CancelFromCppStopsASpawnedTask) {
  std::string err;
  ASSERT_EQ(load("x = 1\n", &err), lua::LoadResult::kScript);
  lua::Task* t = spawnCode("rover.delay(10) finished = true");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  vm_->cancel(t, t->generation + 1);  // another run's handle: ignored
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  vm_->cancel(t, t->generation);
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_EQ(loop_.armedTimers(), 0u);
  driveFor(40);
  EXPECT_EQ(eval("return finished"), "nil");
}

TEST_F(TasksTest, CancelFromInsideTheTaskStopsItAtItsNextWait) {
  std::string err;
  ASSERT_EQ(load(R"lua(
h = rover.spawn(function()
  rover.delay(1)
  h:cancel()
  reached = true
  rover.delay(1)
  after = true
end)
)lua",
                 &err),
            lua::LoadResult::kScript)
      << err;
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("return reached"), "true");
  EXPECT_EQ(loop_.armedTimers(), 0u);
  driveFor(20);
  EXPECT_EQ(eval("return after"), "nil");
}

TEST_F(TasksTest, StaleHandleDoesNotCancelTheTaskReusingItsSlot) {
  std::string err;
  ASSERT_EQ(load(R"lua(
first = rover.spawn(function() rover.delay(1) end)
)lua",
                 &err),
            lua::LoadResult::kScript)
      << err;
  ASSERT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("second = rover.spawn(function() rover.delay(10); second_done = true end) "
                 "return true"),
            "true");
  EXPECT_EQ(eval("first:cancel() return true"), "true");
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("return second_done"), "true");
}

TEST_F(TasksTest, ErrorInASpawnedTaskIsLoggedAndTheVmKeepsWorking) {
  core::setLogLevel(core::LogLevel::kError);  // the log path runs (no hook to capture it)
  loadServer(R"lua(
local api = rover.server {}
function api.get() return "alive" end
rover.spawn(function() error("at once") end)
rover.spawn(function() rover.delay(5); error("after a wait") end)
function api.spawns_failing.get()
  rover.spawn(function() error("from a handler's task") end)
  return "still fine"
end
return api
)lua");
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_NE(get("/spawns_failing").find("\r\n\r\nstill fine"), std::string::npos);
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  core::setLogLevel(core::LogLevel::kNope);
  EXPECT_NE(get("/").find("\r\n\r\nalive"), std::string::npos);
  EXPECT_EQ(eval("rover.spawn(function() rover.delay(1) ok_after = true end) return true"), "true");
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("return ok_after"), "true");
}

TEST_F(TasksTest, BareYieldInASpawnedTaskEndsIt) {
  std::string err;
  ASSERT_EQ(load("rover.spawn(function() coroutine.yield() after = true end)\n", &err),
            lua::LoadResult::kScript)
      << err;
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_EQ(eval("return after"), "nil");
}

// --- rover.interval ------------------------------------------------------------

TEST_F(TasksTest, IntervalCallsAtOnceThenRepeatedlyUntilCancelled) {
  std::string err;
  ASSERT_EQ(load("n = 0\nh = rover.interval(5, function() n = n + 1 end)\n", &err),
            lua::LoadResult::kScript)
      << err;
  EXPECT_EQ(eval("return n"), "1");
  EXPECT_EQ(eval("return getmetatable(h)"), "rover.task");
  EXPECT_TRUE(driveUntil([&] { return eval("return n >= 4") == "true"; }));
  EXPECT_EQ(eval("h:cancel() return true"), "true");
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_EQ(loop_.armedTimers(), 0u);
  std::string n = eval("return n");
  driveFor(40);
  EXPECT_EQ(eval("return n"), n);
}

TEST_F(TasksTest, IntervalCancelledFromItsOwnCallback) {
  std::string err;
  ASSERT_EQ(load(R"lua(
n = 0
h = rover.interval(2, function()
  n = n + 1
  if n == 3 then h:cancel() end
end)
)lua",
                 &err),
            lua::LoadResult::kScript)
      << err;
  EXPECT_TRUE(driveUntil([&] { return eval("return n") == "3"; }));
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_EQ(loop_.armedTimers(), 0u);
  driveFor(30);
  EXPECT_EQ(eval("return n"), "3");
}

TEST_F(TasksTest, IntervalKeepsGoingWhenItsCallbackFails) {
  std::string err;
  ASSERT_EQ(load("n = 0\nh = rover.interval(2, function() n = n + 1 error('tick') end)\n", &err),
            lua::LoadResult::kScript)
      << err;
  EXPECT_TRUE(driveUntil([&] { return eval("return n >= 3") == "true"; }));
  EXPECT_EQ(eval("h:cancel() return true"), "true");
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
}

TEST_F(TasksTest, IntervalChecksItsArguments) {
  std::string err;
  ASSERT_EQ(load("x = 1\n", &err), lua::LoadResult::kScript);
  EXPECT_EQ(eval("return select(2, pcall(rover.interval, 0, print))"),
            "rover.interval: ms must be a number > 0");
  EXPECT_EQ(eval("return select(2, pcall(rover.interval, 5, 1))"),
            "rover.interval: fn must be a function");
}

}  // namespace
}  // namespace rover::lua_test
