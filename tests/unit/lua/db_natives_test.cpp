// Tests for src/lua/db_natives.cpp and prelude/db.lua in a Vm bound to a real
// loop the test drives: a statement that meets a lock held by another
// connection suspends its task and retries from the loop; the worker's
// connection is handed from one transaction to the next coroutine in FIFO
// order; an aborted or cancelled task leaves its queue and rolls its
// transaction back. The other connection is the test's own db::Connection
// to the same file, so the locks are SQLite's, not simulated.
#include <sys/stat.h>

#include <cstdlib>

#include "db/sqlite.h"
#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

class DbNativesTest : public VmTest {
 protected:
  void SetUp() override {
    VmTest::SetUp();
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "rover-dbn-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_db_ = dir_ + "/app.sqlite";
    other_ = std::make_unique<db::Connection>(path_db_);
    ASSERT_EQ(other_->ready(), db::Status::kOk);
    ASSERT_EQ(other_->run("CREATE TABLE log (id INTEGER PRIMARY KEY, what TEXT)"),
              db::Status::kDone);
  }
  void TearDown() override {
    vm_.reset();
    other_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  // Loads a server app whose module level starts with `db`, connected to the file.
  void loadApp(const std::string& routes) {
    loadServer("db = rover.db.connect { path = '" + path_db_ + "' }\n" +
               "local api = rover.server {}\n" + routes + "\nreturn api\n");
  }

  // What the other connection reads from the log table, "a,b,c".
  std::string logged() {
    db::Status st;
    db::Statement* s = other_->prepare("SELECT group_concat(what) FROM log", &st);
    if (!s) return "<" + other_->error() + ">";
    db::StatementUse use(s);
    if (s->step() != db::Status::kRow) return "<" + other_->error() + ">";
    return std::string(s->columnText(0));
  }

  bool finished(lua::Task* t) {
    return std::find(owner_.finished.begin(), owner_.finished.end(), t) != owner_.finished.end();
  }

  // Starts a request that waits; returns its task.
  lua::Task* start(Exchange& ex) {
    http::Response resp;
    lua::Task* waiting = nullptr;
    EXPECT_EQ(vm_->handle(ex.info, &owner_, &resp, &waiting), 0) << "the handler did not wait";
    return waiting;
  }

  std::string finish(lua::Task* t) {
    EXPECT_TRUE(driveUntil([&] { return finished(t); }));
    owner_.finished.erase(std::find(owner_.finished.begin(), owner_.finished.end(), t));
    return withoutDate(respondWaited(t));
  }

  std::string dir_;
  std::string path_db_;
  std::unique_ptr<db::Connection> other_;
};

constexpr const char* kRoutes = R"lua(
function api.write.get(ctx)
  return { changed = db:exec("INSERT INTO log (what) VALUES (?)", ctx:query().what) }
end
function api.read.get() return db:query("SELECT what FROM log ORDER BY id") end
function api.plain.get() return "plain" end
)lua";

TEST_F(DbNativesTest, AWriteThatMeetsALockWaitsOnTheLoopAndRunsOnceItIsReleased) {
  loadApp(kRoutes);
  ASSERT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kDone);
  auto w = request(router::Method::kGet, "/write?what=late");
  lua::Task* t = start(*w);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(vm_->suspendedTasks(), 1u);
  EXPECT_EQ(loop_.armedTimers(), 1u);  // the retry
  // Meanwhile the worker serves others, reads included (WAL).
  EXPECT_NE(get("/plain").find("\r\n\r\nplain"), std::string::npos);
  EXPECT_NE(get("/read").find("\r\n\r\n{}"), std::string::npos);  // no rows (an empty table)
  driveFor(30);                                                   // a few retries, all still locked
  EXPECT_FALSE(finished(t));
  ASSERT_EQ(other_->run("COMMIT"), db::Status::kDone);
  EXPECT_NE(finish(t).find("\r\n\r\n{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "late");
  EXPECT_EQ(loop_.armedTimers(), 0u);
}

TEST_F(DbNativesTest, ALockOutsideATaskRaisesAtOnce) {
  loadApp(kRoutes);
  ASSERT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kDone);
  EXPECT_EQ(eval("return select(2, pcall(db.exec, db, \"INSERT INTO log (what) VALUES ('x')\"))"),
            "db error: database is locked");
  EXPECT_EQ(eval("return select(2, pcall(db.transaction, db, function() end))"),
            "db error: database is locked");
  EXPECT_EQ(eval("return #db:query('SELECT * FROM log')"), "0");  // reads go on
  ASSERT_EQ(other_->run("ROLLBACK"), db::Status::kDone);
  EXPECT_EQ(eval("return db:exec(\"INSERT INTO log (what) VALUES ('x')\")"), "1");
}

