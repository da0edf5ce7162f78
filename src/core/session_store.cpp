#include "core/session_store.h"

#include <sys/random.h>

#include <cerrno>
#include <ctime>
#include <limits>
#include <thread>

namespace rover::core {
namespace {

// 128 bits from the kernel's CSPRNG as 32 lower-case hex characters. A
// syscall: always called outside the shard locks.
bool newId(std::string* id) {
  unsigned char raw[kSessionIdBytes];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  id->resize(kSessionIdLength);
  for (size_t i = 0; i < sizeof raw; ++i) {
    (*id)[2 * i] = kDigits[raw[i] >> 4];
    (*id)[2 * i + 1] = kDigits[raw[i] & 0xf];
  }
  return true;
}

}  // namespace

double SessionStore::systemClock() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

SessionStore::SessionStore(size_t max_sessions, Clock clock)
    : max_sessions_(max_sessions > 0 ? max_sessions : 1), clock_(std::move(clock)) {}

SessionStore::Shard& SessionStore::shardOf(std::string_view id) {
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

bool SessionStore::findLive(Shard& s, std::string_view id, double now, Lru::iterator* it) {
  auto found = s.index.find(id);
  if (found == s.index.end()) return false;
  if (expired(*found->second, now)) {
    erase(s, found->second);
    return false;
  }
  *it = found->second;
  return true;
}

void SessionStore::touch(Shard& s, Lru::iterator it, double now) {
  it->last_accessed = now;
  s.lru.splice(s.lru.begin(), s.lru, it);
}

void SessionStore::erase(Shard& s, Lru::iterator it) {
  s.index.erase(it->id);
  s.lru.erase(it);
  count_.fetch_sub(1, std::memory_order_relaxed);
}

// Looks at up to at_most entries from the tail (the least recently accessed
// end, where expired ones gather) and drops the expired among them.
size_t SessionStore::sweepTail(Shard& s, double now, size_t at_most) {
  size_t freed = 0;
  auto it = s.lru.end();
  for (size_t seen = 0; seen < at_most && it != s.lru.begin(); ++seen) {
    --it;
    if (!expired(*it, now)) continue;
    auto dead = it++;  // `it` moves to the next newer entry, then back on the next turn
    erase(s, dead);
    ++freed;
  }
  return freed;
}

void SessionStore::reserveSlot(double now) {
  size_t n = count_.load(std::memory_order_relaxed);
  for (;;) {
    if (n < maxSessions()) {
      if (count_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return;
      continue;
    }
    // Nothing to evict: the slots are held by creates in flight, about to insert.
    if (!evictOne(now)) std::this_thread::yield();
    n = count_.load(std::memory_order_relaxed);
  }
}

// One pass over the shards, one lock at a time: drops expired tails; when
// none was expired, evicts the least recently accessed session of the store.
bool SessionStore::evictOne(double now) {
  Shard* oldest = nullptr;
  double oldest_at = std::numeric_limits<double>::infinity();
  size_t freed = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    freed += sweepTail(s, now, kSweepWhenFull);
    if (!s.lru.empty() && s.lru.back().last_accessed < oldest_at) {
      oldest_at = s.lru.back().last_accessed;
      oldest = &s;
    }
  }
  if (freed > 0) return true;
  if (!oldest) return false;
  std::lock_guard lock(oldest->mu);
  if (oldest->lru.empty()) return false;
  erase(*oldest, std::prev(oldest->lru.end()));
  return true;
}

bool SessionStore::insertFresh(Entry e, double now, SessionSnapshot* out) {
  for (;;) {
    Shard& s = shardOf(e.id);
    {
      std::lock_guard lock(s.mu);
      if (!s.index.contains(e.id)) {
        sweepTail(s, now, kSweepPerCreate);
        out->id = e.id;
        out->data = e.data;
        out->created_at = e.created_at;
        out->last_accessed = e.last_accessed;
        out->ttl = e.ttl;
        s.lru.push_front(std::move(e));
        s.index.emplace(s.lru.front().id, s.lru.begin());
        return true;
      }
    }
    if (!newId(&e.id)) {  // a collision: one chance in 2^128 per pair of ids
      count_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
  }
}

bool SessionStore::create(double ttl_s, SessionSnapshot* out) {
  Entry e;
  if (!newId(&e.id)) return false;
  double now = clock_();
  e.created_at = now;
  e.last_accessed = now;
  e.ttl = ttl_s;
  reserveSlot(now);
  return insertFresh(std::move(e), now, out);
}

bool SessionStore::get(std::string_view id, SessionSnapshot* out) {
  double now = clock_();
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  Lru::iterator it;
  if (!findLive(s, id, now, &it)) return false;
  touch(s, it, now);
  out->id = it->id;
  out->data = it->data;
  out->created_at = it->created_at;
  out->last_accessed = it->last_accessed;
  out->ttl = it->ttl;
  return true;
}

bool SessionStore::save(std::string_view id, SessionData data, double* last_accessed) {
  double now = clock_();
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  Lru::iterator it;
  if (!findLive(s, id, now, &it)) return false;
  it->data.swap(data);  // the old data is freed after the lock is released
  touch(s, it, now);
  *last_accessed = now;
  return true;
}

bool SessionStore::refresh(std::string_view id, double* last_accessed) {
  double now = clock_();
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  Lru::iterator it;
  if (!findLive(s, id, now, &it)) return false;
  touch(s, it, now);
  *last_accessed = now;
  return true;
}

bool SessionStore::exists(std::string_view id) {
  double now = clock_();
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  Lru::iterator it;
  return findLive(s, id, now, &it);
}

bool SessionStore::remove(std::string_view id) {
  double now = clock_();
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  Lru::iterator it;
  if (!findLive(s, id, now, &it)) return false;  // an expired one is dropped all the same
  erase(s, it);
  return true;
}

bool SessionStore::regenerate(std::string_view id, SessionData data, SessionSnapshot* out) {
  Entry moved;
  if (!newId(&moved.id)) return false;
  double now = clock_();
  {
    Shard& s = shardOf(id);
    std::lock_guard lock(s.mu);
    Lru::iterator it;
    if (!findLive(s, id, now, &it)) return false;
    moved.created_at = it->created_at;
    moved.ttl = it->ttl;
    s.index.erase(it->id);
    s.lru.erase(it);  // its slot stays counted: the new entry takes it over
  }
  moved.data = std::move(data);
  moved.last_accessed = now;
  return insertFresh(std::move(moved), now, out);
}

size_t SessionStore::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.lru.size();
  }
  return n;
}

SessionStores& SessionStores::instance() {
  static SessionStores stores;
  return stores;
}

SessionStore& SessionStores::store(std::string_view cookie_name, size_t max_sessions) {
  std::lock_guard lock(mu_);
  auto found = stores_.find(std::string(cookie_name));
  if (found != stores_.end()) {
    found->second->setMaxSessions(max_sessions);
    return *found->second;
  }
  auto& slot = stores_[std::string(cookie_name)];
  slot = std::make_unique<SessionStore>(max_sessions);
  return *slot;
}

}  // namespace rover::core
