// The PostgreSQL natives of rover.db (runtime-modules.md §9) over
// db::PgPool. Each statement follows the one suspend/resume recipe
// (lua/tasks.cpp, STYLE.md habit 12): submit to the worker's pool, register a
// Wait whose cancel hook abandons the query (its results are read and
// dropped, the connection stays usable), yield; the loop resumes with the
// rows or the error. A transaction leases a connection exclusively; the lease
// is a hold on the task (Task::addHold), so an aborted task's transaction is
// rolled back and its connection handed on. At load time (no task to
// suspend) a statement runs on a short-lived blocking connection: startup,
// not the request path.
//
// Natives (prelude/db.lua): pg_pool(conninfo, pool, max_connections) ->
// handle; pg_query(h|tx, sql, ...) -> rows, tag | nil, message; pg_exec(h|tx,
// sql, ...) -> count, tag | nil, message (tag: the command tag, "INSERT 0 1");
// pg_tx(h) -> tx; pg_lease(tx) -> true | nil, message; pg_hold(tx, on);
// pg_release(tx, broken).
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>
#include <memory>
#include <string>

#include "db/placeholders.h"
#include "db/postgres.h"
#include "lua/native.h"
#include "lua/vm.h"

namespace rover::lua {
namespace {

constexpr const char* kPoolMeta = "rover.db.pg";
constexpr const char* kTxMeta = "rover.db.pg.tx";

// Type OIDs (pg_type.dat).
enum : Oid {
  kBool = 16,
  kBytea = 17,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kOid = 26,
  kFloat4 = 700,
  kFloat8 = 701,
  kNumeric = 1700,
};

struct PgHandle {
  Vm* vm;
  db::PgPool* pool;       // owned; nullptr without a loop (the CLI)
  std::string* conninfo;  // owned
  PGconn* blocking;       // load time and the CLI: one blocking connection
  net::Timer* closer;     // owned; closes `blocking` once the loop runs (nullptr without a loop)
};

struct PgTx;

// The transaction's hold on its task.
struct TxHold : Wait {
  PgTx* tx = nullptr;
};

struct PgTx {
  PgHandle* handle = nullptr;  // its pool outlives it (the handle is kept in the tx's uservalue)
  db::PgLease lease;
  TxHold hold;
  bool open = false;
  bool blocking = false;  // on the handle's blocking connection (no task)
};

struct QueryWait : Wait {
  db::PgQuery* q = nullptr;
  db::PgPool* pool = nullptr;
  bool rows = true;
};

struct LeaseWait : Wait {
  PgTx* tx = nullptr;
};

// Inside a handler or task, but on a coroutine of its own (coroutine.wrap in
// a handler): nothing can suspend the handler from there, and the blocking
// connection would stall the worker, so a statement raises (as rover.http).
constexpr const char* kNotInTask = "db error: rover.db must be called inside a handler or task";

bool nestedCoroutine(lua_State* L, Vm* vm) {
  Task* t = vm->currentTask();
  return t && t->co != L && vm->loop();
}

int pushError(lua_State* L, const std::string& message) {
  lua_pushnil(L);
  lua_pushlstring(L, message.data(), message.size());
  return 2;
}

// ---------------------------------------------------------------------------
// Row values (runtime-modules.md §9): numbers, booleans, bytea bytes, text.

// A numeric's text (no exponent): leading zeros and the zeros after the point
// that only fill its scale ("2.5000000000000000", what avg() of int8 gives)
// are not significant; an integer's trailing zeros count, as int8's digits do
// past 2^53.
bool significantDigitsAtMost15(const char* s) {
  const char* end = s + std::strlen(s);
  if (const char* point = std::strchr(s, '.')) {
    while (end > point + 1 && end[-1] == '0') --end;
  }
  int digits = 0;
  bool leading = true;
  for (const char* p = s; p < end; ++p) {
    if (*p < '0' || *p > '9') continue;
    if (leading && *p == '0') continue;
    leading = false;
    ++digits;
  }
  return digits <= 15;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void pushValue(lua_State* L, const PGresult* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  int len = PQgetlength(r, row, col);
  switch (PQftype(r, col)) {
    case kInt2:
    case kInt4:
    case kOid:
      lua_pushnumber(L, static_cast<lua_Number>(std::strtoll(v, nullptr, 10)));
      return;
    case kInt8: {
      long long n = std::strtoll(v, nullptr, 10);
      if (n > (1LL << 53) || n < -(1LL << 53)) {
        lua_pushlstring(L, v, static_cast<size_t>(len));
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(n));
      }
      return;
    }
    case kFloat4:
    case kFloat8:
      lua_pushnumber(L, std::strtod(v, nullptr));  // "NaN", "Infinity" included
      return;
    case kNumeric:
      if (std::strcmp(v, "NaN") != 0 && significantDigitsAtMost15(v)) {
        lua_pushnumber(L, std::strtod(v, nullptr));
      } else {
        lua_pushlstring(L, v, static_cast<size_t>(len));
      }
      return;
    case kBool:
      lua_pushboolean(L, v[0] == 't');
      return;
    case kBytea:
      if (len >= 2 && v[0] == '\\' && v[1] == 'x') {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (int i = 2; i + 1 < len; i += 2) {
          int hi = hexValue(v[i]), lo = hexValue(v[i + 1]);
          if (hi < 0 || lo < 0) break;
          luaL_addchar(&b, static_cast<char>(hi * 16 + lo));
        }
        luaL_pushresult(&b);
        return;
      }
      [[fallthrough]];
    default:
      lua_pushlstring(L, v, static_cast<size_t>(len));
  }
}

// db:exec's count: the rows a command wrote. PQcmdTuples also counts the rows
// a SELECT (or FETCH, MOVE, CREATE TABLE AS) read or moved over; those affect
// none, as SQLite's count says for the same statements.
double affectedRows(PGresult* r) {
  const char* tag = PQcmdStatus(r);
  bool writes = false;
  for (const char* verb : {"INSERT ", "UPDATE ", "DELETE ", "MERGE ", "COPY "}) {
    if (std::strncmp(tag, verb, std::strlen(verb)) == 0) writes = true;
  }
  const char* n = PQcmdTuples(r);
  return writes && n && *n ? std::strtod(n, nullptr) : 0.0;
}

// Rows as an array of tables (NULL: the key is absent), or the affected
// count; then the command tag (db.lua reads COMMIT's). Returns 2.
int pushOutcome(lua_State* L, const PGresult* r, bool rows) {
  if (!rows) {
    lua_pushnumber(L, affectedRows(const_cast<PGresult*>(r)));
    lua_pushstring(L, PQcmdStatus(const_cast<PGresult*>(r)));
    return 2;
  }
  int nrows = PQntuples(r), ncols = PQnfields(r);
  luaL_checkstack(L, ncols + 4, "too many columns");
  lua_createtable(L, nrows, 0);
  int t = lua_gettop(L);
  for (int c = 0; c < ncols; ++c) lua_pushstring(L, PQfname(r, c));
  for (int i = 0; i < nrows; ++i) {
    lua_createtable(L, 0, ncols);
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(r, i, c)) continue;
      lua_pushvalue(L, t + 1 + c);
      pushValue(L, r, i, c);
      lua_rawset(L, -3);
    }
    lua_rawseti(L, t, i + 1);
  }
  lua_settop(L, t);
  lua_pushstring(L, PQcmdStatus(const_cast<PGresult*>(r)));
  return 2;
}

