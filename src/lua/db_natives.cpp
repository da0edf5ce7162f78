// The Lua binding of rover.db's SQLite engine (runtime-modules.md §9): the
// db_* natives prelude/db.lua builds db:query, db:exec and db:transaction on,
// over db/sqlite.
//
// Each Vm (worker) keeps one connection per database path, opened on first
// use and shared by every db object of that path in the worker. A statement
// runs to completion inside one native call, so no statement is ever left
// half-run across a suspension. The natives never wait themselves; they
// answer with one of
//   result                      (rows, a count, true)
//   nil, "db error: <message>"  (raised by db.lua at the caller's line)
//   false, kBusy                another connection holds a lock: the statement was reset
//   false, kHeld                another coroutine of this worker holds the connection
// and db.lua waits (db_wait_busy / db_wait_conn) and calls again. Both waits
// follow the recipe of lua/tasks.cpp: a Wait with a cancel hook on the
// running task, a timer on the worker's loop, lua_yield; the loop's timer
// resumes the task, and an aborted task's hook disarms and leaves the queue.
//
// Transactions: BEGIN IMMEDIATE takes the write lock up front, so a lock met
// shows at BEGIN, where trying again is harmless. From then on the
// connection belongs to the coroutine that began it; other coroutines queue
// (FIFO) until it commits or rolls back, then get it in turn. The
// transaction is a hold on its task (Task::addHold): if the task is aborted
// while it waits inside the transaction, the hold's hook rolls back and
// hands the connection on.
#include <lua.hpp>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "db/sqlite.h"
#include "lua/native.h"
#include "lua/task.h"
#include "lua/vm.h"

namespace rover::lua {
namespace {

constexpr int kBusy = 1;  // markers after `false` (also in prelude/db.lua)
constexpr int kHeld = 2;

struct Conn;

// A task's wait for the database: its retry timer after a lock (busy), or
// its place in the queue of a connection another coroutine holds.
struct DbWait : Wait {
  net::Timer timer;
  Conn* queued_on = nullptr;  // in that connection's queue
  DbWait* next_queued = nullptr;
  Conn* granted = nullptr;  // handed the connection; resumed on the loop's next timer pass
};

// A transaction, held by its task across waits.
struct TxHold : Wait {
  Conn* conn = nullptr;
};

// The worker's connection to one database file.
struct Conn {
  explicit Conn(std::string path, Vm* v) : sql(std::move(path)), vm(v) { hold.conn = this; }
  db::Connection sql;
  Vm* vm;
  // The coroutine the connection belongs to: the one whose transaction is
  // open, or the one woken from the queue, until its statement has run.
  // nullptr: free (and then nobody is queued).
  lua_State* owner = nullptr;
  Task* owner_task = nullptr;  // nullptr for a transaction begun outside a task
  bool in_tx = false;
  TxHold hold;
  DbWait* queue_head = nullptr;
  DbWait* queue_tail = nullptr;
};

// Per Vm: its connections by path and one DbWait per task slot. Lives in a
// userdata anchored in the registry, so it outlasts every task's waits
// (~Vm cancels them before lua_close collects it).
struct DbWorker {
  Vm* vm;
  std::unordered_map<std::string, std::unique_ptr<Conn>> conns;
  std::vector<std::unique_ptr<DbWait>> waits;
};

char kWorkerKey;  // registry key: its address

DbWorker* workerOf(lua_State* L) {
  return static_cast<DbWorker*>(lua_touserdata(L, lua_upvalueindex(1)));
}

// Connection handles: userdata boxes of a Conn*, with the metatable kept as
// upvalue 2 of every native that takes one.
Conn* checkConn(lua_State* L, int idx) {
  void* box = lua_touserdata(L, idx);
  if (box && lua_getmetatable(L, idx)) {
    bool ours = lua_rawequal(L, -1, lua_upvalueindex(2));
    lua_pop(L, 1);
    if (ours) return *static_cast<Conn**>(box);
  }
  luaL_argerror(L, idx, "database connection expected");
  return nullptr;
}

// --- the connection's owner and its queue ------------------------------------------

void unqueue(DbWait* w) {
  Conn* c = w->queued_on;
  for (DbWait** p = &c->queue_head; *p; p = &(*p)->next_queued) {
    if (*p == w) {
      *p = w->next_queued;
      break;
    }
  }
  c->queue_tail = nullptr;
  for (DbWait* q = c->queue_head; q; q = q->next_queued) c->queue_tail = q;
  w->queued_on = nullptr;
  w->next_queued = nullptr;
}

// The owner is done with the connection: the first in the queue gets it and
// is resumed from the loop (never from inside the owner's own call).
void handOff(Conn* c) {
  c->owner = nullptr;
  c->owner_task = nullptr;
  DbWait* w = c->queue_head;
  if (!w) return;
  c->queue_head = w->next_queued;
  if (!c->queue_head) c->queue_tail = nullptr;
  w->queued_on = nullptr;
  w->next_queued = nullptr;
  w->granted = c;
  c->owner = w->task->co;
  c->owner_task = w->task;
  net::Loop* loop = c->vm->loop();
  loop->arm(&w->timer, loop->now());
}

bool usableBy(const Conn* c, lua_State* L) { return !c->owner || c->owner == L; }

// Ends the turn of a coroutine woken from the queue once its statement has
// run, whatever the outcome (also when a Lua error unwinds the native).
class TurnEnd {
 public:
  TurnEnd(Conn* c, lua_State* L) : c_(c), L_(L) {}
  ~TurnEnd() {
    if (c_->owner == L_ && !c_->in_tx) handOff(c_);
  }
  TurnEnd(const TurnEnd&) = delete;
  TurnEnd& operator=(const TurnEnd&) = delete;

