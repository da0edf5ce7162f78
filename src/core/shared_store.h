// The process-wide store behind `rover.shared` (lua-api.md §3): string keys,
// string/number/boolean values, optional TTL. Sharded by key hash; every
// operation is one short critical section on one shard, never spanning a Lua
// call or a syscall.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace rover::core {

using SharedValue = std::variant<std::string, double, bool>;

class SharedStore {
 public:
  static SharedStore& instance();

  std::optional<SharedValue> get(std::string_view key);
  // ttl_s <= 0: no expiry.
  void set(std::string_view key, SharedValue value, double ttl_s);
  // Only if absent (or expired); returns false otherwise.
  bool add(std::string_view key, SharedValue value, double ttl_s);
  // Atomic add. A missing key starts from `init` (0 when not given).
  // Returns false (and leaves the value) when the current value is not a number.
  bool incr(std::string_view key, double by, std::optional<double> init, double* result);
  bool remove(std::string_view key);
  std::vector<std::string> keys();
  // Entries held (expired ones not yet removed included): one short lock per shard.
  size_t size();

 private:
  struct Entry {
    SharedValue value;
    uint64_t expires_ns = 0;  // 0: never
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;
  };
  static constexpr size_t kShards = 64;
  Shard& shardFor(std::string_view key);
  static bool expired(const Entry& e, uint64_t now);
  Shard shards_[kShards];
};

}  // namespace rover::core