// ---------------------------------------------------------------------------
// Parameters: text form; nil -> NULL; a table raises.

bool bindParams(lua_State* L, int first, int n, db::PgQuery* q, std::string* error) {
  q->values.resize(static_cast<size_t>(n));
  q->is_null.assign(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    int idx = first + i;
    std::string& out = q->values[static_cast<size_t>(i)];
    switch (lua_type(L, idx)) {
      case LUA_TNIL:
        q->is_null[static_cast<size_t>(i)] = 1;
        break;
      case LUA_TBOOLEAN:
        out = lua_toboolean(L, idx) ? "true" : "false";
        break;
      case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        char buf[32];
        // Integral values within int8 in plain digits (exact for a double):
        // "%.17g" would write 2^60 as 1.152921504606847e+18, which int8
        // parameters refuse.
        // Through int64 and to_chars, the same digits as "%.0f" without printf's
        // floating-point path (1.2% of the server's samples on bench/tfb's
        // queries=20, which binds one id per query).
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2233720368547758e18) {
          if (d == 0 && std::signbit(d)) {
            out = "-0";
            break;
          }
          auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(d));
          out.assign(buf, static_cast<size_t>(r.ptr - buf));
          break;
        } else if (std::isnan(d)) {
          std::snprintf(buf, sizeof buf, "NaN");
        } else if (std::isinf(d)) {
          std::snprintf(buf, sizeof buf, d > 0 ? "Infinity" : "-Infinity");
        } else {
          std::snprintf(buf, sizeof buf, "%.17g", d);
        }
        out = buf;
        break;
      }
      case LUA_TSTRING: {
        size_t len;
        const char* s = lua_tolstring(L, idx, &len);
        if (std::memchr(s, '\0', len)) {
          *error = "db error: cannot bind a string with a NUL byte";
          return false;
        }
        out.assign(s, len);
        break;
      }
      case LUA_TTABLE:
        *error = "db error: cannot bind a table";
        return false;
      default:
        *error = std::string("db error: cannot bind a ") + luaL_typename(L, idx);
        return false;
    }
  }
  return true;
}