TEST_F(DbNativesTest, AbortingAWaitingRequestDisarmsItsRetry) {
  loadApp(kRoutes);
  ASSERT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kDone);
  auto w = request(router::Method::kGet, "/write?what=aborted");
  lua::Task* t = start(*w);
  ASSERT_NE(t, nullptr);
  vm_->abort(t);
  EXPECT_EQ(loop_.armedTimers(), 0u);
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  ASSERT_EQ(other_->run("COMMIT"), db::Status::kDone);
  driveFor(20);
  EXPECT_TRUE(owner_.finished.empty());
  EXPECT_EQ(logged(), "");
  auto again = request(router::Method::kGet, "/write?what=next");
  EXPECT_NE(respond(*again).find("{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "next");
}

// --- the worker's connection between coroutines ------------------------------------

constexpr const char* kTxRoutes = R"lua(
-- Writes <tag>1, waits until /open/<tag> (polling), writes <tag>2, commits.
opened = {}
function api.tx.p_tag.get(ctx)
  local tag = ctx:params().tag
  return { n = db:transaction(function(tx)
    tx:exec("INSERT INTO log (what) VALUES (?)", tag .. "1")
    while not opened[tag] do rover.delay(2) end
    tx:exec("INSERT INTO log (what) VALUES (?)", tag .. "2")
    return #tx:query("SELECT * FROM log")
  end) }
end
function api.open.p_tag.get(ctx) opened[ctx:params().tag] = true return "ok" end
function api.write.p_tag.get(ctx)
  return { changed = db:exec("INSERT INTO log (what) VALUES (?)", ctx:params().tag) }
end
function api.tx_then_cancel.get()
  db:transaction(function(tx)
    tx:exec("INSERT INTO log (what) VALUES ('a1')")
    while not opened.a do rover.delay(2) end
  end)
  victim:cancel()
  return "cancelled"
end
function api.fail.get()
  db:transaction(function(tx)
    tx:exec("INSERT INTO log (what) VALUES ('failed')")
    rover.delay(1)
    error("inside")
  end)
end
function api.yield.get()
  db:transaction(function(tx)
    tx:exec("INSERT INTO log (what) VALUES ('yielded')")
    coroutine.yield()
  end)
end
)lua";