 private:
  Conn* c_;
  lua_State* L_;
};

void endTransaction(Conn* c) {
  if (c->owner_task) c->owner_task->removeHold(&c->hold);
  c->in_tx = false;
  handOff(c);
}

void rollback(Conn* c) {
  if (c->sql.inTransaction()) c->sql.run("ROLLBACK");
}

// The task was aborted inside its transaction (cancelWaits unlinked the hold).
void holdCancel(Wait* w) {
  Conn* c = static_cast<TxHold*>(w)->conn;
  rollback(c);
  c->owner_task = nullptr;
  c->in_tx = false;
  handOff(c);
}

// --- waits ---------------------------------------------------------------------------

void waitFired(net::Timer* timer) {
  auto* w = static_cast<DbWait*>(timer->data);
  if (w->queued_on) unqueue(w);  // its time is up: the retry finds the connection held
  w->granted = nullptr;
  Task* t = w->task;
  t->removeWait(w);
  t->vm->resume(t);
}

void waitCancel(Wait* base) {
  auto* w = static_cast<DbWait*>(base);
  w->task->vm->loop()->disarm(&w->timer);
  if (w->queued_on) unqueue(w);
  if (Conn* c = w->granted) {
    w->granted = nullptr;
    if (c->owner_task == w->task && !c->in_tx) handOff(c);
  }
}

DbWait* waitOf(DbWorker* dw, Task* t) {
  if (dw->waits.size() <= t->slot) dw->waits.resize(t->slot + 1);
  std::unique_ptr<DbWait>& w = dw->waits[t->slot];
  if (!w) {
    w = std::make_unique<DbWait>();
    w->cancel = waitCancel;
    w->timer.fire = waitFired;
    w->timer.data = w.get();
  }
  return w.get();
}

// Arms w's timer `ms` from now (rounded up, never shorter), registers it on
// t and yields.
int yieldFor(lua_State* L, Task* t, DbWait* w, double ms) {
  if (!(ms >= 0)) ms = 0;
  if (ms > 3.6e6) ms = 3.6e6;
  uint64_t due_ns = core::monotonicNs() + static_cast<uint64_t>(ms * 1e6);
  t->vm->loop()->arm(&w->timer, (due_ns + 999'999) / 1'000'000);
  t->addWait(w);
  return lua_yield(L, 0);
}

// db_wait_busy(ms): suspends the calling task for ms, then returns nothing;
// returns false at once where nothing can wait (outside a task).
int luaWaitBusy(lua_State* L) {
  DbWorker* dw = workerOf(L);
  double ms = luaL_checknumber(L, 1);
  Task* t = dw->vm->suspendableTask(L);
  if (!t) {
    lua_pushboolean(L, 0);
    return 1;
  }
  return yieldFor(L, t, waitOf(dw, t), ms);
}

// db_wait_conn(conn, ms): queues the calling task for the connection and
// suspends it until it is handed the connection or ms have passed; true at
// once if the connection is free, false where nothing can wait.
int luaWaitConn(lua_State* L) {
  DbWorker* dw = workerOf(L);
  Conn* c = checkConn(L, 1);
  double ms = luaL_checknumber(L, 2);
  if (usableBy(c, L)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  Task* t = dw->vm->suspendableTask(L);
  if (!t) {
    lua_pushboolean(L, 0);
    return 1;
  }
  DbWait* w = waitOf(dw, t);
  w->queued_on = c;
  w->next_queued = nullptr;
  if (c->queue_tail) {
    c->queue_tail->next_queued = w;
  } else {
    c->queue_head = w;
  }
  c->queue_tail = w;
  return yieldFor(L, t, w, ms);
}

// --- results -----------------------------------------------------------------------

int pushMarker(lua_State* L, int marker) {
  lua_pushboolean(L, 0);
  lua_pushinteger(L, marker);
  return 2;
}

int pushError(lua_State* L, std::string_view message) {
  lua_pushnil(L);
  lua_pushliteral(L, "db error: ");
  lua_pushlstring(L, message.data(), message.size());
  lua_concat(L, 2);
  return 2;
}

int pushStatus(lua_State* L, db::Status st, Conn* c) {
  if (st == db::Status::kBusy) return pushMarker(L, kBusy);
  return pushError(L, c->sql.error());
}

// Opens the connection if needed: true, or false with the result pushed.
bool ready(lua_State* L, Conn* c, int* nresults) {
  db::Status st = c->sql.ready();
  if (st == db::Status::kOk) return true;
  if (st == db::Status::kError && c->sql.openFailed()) {
    lua_pushnil(L);
    lua_pushliteral(L, "db error: connection failed: ");
    const std::string& e = c->sql.error();
    lua_pushlstring(L, e.data(), e.size());
    lua_pushliteral(L, " (");
    lua_pushlstring(L, c->sql.path().data(), c->sql.path().size());
    lua_pushliteral(L, ")");
    lua_concat(L, 5);
    *nresults = 2;
    return false;
  }
  *nresults = pushStatus(L, st, c);
  return false;
}

// Binds the Lua values at first .. first + n - 1 as parameters 1 .. n.
// Strings are bound without a copy: they stay on the stack while it runs.
bool bindParams(lua_State* L, db::Statement* s, int first, int n, int* nresults) {
  for (int i = 1; i <= n; ++i) {
    int idx = first + i - 1;
    db::Status st;
    switch (lua_type(L, idx)) {
      case LUA_TNIL:
        st = s->bindNull(i);
        break;
      case LUA_TBOOLEAN:
        st = s->bindInt(i, lua_toboolean(L, idx) ? 1 : 0);
        break;
      case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        // Integral values as INTEGER (LIMIT ? and integer keys need it).
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
            d == static_cast<double>(static_cast<int64_t>(d))) {
          st = s->bindInt(i, static_cast<int64_t>(d));
        } else {
          st = s->bindDouble(i, d);
        }
        break;
      }
      case LUA_TSTRING: {
        size_t len;
        const char* p = lua_tolstring(L, idx, &len);
        st = s->bindText(i, {p, len});
        break;
      }
      default:
        lua_pushnil(L);
        lua_pushfstring(L, "db error: cannot bind a %s", luaL_typename(L, idx));
        *nresults = 2;
        return false;
    }
    if (st != db::Status::kOk) {
      *nresults = pushError(L, "cannot bind parameter");
      return false;
    }
  }
  return true;
}

void pushColumn(lua_State* L, const db::Statement* s, int i, db::ColumnType type) {
  if (type == db::ColumnType::kInteger) {
    lua_pushnumber(L, static_cast<lua_Number>(s->columnInt(i)));
  } else if (type == db::ColumnType::kFloat) {
    lua_pushnumber(L, s->columnDouble(i));
  } else {
    std::string_view v = s->columnText(i);
    lua_pushlstring(L, v.data() ? v.data() : "", v.size());
  }
}

// Steps s to the end, pushing an array of row tables (NULL columns absent).
// The column names are pushed once, then shared by every row.
int pushRows(lua_State* L, Conn* c, db::Statement* s) {
  int ncols = s->columnCount();
  int base = lua_gettop(L);
  lua_newtable(L);
  int rows = base + 1;
  for (int i = 0; i < ncols; ++i) {
    std::string_view name = s->columnName(i);
    lua_pushlstring(L, name.data() ? name.data() : "", name.size());
  }
  int count = 0;
  for (;;) {
    db::Status st = s->step();
    if (st == db::Status::kDone) break;
    if (st != db::Status::kRow) {
      lua_settop(L, base);
      return pushStatus(L, st, c);
    }
    lua_createtable(L, 0, ncols);
    for (int i = 0; i < ncols; ++i) {
      db::ColumnType type = s->columnType(i);
      if (type == db::ColumnType::kNull) continue;
      lua_pushvalue(L, rows + 1 + i);
      pushColumn(L, s, i, type);
      lua_rawset(L, -3);
    }
    lua_rawseti(L, rows, ++count);
  }
  lua_settop(L, rows);
  return 1;
}

// Steps s to the end; pushes the rows it changed itself (sqlite3_changes
// still holds the last INSERT/UPDATE/DELETE's count after other statements:
// nothing changed means 0).
int pushChanges(lua_State* L, Conn* c, db::Statement* s) {
  int64_t before = c->sql.totalChanges();
  for (;;) {
    db::Status st = s->step();
    if (st == db::Status::kDone) break;
    if (st != db::Status::kRow) return pushStatus(L, st, c);
  }
  int64_t n = c->sql.totalChanges() == before ? 0 : c->sql.changes();
  lua_pushnumber(L, static_cast<lua_Number>(n));
  return 1;
}

// db_query(conn, sql, ...) and db_exec(conn, sql, ...).
int runStatement(lua_State* L, bool rows) {
  Conn* c = checkConn(L, 1);
  size_t len;
  const char* sql = luaL_checklstring(L, 2, &len);
  int nparams = lua_gettop(L) - 2;
  if (!usableBy(c, L)) return pushMarker(L, kHeld);
  TurnEnd turn(c, L);
  int nresults;
  if (!ready(L, c, &nresults)) return nresults;
  db::Status st;
  db::Statement* s = c->sql.prepare({sql, len}, &st);
  if (!s) {
    if (st != db::Status::kDone) return pushStatus(L, st, c);
    if (nparams > 0) return pushError(L, "parameters given for an empty statement");
    if (rows) {
      lua_newtable(L);
    } else {
      lua_pushnumber(L, 0);
    }
    return 1;
  }
  if (nparams > s->paramCount()) {
    lua_pushnil(L);
    lua_pushfstring(L, "db error: %d parameters given for %d placeholders", nparams,
                    s->paramCount());
    return 2;
  }
  luaL_checkstack(L, s->columnCount() + 8, "too many columns");
  db::StatementUse use(s);
  if (!bindParams(L, s, 3, nparams, &nresults)) return nresults;
  return rows ? pushRows(L, c, s) : pushChanges(L, c, s);
}

int luaQuery(lua_State* L) { return runStatement(L, true); }
int luaExec(lua_State* L) { return runStatement(L, false); }

// db_begin(conn): BEGIN IMMEDIATE; the connection is the caller's until
// db_commit or db_rollback.
int luaBegin(lua_State* L) {
  DbWorker* dw = workerOf(L);
  Conn* c = checkConn(L, 1);
  if (!usableBy(c, L)) return pushMarker(L, kHeld);
  TurnEnd turn(c, L);
  int nresults;
  if (!ready(L, c, &nresults)) return nresults;
  db::Status st = c->sql.run("BEGIN IMMEDIATE");
  if (st != db::Status::kDone) return pushStatus(L, st, c);
  c->owner = L;
  c->owner_task = dw->vm->suspendableTask(L);
  c->in_tx = true;
  if (c->owner_task) c->owner_task->addHold(&c->hold);
  lua_pushboolean(L, 1);
  return 1;
}

bool holdsTransaction(const Conn* c, lua_State* L) { return c->in_tx && c->owner == L; }

// db_commit(conn): true when committed; an error leaves the transaction to
// db_rollback; a lock met leaves it open for the next try.
int luaCommit(lua_State* L) {
  Conn* c = checkConn(L, 1);
  if (!holdsTransaction(c, L)) return pushError(L, "no transaction is open");
  db::Status st = c->sql.run("COMMIT");
  if (st != db::Status::kDone) return pushStatus(L, st, c);
  endTransaction(c);
  lua_pushboolean(L, 1);
  return 1;
}

int luaRollback(lua_State* L) {
  Conn* c = checkConn(L, 1);
  if (!holdsTransaction(c, L)) return 0;
  rollback(c);
  endTransaction(c);
  return 0;
}

// db_sqlite(path): the worker's connection handle for `path` (not opened yet).
int luaSqlite(lua_State* L) {
  DbWorker* dw = workerOf(L);
  size_t len;
  const char* p = luaL_checklstring(L, 1, &len);
  std::string path(p, len);
  auto it = dw->conns.find(path);
  if (it == dw->conns.end()) {
    auto conn = std::make_unique<Conn>(path, dw->vm);
    conn->hold.cancel = holdCancel;
    it = dw->conns.emplace(std::move(path), std::move(conn)).first;
  }
  auto* box = static_cast<Conn**>(lua_newuserdata(L, sizeof(Conn*)));
  *box = it->second.get();
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_setmetatable(L, -2);
  return 1;
}

int workerGc(lua_State* L) {
  static_cast<DbWorker*>(lua_touserdata(L, 1))->~DbWorker();
  return 0;
}

}  // namespace

void addDbNatives(lua_State* L, int natives, Vm* vm) {
  void* mem = lua_newuserdata(L, sizeof(DbWorker));
  new (mem) DbWorker{vm, {}, {}};
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, workerGc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  int worker = lua_gettop(L);
  lua_pushlightuserdata(L, &kWorkerKey);
  lua_pushvalue(L, worker);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_createtable(L, 0, 1);  // connection handles' metatable
  lua_pushliteral(L, "rover.db.connection");
  lua_setfield(L, -2, "__metatable");
  int conn_mt = lua_gettop(L);
  const std::pair<const char*, lua_CFunction> fns[] = {
      {"db_sqlite", native<luaSqlite>},      {"db_query", native<luaQuery>},
      {"db_exec", native<luaExec>},          {"db_begin", native<luaBegin>},
      {"db_commit", native<luaCommit>},      {"db_rollback", native<luaRollback>},
      {"db_wait_busy", native<luaWaitBusy>}, {"db_wait_conn", native<luaWaitConn>},
  };
  for (const auto& [name, fn] : fns) {
    lua_pushvalue(L, worker);
    lua_pushvalue(L, conn_mt);
    lua_pushcclosure(L, fn, 2);
    lua_setfield(L, natives, name);
  }
  lua_settop(L, worker - 1);
}

}  // namespace rover::lua
