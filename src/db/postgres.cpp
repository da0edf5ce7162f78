#include "db/postgres.h"

#include "net/resolver.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>

#include "core/log.h"

namespace rover::db {
namespace {

constexpr size_t kMaxStatements = 256;  // prepared per connection; unnamed beyond
constexpr size_t kMaxPipelineDepth = 64;
constexpr uint64_t kCapRetryMs = 5;

std::mutex& capsMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, std::shared_ptr<PgCap>>& capsMap() {
  static std::map<std::string, std::shared_ptr<PgCap>> caps;
  return caps;
}

std::shared_ptr<PgCap> capFor(const std::string& conninfo, int max, bool is_default) {
  auto& caps = capsMap();
  std::lock_guard<std::mutex> lock(capsMutex());
  auto& c = caps[conninfo];
  if (!c) {
    c = std::make_shared<PgCap>();
    c->max = max;
    c->max_is_default = is_default;
  } else if (c->max_is_default) {  // a configured cap, or a later default, replaces a default
    c->max = max;
    c->max_is_default = is_default;
  }
  return c;
}

}  // namespace

std::vector<PgPoolStats> pgPoolStats() {
  std::vector<PgPoolStats> out;
  std::lock_guard<std::mutex> lock(capsMutex());
  int index = 0;
  for (const auto& [conninfo, cap] : capsMap()) {
    PgPoolStats st;
    st.index = ++index;
    if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), nullptr)) {
      for (PQconninfoOption* o = opts; o->keyword; ++o) {
        if (std::strcmp(o->keyword, "dbname") == 0 && o->val) st.database = o->val;
      }
      PQconninfoFree(opts);
    }
    st.open = cap->open.load(std::memory_order_relaxed);
    st.max = cap->max.load(std::memory_order_relaxed);
    out.push_back(std::move(st));
  }
  return out;
}

void PgCap::wakeOthers(int self) {
  std::lock_guard<std::mutex> lock(mu);
  uint64_t one = 1;
  for (int fd : wake_fds) {
    if (fd != self) (void)!::write(fd, &one, sizeof one);
  }
}

namespace {

std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "unknown error" : s;
}

// The server refused to run a prepared statement whose result columns changed
// since its Parse (ALTER TABLE under a cached `SELECT *`: "cached plan must
// not change result type"). Nothing ran; the SQL prepared again would work.
bool staleStatement(const PGresult* r) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* where = PQresultErrorField(r, PG_DIAG_SOURCE_FUNCTION);
  return state && where && std::strcmp(state, "0A000") == 0 &&
         std::strcmp(where, "RevalidateCachedQuery") == 0;
}

std::string resultError(const PGresult* r) {
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  return "db error: " + trimmed(primary ? primary : PQresultErrorMessage(r));
}

}  // namespace

void routeNotices(PGconn* conn) {
  PQsetNoticeReceiver(
      conn,
      [](void*, const PGresult* r) {
        const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
        const char* message = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        bool warning = severity && std::strcmp(severity, "WARNING") == 0;
        core::LogLevel level = warning ? core::LogLevel::kWarn : core::LogLevel::kDebug;
        if (!core::logEnabled(level)) return;
        std::string line = "postgres ";
        line += severity ? severity : "NOTICE";
        line += ": ";
        line += message ? message : trimmed(PQresultErrorMessage(r));
        core::logLine(level, line);
      },
      nullptr);
}

// One libpq connection: connecting, then ready in pipeline mode.
class PgConn {
 public:
  PgConn(PgPool* pool) : pool_(pool) {}
  ~PgConn() { close(); }

  bool start(const std::string& conninfo, std::string* error);
  bool connect(std::string* error);  // PQconnectStartParams with params_
  bool ready() const { return ready_; }
  size_t load() const { return inflight_ + queued_count_; }
  bool exclusive = false;     // leased for a transaction
  bool reserved = false;      // draining for a waiting lease: takes no new queries
  PgLease* holder = nullptr;  // the lease, while exclusive
  bool broken() const { return pg_ == nullptr; }

  void enqueue(PgQuery* q);
  void abandonAll(const std::string& message, std::vector<PgQuery*>* failed);

