#include "core/base64url.h"

#include <cstdint>

namespace rover::core {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

void base64urlEncode(std::string_view in, std::string* out) {
  out->reserve(out->size() + (in.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                 static_cast<uint8_t>(in[i + 2]);
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  size_t rest = in.size() - i;
  if (rest == 0) return;
  uint32_t v = static_cast<uint8_t>(in[i]) << 16;
  if (rest == 2) v |= static_cast<uint8_t>(in[i + 1]) << 8;
  out->push_back(kAlphabet[v >> 18]);
  out->push_back(kAlphabet[(v >> 12) & 63]);
  if (rest == 2) out->push_back(kAlphabet[(v >> 6) & 63]);
}

bool base64urlDecode(std::string_view in, std::string* out) {
  if (in.size() % 4 == 1) return false;
  out->reserve(out->size() + in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int s = sextet(c);
    if (s < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(s);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // 2 or 4 bits left over: they must be zero (one encoding per byte string).
  return (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace rover::core
