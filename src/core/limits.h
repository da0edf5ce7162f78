// Every limit, timeout and config default of the HTTP transport and the Lua
// boundary, in one place (lua-api.md §2, §11.2, server-features.md §7,
// runtime-modules.md §6). The config validation in server.lua reads its
// defaults from here (natives.defaults, lua/vm.cpp). Tests check each boundary.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rover::core {

inline constexpr std::string_view kDefaultHost = "localhost";  // lua-api.md §2
inline constexpr int kDefaultPort = 4242;
inline constexpr std::string_view kDefaultLogLevel = "debug";
inline constexpr int kDefaultDrainTimeoutMs = 30'000;  // server-features.md §15

inline constexpr size_t kMaxTargetBytes = 16 * 1024;           // 414 beyond
inline constexpr size_t kMaxHeaderLineBytes = 16 * 1024;       // 431 beyond
inline constexpr size_t kMaxHeaderSectionBytes = 64 * 1024;    // 431 beyond (also trailers)
inline constexpr size_t kMaxHeaderCount = 100;                 // 431 beyond
inline constexpr size_t kMaxChunkLineBytes = 4 * 1024;         // 400 beyond
inline constexpr int64_t kDefaultBodySizeLimit = 1024 * 1024;  // server-features.md §7
inline constexpr size_t kMaxPendingOutputBytes = 1024 * 1024;  // stop reading beyond
inline constexpr size_t kStaticCompressMaxBytes = 1024 * 1024;  // server-features.md §10
inline constexpr size_t kSendfileSliceBytes = 1024 * 1024;     // per connection per loop turn
inline constexpr size_t kIdempotencyMaxRecords = 100'000;  // LRU beyond (server-features.md §12)
inline constexpr size_t kDefaultRateLimitMaxBuckets = 100'000;  // LRU beyond (server-features.md §15a)
// Sessions per rover.session store (option max_sessions): ~100k small sessions are tens of
// MB; past it a create evicts the least recently accessed (runtime-modules.md §3).
inline constexpr size_t kDefaultSessionMaxSessions = 100'000;

inline constexpr int kHeadTimeoutMs = 10'000;         // 408
inline constexpr int kIdleTimeoutMs = 30'000;         // silent close
inline constexpr int kBodyTimeoutMs = 10'000;         // 408 if < 1 KiB per period
inline constexpr int kOutputStallTimeoutMs = 30'000;  // close
inline constexpr int kLingerMs = 2'000;               // discard input after a rejection
inline constexpr int kHandlerTimeoutMs = 30'000;  // 500 "Handler timed out" (runtime-modules.md §6)
inline constexpr int kWsPingMs = 30'000;  // WebSocket: server ping (runtime-modules.md §7)
inline constexpr int kWsIdleMs = 60'000;  // WebSocket: close a peer silent this long

inline constexpr int kJsonEncodeMaxDepth = 64;   // lua-api.md §9.1
inline constexpr int kJsonDecodeMaxDepth = 512;  // lua-api.md §9.2

// A WebSocket connection's frames waiting to be sent: a slow receiver is
// closed with 1008 beyond (runtime-modules.md §7).
inline constexpr size_t kWsMaxSendQueueBytes = 4 * 1024 * 1024;

inline constexpr size_t kHttpClientMaxBodyBytes = 64 * 1024 * 1024;  // rover.http responses

inline constexpr size_t kReadChunkBytes = 16 * 1024;   // free space kept for one read()
inline constexpr size_t kKeepBufferBytes = 64 * 1024;  // idle buffers above this are freed

}  // namespace rover::core
