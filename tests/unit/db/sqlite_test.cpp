// Tests for src/db/sqlite.cpp: opening and configuring a connection, binding,
// column types, the prepared-statement cache, errors, and locks reported as
// kBusy at once (no busy timeout). Each test works in its own temporary
// directory with real database files.
#include "db/sqlite.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace rover::db {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "rover-db-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  std::string file(const std::string& name = "test.sqlite") const { return dir_ + "/" + name; }

  // A connection to file(), ready.
  std::unique_ptr<Connection> open(size_t capacity = kStatementCacheSize) {
    auto c = std::make_unique<Connection>(file(), capacity);
    EXPECT_EQ(c->ready(), Status::kOk) << c->error();
    return c;
  }

  // Runs `sql` (no parameters); the rows as "a|b" lines joined by ";".
  static std::string rowsOf(Connection& c, const std::string& sql) {
    Status st;
    Statement* s = c.prepare(sql, &st);
    if (!s) return "<" + c.error() + ">";
    StatementUse use(s);
    std::string out;
    while ((st = s->step()) == Status::kRow) {
      if (!out.empty()) out += ";";
      for (int i = 0; i < s->columnCount(); ++i) {
        if (i) out += "|";
        out += std::string(s->columnText(i));
      }
    }
    if (st != Status::kDone) return "<step failed: " + c.error() + ">";
    return out;
  }

  std::string dir_;
};

// --- opening -------------------------------------------------------------------------