 private:
  static void onReady(net::IoWatch* w, uint32_t events);
  void watch(uint32_t events);
  void pollConnect();
  bool send(PgQuery* q);
  void flush();
  void readResults();
  void forget(const PgQuery* q);
  void connectFailed(const std::string& message);
  void fail(const std::string& message);

 public:
  void close();

 private:
  PgPool* pool_;
  PGconn* pg_ = nullptr;
  net::IoWatch* watch_ = nullptr;
  int fd_ = -1;
  uint32_t events_ = 0;
  bool ready_ = false;
  bool starting_ = false;
  std::string start_error_;
  std::vector<std::pair<std::string, std::string>> params_;  // the parsed conninfo
  std::shared_ptr<net::Resolution> resolution_;              // while the host name is looked up
  // Sent, awaiting results (in order); queued while connecting.
  PgQuery* head_ = nullptr;
  PgQuery* tail_ = nullptr;
  size_t inflight_ = 0;
  PgQuery* queued_head_ = nullptr;
  PgQuery* queued_tail_ = nullptr;
  size_t queued_count_ = 0;
  // SQL -> its prepared statement. `parsed` once the server confirmed the
  // Parse; until then other queries of that SQL run unnamed (see send()).
  struct Statement {
    std::string name;
    bool parsed = false;
  };
  std::unordered_map<std::string, Statement> stmts_;
  uint64_t stmt_serial_ = 0;  // names are never reused (see send())
};

// A host name is looked up off the worker (net/resolver) and handed to
// libpq as `hostaddr`: PQconnectStart would block in getaddrinfo for it.
// Socket directories, numeric addresses, host lists and conninfos that set
// hostaddr themselves go to libpq as they are.
bool PgConn::start(const std::string& conninfo, std::string* error) {
  char* parse_error = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (!opts) {
    *error = "db error: connection failed: " + trimmed(parse_error ? parse_error : "out of memory");
    PQfreemem(parse_error);
    return false;
  }
  std::string host, hostaddr;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    if (std::strcmp(o->keyword, "host") == 0) host = o->val;
    if (std::strcmp(o->keyword, "hostaddr") == 0) hostaddr = o->val;
    params_.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(opts);
  if (!hostaddr.empty() || host.find(',') != std::string::npos || net::isLiteralHost(host))
    return connect(error);
  resolution_ = std::make_shared<net::Resolution>();
  resolution_->host = host;
  resolution_->data = this;
  resolution_->done = [](net::Resolution* r) {
    auto* c = static_cast<PgConn*>(r->data);
    c->resolution_.reset();
    if (!r->error.empty()) {
      c->fail("db error: connection failed: could not translate host name \"" + r->host +
              "\" to address: " + r->error);
      return;
    }
    c->params_.emplace_back("hostaddr", r->addresses.front());
    std::string error;
    if (!c->connect(&error)) c->fail(error);
  };
  net::resolveAsync(pool_->loop_, resolution_);
  return true;
}

bool PgConn::connect(std::string* error) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params_) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_ = PQconnectStartParams(keys.data(), values.data(), 0);
  if (!pg_) {
    *error = "db error: connection failed: out of memory";
    return false;
  }
  if (PQstatus(pg_) == CONNECTION_BAD) {
    *error = "db error: connection failed: " + trimmed(PQerrorMessage(pg_));
    return false;
  }
  routeNotices(pg_);
  PQsetnonblocking(pg_, 1);
  starting_ = true;  // a failure in this first poll is start()'s to report
  pollConnect();
  starting_ = false;
  if (!start_error_.empty()) {
    *error = std::move(start_error_);
    return false;
  }
  return true;
}

void PgConn::connectFailed(const std::string& message) {
  if (starting_) {
    start_error_ = message;
  } else {
    fail(message);
  }
}