bool prepareQuery(lua_State* L, int sql_idx, db::PgQuery* q, std::string* error) {
  size_t len;
  const char* sql = luaL_checklstring(L, sql_idx, &len);
  size_t count = 0;
  q->sql = db::toDollarPlaceholders({sql, len}, &count);
  int n = lua_gettop(L) - sql_idx;
  if (static_cast<size_t>(n) != count) {
    *error = "db error: " + std::to_string(n) + " parameters given for " + std::to_string(count) +
             " placeholders";
    return false;
  }
  return bindParams(L, sql_idx + 1, n, q, error);
}

// ---------------------------------------------------------------------------
// The recipe.

void queryDone(db::PgQuery* q) {
  auto* w = static_cast<QueryWait*>(q->data);
  Task* t = w->task;
  t->removeWait(w);
  lua_State* co = t->co;
  lua_settop(co, 0);
  int n = 1;
  if (!q->error.empty()) {
    lua_pushnil(co);
    lua_pushlstring(co, q->error.data(), q->error.size());
    n = 2;
  } else {
    n = pushOutcome(co, q->result, w->rows);
  }
  delete w;
  t->vm->resume(t, n);
}

void queryCancel(Wait* w) {
  auto* qw = static_cast<QueryWait*>(w);
  qw->pool->cancel(qw->q);
  delete qw;
}

// Submits and yields; the loop resumes with the outcome.
int submitAndWait(lua_State* L, Task* t, db::PgPool* pool, db::PgQuery* q, db::PgLease* lease,
                  bool rows) {
  auto* w = new QueryWait;
  w->q = q;
  w->pool = pool;
  w->rows = rows;
  w->cancel = queryCancel;
  q->done = queryDone;
  q->data = w;
  t->addWait(w);
  pool->submit(q, lease);
  return lua_yield(L, 0);
}

std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void closeBlocking(net::Timer* t) {
  auto* h = static_cast<PgHandle*>(t->data);
  if (h->blocking) PQfinish(h->blocking);
  h->blocking = nullptr;
}

// Load time and the CLI (no task to suspend, not the request path): one
// blocking connection, opened on first use, closed once the loop takes over
// (a timer due at once fires on the loop's first turn: a worker whose
// handlers never use the database must not keep a server connection, outside
// max_connections, for its whole life).
PGconn* blockingConn(PgHandle* h, std::string* error) {
  if (h->blocking && PQstatus(h->blocking) != CONNECTION_OK) {
    PQfinish(h->blocking);
    h->blocking = nullptr;
  }
  if (!h->blocking) {
    PGconn* c = PQconnectdb(h->conninfo->c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      *error = "db error: connection failed: " + trimmed(PQerrorMessage(c));
      PQfinish(c);
      return nullptr;
    }
    db::routeNotices(c);
    h->blocking = c;
    if (h->closer && !h->closer->armed()) h->vm->loop()->armAfter(h->closer, 0);
  }
  return h->blocking;
}

int runBlocking(lua_State* L, PgHandle* h, db::PgQuery* q, bool rows) {
  std::unique_ptr<db::PgQuery> owned(q);
  std::string error;
  PGconn* c = blockingConn(h, &error);
  if (!c) return pushError(L, error);
  std::vector<const char*> values(q->values.size());
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = q->is_null[i] ? nullptr : q->values[i].c_str();
  PGresult* r = PQexecParams(c, q->sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  ExecStatusType st = PQresultStatus(r);
  int n;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    n = pushOutcome(L, r, rows);
  } else {
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    n = pushError(L, std::string("db error: ") + (primary ? primary : PQerrorMessage(c)));
  }
  PQclear(r);
  return n;
}

