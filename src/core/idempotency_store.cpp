#include "core/idempotency_store.h"

#include <functional>

#include "core/limits.h"

namespace rover::core {

IdempotencyStore& IdempotencyStore::instance() {
  static IdempotencyStore store(kIdempotencyMaxRecords);
  return store;
}

IdempotencyStore::IdempotencyStore(size_t max_records)
    : max_per_shard_(max_records / kShards > 0 ? max_records / kShards : 1) {}

IdempotencyStore::Shard& IdempotencyStore::shardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

void IdempotencyStore::erase(Shard& s, std::list<Record>::iterator it) {
  s.index.erase(it->key);
  s.lru.erase(it);
}

IdempotencyState IdempotencyStore::begin(std::string_view key, std::string_view fingerprint,
                                         uint64_t ttl_ms, uint64_t now_ms,
                                         StoredResponse* stored) {
  Shard& s = shardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto found = s.index.find(key);
  if (found != s.index.end()) {
    Record& r = *found->second;
    if (r.expires_ms > now_ms) {
      if (r.fingerprint != fingerprint) return IdempotencyState::kConflict;
      if (r.running) return IdempotencyState::kBusy;
      *stored = r.response;
      return IdempotencyState::kReplay;
    }
    erase(s, found->second);
  }
  // Expired records at the cold end go first, then the least recent past the cap.
  while (!s.lru.empty() && (s.lru.back().expires_ms <= now_ms || s.lru.size() >= max_per_shard_)) {
    erase(s, std::prev(s.lru.end()));
  }
  s.lru.push_front(Record{std::string(key), std::string(fingerprint), true, now_ms + ttl_ms, {}});
  s.index.emplace(s.lru.front().key, s.lru.begin());
  return IdempotencyState::kNew;
}

void IdempotencyStore::complete(std::string_view key, StoredResponse response, uint64_t ttl_ms,
                                uint64_t now_ms) {
  Shard& s = shardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto found = s.index.find(key);
  if (found == s.index.end()) return;  // evicted meanwhile
  Record& r = *found->second;
  r.running = false;
  r.expires_ms = now_ms + ttl_ms;  // ttl counts from the stored response
  r.response = std::move(response);
  s.lru.splice(s.lru.begin(), s.lru, found->second);
}

void IdempotencyStore::abandon(std::string_view key) {
  Shard& s = shardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto found = s.index.find(key);
  if (found != s.index.end() && found->second->running) erase(s, found->second);
}

size_t IdempotencyStore::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.lru.size();
  }
  return n;
}

}  // namespace rover::core