void PgConn::watch(uint32_t events) {
  int fd = PQsocket(pg_);
  net::Reactor& reactor = pool_->loop_->reactor();
  if (fd != fd_ && watch_) {  // libpq moved to another socket (next host)
    if (fd_ >= 0) reactor.remove(fd_);
    watch_->fd = -1;  // it may still have events in this batch (net/loop.h)
    pool_->loop_->retire(std::unique_ptr<net::IoWatch>(watch_));
    watch_ = nullptr;
  }
  if (!watch_) {
    watch_ = new net::IoWatch;
    watch_->ready = &PgConn::onReady;
    watch_->data = this;
    watch_->fd = fd;
    fd_ = fd;
    events_ = events;
    reactor.add(fd, events, watch_);
    return;
  }
  if (!ready_) {
    // Connecting, libpq may have closed its socket for the next host or
    // address and opened another under the same number: the registration
    // went with the old socket (modify fails), so it is made again.
    events_ = events;
    if (!reactor.modify(fd, events, watch_)) reactor.add(fd, events, watch_);
    return;
  }
  if (events != events_) {
    events_ = events;
    reactor.modify(fd, events, watch_);
  }
}

void PgConn::onReady(net::IoWatch* w, uint32_t events) {
  auto* c = static_cast<PgConn*>(w->data);
  if (!c->ready_) {
    c->pollConnect();
    return;
  }
  if (events & EPOLLOUT) c->flush();
  if (c->pg_ && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) c->readResults();
}

void PgConn::pollConnect() {
  switch (PQconnectPoll(pg_)) {
    case PGRES_POLLING_READING:
      watch(EPOLLIN);
      return;
    case PGRES_POLLING_WRITING:
      watch(EPOLLOUT);
      return;
    case PGRES_POLLING_OK:
      if (PQenterPipelineMode(pg_) != 1) {
        connectFailed("db error: connection failed: " + trimmed(PQerrorMessage(pg_)));
        return;
      }
      ready_ = true;
      watch(EPOLLIN);
      while (PgQuery* q = queued_head_) {
        queued_head_ = q->next;
        --queued_count_;
        q->next = nullptr;
        if (!send(q)) return;
      }
      queued_tail_ = nullptr;
      flush();
      if (pg_) pool_->connReady(this);
      return;
    default:
      connectFailed("db error: connection failed: " + trimmed(PQerrorMessage(pg_)));
  }
}

void PgConn::enqueue(PgQuery* q) {
  q->conn = this;
  q->next = nullptr;
  if (!ready_) {
    if (queued_tail_) {
      queued_tail_->next = q;
    } else {
      queued_head_ = q;
    }
    queued_tail_ = q;
    ++queued_count_;
    return;
  }
  if (send(q)) flush();
}

