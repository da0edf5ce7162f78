// The process-wide token buckets behind rate limiting (server-features.md §15a).
// One RateLimiter serves every worker thread: a bucket per (rule, key) holds
// `capacity` tokens and refills continuously over `window_secs`, so a limit
// holds whatever worker a connection lands on. Sharded by hash of (rule id,
// key); each take() is one short critical section on one shard, never a
// syscall. The limiter owns copies of the keys; the views passed to take()
// need only live for the call.
//
// Memory is bounded: at most max_buckets buckets, split over the shards; a new
// bucket in a full shard replaces that shard's least recently used one, and a
// bucket that has refilled to full (the same as an absent one) is dropped when
// it reaches the tail of its shard's LRU list.
//
// Arithmetic is exact integers: time in milliseconds, a token is window_ms
// units and a millisecond refills capacity units, so "after window/capacity
// seconds, one more token" holds to the millisecond with no float drift.
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/limits.h"

namespace rover::core {

// One configured limiter: the global one, or one scoped entry.
struct RateRule {
  uint32_t id;         // distinguishes buckets of different rules with the same key
  double capacity;     // requests_per_window; whole tokens (floored, at least 1)
  double window_secs;  // a full refill takes this long (rounded to ms, at least 1 ms)
};

struct RateDecision {
  bool allowed;
  uint32_t limit;             // capacity (RateLimit-Limit)
  uint32_t remaining;         // whole tokens left after this request (RateLimit-Remaining)
  uint32_t reset_secs;        // until the bucket is full again, rounded up (RateLimit-Reset)
  uint32_t retry_after_secs;  // !allowed: until one token is available, rounded up, >= 1; else 0
};

class RateLimiter {
 public:
  explicit RateLimiter(size_t max_buckets = kDefaultRateLimitMaxBuckets);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from the bucket of (rule.id, key) at now_ms (monotonic
  // milliseconds), creating a full bucket if there is none. A refused request
  // takes nothing. Thread-safe. A now_ms older than the bucket's last use
  // (threads racing to the lock) counts as no time passed.
  RateDecision take(const RateRule& rule, std::string_view key, uint64_t now_ms);
  // Buckets held, over all shards (tests, metrics).
  size_t size() const;

 private:
  // Identifies a bucket; `key` views the bucket's own copy (or, for a lookup,
  // the caller's key). `hash` is computed once, outside the lock.
  struct KeyRef {
    size_t hash;
    uint32_t rule_id;
    std::string_view key;
  };
  struct KeyRefHash {
    size_t operator()(const KeyRef& k) const { return k.hash; }
  };
  struct KeyRefEq {
    bool operator()(const KeyRef& a, const KeyRef& b) const {
      return a.rule_id == b.rule_id && a.key == b.key;
    }
  };
  struct Bucket {
    std::string key;
    uint32_t rule_id = 0;
    size_t hash = 0;
    uint64_t tokens = 0;      // in units: one token is window_ms units
    uint64_t last_ms = 0;     // time of the last refill
    uint64_t full_at_ms = 0;  // from then on the bucket is full (idle, evictable)
  };
  using Lru = std::list<Bucket>;  // front: most recently used
  using Index = std::unordered_map<KeyRef, Lru::iterator, KeyRefHash, KeyRefEq>;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    size_t budget = 0;
    Lru lru;
    Index index;
  };
  struct Params;
  struct Dropped;

  Bucket& findOrCreate(Shard& s, const KeyRef& ref, const Params& p, uint64_t now_ms);
  static void dropIdle(Shard& s, uint64_t now_ms, Dropped& out);
  static RateDecision draw(Bucket& b, const Params& p, uint64_t now_ms);

  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace rover::core
