// The SQLite engine of rover.db (runtime-modules.md §9), free of Lua: one
// connection to a database file, its prepared-statement cache, and the bind,
// step and column helpers the Lua binding (lua/db_natives.cpp) builds on.
//
// Nothing here waits. There is no busy timeout and no busy handler: a lock
// held by another connection comes back as Status::kBusy at once, and the
// caller decides when to try again (the Lua side suspends its coroutine on
// a timer, so the worker never sleeps on a lock).
//
// Ownership: a Connection owns its sqlite3 handle and every cached
// Statement; a Statement* lives until the next prepare() on its connection
// (which may evict it) or the connection's destruction. Used by one thread
// at a time (opened with SQLITE_OPEN_NOMUTEX).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace rover::db {

inline constexpr size_t kStatementCacheSize = 128;

enum class Status : uint8_t {
  kOk,     // done (ready, prepared, bound, a statement without result)
  kRow,    // step: a row is available
  kDone,   // step: the statement has run to completion
  kBusy,   // SQLITE_BUSY / SQLITE_LOCKED: another connection holds a lock; try again later
  kError,  // Connection::error() says why
};

enum class ColumnType : uint8_t { kInteger, kFloat, kText, kBlob, kNull };

class Connection;

// One prepared statement of a connection's cache, keyed by its SQL text.
// After use, reset() (sqlite3_reset + sqlite3_clear_bindings) makes it
// ready for the next one; a Use does that on scope exit.
class Statement {
 public:
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  int paramCount() const;
  // Parameters are numbered from 1. Text is bound without a copy: its bytes
  // must stay valid until reset().
  Status bindNull(int i);
  Status bindInt(int i, int64_t v);
  Status bindDouble(int i, double v);
  Status bindText(int i, std::string_view v);
  // kRow, kDone, kBusy or kError.
  Status step();
  // Columns are numbered from 0; names and values are views valid until the
  // next step() or reset().
  int columnCount() const;
  std::string_view columnName(int i) const;
  ColumnType columnType(int i) const;
  int64_t columnInt(int i) const;
  double columnDouble(int i) const;
  std::string_view columnText(int i) const;  // TEXT and BLOB bytes
  void reset();
  const std::string& sql() const { return sql_; }

 private:
  friend class Connection;
  Statement(Connection* conn, std::string sql, sqlite3_stmt* stmt);
  ~Statement();
  Status fail(int rc);

  Connection* conn_;
  std::string sql_;
  sqlite3_stmt* stmt_;
  Statement* newer_ = nullptr;  // LRU list: most recently used at the head
  Statement* older_ = nullptr;
};

// Resets a statement when the scope that used it ends, however it ends.
class StatementUse {
 public:
  explicit StatementUse(Statement* s) : s_(s) {}
  ~StatementUse() {
    if (s_) s_->reset();
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

 private:
  Statement* s_;
};

class Connection {
 public:
  explicit Connection(std::string path, size_t cache_capacity = kStatementCacheSize);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& path() const { return path_; }
  // Opens the file (once) and configures the connection: kOk, kBusy (a
  // pragma met a lock: call again later), or kError with openFailed() true
  // when the file could not be opened (nothing is kept; the next call tries
  // again).
  Status ready();
  bool isReady() const { return ready_; }
  bool openFailed() const { return open_failed_; }
  // The cached statement for `sql`, prepared on first use (the least recently
  // used one is finalized past the capacity). nullptr with *status: kDone for
  // a text without a statement (empty, only comments), kBusy, or kError (also
  // for a text holding more than one statement).
  Statement* prepare(std::string_view sql, Status* status);
  // Runs a statement that takes no parameters, ignoring its rows (BEGIN,
  // COMMIT, ROLLBACK, pragmas): kDone, kBusy or kError.
  Status run(std::string_view sql);
  // The message of the last kError (sqlite3_errmsg, or this wrapper's own).
  const std::string& error() const { return error_; }
  // Rows changed by the last completed INSERT, UPDATE or DELETE, and by all
  // since the connection opened (triggers included).
  int64_t changes() const;
  int64_t totalChanges() const;
  bool inTransaction() const;

  size_t cachedStatements() const { return cache_.size(); }
  uint64_t statementsPrepared() const { return prepared_; }

 private:
  friend class Statement;
  Status fail(int rc);
  Status failWith(std::string message);
  Status checkNothingFollows(const char* tail, const char* end);
  void close();
  void touch(Statement* s);
  void unlink(Statement* s);
  void evictOldest();

  std::string path_;
  size_t capacity_;
  sqlite3* db_ = nullptr;
  bool ready_ = false;
  bool open_failed_ = false;
  std::string error_;
  // Keys view the statements' own sql_ (stable: statements are heap objects).
  std::unordered_map<std::string_view, Statement*> cache_;
  Statement* newest_ = nullptr;
  Statement* oldest_ = nullptr;
  uint64_t prepared_ = 0;
};

}  // namespace rover::db