// Queues Parse (first use of this SQL here) + Bind/Execute + Sync in libpq's
// output buffer; flush() writes it.
bool PgConn::send(PgQuery* q) {
  int n = static_cast<int>(q->values.size());
  std::vector<const char*> values(q->values.size());
  for (size_t i = 0; i < q->values.size(); ++i)
    values[i] = q->is_null[i] ? nullptr : q->values[i].c_str();
  q->stage = 0;
  q->prepare = false;
  q->stmt.clear();
  auto it = stmts_.find(q->sql);
  int ok;
  if (it != stmts_.end() && it->second.parsed) {
    q->stmt = it->second.name;
    q->stage = 1;
    ok = PQsendQueryPrepared(pg_, q->stmt.c_str(), n, values.data(), nullptr, nullptr, 0);
  } else if (it == stmts_.end() && stmts_.size() < kMaxStatements) {
    // A serial, not the cache's size: a name whose Parse failed may still be
    // in flight, and one taken again would meet "already exists" or, worse,
    // run the other statement.
    q->stmt = "r" + std::to_string(++stmt_serial_);
    q->prepare = true;
    ok = PQsendPrepare(pg_, q->stmt.c_str(), q->sql.c_str(), n, nullptr) &&
         PQsendQueryPrepared(pg_, q->stmt.c_str(), n, values.data(), nullptr, nullptr, 0);
    stmts_.emplace(q->sql, Statement{q->stmt, false});
  } else {
    // The cache is full, or this SQL's Parse is still in flight: had we used
    // its name, a failing Parse would give us "prepared statement does not
    // exist" instead of the engine's own error for this SQL.
    q->stage = 1;
    ok = PQsendQueryParams(pg_, q->sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
  }
  ok = ok && PQpipelineSync(pg_);
  if (tail_) {
    tail_->next = q;
  } else {
    head_ = q;
  }
  tail_ = q;
  ++inflight_;
  if (!ok) {
    fail("db error: " + trimmed(PQerrorMessage(pg_)));
    return false;
  }
  return true;
}

void PgConn::flush() {
  int rc = PQflush(pg_);
  if (rc < 0) {
    fail("db error: " + trimmed(PQerrorMessage(pg_)));
    return;
  }
  watch(rc == 1 ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
}

// Per query: [Parse result, NULL,] its result(s), NULL, then PIPELINE_SYNC.
void PgConn::readResults() {
  if (!PQconsumeInput(pg_)) {
    fail("db error: " + trimmed(PQerrorMessage(pg_)));
    return;
  }
  while (PgQuery* q = head_) {
    if (PQisBusy(pg_)) break;
    PGresult* r = PQgetResult(pg_);
    if (q->stage == 0) {  // the Parse
      if (r) {
        auto it = stmts_.find(q->sql);
        bool ours = it != stmts_.end() && it->second.name == q->stmt;
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
          if (ours) it->second.parsed = true;
        } else {
          q->error = resultError(r);
          if (ours) stmts_.erase(it);
        }
        PQclear(r);
      } else {
        q->stage = 1;
      }
      continue;
    }
    if (q->stage == 1) {  // the Execute
      if (!r) {
        q->stage = 2;
        continue;
      }
      ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (q->error.empty() && !q->result) {
          q->result = r;
          continue;
        }
      } else if (q->error.empty()) {
        if (st != PGRES_PIPELINE_ABORTED && staleStatement(r)) {
          forget(q);
          // Outside a transaction the query is its own (it failed whole):
          // prepared again, it runs once more. Inside one the error aborted
          // the transaction, so it is raised.
          q->again = !exclusive && !q->retried && !q->abandoned;
        }
        if (!q->again) {
          q->error = st == PGRES_PIPELINE_ABORTED ? "db error: pipeline aborted" : resultError(r);
        }
      }
      PQclear(r);
      continue;
    }
    // stage 2: the Sync
    if (!r) continue;
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_PIPELINE_SYNC) continue;
    head_ = q->next;
    if (!head_) tail_ = nullptr;
    --inflight_;
    q->next = nullptr;
    if (q->again) {
      q->again = false;
      q->retried = true;
      if (!send(q)) return;
      flush();
      if (!pg_) return;
      continue;
    }
    q->conn = nullptr;
    pool_->complete(q);
    if (!pg_) return;  // complete() may have led to close
  }
  if (pg_ && inflight_ == 0 && queued_count_ == 0) pool_->connIdle(this);
}

// Drops q's statement from the cache (the next use prepares it again under a
// new name; the stale one stays on the server until the connection closes).
void PgConn::forget(const PgQuery* q) {
  auto it = stmts_.find(q->sql);
  if (it != stmts_.end() && it->second.name == q->stmt) stmts_.erase(it);
}

void PgConn::abandonAll(const std::string& message, std::vector<PgQuery*>* failed) {
  for (PgQuery** list : {&head_, &queued_head_}) {
    while (PgQuery* q = *list) {
      *list = q->next;
      q->next = nullptr;
      q->conn = nullptr;
      if (q->result) {
        PQclear(q->result);
        q->result = nullptr;
      }
      q->error = message;
      failed->push_back(q);
    }
  }
  tail_ = queued_tail_ = nullptr;
  inflight_ = queued_count_ = 0;
}

void PgConn::fail(const std::string& message) { pool_->connBroken(this, message); }

void PgConn::close() {
  if (resolution_) {
    resolution_->cancel();
    resolution_.reset();
  }
  if (watch_) {
    if (fd_ >= 0) pool_->loop_->reactor().remove(fd_);
    watch_->fd = -1;  // it may still have events in this batch (net/loop.h)
    pool_->loop_->retire(std::unique_ptr<net::IoWatch>(watch_));
    watch_ = nullptr;
  }
  if (pg_) {
    PQfinish(pg_);
    pg_ = nullptr;
  }
  fd_ = -1;
}

// ---------------------------------------------------------------------------