TEST_F(DbNativesTest, OtherCoroutinesWaitForATransactionInOrder) {
  loadApp(kTxRoutes);
  auto a = request(router::Method::kGet, "/tx/a");
  lua::Task* ta = start(*a);  // holds the connection, waiting for /open/a
  auto b = request(router::Method::kGet, "/write/b");
  lua::Task* tb = start(*b);  // queued: must not write inside a's transaction
  auto c = request(router::Method::kGet, "/tx/c");
  lua::Task* tc = start(*c);  // queued behind b
  auto d = request(router::Method::kGet, "/write/d");
  lua::Task* td = start(*d);  // queued behind c
  ASSERT_TRUE(ta && tb && tc && td);
  driveFor(20);
  EXPECT_FALSE(finished(tb));
  EXPECT_EQ(logged(), "");  // a's first row is not committed
  EXPECT_NE(get("/open/a").find("ok"), std::string::npos);
  EXPECT_NE(finish(ta).find("{\"n\":2}"), std::string::npos);
  EXPECT_NE(finish(tb).find("{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "a1,a2,b");
  driveFor(10);
  EXPECT_FALSE(finished(td));  // behind c's transaction
  EXPECT_NE(get("/open/c").find("ok"), std::string::npos);
  EXPECT_NE(finish(tc).find("{\"n\":5}"), std::string::npos);
  EXPECT_NE(finish(td).find("{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "a1,a2,b,c1,c2,d");
  EXPECT_EQ(loop_.armedTimers(), 0u);
}

TEST_F(DbNativesTest, AnAbortedTransactionRollsBackAndHandsTheConnectionOn) {
  loadApp(kTxRoutes);
  auto a = request(router::Method::kGet, "/tx/a");
  lua::Task* ta = start(*a);
  auto b = request(router::Method::kGet, "/write/b");
  lua::Task* tb = start(*b);
  ASSERT_TRUE(ta && tb);
  // The other connection cannot write while a's transaction is open.
  EXPECT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kBusy);
  vm_->abort(ta);  // client gone / handler timed out
  EXPECT_NE(finish(tb).find("{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "b");                                      // a1 rolled back
  ASSERT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kDone);  // the lock is free
  ASSERT_EQ(other_->run("ROLLBACK"), db::Status::kDone);
  EXPECT_EQ(eval("opened.a = true return true"), "true");
  driveFor(10);
  EXPECT_TRUE(owner_.finished.empty());  // a is never resumed
}

TEST_F(DbNativesTest, AnAbortedWaiterLeavesTheQueue) {
  loadApp(kTxRoutes);
  auto a = request(router::Method::kGet, "/tx/a");
  lua::Task* ta = start(*a);
  auto b = request(router::Method::kGet, "/write/b");
  lua::Task* tb = start(*b);
  auto c = request(router::Method::kGet, "/write/c");
  lua::Task* tc = start(*c);
  ASSERT_TRUE(ta && tb && tc);
  vm_->abort(tb);
  EXPECT_NE(get("/open/a").find("ok"), std::string::npos);
  EXPECT_NE(finish(ta).find("{\"n\":2}"), std::string::npos);
  EXPECT_NE(finish(tc).find("{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "a1,a2,c");
  EXPECT_FALSE(finished(tb));
}

TEST_F(DbNativesTest, AWaiterCancelledAfterItWasHandedTheConnectionPassesItOn) {
  loadApp(kTxRoutes);
  auto a = request(router::Method::kGet, "/tx_then_cancel");
  lua::Task* ta = start(*a);
  ASSERT_NE(ta, nullptr);
  // A background task queues for the connection, a request behind it.
  EXPECT_EQ(eval("victim = rover.spawn(function()\n"
                 "  db:exec(\"INSERT INTO log (what) VALUES ('victim')\") end) return true"),
            "true");
  auto c = request(router::Method::kGet, "/write/c");
  lua::Task* tc = start(*c);
  ASSERT_NE(tc, nullptr);
  // a commits, which hands the connection to the victim (resumed on the
  // loop's next timer pass), then cancels the victim before that pass.
  EXPECT_NE(get("/open/a").find("ok"), std::string::npos);
  EXPECT_NE(finish(ta).find("cancelled"), std::string::npos);
  EXPECT_NE(finish(tc).find("{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "a1,c");
  EXPECT_EQ(loop_.armedTimers(), 0u);
}

TEST_F(DbNativesTest, AnErrorInsideATransactionRollsBackAndIs500) {
  loadApp(kTxRoutes);
  auto f = request(router::Method::kGet, "/fail");
  lua::Task* t = start(*f);
  ASSERT_NE(t, nullptr);
  std::string out = finish(t);
  EXPECT_EQ(out.rfind("HTTP/1.1 500 ", 0), 0u) << out;
  EXPECT_NE(out.find("inside"), std::string::npos) << out;
  EXPECT_EQ(logged(), "");
  EXPECT_NE(get("/write/after").find("{\"changed\":1}"), std::string::npos);
  EXPECT_EQ(logged(), "after");
}

TEST_F(DbNativesTest, ABareYieldInsideATransactionEndsTheRunAndRollsBack) {
  loadApp(kTxRoutes);
  auto y = request(router::Method::kGet, "/yield");
  int status = 0;
  std::string out = respond(*y, {}, &status);
  EXPECT_EQ(status, 500) << out;
  EXPECT_EQ(logged(), "");
  ASSERT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kDone);  // released
  ASSERT_EQ(other_->run("ROLLBACK"), db::Status::kDone);
  EXPECT_NE(get("/write/after").find("{\"changed\":1}"), std::string::npos);
}

TEST_F(DbNativesTest, CancellingABackgroundTaskInsideItsTransactionRollsBack) {
  loadApp(kTxRoutes);
  EXPECT_EQ(eval("h = rover.spawn(function() db:transaction(function(tx)\n"
                 "  tx:exec(\"INSERT INTO log (what) VALUES ('task')\")\n"
                 "  rover.delay(1000) end) end) return true"),
            "true");
  EXPECT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kBusy);
  EXPECT_EQ(eval("h:cancel() return true"), "true");
  ASSERT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kDone);
  ASSERT_EQ(other_->run("ROLLBACK"), db::Status::kDone);
  EXPECT_EQ(logged(), "");
  EXPECT_EQ(loop_.armedTimers(), 0u);
}

TEST_F(DbNativesTest, DestroyingTheVmInsideATransactionRollsBack) {
  loadApp(kTxRoutes);
  auto a = request(router::Method::kGet, "/tx/a");
  ASSERT_NE(start(*a), nullptr);
  auto b = request(router::Method::kGet, "/write/b");
  ASSERT_NE(start(*b), nullptr);
  vm_.reset();
  EXPECT_EQ(loop_.armedTimers(), 0u);
  ASSERT_EQ(other_->run("BEGIN IMMEDIATE"), db::Status::kDone);
  ASSERT_EQ(other_->run("ROLLBACK"), db::Status::kDone);
  EXPECT_EQ(logged(), "");
}

}  // namespace
}  // namespace rover::lua_test
