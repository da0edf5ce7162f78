// PostgreSQL for rover.db (runtime-modules.md §9): a per-worker pool of
// non-blocking libpq connections driven by the worker's loop (each socket an
// IoWatch on the reactor). Connections run in libpq's pipeline mode: queries
// of different requests are sent back to back on one connection, each
// followed by its own Sync (so each is its own implicit transaction and one
// failing does not abort the others), and their results come back in order.
// Statements are prepared once per connection (named, cached by SQL text).
// A transaction leases a connection exclusively. `max_connections` caps the
// connections of the whole process for one database across workers.
//
// Ownership: PgPool::newQuery makes a query; from submit() the pool owns it
// and frees it after done() returned (or, once cancelled, after its results
// were read and discarded). done() and PgLease::ready() run from the loop,
// never inside submit() or lease(). One pool per worker thread.
#pragma once
#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/loop.h"

namespace rover::db {

class PgConn;
class PgPool;

struct PgQuery {
  std::string sql;                  // with $1.. placeholders
  std::vector<std::string> values;  // text form of each parameter
  std::vector<char> is_null;        // parallel to values

  // In done(): the result (cleared by the pool after done() returns) or the
  // whole error message ("db error: ...").
  PGresult* result = nullptr;
  std::string error;
  void (*done)(PgQuery*) = nullptr;
  void* data = nullptr;

  // The pool's.
  PgConn* conn = nullptr;
  PgQuery* next = nullptr;
  std::string stmt;  // the prepared statement's name, "" for an unnamed one
  uint8_t stage = 0;
  bool prepare = false;  // a Parse for `stmt` goes first
  bool abandoned = false;
  bool again = false;  // sent once more after its Sync (a stale prepared statement)
  bool retried = false;
};

// A connection held by one coroutine for a transaction: no other query is
// pipelined onto it until release().
struct PgLease {
  PgConn* conn = nullptr;
  std::string error;  // in ready(), when no connection could be had
  void (*ready)(PgLease*) = nullptr;
  void* data = nullptr;
  PgLease* next = nullptr;  // the pool's wait list
  bool waiting = false;
};

// Process-wide, per database (conninfo): the open connections and the cap.
// A pool with work waiting and no connection at the cap is "starving": the
// other pools give their idle connections back (woken through their eventfd),
// since a pool's connections never leave it otherwise.
struct PgCap {
  std::atomic<int> open{0};
  std::atomic<int> max{0};
  bool max_is_default = true;  // pool x workers, not configured (guarded by capFor's lock)
  std::atomic<int> starving{0};
  std::mutex mu;              // guards wake_fds
  std::vector<int> wake_fds;  // one eventfd per pool
  void wakeOthers(int self);
};

// Sends a connection's notices (RAISE NOTICE, "already exists, skipping") to
// the log instead of libpq's default, a raw line on stderr: WARNING at WARN,
// the others at DEBUG.
void routeNotices(PGconn* conn);

// Every database's connection figures (process-wide; metrics): `index` in
// the order of the conninfo texts, `database` the dbname they name.
struct PgPoolStats {
  int index = 0;
  std::string database;
  int open = 0, max = 0;
};
std::vector<PgPoolStats> pgPoolStats();

class PgPool {
 public:
  // `size`: connections this worker may open; `max_connections`: the cap for
  // the whole process (the first pool made for a conninfo sets it).
  // `default_max`: max_connections is the default (pool x workers): worker 1
  // loads before the worker count is final, so a later pool's default wins.
  PgPool(net::Loop* loop, std::string conninfo, int size, int max_connections,
         bool default_max = false);
  ~PgPool();  // closes everything; pending done()/ready() are not called
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  PgQuery* newQuery() { return new PgQuery; }
  // Runs q (on `lease`'s connection when given). done() follows.
  void submit(PgQuery* q, PgLease* lease = nullptr);
  // done() will not be called; a query already sent is read and discarded,
  // and its connection stays usable.
  void cancel(PgQuery* q);
  // Asks for an exclusive connection; ready() follows.
  void lease(PgLease* l);
  // Withdraws a lease() whose ready() has not run yet.
  void cancelLease(PgLease* l);
  // Gives a leased connection back (its transaction must be over).
  void release(PgLease* l);
  // Drops a leased connection (its transaction state is unknown).
  void discard(PgLease* l);

  // The connections this pool holds (tests, metrics).
  size_t connections() const { return conns_.size(); }

 private:
  friend class PgConn;
  PgConn* openConn();
  PgConn* pickConn();
  void dispatchWaiting();
  void connBroken(PgConn* c, const std::string& message);
  void connReady(PgConn* c);
  void connIdle(PgConn* c);
  void reserveForLeases();
  void failWaiting(const std::string& message);
  void updateStarving();
  void closeIdle();
  static void onWake(net::IoWatch* w, uint32_t events);
  void complete(PgQuery* q);
  void defer(PgQuery* q);
  void deferLease(PgLease* l);
  static void onDeferred(net::Timer* t);
  void remove(PgConn* c);
  bool mayOpen() const;

  net::Loop* loop_;
  std::string conninfo_;
  int size_;
  std::shared_ptr<PgCap> cap_;
  std::vector<std::unique_ptr<PgConn>> conns_;
  // Queries no connection could take yet (FIFO), leases waiting (FIFO).
  PgQuery* wait_head_ = nullptr;
  PgQuery* wait_tail_ = nullptr;
  PgLease* lease_head_ = nullptr;
  PgLease* lease_tail_ = nullptr;
  // Outcomes decided inside submit()/lease(), delivered from the loop.
  std::vector<PgQuery*> deferred_;
  std::vector<PgLease*> deferred_leases_;
  net::Timer deferred_timer_;
  net::Timer retry_timer_;  // the process cap was reached with no connection of ours
  std::vector<std::unique_ptr<PgConn>> graveyard_;  // broken: freed from the loop
  std::string open_error_;                          // why the last openConn() failed at once
  bool starving_ = false;                           // counted in cap_->starving
  int wake_fd_ = -1;                                // eventfd: another pool starves
  net::IoWatch* wake_ = nullptr;
};

}  // namespace rover::db