PgPool::PgPool(net::Loop* loop, std::string conninfo, int size, int max_connections,
               bool default_max)
    : loop_(loop),
      conninfo_(std::move(conninfo)),
      size_(size),
      cap_(capFor(conninfo_, max_connections, default_max)) {
  deferred_timer_.fire = &PgPool::onDeferred;
  deferred_timer_.data = this;
  retry_timer_.fire = [](net::Timer* t) { static_cast<PgPool*>(t->data)->dispatchWaiting(); };
  retry_timer_.data = this;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ >= 0) {
    wake_ = new net::IoWatch;
    wake_->ready = &PgPool::onWake;
    wake_->data = this;
    wake_->fd = wake_fd_;
    loop_->reactor().add(wake_fd_, EPOLLIN, wake_);
    std::lock_guard<std::mutex> lock(cap_->mu);
    cap_->wake_fds.push_back(wake_fd_);
  }
}

PgPool::~PgPool() {
  loop_->disarm(&deferred_timer_);
  loop_->disarm(&retry_timer_);
  if (starving_) cap_->starving.fetch_sub(1);
  if (wake_) {
    {
      std::lock_guard<std::mutex> lock(cap_->mu);
      auto& fds = cap_->wake_fds;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i] == wake_fd_) {
          fds.erase(fds.begin() + static_cast<long>(i));
          break;
        }
      }
    }
    loop_->reactor().remove(wake_fd_);
    wake_->fd = -1;
    loop_->retire(std::unique_ptr<net::IoWatch>(wake_));
    ::close(wake_fd_);
  }
  for (auto& c : conns_) {
    std::vector<PgQuery*> dropped;
    c->abandonAll("", &dropped);
    for (PgQuery* q : dropped) delete q;
    c.reset();
    cap_->open.fetch_sub(1);
  }
  for (PgQuery* q : deferred_) delete q;
  while (PgQuery* q = wait_head_) {
    wait_head_ = q->next;
    delete q;
  }
}

bool PgPool::mayOpen() const {
  return static_cast<int>(conns_.size()) < size_ && cap_->open.load() < cap_->max;
}

// A failure at once (an invalid conninfo, a socket that does not exist) is
// left in open_error_ and handled by connBroken, which never opens another
// connection itself (that would recurse).
PgConn* PgPool::openConn() {
  if (cap_->open.fetch_add(1) >= cap_->max) {
    cap_->open.fetch_sub(1);
    return nullptr;
  }
  auto c = std::make_unique<PgConn>(this);
  std::string error;
  PgConn* raw = c.get();
  conns_.push_back(std::move(c));
  if (!raw->start(conninfo_, &error)) {
    open_error_ = error;
    connBroken(raw, error);
    return nullptr;
  }
  updateStarving();
  return raw;
}

// An idle connection, else a new one, else the least loaded one.
PgConn* PgPool::pickConn() {
  PgConn* best = nullptr;
  for (auto& c : conns_) {
    if (c->exclusive || c->reserved) continue;
    if (!best || c->load() < best->load()) best = c.get();
  }
  if (best && best->load() == 0) return best;
  if (mayOpen()) {
    if (PgConn* c = openConn()) return c;
  }
  if (best && best->load() < kMaxPipelineDepth) return best;
  return nullptr;
}

void PgPool::submit(PgQuery* q, PgLease* lease) {
  q->abandoned = false;
  if (lease) {
    if (!lease->conn) {
      q->error = "db error: transaction is over";
      defer(q);
      return;
    }
    lease->conn->enqueue(q);
    return;
  }
  open_error_.clear();
  PgConn* c = wait_head_ ? nullptr : pickConn();
  if (c) {
    c->enqueue(q);
    return;
  }
  if (conns_.empty() && !open_error_.empty()) {  // e.g. an invalid conninfo
    q->error = open_error_;
    defer(q);
    return;
  }
  q->next = nullptr;
  if (wait_tail_) {
    wait_tail_->next = q;
  } else {
    wait_head_ = q;
  }
  wait_tail_ = q;
  updateStarving();
}

