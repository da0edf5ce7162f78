#include "core/shared_store.h"

#include <functional>

#include "core/clock.h"

namespace rover::core {
namespace {
// 0: never. TTLs beyond ~100 years (and inf) never expire either; the cast of
// a larger product to uint64_t would be undefined (it gave 0: expired at once).
uint64_t expiry(double ttl_s) {
  if (!(ttl_s > 0) || ttl_s > 3.0e9) return 0;
  return monotonicNs() + static_cast<uint64_t>(ttl_s * 1e9);
}
}  // namespace

SharedStore& SharedStore::instance() {
  static SharedStore store;
  return store;
}

SharedStore::Shard& SharedStore::shardFor(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

bool SharedStore::expired(const Entry& e, uint64_t now) {
  return e.expires_ns != 0 && e.expires_ns <= now;
}

std::optional<SharedValue> SharedStore::get(std::string_view key) {
  Shard& s = shardFor(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(std::string(key));
  if (it == s.map.end()) return std::nullopt;
  if (expired(it->second, monotonicNs())) {
    s.map.erase(it);
    return std::nullopt;
  }
  return it->second.value;
}

void SharedStore::set(std::string_view key, SharedValue value, double ttl_s) {
  Shard& s = shardFor(key);
  uint64_t exp = expiry(ttl_s);
  std::lock_guard lock(s.mu);
  s.map.insert_or_assign(std::string(key), Entry{std::move(value), exp});
}

bool SharedStore::add(std::string_view key, SharedValue value, double ttl_s) {
  Shard& s = shardFor(key);
  uint64_t exp = expiry(ttl_s);
  std::lock_guard lock(s.mu);
  auto [it, inserted] = s.map.try_emplace(std::string(key), Entry{value, exp});
  if (!inserted) {
    if (!expired(it->second, monotonicNs())) return false;
    it->second = Entry{std::move(value), exp};
  }
  return true;
}

bool SharedStore::incr(std::string_view key, double by, std::optional<double> init,
                       double* result) {
  Shard& s = shardFor(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(std::string(key));
  if (it == s.map.end() || expired(it->second, monotonicNs())) {
    double v = init.value_or(0) + by;
    s.map.insert_or_assign(std::string(key), Entry{v, 0});
    *result = v;
    return true;
  }
  double* cur = std::get_if<double>(&it->second.value);
  if (!cur) return false;
  *cur += by;
  *result = *cur;
  return true;
}

bool SharedStore::remove(std::string_view key) {
  Shard& s = shardFor(key);
  std::lock_guard lock(s.mu);
  return s.map.erase(std::string(key)) > 0;
}

std::vector<std::string> SharedStore::keys() {
  std::vector<std::string> out;
  uint64_t now = monotonicNs();
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    for (auto& [k, e] : s.map) {
      if (!expired(e, now)) out.push_back(k);
    }
  }
  return out;
}

size_t SharedStore::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace rover::core
