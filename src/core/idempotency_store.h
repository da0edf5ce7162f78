// The process-wide records behind api.idempotent (server-features.md §12):
// per key value, the request's fingerprint, whether its first request is
// still running, and the stored response (status, header fields, body).
// Shared by all workers: sharded, one short critical section per call.
// Memory is bounded: expired records are dropped when met, and past
// kIdempotencyMaxRecords the least recently stored go first.
#pragma once
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rover::core {

struct StoredResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

enum class IdempotencyState : uint8_t {
  kNew,       // no record: one is made, marked running; the caller runs the handler
  kReplay,    // same fingerprint, response stored: *stored filled
  kConflict,  // different fingerprint
  kBusy,      // same key, first request still running
};

class IdempotencyStore {
 public:
  static IdempotencyStore& instance();
  explicit IdempotencyStore(size_t max_records);

  IdempotencyState begin(std::string_view key, std::string_view fingerprint, uint64_t ttl_ms,
                         uint64_t now_ms, StoredResponse* stored);
  // The first request finished with a storable response.
  void complete(std::string_view key, StoredResponse response, uint64_t ttl_ms, uint64_t now_ms);
  // It failed (error, status >= 500, stream) or went away: the key is free again.
  void abandon(std::string_view key);
  size_t size();

 private:
  struct Record {
    std::string key;
    std::string fingerprint;
    bool running = true;
    uint64_t expires_ms = 0;
    StoredResponse response;
  };
  struct Shard {
    std::mutex mu;
    std::list<Record> lru;  // front: most recently stored
    std::unordered_map<std::string_view, std::list<Record>::iterator> index;
  };
  static constexpr size_t kShards = 16;
  Shard& shardOf(std::string_view key);
  void erase(Shard& s, std::list<Record>::iterator it);

  size_t max_per_shard_;
  Shard shards_[kShards];
};

}  // namespace rover::core
