#include "db/sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace rover::db {
namespace {

bool isLock(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

constexpr std::string_view kSeveralStatements =
    "more than one statement in one call (run them one at a time)";

}  // namespace

// --- Statement ---------------------------------------------------------------------

Statement::Statement(Connection* conn, std::string sql, sqlite3_stmt* stmt)
    : conn_(conn), sql_(std::move(sql)), stmt_(stmt) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Status Statement::fail(int rc) { return conn_->fail(rc); }

int Statement::paramCount() const { return sqlite3_bind_parameter_count(stmt_); }

Status Statement::bindNull(int i) {
  int rc = sqlite3_bind_null(stmt_, i);
  return rc == SQLITE_OK ? Status::kOk : fail(rc);
}

Status Statement::bindInt(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  return rc == SQLITE_OK ? Status::kOk : fail(rc);
}

Status Statement::bindDouble(int i, double v) {
  int rc = sqlite3_bind_double(stmt_, i, v);
  return rc == SQLITE_OK ? Status::kOk : fail(rc);
}

Status Statement::bindText(int i, std::string_view v) {
  // A null pointer would bind NULL, not the empty string.
  const char* p = v.data() ? v.data() : "";
  int rc = sqlite3_bind_text64(stmt_, i, p, v.size(), SQLITE_STATIC, SQLITE_UTF8);
  return rc == SQLITE_OK ? Status::kOk : fail(rc);
}

Status Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return Status::kRow;
  if (rc == SQLITE_DONE) return Status::kDone;
  return fail(rc);
}

int Statement::columnCount() const { return sqlite3_column_count(stmt_); }

std::string_view Statement::columnName(int i) const {
  const char* name = sqlite3_column_name(stmt_, i);
  return name ? std::string_view(name) : std::string_view();
}

ColumnType Statement::columnType(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_INTEGER:
      return ColumnType::kInteger;
    case SQLITE_FLOAT:
      return ColumnType::kFloat;
    case SQLITE_TEXT:
      return ColumnType::kText;
    case SQLITE_BLOB:
      return ColumnType::kBlob;
    default:
      return ColumnType::kNull;
  }
}

int64_t Statement::columnInt(int i) const { return sqlite3_column_int64(stmt_, i); }

double Statement::columnDouble(int i) const { return sqlite3_column_double(stmt_, i); }

std::string_view Statement::columnText(int i) const {
  // The pointer first, then the size (the order sqlite3_column_bytes asks for).
  const void* p = sqlite3_column_type(stmt_, i) == SQLITE_BLOB ? sqlite3_column_blob(stmt_, i)
                                                               : sqlite3_column_text(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n))
           : std::string_view();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

// --- Connection --------------------------------------------------------------------

Connection::Connection(std::string path, size_t cache_capacity)
    : path_(std::move(path)), capacity_(cache_capacity ? cache_capacity : 1) {}

Connection::~Connection() { close(); }

void Connection::close() {
  for (auto& [sql, s] : cache_) delete s;
  cache_.clear();
  newest_ = oldest_ = nullptr;
  sqlite3_close_v2(db_);
  db_ = nullptr;
  ready_ = false;
}

Status Connection::ready() {
  if (ready_) return Status::kOk;
  open_failed_ = false;
  if (!db_) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      error_ = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      close();
      open_failed_ = true;
      return Status::kError;
    }
  }
  // WAL: readers never wait for the writer, so every worker's connection
  // reads while another writes. synchronous=NORMAL: in WAL mode a commit is
  // not synced to disk (a checkpoint is); an application crash loses
  // nothing, a power loss may lose the last commits but never corrupts the
  // file — the usual trade for one fsync less per commit.
  for (std::string_view pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    Status s = run(pragma);
    if (s == Status::kBusy) return s;  // the handle stays open; the pragmas run again
    if (s != Status::kDone) {          // not a database, a read-only place, ...
      close();
      open_failed_ = true;
      return Status::kError;
    }
  }
  ready_ = true;
  return Status::kOk;
}

Statement* Connection::prepare(std::string_view sql, Status* status) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    touch(it->second);
    *status = Status::kOk;
    return it->second;
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const char* end = sql.data() + sql.size();
  if (!db_) {
    *status = failWith("the connection is not open");
    return nullptr;
  }
  if (sql.size() > static_cast<size_t>(INT32_MAX)) {
    *status = failWith("statement too long");
    return nullptr;
  }
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) {
    *status = fail(rc);
    return nullptr;
  }
  if (!stmt) {  // nothing but whitespace and comments
    *status = Status::kDone;
    return nullptr;
  }
  if (tail && tail < end) {
    Status rest = checkNothingFollows(tail, end);
    if (rest != Status::kOk) {
      sqlite3_finalize(stmt);
      *status = rest;
      return nullptr;
    }
  }
  ++prepared_;
  auto* s = new Statement(this, std::string(sql), stmt);
  cache_.emplace(std::string_view(s->sql_), s);
  touch(s);
  if (cache_.size() > capacity_) evictOldest();
  *status = Status::kOk;
  return s;
}

// What follows the first statement: only semicolons, whitespace and
// comments may (sqlite3_prepare skips them and compiles nothing).
Status Connection::checkNothingFollows(const char* tail, const char* end) {
  sqlite3_stmt* next = nullptr;
  int rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(end - tail), &next, nullptr);
  if (rc != SQLITE_OK) return fail(rc);
  if (!next) return Status::kOk;
  sqlite3_finalize(next);
  return failWith(std::string(kSeveralStatements));
}

Status Connection::run(std::string_view sql) {
  Status st;
  Statement* s = prepare(sql, &st);
  if (!s) return st == Status::kOk ? Status::kDone : st;
  StatementUse use(s);
  for (;;) {
    st = s->step();
    if (st != Status::kRow) return st;
  }
}

int64_t Connection::changes() const { return db_ ? sqlite3_changes64(db_) : 0; }

int64_t Connection::totalChanges() const { return db_ ? sqlite3_total_changes64(db_) : 0; }

bool Connection::inTransaction() const { return db_ && !sqlite3_get_autocommit(db_); }

Status Connection::fail(int rc) {
  if (isLock(rc)) return Status::kBusy;
  error_ = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return Status::kError;
}

Status Connection::failWith(std::string message) {
  error_ = std::move(message);
  return Status::kError;
}

void Connection::touch(Statement* s) {
  if (newest_ == s) return;
  unlink(s);
  s->older_ = newest_;
  if (newest_) newest_->newer_ = s;
  newest_ = s;
  if (!oldest_) oldest_ = s;
}

void Connection::unlink(Statement* s) {
  if (s->newer_) s->newer_->older_ = s->older_;
  if (s->older_) s->older_->newer_ = s->newer_;
  if (newest_ == s) newest_ = s->older_;
  if (oldest_ == s) oldest_ = s->newer_;
  s->newer_ = s->older_ = nullptr;
}

void Connection::evictOldest() {
  Statement* s = oldest_;
  if (!s) return;
  unlink(s);
  cache_.erase(std::string_view(s->sql_));
  delete s;
}

}  // namespace rover::db
