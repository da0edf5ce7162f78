#include "core/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace rover::core {
namespace {

constexpr size_t kMaxShards = 32;
// Small budgets get fewer shards, so that a shard keeps a useful LRU (a shard
// of one bucket would drop a hot key for any newcomer that hashes next to it).
constexpr size_t kMinBucketsPerShard = 8;
// Idle tails dropped per take: more than the one bucket a take can add, so a
// flood that has passed drains.
constexpr size_t kIdleChecksPerTake = 2;
// Keeps capacity * window_ms (a full bucket, in units) far from overflow.
constexpr uint64_t kMaxFullUnits = uint64_t{1} << 62;

uint64_t ceilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

uint32_t clampSecs(uint64_t secs) {
  return secs > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(secs);
}

// splitmix64's finaliser: the shard comes from the high bits, the shard's
// hash table from the low ones, so both need every input bit.
uint64_t mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

// A rule in integer form. Config validates capacity >= 1 and window > 0; the
// clamps only keep a bad value from dividing by zero or overflowing.
struct RateLimiter::Params {
  uint64_t capacity;   // whole tokens; also the units refilled per ms
  uint64_t window_ms;  // also the units of one token
  uint64_t full;       // capacity * window_ms

  explicit Params(const RateRule& rule) {
    double cap = std::floor(rule.capacity);
    capacity = cap >= UINT32_MAX ? UINT32_MAX : cap >= 1 ? static_cast<uint64_t>(cap) : 1;
    double ms = std::round(rule.window_secs * 1000.0);
    uint64_t max_ms = kMaxFullUnits / capacity;
    window_ms = ms >= static_cast<double>(max_ms) ? max_ms
                : ms >= 1                         ? static_cast<uint64_t>(ms)
                                                  : 1;
    full = capacity * window_ms;
  }
};

// Buckets taken out under the lock and freed after it is released.
struct RateLimiter::Dropped {
  Lru buckets;
  Index::node_type entries[kIdleChecksPerTake];
  size_t count = 0;
};

RateLimiter::RateLimiter(size_t max_buckets)
    : shard_count_(std::clamp(max_buckets / kMinBucketsPerShard, size_t{1}, kMaxShards)),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
  max_buckets = std::max(max_buckets, size_t{1});
  for (size_t i = 0; i < shard_count_; ++i) {
    shards_[i].budget = max_buckets / shard_count_ + (i < max_buckets % shard_count_);
  }
}

RateDecision RateLimiter::take(const RateRule& rule, std::string_view key, uint64_t now_ms) {
  const Params p(rule);
  const KeyRef ref{static_cast<size_t>(mix(std::hash<std::string_view>{}(key) ^
                                           (uint64_t{rule.id} * 0x9e3779b97f4a7c15ULL))),
                   rule.id, key};
  Shard& s = shards_[(static_cast<uint64_t>(ref.hash) >> 40) % shard_count_];
  Dropped dropped;  // destroyed after the lock below is released
  std::lock_guard lock(s.mu);
  Bucket& b = findOrCreate(s, ref, p, now_ms);
  RateDecision d = draw(b, p, now_ms);
  dropIdle(s, now_ms, dropped);
  return d;
}

size_t RateLimiter::size() const {
  size_t n = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].lru.size();
  }
  return n;
}

RateLimiter::Bucket& RateLimiter::findOrCreate(Shard& s, const KeyRef& ref, const Params& p,
                                               uint64_t now_ms) {
  if (auto it = s.index.find(ref); it != s.index.end()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return *it->second;
  }
  Index::node_type entry;
  if (s.lru.size() >= s.budget) {
    // Full shard: the least recently used bucket and its index node become
    // the new one, so a flood of new keys allocates at most a longer key.
    Bucket& tail = s.lru.back();
    entry = s.index.extract(KeyRef{tail.hash, tail.rule_id, tail.key});
    s.lru.splice(s.lru.begin(), s.lru, std::prev(s.lru.end()));
  } else {
    s.lru.emplace_front();
  }
  Bucket& b = s.lru.front();
  b.key.assign(ref.key);
  b.rule_id = ref.rule_id;
  b.hash = ref.hash;
  b.tokens = p.full;
  b.last_ms = now_ms;
  b.full_at_ms = now_ms;
  const KeyRef own{b.hash, b.rule_id, b.key};
  if (entry) {
    entry.key() = own;
    entry.mapped() = s.lru.begin();
    s.index.insert(std::move(entry));
  } else {
    s.index.emplace(own, s.lru.begin());
  }
  return b;
}

RateDecision RateLimiter::draw(Bucket& b, const Params& p, uint64_t now_ms) {
  if (now_ms > b.last_ms) {
    uint64_t elapsed = std::min(now_ms - b.last_ms, p.window_ms);
    b.tokens += elapsed * p.capacity;
    b.last_ms = now_ms;
  }
  b.tokens = std::min(b.tokens, p.full);  // also when the rule shrank
  const uint64_t one = p.window_ms;
  const bool allowed = b.tokens >= one;
  if (allowed) b.tokens -= one;
  const uint64_t missing = p.full - b.tokens;
  const uint64_t refill_ms = ceilDiv(missing, p.capacity);
  b.full_at_ms = b.last_ms > UINT64_MAX - refill_ms ? UINT64_MAX : b.last_ms + refill_ms;
  const uint64_t units_per_sec = p.capacity * 1000;
  RateDecision d;
  d.allowed = allowed;
  d.limit = static_cast<uint32_t>(p.capacity);
  d.remaining = static_cast<uint32_t>(b.tokens / one);
  d.reset_secs = clampSecs(ceilDiv(missing, units_per_sec));
  d.retry_after_secs =
      allowed ? 0 : std::max<uint32_t>(1, clampSecs(ceilDiv(one - b.tokens, units_per_sec)));
  return d;
}

void RateLimiter::dropIdle(Shard& s, uint64_t now_ms, Dropped& out) {
  // The front is the bucket just drawn from, never idle; keep it regardless.
  while (out.count < kIdleChecksPerTake && s.lru.size() > 1 && s.lru.back().full_at_ms <= now_ms) {
    Bucket& tail = s.lru.back();
    out.entries[out.count++] = s.index.extract(KeyRef{tail.hash, tail.rule_id, tail.key});
    out.buckets.splice(out.buckets.begin(), s.lru, std::prev(s.lru.end()));
  }
}

}  // namespace rover::core
