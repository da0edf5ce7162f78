// Time helpers: a monotonic clock for timeouts and durations, the HTTP `Date`
// value (cached per second, per thread) and ISO timestamps for log lines.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rover::core {

// Monotonic nanoseconds.
uint64_t monotonicNs();
// "Sun, 06 Nov 1994 08:49:37 GMT", regenerated at most once per second per thread.
// The view stays valid until the next call on the same thread.
std::string_view httpDate();
// Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) into out (>= 25 bytes); returns length.
size_t formatIsoTime(char* out);

}  // namespace rover::core
