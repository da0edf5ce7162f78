// The server side of the opening handshake (RFC 6455 §4.2, runtime-modules.md
// §7): checking a client's upgrade request, computing Sec-WebSocket-Accept,
// writing the 101 response head. Header views are read only during the calls,
// except HandshakeCheck::key(), which points into the caller's header value.
//
// The HTTP version is the caller's to check (an HTTP/1.0 request cannot
// upgrade, RFC 6455 §4.1); the parser has already framed the request.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace rover::ws {

enum class HandshakeStatus : uint8_t {
  kOk,                   // answer 101 (appendSwitchingProtocols)
  kNotWebSocket,         // not GET, or no `Upgrade: websocket`: a plain request
  kNoConnectionUpgrade,  // 400: Connection lacks the `upgrade` token
  kBadVersion,           // 400: Sec-WebSocket-Version missing or repeated
  kUnsupportedVersion,   // 426 with `Sec-WebSocket-Version: 13`: a version other than 13
  kBadKey,               // 400: Sec-WebSocket-Key missing, repeated or not base64 of 16 bytes
};

// 101 for kOk; 426 for kUnsupportedVersion and for kNotWebSocket (what a
// route with only a WebSocket endpoint answers, with `Upgrade: websocket`;
// elsewhere the request is routed normally); 400 for the others.
int httpStatus(HandshakeStatus status);
// A short reason, for the 400 body and the log.
std::string_view describe(HandshakeStatus status);

// Fed the request's method and then each of its header fields in turn, so
// repeated fields are seen (the first-match lookup of http::Request is not
// enough: `Connection` may come in several lines).
class HandshakeCheck {
 public:
  explicit HandshakeCheck(std::string_view method) : get_(method == "GET") {}
  void addField(std::string_view name, std::string_view value);
  HandshakeStatus status() const;
  // Sec-WebSocket-Key without surrounding whitespace (valid when status() is kOk).
  std::string_view key() const { return key_; }

 private:
  bool get_;
  bool upgrade_websocket_ = false;
  bool connection_upgrade_ = false;
  bool version_13_ = false;
  bool key_valid_ = false;
  uint8_t versions_ = 0;  // Sec-WebSocket-Version fields seen (counts to 2)
  uint8_t keys_ = 0;      // Sec-WebSocket-Key fields seen (counts to 2)
  std::string_view key_;
};

// Runs HandshakeCheck over a range of fields with `name` and `value` views,
// e.g. std::span(request.headers, request.header_count).
template <class Fields>
HandshakeStatus checkHandshake(std::string_view method, const Fields& fields,
                               std::string_view* key) {
  HandshakeCheck check(method);
  for (const auto& field : fields) check.addField(field.name, field.value);
  *key = check.key();
  return check.status();
}

inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
inline constexpr size_t kAcceptSize = 28;  // base64 of a 20-byte SHA-1

// base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2 item 5.4).
std::array<char, kAcceptSize> acceptKey(std::string_view key);

// Appends "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection and
// Sec-WebSocket-Accept for `key`, then extra_fields (whole "Name: value\r\n"
// lines, may be empty), then the empty line that ends the head.
void appendSwitchingProtocols(core::Buffer* out, std::string_view key,
                              std::string_view extra_fields = {});

}  // namespace rover::ws
