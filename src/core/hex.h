// Hex digits, shared by percent-decoding, chunk sizes, JSON \u escapes and
// the router's percent-encoding check.
#pragma once
#include <string_view>

namespace rover::core {

// Value of one hex digit (either case), or -1.
constexpr int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when s has only well-formed %XX sequences (no allocation).
constexpr bool isValidPercentEncoding(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (s.size() - i < 3 || hexValue(s[i + 1]) < 0 || hexValue(s[i + 2]) < 0) return false;
    i += 2;
  }
  return true;
}

}  // namespace rover::core