PgHandle* checkPool(lua_State* L, int idx) {
  return static_cast<PgHandle*>(luaL_checkudata(L, idx, kPoolMeta));
}

int statement(lua_State* L, bool rows) {
  Vm* vm = upvalueVm(L);
  PgTx* tx = nullptr;
  PgHandle* h;
  if (luaL_testudata(L, 1, kTxMeta)) {
    tx = static_cast<PgTx*>(lua_touserdata(L, 1));
    if (!tx->open) return pushError(L, "db error: the transaction has ended");
    h = tx->handle;
  } else {
    h = checkPool(L, 1);
  }
  auto* q = new db::PgQuery;
  std::string error;
  if (!prepareQuery(L, 2, q, &error)) {
    delete q;
    return pushError(L, error);
  }
  Task* t = vm->suspendableTask(L);
  if (!t && nestedCoroutine(L, vm)) {
    delete q;
    return pushError(L, kNotInTask);
  }
  if (!t || !h->pool || (tx && tx->blocking)) {
    if (tx && !tx->blocking) {
      delete q;
      return pushError(L, "db error: the transaction belongs to a handler or task");
    }
    return runBlocking(L, h, q, rows);
  }
  if (h->blocking) {  // the loop runs now: the load-time connection is no longer needed
    PQfinish(h->blocking);
    h->blocking = nullptr;
  }
  return submitAndWait(L, t, h->pool, q, tx ? &tx->lease : nullptr, rows);
}

int luaPgQuery(lua_State* L) { return statement(L, true); }
int luaPgExec(lua_State* L) { return statement(L, false); }

// The task ended (aborted, or its run failed) inside the transaction: roll
// back without waiting for the answer and hand the connection on.
void holdCancel(Wait* w) {
  PgTx* tx = static_cast<TxHold*>(w)->tx;
  if (!tx->open) return;
  tx->open = false;
  if (tx->lease.conn) {
    db::PgQuery* q = tx->handle->pool->newQuery();
    q->sql = "ROLLBACK";
    tx->handle->pool->submit(q, &tx->lease);
    tx->handle->pool->cancel(q);  // nobody reads the answer
    tx->handle->pool->release(&tx->lease);
  } else if (tx->lease.waiting) {
    tx->handle->pool->cancelLease(&tx->lease);
  }
}

void leaseReady(db::PgLease* l) {
  auto* w = static_cast<LeaseWait*>(l->data);
  Task* t = w->task;
  t->removeWait(w);
  lua_State* co = t->co;
  lua_settop(co, 0);
  int n = 1;
  if (!l->conn) {
    lua_pushnil(co);
    lua_pushlstring(co, l->error.data(), l->error.size());
    n = 2;
  } else {
    lua_pushboolean(co, 1);
  }
  delete w;
  t->vm->resume(t, n);
}

void leaseCancel(Wait* w) {
  auto* lw = static_cast<LeaseWait*>(w);
  PgTx* tx = lw->tx;
  tx->handle->pool->cancelLease(&tx->lease);
  delete lw;
}

// pg_lease(tx): waits for an exclusive connection -> true | nil, message.
int luaPgLease(lua_State* L) {
  Vm* vm = upvalueVm(L);
  auto* tx = static_cast<PgTx*>(luaL_checkudata(L, 1, kTxMeta));
  Task* t = vm->suspendableTask(L);
  if (!t && nestedCoroutine(L, vm)) return pushError(L, kNotInTask);
  if (!t || !tx->handle->pool) {  // load time, the CLI: the blocking connection
    tx->blocking = true;
    lua_pushboolean(L, 1);
    return 1;
  }
  auto* w = new LeaseWait;
  w->tx = tx;
  w->cancel = leaseCancel;
  tx->lease.ready = leaseReady;
  tx->lease.data = w;
  t->addWait(w);
  tx->handle->pool->lease(&tx->lease);
  return lua_yield(L, 0);
}

