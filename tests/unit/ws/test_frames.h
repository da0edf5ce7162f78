// Client frames for the ws tests: masked, as a browser sends them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace rover::ws::test {

inline constexpr uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 §5.7's key

// first: FIN, RSV and opcode as the first byte. Minimal length encoding.
inline std::string clientFrame(uint8_t first, std::string_view payload, const uint8_t* key = kKey) {
  std::string f(1, static_cast<char>(first));
  uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(n >> (8 * i)));
  }
  f.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  }
  return f;
}

inline std::string closePayload(uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code));
  p.append(reason);
  return p;
}

}  // namespace rover::ws::test
