// Generated request ids (server-features.md §3): 16 characters of 0-9A-Za-z,
// unique within the process across workers: a per-process random prefix, the
// worker id and a per-worker counter. No shared counter on the request path.
#pragma once
#include <cstddef>

namespace rover::core {

inline constexpr size_t kRequestIdLength = 16;
// Writes kRequestIdLength characters to out.
void generateRequestId(int worker_id, char* out);

}  // namespace rover::core
