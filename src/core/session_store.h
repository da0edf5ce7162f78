// The process-wide session stores behind `rover.session` (runtime-modules.md
// §3). SessionStores holds one SessionStore per cookie name, so every worker
// that opens a store with the same cookie_name sees the same sessions. A store
// is sharded by id hash; every operation is one short critical section on one
// shard (eviction visits the shards one at a time, never holding two locks),
// never spanning a Lua call or a syscall: data is copied in and out.
//
// Expiry is sliding: a session expires ttl seconds after its last access (get,
// save, refresh, regenerate). Expired sessions are dropped when met and by a
// bounded sweep on create. Memory is bounded: at most max_sessions per store;
// a create in a full store first drops expired sessions, then the least
// recently accessed one. Times are Unix seconds from the store's clock (the
// wall clock, since they are reported as Unix times: a clock step moves
// expiry with it).
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/shared_store.h"

namespace rover::core {

using SessionValue = SharedValue;  // string, number or boolean
using SessionData = std::unordered_map<std::string, SessionValue>;

inline constexpr size_t kSessionIdBytes = 16;                    // 128 random bits
inline constexpr size_t kSessionIdLength = 2 * kSessionIdBytes;  // lower-case hex

// A copy of one session, handed out of the store.
struct SessionSnapshot {
  std::string id;
  SessionData data;
  double created_at = 0;
  double last_accessed = 0;
  double ttl = 0;
};

class SessionStore {
 public:
  // Unix seconds. The default reads CLOCK_REALTIME; tests inject their own.
  using Clock = std::function<double()>;
  static double systemClock();

  explicit SessionStore(size_t max_sessions, Clock clock = systemClock);

  // A new empty session with a fresh id. False only when the system has no
  // random bytes to give (getrandom failed).
  bool create(double ttl_s, SessionSnapshot* out);
  // The live session (its last access becomes now), or false when it is
  // unknown or expired.
  bool get(std::string_view id, SessionSnapshot* out);
  // Replaces a live session's data; false (nothing written) when it is gone.
  bool save(std::string_view id, SessionData data, double* last_accessed);
  bool refresh(std::string_view id, double* last_accessed);
  // Whether a live session has this id; does not count as an access.
  bool exists(std::string_view id);
  // Removes the session; true when a live one had this id.
  bool remove(std::string_view id);
  // Moves a live session to a new id with `data`; the old id stops working.
  // Keeps created_at and ttl. False when the old session is gone.
  bool regenerate(std::string_view id, SessionData data, SessionSnapshot* out);

  size_t size();
  size_t maxSessions() const { return max_sessions_.load(std::memory_order_relaxed); }
  void setMaxSessions(size_t n) { max_sessions_.store(n > 0 ? n : 1, std::memory_order_relaxed); }
  double now() const { return clock_(); }

 private:
  struct Entry {
    std::string id;
    SessionData data;
    double created_at = 0;
    double last_accessed = 0;
    double ttl = 0;
  };
  using Lru = std::list<Entry>;  // front: most recently accessed
  struct Shard {
    std::mutex mu;
    Lru lru;
    std::unordered_map<std::string_view, Lru::iterator> index;  // views into Entry::id
  };
  static constexpr size_t kShards = 16;
  static constexpr size_t kSweepPerCreate = 2;  // tail entries checked for expiry per create
  static constexpr size_t kSweepWhenFull = 8;   // per shard, when a create finds the store full

  Shard& shardOf(std::string_view id);
  static bool expired(const Entry& e, double now) { return now >= e.last_accessed + e.ttl; }
  // Finds the live entry for id; an expired one is dropped on the way.
  bool findLive(Shard& s, std::string_view id, double now, Lru::iterator* it);
  static void touch(Shard& s, Lru::iterator it, double now);
  void erase(Shard& s, Lru::iterator it);
  size_t sweepTail(Shard& s, double now, size_t at_most);
  // Counts a slot for a new entry, evicting while the store is full.
  void reserveSlot(double now);
  bool evictOne(double now);
  // Inserts e (e.id fresh, its slot reserved); false, slot released, when
  // no random bytes are left to replace an id that collided.
  bool insertFresh(Entry e, double now, SessionSnapshot* out);

  std::atomic<size_t> max_sessions_;
  std::atomic<size_t> count_{0};  // entries plus slots reserved by creates in flight
  Clock clock_;
  Shard shards_[kShards];
};

// The stores by cookie name; a store lives as long as the process.
class SessionStores {
 public:
  static SessionStores& instance();
  // The store for cookie_name, made on first use. max_sessions applies to
  // the store from now on (the latest configuration wins, e.g. after a reload).
  SessionStore& store(std::string_view cookie_name, size_t max_sessions);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<SessionStore>> stores_;
};

}  // namespace rover::core
