#include "ws/handshake.h"

#include <openssl/sha.h>

#include <string>

namespace rover::ws {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr bool isOws(char c) { return c == ' ' || c == '\t'; }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

// A comma-separated list (RFC 9110 §5.6.1, empty elements allowed) holds the token.
bool listHasToken(std::string_view list, std::string_view lower_token) {
  while (true) {
    size_t comma = list.find(',');
    if (equalsIgnoreCase(trimOws(list.substr(0, comma)), lower_token)) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

constexpr bool isBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// base64 of 16 bytes: 22 characters and "==". The 4 unused low bits of the
// last character are not checked (RFC 4648 §3.5 lets decoders accept them).
bool isKey(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!isBase64Char(key[i])) return false;
  }
  return true;
}

void base64(const unsigned char* in, size_t size, char* out) {
  size_t i = 0;
  for (; i + 3 <= size; i += 3, out += 4) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out[0] = kBase64[v >> 18];
    out[1] = kBase64[(v >> 12) & 63];
    out[2] = kBase64[(v >> 6) & 63];
    out[3] = kBase64[v & 63];
  }
  if (i == size) return;
  uint32_t v = uint32_t{in[i]} << 16;
  if (i + 1 < size) v |= uint32_t{in[i + 1]} << 8;
  out[0] = kBase64[v >> 18];
  out[1] = kBase64[(v >> 12) & 63];
  out[2] = i + 1 < size ? kBase64[(v >> 6) & 63] : '=';
  out[3] = '=';
}

}  // namespace

int httpStatus(HandshakeStatus status) {
  switch (status) {
    case HandshakeStatus::kOk:
      return 101;
    case HandshakeStatus::kNotWebSocket:
    case HandshakeStatus::kUnsupportedVersion:
      return 426;
    default:
      return 400;
  }
}

std::string_view describe(HandshakeStatus status) {
  switch (status) {
    case HandshakeStatus::kOk:
      return "ok";
    case HandshakeStatus::kNotWebSocket:
      return "not a WebSocket upgrade request";
    case HandshakeStatus::kNoConnectionUpgrade:
      return "Connection header lacks the upgrade token";
    case HandshakeStatus::kBadVersion:
      return "missing or repeated Sec-WebSocket-Version";
    case HandshakeStatus::kUnsupportedVersion:
      return "unsupported Sec-WebSocket-Version";
    case HandshakeStatus::kBadKey:
      return "missing, repeated or malformed Sec-WebSocket-Key";
  }
  return "invalid WebSocket handshake";
}

void HandshakeCheck::addField(std::string_view name, std::string_view value) {
  // Dispatch on the length first: most fields match none of the four names.
  switch (name.size()) {
    case 7:
      if (equalsIgnoreCase(name, "upgrade") && listHasToken(value, "websocket")) {
        upgrade_websocket_ = true;
      }
      break;
    case 10:
      if (equalsIgnoreCase(name, "connection") && listHasToken(value, "upgrade")) {
        connection_upgrade_ = true;
      }
      break;
    case 17:
      if (equalsIgnoreCase(name, "sec-websocket-key")) {
        if (keys_ < 2) ++keys_;
        key_ = trimOws(value);
        key_valid_ = isKey(key_);
      }
      break;
    case 21:
      if (equalsIgnoreCase(name, "sec-websocket-version")) {
        if (versions_ < 2) ++versions_;
        version_13_ = trimOws(value) == "13";
      }
      break;
    default:
      break;
  }
}

HandshakeStatus HandshakeCheck::status() const {
  if (!get_ || !upgrade_websocket_) return HandshakeStatus::kNotWebSocket;
  if (!connection_upgrade_) return HandshakeStatus::kNoConnectionUpgrade;
  if (versions_ != 1) return HandshakeStatus::kBadVersion;
  if (!version_13_) return HandshakeStatus::kUnsupportedVersion;
  if (keys_ != 1 || !key_valid_) return HandshakeStatus::kBadKey;
  return HandshakeStatus::kOk;
}

std::array<char, kAcceptSize> acceptKey(std::string_view key) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  char joined[64];
  if (key.size() + kWebSocketGuid.size() <= sizeof joined) {
    key.copy(joined, key.size());
    kWebSocketGuid.copy(joined + key.size(), kWebSocketGuid.size());
    SHA1(reinterpret_cast<const unsigned char*>(joined), key.size() + kWebSocketGuid.size(),
         digest);
  } else {  // not a valid key (those have 24 bytes); hashed all the same
    std::string s = std::string(key) + std::string(kWebSocketGuid);
    SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  }
  std::array<char, kAcceptSize> accept;
  base64(digest, sizeof digest, accept.data());
  return accept;
}

void appendSwitchingProtocols(core::Buffer* out, std::string_view key,
                              std::string_view extra_fields) {
  std::array<char, kAcceptSize> accept = acceptKey(key);
  out->append(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out->append(accept.data(), accept.size());
  out->append("\r\n");
  out->append(extra_fields);
  out->append("\r\n");
}

}  // namespace rover::ws