void PgPool::cancel(PgQuery* q) {
  // Still waiting for a connection: drop it.
  for (PgQuery** p = &wait_head_; *p; p = &(*p)->next) {
    if (*p == q) {
      *p = q->next;
      if (wait_tail_ == q) {
        wait_tail_ = nullptr;
        for (PgQuery* x = wait_head_; x; x = x->next) wait_tail_ = x;
      }
      delete q;
      updateStarving();
      return;
    }
  }
  for (size_t i = 0; i < deferred_.size(); ++i) {
    if (deferred_[i] == q) {
      deferred_.erase(deferred_.begin() + static_cast<long>(i));
      delete q;
      return;
    }
  }
  q->abandoned = true;  // on a connection: its results are read, then dropped
}

void PgPool::complete(PgQuery* q) {
  if (!q->abandoned && q->done) q->done(q);
  if (q->result) PQclear(q->result);
  delete q;
}

void PgPool::defer(PgQuery* q) {
  deferred_.push_back(q);
  if (!deferred_timer_.armed()) loop_->armAfter(&deferred_timer_, 0);
}

void PgPool::deferLease(PgLease* l) {
  deferred_leases_.push_back(l);
  if (!deferred_timer_.armed()) loop_->armAfter(&deferred_timer_, 0);
}

void PgPool::onDeferred(net::Timer* t) {
  auto* p = static_cast<PgPool*>(t->data);
  std::vector<PgQuery*> qs;
  qs.swap(p->deferred_);
  std::vector<PgLease*> ls;
  ls.swap(p->deferred_leases_);
  p->graveyard_.clear();
  for (PgQuery* q : qs) p->complete(q);
  for (PgLease* l : ls) {
    l->waiting = false;
    l->ready(l);
  }
}

void PgPool::lease(PgLease* l) {
  l->conn = nullptr;
  l->error.clear();
  for (auto& c : conns_) {
    if (!c->exclusive && !c->reserved && c->ready() && c->load() == 0) {
      c->exclusive = true;
      c->holder = l;
      l->conn = c.get();
      l->waiting = true;
      deferLease(l);
      return;
    }
  }
  l->next = nullptr;
  l->waiting = true;
  if (lease_tail_) {
    lease_tail_->next = l;
  } else {
    lease_head_ = l;
  }
  lease_tail_ = l;
  reserveForLeases();
  updateStarving();  // no connection at all: wait for the cap (retry timer)
}

// Each waiting lease gets a connection opened for it while the pool and the
// cap allow; past that, one of ours drains for them (it takes no new
// queries) and goes to the first once idle. A connection failing at once
// fails the waiting leases when no connection of ours is left (connBroken).
void PgPool::reserveForLeases() {
  size_t waiting = 0, reserved = 0;
  for (PgLease* l = lease_head_; l; l = l->next) ++waiting;
  for (auto& c : conns_) reserved += c->reserved ? 1 : 0;
  while (reserved < waiting && mayOpen()) {
    open_error_.clear();
    PgConn* c = openConn();
    if (!c) return;
    c->reserved = true;
    ++reserved;
  }
  if (reserved > 0 || waiting == 0) return;
  PgConn* drain = nullptr;
  for (auto& c : conns_) {
    if (c->exclusive) continue;
    if (!drain || c->load() < drain->load()) drain = c.get();
  }
  if (drain) drain->reserved = true;
}

void PgPool::cancelLease(PgLease* l) {
  for (size_t i = 0; i < deferred_leases_.size(); ++i) {
    if (deferred_leases_[i] == l) {
      deferred_leases_.erase(deferred_leases_.begin() + static_cast<long>(i));
      l->waiting = false;
      if (l->conn) release(l);
      return;
    }
  }
  for (PgLease** p = &lease_head_; *p; p = &(*p)->next) {
    if (*p == l) {
      *p = l->next;
      if (lease_tail_ == l) {
        lease_tail_ = nullptr;
        for (PgLease* x = lease_head_; x; x = x->next) lease_tail_ = x;
      }
      l->waiting = false;
      updateStarving();
      return;
    }
  }
}

void PgPool::release(PgLease* l) {
  PgConn* c = l->conn;
  l->conn = nullptr;
  if (!c) return;
  c->exclusive = false;
  c->holder = nullptr;
  if (c->load() == 0) connIdle(c);
}

void PgPool::discard(PgLease* l) {
  PgConn* c = l->conn;
  l->conn = nullptr;
  if (c) connBroken(c, "db error: connection dropped");
}