TEST_F(SqliteTest, OpensLazilyAndConfiguresWalSynchronousNormalForeignKeys) {
  Connection c(file());
  EXPECT_FALSE(c.isReady());
  struct stat sb;
  EXPECT_NE(stat(file().c_str(), &sb), 0);  // nothing opened by the constructor
  ASSERT_EQ(c.ready(), Status::kOk) << c.error();
  EXPECT_TRUE(c.isReady());
  EXPECT_EQ(stat(file().c_str(), &sb), 0);
  EXPECT_EQ(rowsOf(c, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(rowsOf(c, "PRAGMA synchronous"), "1");  // NORMAL
  EXPECT_EQ(rowsOf(c, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(c.ready(), Status::kOk);  // once ready, ready stays cheap
}

TEST_F(SqliteTest, AFileThatCannotBeOpenedFailsAndIsTriedAgain) {
  Connection c(dir_ + "/missing/dir/test.sqlite");
  EXPECT_EQ(c.ready(), Status::kError);
  EXPECT_TRUE(c.openFailed());
  EXPECT_EQ(c.error(), "unable to open database file");
  EXPECT_FALSE(c.isReady());
  Status st;
  EXPECT_EQ(c.prepare("SELECT 1", &st), nullptr);
  EXPECT_EQ(st, Status::kError);
  // The directory appears: the next ready() opens it.
  ASSERT_EQ(mkdir((dir_ + "/missing").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir_ + "/missing/dir").c_str(), 0700), 0);
  EXPECT_EQ(c.ready(), Status::kOk) << c.error();
  EXPECT_FALSE(c.openFailed());
}

TEST_F(SqliteTest, AFileThatIsNotADatabaseFailsToOpen) {
  std::ofstream(file()) << "this is not an sqlite file, not at all, it is plain text......";
  Connection c(file());
  EXPECT_EQ(c.ready(), Status::kError);
  EXPECT_TRUE(c.openFailed());
  EXPECT_EQ(c.error(), "file is not a database");
}

// --- binding and columns ---------------------------------------------------------------

TEST_F(SqliteTest, BindsEachTypeAndReadsItBack) {
  auto c = open();
  ASSERT_EQ(c->run("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)"), Status::kDone);
  Status st;
  Statement* ins = c->prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)", &st);
  ASSERT_NE(ins, nullptr) << c->error();
  EXPECT_EQ(ins->paramCount(), 5);
  {
    StatementUse use(ins);
    EXPECT_EQ(ins->bindInt(1, -9007199254740993), Status::kOk);  // beyond 2^53: kept exact
    EXPECT_EQ(ins->bindDouble(2, 2.5), Status::kOk);
    std::string text("a\0b", 3);  // bytes, NUL included
    EXPECT_EQ(ins->bindText(3, text), Status::kOk);
    EXPECT_EQ(ins->bindText(4, std::string_view()), Status::kOk);  // empty, not NULL
    EXPECT_EQ(ins->bindNull(5), Status::kOk);
    EXPECT_EQ(ins->step(), Status::kDone) << c->error();
  }
  EXPECT_EQ(c->changes(), 1);
  Statement* sel = c->prepare("SELECT i, r, s, b, n, x'00ff' AS blob FROM t", &st);
  ASSERT_NE(sel, nullptr) << c->error();
  StatementUse use(sel);
  ASSERT_EQ(sel->step(), Status::kRow);
  ASSERT_EQ(sel->columnCount(), 6);
  EXPECT_EQ(sel->columnName(0), "i");
  EXPECT_EQ(sel->columnName(5), "blob");
  EXPECT_EQ(sel->columnType(0), ColumnType::kInteger);
  EXPECT_EQ(sel->columnInt(0), -9007199254740993);
  EXPECT_EQ(sel->columnType(1), ColumnType::kFloat);
  EXPECT_EQ(sel->columnDouble(1), 2.5);
  EXPECT_EQ(sel->columnType(2), ColumnType::kText);
  EXPECT_EQ(sel->columnText(2), std::string_view("a\0b", 3));
  EXPECT_EQ(sel->columnType(3), ColumnType::kText);
  EXPECT_EQ(sel->columnText(3), "");
  EXPECT_EQ(sel->columnType(4), ColumnType::kNull);
  EXPECT_EQ(sel->columnType(5), ColumnType::kBlob);
  EXPECT_EQ(sel->columnText(5), std::string_view("\0\xff", 2));
  EXPECT_EQ(sel->step(), Status::kDone);
}

TEST_F(SqliteTest, ResetClearsTheBindings) {
  auto c = open();
  Status st;
  Statement* s = c->prepare("SELECT ?, typeof(?)", &st);
  ASSERT_NE(s, nullptr);
  {
    StatementUse use(s);
    s->bindInt(1, 7);
    s->bindText(2, "x");
    ASSERT_EQ(s->step(), Status::kRow);
    EXPECT_EQ(s->columnInt(0), 7);
    EXPECT_EQ(s->columnText(1), "text");
  }
  // The same statement, nothing bound this time: both parameters are NULL.
  ASSERT_EQ(c->prepare("SELECT ?, typeof(?)", &st), s);
  StatementUse use(s);
  ASSERT_EQ(s->step(), Status::kRow);
  EXPECT_EQ(s->columnType(0), ColumnType::kNull);
  EXPECT_EQ(s->columnText(1), "null");
}

TEST_F(SqliteTest, BindingOutOfRangeIsAnError) {
  auto c = open();
  Status st;
  Statement* s = c->prepare("SELECT ?", &st);
  ASSERT_NE(s, nullptr);
  StatementUse use(s);
  EXPECT_EQ(s->bindInt(2, 1), Status::kError);
  EXPECT_EQ(c->error(), "column index out of range");
}

// --- the statement cache ---------------------------------------------------------------

TEST_F(SqliteTest, TheSameTextReusesItsPreparedStatement) {
  auto c = open();
  uint64_t before = c->statementsPrepared();
  Status st;
  Statement* a = c->prepare("SELECT 1", &st);
  ASSERT_NE(a, nullptr);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(c->prepare("SELECT 1", &st), a);
    EXPECT_EQ(rowsOf(*c, "SELECT 1"), "1");
  }
  EXPECT_EQ(c->statementsPrepared(), before + 1);
  Statement* b = c->prepare("SELECT 1 ", &st);  // another text, another statement
  EXPECT_NE(b, a);
  EXPECT_EQ(c->statementsPrepared(), before + 2);
}

TEST_F(SqliteTest, TheCacheIsBoundedAndEvictsTheLeastRecentlyUsed) {
  Connection c(file(), 3);
  ASSERT_EQ(c.ready(), Status::kOk);
  // ready() ran three pragmas through the cache; start from what they left.
  Status st;
  for (const char* sql : {"SELECT 1", "SELECT 2", "SELECT 3"})
    ASSERT_NE(c.prepare(sql, &st), nullptr);
  EXPECT_EQ(c.cachedStatements(), 3u);
  uint64_t prepared = c.statementsPrepared();
  ASSERT_NE(c.prepare("SELECT 1", &st), nullptr);  // used: now the most recent
  EXPECT_EQ(c.statementsPrepared(), prepared);
  ASSERT_NE(c.prepare("SELECT 4", &st), nullptr);  // evicts SELECT 2
  EXPECT_EQ(c.cachedStatements(), 3u);
  EXPECT_EQ(c.statementsPrepared(), prepared + 1);
  ASSERT_NE(c.prepare("SELECT 1", &st), nullptr);
  ASSERT_NE(c.prepare("SELECT 3", &st), nullptr);
  ASSERT_NE(c.prepare("SELECT 4", &st), nullptr);
  EXPECT_EQ(c.statementsPrepared(), prepared + 1);  // all three still cached
  ASSERT_NE(c.prepare("SELECT 2", &st), nullptr);   // was evicted: prepared again
  EXPECT_EQ(c.statementsPrepared(), prepared + 2);
  EXPECT_EQ(c.cachedStatements(), 3u);
  EXPECT_EQ(rowsOf(c, "SELECT 2"), "2");
}

TEST_F(SqliteTest, CachedStatementsSurviveASchemaChange) {
  auto c = open();
  ASSERT_EQ(c->run("CREATE TABLE t (a)"), Status::kDone);
  ASSERT_EQ(c->run("INSERT INTO t VALUES (1)"), Status::kDone);
  EXPECT_EQ(rowsOf(*c, "SELECT * FROM t"), "1");
  ASSERT_EQ(c->run("ALTER TABLE t ADD COLUMN b DEFAULT 'x'"), Status::kDone);
  EXPECT_EQ(rowsOf(*c, "SELECT * FROM t"), "1|x");  // re-prepared by SQLite
}

// --- errors ----------------------------------------------------------------------------

TEST_F(SqliteTest, ErrorsCarrySqlitesMessage) {
  auto c = open();
  Status st;
  EXPECT_EQ(c->prepare("SELEC 1", &st), nullptr);
  EXPECT_EQ(st, Status::kError);
  EXPECT_EQ(c->error(), "near \"SELEC\": syntax error");
  EXPECT_EQ(c->prepare("SELECT * FROM nowhere", &st), nullptr);
  EXPECT_EQ(c->error(), "no such table: nowhere");
  ASSERT_EQ(c->run("CREATE TABLE u (a UNIQUE)"), Status::kDone);
  ASSERT_EQ(c->run("INSERT INTO u VALUES (1)"), Status::kDone);
  EXPECT_EQ(c->run("INSERT INTO u VALUES (1)"), Status::kError);  // at step
  EXPECT_EQ(c->error(), "UNIQUE constraint failed: u.a");
  ASSERT_EQ(c->run("CREATE TABLE child (p REFERENCES u(a))"), Status::kDone);
  EXPECT_EQ(c->run("INSERT INTO child VALUES (2)"), Status::kError);  // foreign keys are on
  EXPECT_EQ(c->error(), "FOREIGN KEY constraint failed");
  EXPECT_EQ(rowsOf(*c, "SELECT count(*) FROM u"), "1");  // the failed statement left nothing
}

TEST_F(SqliteTest, OneStatementPerText) {
  auto c = open();
  Status st;
  EXPECT_EQ(c->prepare("SELECT 1; SELECT 2", &st), nullptr);
  EXPECT_EQ(st, Status::kError);
  EXPECT_EQ(c->error(), "more than one statement in one call (run them one at a time)");
  EXPECT_EQ(c->prepare("SELECT 1; SELEC 2", &st), nullptr);
  EXPECT_EQ(c->error(), "near \"SELEC\": syntax error");
  // Trailing semicolons, whitespace and comments are fine.
  EXPECT_NE(c->prepare("SELECT 1;  ; -- done\n /* really */", &st), nullptr) << c->error();
  EXPECT_EQ(st, Status::kOk);
}

TEST_F(SqliteTest, ATextWithoutAStatementIsDone) {
  auto c = open();
  Status st;
  for (const char* sql : {"", "   ", "-- only a comment", ";"}) {
    EXPECT_EQ(c->prepare(sql, &st), nullptr) << sql;
    EXPECT_EQ(st, Status::kDone) << sql;
    EXPECT_EQ(c->run(sql), Status::kDone) << sql;
  }
}

// --- changes and transactions ----------------------------------------------------------

TEST_F(SqliteTest, ChangesAndTransactions) {
  auto c = open();
  ASSERT_EQ(c->run("CREATE TABLE t (a)"), Status::kDone);
  int64_t total = c->totalChanges();
  ASSERT_EQ(c->run("INSERT INTO t VALUES (1), (2), (3)"), Status::kDone);
  EXPECT_EQ(c->changes(), 3);
  EXPECT_EQ(c->totalChanges(), total + 3);
  EXPECT_FALSE(c->inTransaction());
  ASSERT_EQ(c->run("BEGIN IMMEDIATE"), Status::kDone);
  EXPECT_TRUE(c->inTransaction());
  ASSERT_EQ(c->run("DELETE FROM t WHERE a > 1"), Status::kDone);
  EXPECT_EQ(c->changes(), 2);
  ASSERT_EQ(c->run("ROLLBACK"), Status::kDone);
  EXPECT_FALSE(c->inTransaction());
  EXPECT_EQ(rowsOf(*c, "SELECT count(*) FROM t"), "3");
}

// --- locks -------------------------------------------------------------------------------

TEST_F(SqliteTest, AWriteLockHeldElsewhereIsBusyAtOnceAndReadsGoOn) {
  auto a = open();
  auto b = open();
  ASSERT_EQ(a->run("CREATE TABLE t (a)"), Status::kDone);
  ASSERT_EQ(a->run("INSERT INTO t VALUES (1)"), Status::kDone);
  ASSERT_EQ(a->run("BEGIN IMMEDIATE"), Status::kDone);
  ASSERT_EQ(a->run("INSERT INTO t VALUES (2)"), Status::kDone);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(b->run("INSERT INTO t VALUES (3)"), Status::kBusy);
  EXPECT_EQ(b->run("BEGIN IMMEDIATE"), Status::kBusy);
  EXPECT_FALSE(b->inTransaction());
  // No busy timeout: the answer does not wait for the lock (generous bound).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  // WAL: the reader sees the last commit while the writer goes on.
  EXPECT_EQ(rowsOf(*b, "SELECT count(*) FROM t"), "1");
  ASSERT_EQ(a->run("COMMIT"), Status::kDone);
  // The busy statement was reset: the same cached statement runs now.
  EXPECT_EQ(b->run("INSERT INTO t VALUES (3)"), Status::kDone) << b->error();
  EXPECT_EQ(rowsOf(*b, "SELECT group_concat(a) FROM t"), "1,2,3");
}

TEST_F(SqliteTest, ConfiguringMeetsAnExclusiveLockAsBusy) {
  auto a = open();
  ASSERT_EQ(a->run("PRAGMA locking_mode=EXCLUSIVE"), Status::kDone);
  ASSERT_EQ(a->run("BEGIN EXCLUSIVE"), Status::kDone);
  Connection b(file());
  EXPECT_EQ(b.ready(), Status::kBusy);
  EXPECT_FALSE(b.isReady());
  EXPECT_FALSE(b.openFailed());
  ASSERT_EQ(a->run("COMMIT"), Status::kDone);
  a.reset();  // an exclusive-mode connection keeps its lock until closed
  EXPECT_EQ(b.ready(), Status::kOk) << b.error();
}

}  // namespace
}  // namespace rover::db
