// Eight bytes at a time (SWAR): byte-class masks over a 64-bit word, shared by
// the HTTP parser (targets, header values) and the JSON string escaper. Each
// mask has the high bit set in the bytes that match; a borrow or carry only
// spreads upward from a byte that matches, so the mask is non-zero exactly
// when some byte matches and its lowest set bit (the first byte in memory on
// a little-endian machine) is exact.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace rover::core::swar {

inline constexpr uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr uint64_t kHigh = kOnes * 0x80;
// Where the lowest set bit of a mask is the first byte in memory.
inline constexpr bool kLittleEndian = std::endian::native == std::endian::little;

inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
// Bytes < n (n <= 128).
constexpr uint64_t below(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHigh; }
// Bytes > n (n < 128).
constexpr uint64_t above(uint64_t w, uint8_t n) { return ((w + kOnes * (127 - n)) | w) & kHigh; }
// Bytes == c.
constexpr uint64_t equal(uint64_t w, uint8_t c) {
  uint64_t x = w ^ (kOnes * c);
  return (x - kOnes) & ~x & kHigh;
}
// Index of the first matching byte of a non-zero mask (little-endian only).
constexpr int firstByte(uint64_t mask) { return std::countr_zero(mask) >> 3; }

}  // namespace rover::core::swar