// A connection with nothing in flight: a waiting lease takes it first, then
// the waiting queries. Still idle while another pool starves at the cap, it
// is closed, so that pool can open one.
void PgPool::connIdle(PgConn* c) {
  if (c->exclusive) return;
  if (lease_head_ && c->ready()) {
    PgLease* l = lease_head_;
    lease_head_ = l->next;
    if (!lease_head_) lease_tail_ = nullptr;
    c->reserved = false;
    c->exclusive = true;
    c->holder = l;
    l->conn = c;
    l->waiting = false;
    l->ready(l);
    return;
  }
  c->reserved = false;
  dispatchWaiting();
  if (cap_->starving.load() > 0 && !starving_) closeIdle();
}

void PgPool::connReady(PgConn* c) {
  if (c->load() == 0) connIdle(c);
  dispatchWaiting();
}

void PgPool::dispatchWaiting() {
  reserveForLeases();  // leases that came at the cap, or lost their connection
  while (PgQuery* q = wait_head_) {
    PgConn* c = pickConn();
    if (!c) break;
    wait_head_ = q->next;
    if (!wait_head_) wait_tail_ = nullptr;
    c->enqueue(q);
  }
  updateStarving();
}

// Starving: work waits and the pool has no connection (so the cap was
// reached: it would have opened one). The retry timer polls the cap; the
// first time, the other pools are told to give their idle connections back.
void PgPool::updateStarving() {
  bool starving = conns_.empty() && (wait_head_ || lease_head_);
  if (starving && !retry_timer_.armed()) loop_->armAfter(&retry_timer_, kCapRetryMs);
  if (starving == starving_) return;
  starving_ = starving;
  if (starving) {
    cap_->starving.fetch_add(1);
    cap_->wakeOthers(wake_fd_);
  } else {
    cap_->starving.fetch_sub(1);
  }
}

// Closes the connections with nothing in flight and nobody waiting for them.
void PgPool::closeIdle() {
  for (size_t i = conns_.size(); i-- > 0;) {
    PgConn* c = conns_[i].get();
    if (c->ready() && !c->exclusive && !c->reserved && c->load() == 0) {
      c->close();
      remove(c);
    }
  }
}

void PgPool::onWake(net::IoWatch* w, uint32_t) {
  auto* p = static_cast<PgPool*>(w->data);
  uint64_t n;
  while (::read(p->wake_fd_, &n, sizeof n) > 0) {
  }
  if (p->cap_->starving.load() > 0 && !p->starving_) p->closeIdle();
}

void PgPool::failWaiting(const std::string& message) {
  while (PgQuery* q = wait_head_) {
    wait_head_ = q->next;
    q->next = nullptr;
    q->error = message;
    defer(q);
  }
  wait_tail_ = nullptr;
  while (PgLease* l = lease_head_) {
    lease_head_ = l->next;
    l->next = nullptr;
    l->conn = nullptr;
    l->error = message;
    deferLease(l);
  }
  lease_tail_ = nullptr;
  updateStarving();
}

void PgPool::connBroken(PgConn* c, const std::string& message) {
  std::vector<PgQuery*> failed;
  c->abandonAll(message, &failed);
  bool connected = c->ready();
  if (c->holder) c->holder->conn = nullptr;  // the transaction's next query fails
  c->holder = nullptr;
  c->close();
  remove(c);
  for (PgQuery* q : failed) complete(q);
  if (!connected) {
    // It never connected (the database cannot be reached, or refused us):
    // what waits for a connection fails with the reason, unless another
    // connection of ours is left to serve it once ready or idle. Opening
    // another one here would try again forever (or recurse, for a failure
    // reported at once).
    if (conns_.empty()) failWaiting(message);
    return;
  }
  // A connection that worked broke: a waiting lease or query gets another.
  dispatchWaiting();
}

void PgPool::remove(PgConn* c) {
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].get() == c) {
      conns_[i]->exclusive = false;
      graveyard_.push_back(std::move(conns_[i]));  // a member of it may still be running
      conns_.erase(conns_.begin() + static_cast<long>(i));
      cap_->open.fetch_sub(1);
      if (!deferred_timer_.armed()) loop_->armAfter(&deferred_timer_, 0);
      return;
    }
  }
}

}  // namespace rover::db
