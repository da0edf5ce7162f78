#include "core/request_id.h"

#include <cstdint>
#include <random>

namespace rover::core {
namespace {
constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

uint64_t processPrefix() {
  static const uint64_t prefix = std::random_device{}();
  return prefix;
}

void base62(uint64_t v, char* out, size_t width) {
  for (size_t i = width; i-- > 0;) {
    out[i] = kAlphabet[v % 62];
    v /= 62;
  }
}
}  // namespace

void generateRequestId(int worker_id, char* out) {
  thread_local uint64_t counter = 0;
  base62(processPrefix(), out, 5);  // 62^5 ~ 9.2e8 prefixes
  base62(static_cast<uint64_t>(worker_id), out + 5, 2);
  base62(++counter, out + 7, 9);  // 62^9 ~ 1.3e16 requests
}

}  // namespace rover::core