// pg_tx(h) -> tx (not yet leased; db.lua leases, then sends BEGIN).
int luaPgTx(lua_State* L) {
  PgHandle* h = checkPool(L, 1);
  auto* tx = static_cast<PgTx*>(lua_newuserdata(L, sizeof(PgTx)));
  new (tx) PgTx;
  tx->handle = h;
  tx->hold.tx = tx;
  tx->hold.cancel = holdCancel;
  luaL_getmetatable(L, kTxMeta);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, 1);  // keeps the pool alive as long as the tx
  lua_setfenv(L, -2);
  return 1;
}

// pg_hold(tx, on): the transaction is open (a hold on the task) or over.
int luaPgHold(lua_State* L) {
  Vm* vm = upvalueVm(L);
  auto* tx = static_cast<PgTx*>(luaL_checkudata(L, 1, kTxMeta));
  bool on = lua_toboolean(L, 2);
  Task* t = vm->suspendableTask(L);
  if (on) {
    tx->open = true;
    if (t) t->addHold(&tx->hold);
  } else {
    if (tx->hold.task) tx->hold.task->removeHold(&tx->hold);
    tx->hold.task = nullptr;
    tx->open = false;
  }
  return 0;
}

// pg_release(tx, broken): the connection goes back (or is dropped).
int luaPgRelease(lua_State* L) {
  auto* tx = static_cast<PgTx*>(luaL_checkudata(L, 1, kTxMeta));
  if (tx->lease.conn) {
    if (lua_toboolean(L, 2)) {
      tx->handle->pool->discard(&tx->lease);
    } else {
      tx->handle->pool->release(&tx->lease);
    }
  }
  return 0;
}

int txGc(lua_State* L) {
  auto* tx = static_cast<PgTx*>(lua_touserdata(L, 1));
  if (tx->hold.task) tx->hold.task->removeHold(&tx->hold);
  if (tx->lease.conn && tx->handle->pool) tx->handle->pool->discard(&tx->lease);
  tx->~PgTx();
  return 0;
}

int luaPgPool(lua_State* L) {
  Vm* vm = upvalueVm(L);
  size_t len;
  const char* conninfo = luaL_checklstring(L, 1, &len);
  int size = static_cast<int>(luaL_checkinteger(L, 2));
  int max = static_cast<int>(luaL_checkinteger(L, 3));
  bool default_max = lua_toboolean(L, 4);
  auto* h = static_cast<PgHandle*>(lua_newuserdata(L, sizeof(PgHandle)));
  h->vm = vm;
  h->pool = nullptr;
  h->conninfo = nullptr;
  h->blocking = nullptr;
  h->closer = nullptr;
  luaL_getmetatable(L, kPoolMeta);
  lua_setmetatable(L, -2);
  h->conninfo = new std::string(conninfo, len);
  if (vm->loop()) {
    h->pool = new db::PgPool(vm->loop(), *h->conninfo, size, max, default_max);
    h->closer = new net::Timer;
    h->closer->fire = closeBlocking;
    h->closer->data = h;
  }
  return 1;
}

int poolGc(lua_State* L) {
  auto* h = static_cast<PgHandle*>(lua_touserdata(L, 1));
  delete h->pool;
  h->pool = nullptr;
  delete h->conninfo;
  h->conninfo = nullptr;
  if (h->blocking) PQfinish(h->blocking);
  h->blocking = nullptr;
  if (h->closer) {
    h->vm->loop()->disarm(h->closer);
    delete h->closer;
    h->closer = nullptr;
  }
  return 0;
}

}  // namespace

void addPgNatives(lua_State* L, int natives, Vm* vm) {
  luaL_newmetatable(L, kPoolMeta);
  lua_pushcfunction(L, native<poolGc>);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, kTxMeta);
  lua_pushcfunction(L, native<txGc>);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  const luaL_Reg fns[] = {
      {"pg_pool", native<luaPgPool>},       {"pg_query", native<luaPgQuery>},
      {"pg_exec", native<luaPgExec>},       {"pg_tx", native<luaPgTx>},
      {"pg_lease", native<luaPgLease>},     {"pg_hold", native<luaPgHold>},
      {"pg_release", native<luaPgRelease>},
  };
  for (const luaL_Reg& f : fns) {
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, f.func, 1);
    lua_setfield(L, natives, f.name);
  }
}

}  // namespace rover::lua
