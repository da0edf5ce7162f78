// Tests for src/lua/prelude/db.lua (rover.db, runtime-modules.md §9) in a bare
// LuaJIT state, over scripted natives: what the db object forwards to them
// (parameters with nils included), the retry loop after BUSY / HELD answers
// (pauses, the 5 s limit, nothing to wait on), transactions (commit, rollback
// and re-raise, return values) and the query builder's hook (the optional
// second argument B). The real natives are covered by
// tests/unit/lua/db_natives_test.cpp.
#include "lua_test_util.h"

namespace rover::prelude_test {
namespace {

// Fake natives: each db_* call is logged in `calls` as a string; answers come
// from the `answers` queue (a function called with the arguments), else a
// default (rows {}, 1 row changed, true). The clock moves only when a wait
// says so.
constexpr const char* kFakes = R"lua(
clock, calls, answers, waits = 0, {}, {}, {}
local function log(name, ...)
  local parts = { name }
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  calls[#calls + 1] = table.concat(parts, " ")
end
local function answer(default, ...)
  local a = table.remove(answers, 1)
  if a then return a(...) end
  return default
end
native = {
  now_ms = function() return clock end,
  db_sqlite = function(path) log("sqlite", path) return setmetatable({}, { __tostring = function() return "conn" end }) end,
  db_query = function(c, sql, ...) log("query", sql, select("#", ...), ...) return answer({}, ...) end,
  db_exec = function(c, sql, ...) log("exec", sql, select("#", ...), ...) return answer(1, ...) end,
  db_begin = function(c) log("begin") return answer(true) end,
  db_commit = function(c) log("commit") return answer(true) end,
  db_rollback = function(c) log("rollback") end,
  db_wait_busy = function(ms)
    waits[#waits + 1] = "busy " .. ms
    if can_wait == false then return false end
    clock = clock + ms
  end,
  db_wait_conn = function(c, ms)
    waits[#waits + 1] = "conn " .. ms
    if can_wait == false then return false end
    clock = clock + (conn_wait_ms or ms)
  end,
}
function busy() return false, 1 end
function held() return false, 2 end
function joined(t) return table.concat(t, ",") end
)lua";

class DbPreludeTest : public LuaTest {
 protected:
  void SetUp() override { LuaTest::SetUp(); }

  // Runs db.lua with (native, B) where B is the global named `builder` (or
  // nil) and stores its result as rover.db.
  void loadDb(const char* builder = nullptr) {
    run(kFakes);
    std::string path = std::string(ROVER_SOURCE_DIR) + "/src/lua/prelude/db.lua";
    ASSERT_EQ(luaL_loadfile(L_, path.c_str()), 0) << lua_tostring(L_, -1);
    lua_getglobal(L_, "native");
    if (builder) {
      lua_getglobal(L_, builder);
    } else {
      lua_pushnil(L_);
    }
    ASSERT_EQ(lua_pcall(L_, 2, 1, 0), 0) << lua_tostring(L_, -1);
    lua_getglobal(L_, "rover");
    lua_insert(L_, -2);
    lua_setfield(L_, -2, "db");
    lua_pop(L_, 1);
    run("db = rover.db.connect { path = 'x.sqlite' }");
  }
};

TEST_F(DbPreludeTest, ConnectMakesADbObjectWithoutOpeningAnything) {
  loadDb();
  EXPECT_EQ(eval("return joined(calls)"), "sqlite x.sqlite");
  EXPECT_EQ(eval("return db.engine"), "sqlite");
  EXPECT_EQ(eval("return db.path"), "x.sqlite");
  EXPECT_EQ(eval("return rover.db.connect().path"), "rover.sqlite");
  EXPECT_EQ(eval("return rover.db.connect({}).path"), "rover.sqlite");
  EXPECT_EQ(eval("return select(2, pcall(rover.db.connect, 'x'))"),
            "rover.db.connect: options must be a table");
  EXPECT_EQ(eval("return select(2, pcall(rover.db.connect, { path = '' }))"),
            "rover.db.connect: path must be a non-empty string");
  EXPECT_EQ(eval("return select(2, pcall(rover.db.connect, { path = 3 }))"),
            "rover.db.connect: path must be a non-empty string");
  EXPECT_EQ(eval("return select(2, pcall(rover.db.connect, { url = '' }))"),
            "rover.db.connect: url must be a non-empty string");
  EXPECT_EQ(eval("return select(2, pcall(rover.db.connect, { url = 'postgresql://h/db', pool = 0 }))"),
            "rover.db.connect: pool must be an integer >= 1");
  EXPECT_EQ(eval("return db.users"), "nil");  // no builder
  EXPECT_EQ(eval("return rover.db.schema"), "nil");
}

TEST_F(DbPreludeTest, ParametersAreForwardedWithTheirNils) {
  loadDb();
  run("calls = {} db:query('q', 1, nil, 'a', nil) db:exec('e') db:exec('e', nil)");
  EXPECT_EQ(eval("return joined(calls)"), "query q 4 1 nil a nil,exec e 0,exec e 1 nil");
  EXPECT_EQ(eval("return type(db:query('q'))"), "table");
  EXPECT_EQ(eval("return db:exec('e')"), "1");
}

TEST_F(DbPreludeTest, MisuseRaises) {
  loadDb();
  EXPECT_EQ(eval("return select(2, pcall(db.query, 'SELECT 1'))"),
            "db:query must be called with a colon (db:query(...))");
  EXPECT_EQ(eval("return select(2, pcall(db.exec, db, 42))"), "db:exec: sql must be a string");
  EXPECT_EQ(eval("return select(2, pcall(db.transaction, db, 'x'))"),
            "db:transaction: fn must be a function");
}

TEST_F(DbPreludeTest, AnErrorAnswerIsRaisedAtTheCallersLine) {
  loadDb();
  run("answers[1] = function() return nil, 'db error: boom' end");
  EXPECT_EQ(eval("local ok, e = pcall(function() local r = db:query('q') return r end) return e"),
            "test:1: db error: boom");
}

TEST_F(DbPreludeTest, BusyIsRetriedWithGrowingPausesUntilItRuns) {
  loadDb();
  run("for i = 1, 8 do answers[i] = busy end answers[9] = function() return { 'rows' } end");
  EXPECT_EQ(eval("return db:query('q')[1]"), "rows");
  EXPECT_EQ(eval("return joined(waits)"),
            "busy 1,busy 2,busy 4,busy 8,busy 16,busy 32,busy 50,busy 50");
  EXPECT_EQ(eval("return #calls"), "10");  // sqlite + 9 tries
}

TEST_F(DbPreludeTest, BusyForFiveSecondsIsDatabaseIsLocked) {
  loadDb();
  run("for i = 1, 1000 do answers[i] = busy end");
  EXPECT_EQ(eval("local ok, e = pcall(function() local n = db:exec('e') return n end) return e"),
            "test:1: db error: database is locked");
  EXPECT_EQ(eval("return clock"), "5000");             // the last pause ends exactly at the limit
  EXPECT_EQ(eval("return waits[#waits]"), "busy 37");  // 5000 - 63 = 98 * 50 + 37
}

TEST_F(DbPreludeTest, NothingToWaitOnIsLockedAtOnce) {
  loadDb();
  run("can_wait = false answers[1] = busy");
  EXPECT_EQ(eval("return select(2, pcall(db.exec, db, 'e'))"), "db error: database is locked");
  EXPECT_EQ(eval("return joined(waits)"), "busy 1");
  run("answers[1] = held waits = {}");
  EXPECT_EQ(eval("return select(2, pcall(db.exec, db, 'e'))"), "db error: database is locked");
  EXPECT_EQ(eval("return joined(waits)"), "conn 5000");
}

TEST_F(DbPreludeTest, HeldWaitsForTheConnectionWithinTheSameLimit) {
  loadDb();
  // Queued 3 s, then busy: the busy pauses get what is left of the 5 s.
  run("conn_wait_ms = 3000 answers[1] = held for i = 2, 1000 do answers[i] = busy end");
  EXPECT_EQ(eval("return select(2, pcall(db.exec, db, 'e'))"), "db error: database is locked");
  EXPECT_EQ(eval("return waits[1]"), "conn 5000");
  EXPECT_EQ(eval("return clock"), "5000");
}

TEST_F(DbPreludeTest, TransactionCommitsAndReturnsTheFunctionsValues) {
  loadDb();
  run("calls = {}");
  EXPECT_EQ(
      eval("local a, b, c, d = db:transaction(function(tx)\n"
           "  tx:exec('e1', 1) tx:query('q1') return 1, nil, 'three' end)\n"
           "return table.concat({ tostring(a), tostring(b), tostring(c), tostring(d) }, ' ')"),
      "1 nil three nil");
  EXPECT_EQ(eval("return joined(calls)"), "begin,exec e1 1 1,query q1 0,commit");
}

TEST_F(DbPreludeTest, TransactionRollsBackAndReraisesTheSameValue) {
  loadDb();
  run("calls = {} err = { code = 7 }");
  EXPECT_EQ(
      eval("local ok, e = pcall(db.transaction, db, function(tx) tx:exec('e1') error(err) end)\n"
           "return e == err"),
      "true");
  EXPECT_EQ(eval("return joined(calls)"), "begin,exec e1 0,rollback");
  EXPECT_EQ(
      eval("local ok, e = pcall(db.transaction, db, function(tx) error('plain') end) return e"),
      "test:1: plain");
}

TEST_F(DbPreludeTest, ATransactionObjectEndsWithItsTransaction) {
  loadDb();
  run("db:transaction(function(tx) kept = tx end)");
  EXPECT_EQ(eval("return kept.engine"), "sqlite");
  EXPECT_EQ(eval("return select(2, pcall(kept.query, kept, 'q'))"),
            "db error: the transaction has ended");
}

TEST_F(DbPreludeTest, BeginAndCommitAreRetried) {
  loadDb();
  run("conn_wait_ms = 10 calls = {} answers = { held, busy, function() return true end, busy }");
  EXPECT_EQ(eval("return db:transaction(function() return 'done' end)"), "done");
  EXPECT_EQ(eval("return joined(calls)"), "begin,begin,begin,commit,commit");
  EXPECT_EQ(eval("return joined(waits)"), "conn 5000,busy 1,busy 1");
}

TEST_F(DbPreludeTest, ACommitErrorRollsBackAndRaises) {
  loadDb();
  run("calls = {} answers = { function() return true end, function() return nil, 'db error: "
      "FOREIGN KEY constraint failed' end }");
  EXPECT_EQ(eval("local ok, e = pcall(function() local r = db:transaction(function() end) return r "
                 "end) return e"),
            "test:1: db error: FOREIGN KEY constraint failed");
  EXPECT_EQ(eval("return joined(calls)"), "begin,commit,rollback");
}

TEST_F(DbPreludeTest, TheBuilderHookServesTablesSchemaGuardAndAggregates) {
  run(R"lua(
    builder = {
      table = function(owner, name) return { owner = owner, name = name } end,
      schema = "SCHEMA", guard = "GUARD",
      count = "COUNT", sum = "SUM", avg = "AVG", min = "MIN", max = "MAX",
    }
  )lua");
  loadDb("builder");
  EXPECT_EQ(eval("return db.users.name"), "users");
  EXPECT_EQ(eval("return db.users.owner == db"), "true");
  EXPECT_EQ(eval("return type(db.query)"), "function");  // methods first
  EXPECT_EQ(eval("return db.engine"), "sqlite");
  EXPECT_EQ(eval("return db[1]"), "nil");
  EXPECT_EQ(eval("local t db:transaction(function(tx) t = tx.orders end) return t.name"), "orders");
  EXPECT_EQ(eval("local r db:transaction(function(tx) r = tx.orders.owner ~= db end) return r"),
            "true");
  EXPECT_EQ(eval("local d = rover.db return table.concat({ d.schema, d.guard, d.count, d.sum, "
                 "d.avg, d.min, d.max }, ' ')"),
            "SCHEMA GUARD COUNT SUM AVG MIN MAX");
}

}  // namespace
}  // namespace rover::prelude_test
