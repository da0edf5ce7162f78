#include "ws/handshake.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rover::ws {
namespace {

struct Field {
  std::string_view name, value;
};

using Fields = std::vector<Field>;

// RFC 6455 §1.2's request.
const Fields kRfcRequest = {
    {"Host", "server.example.com"},   {"Upgrade", "websocket"},
    {"Connection", "Upgrade"},        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
    {"Origin", "http://example.com"}, {"Sec-WebSocket-Protocol", "chat, superchat"},
    {"Sec-WebSocket-Version", "13"},
};

HandshakeStatus check(const Fields& fields, std::string_view method = "GET") {
  std::string_view key;
  return checkHandshake(method, fields, &key);
}

// kRfcRequest with the field `name` replaced (or removed when value is null).
Fields with(std::string_view name, const char* value) {
  Fields out;
  for (const Field& f : kRfcRequest) {
    if (f.name != name) {
      out.push_back(f);
    } else if (value) {
      out.push_back({name, value});
    }
  }
  return out;
}

TEST(Handshake, RfcAcceptKey) {
  auto accept = acceptKey("dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(std::string_view(accept.data(), accept.size()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, RfcRequestIsAccepted) {
  std::string_view key;
  EXPECT_EQ(checkHandshake("GET", kRfcRequest, &key), HandshakeStatus::kOk);
  EXPECT_EQ(key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(key.data(), kRfcRequest[3].value.data());  // a view of the caller's value
  EXPECT_EQ(httpStatus(HandshakeStatus::kOk), 101);
}

TEST(Handshake, SwitchingProtocolsHead) {
  core::Buffer out;
  appendSwitchingProtocols(&out, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(out.view(),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
  out.clear();
  appendSwitchingProtocols(&out, "dGhlIHNhbXBsZSBub25jZQ==", "X-Request-Id: 7\r\n");
  EXPECT_TRUE(out.view().ends_with("xOo=\r\nX-Request-Id: 7\r\n\r\n"));
}

TEST(Handshake, NamesAndTokensAreCaseInsensitive) {
  Fields fields = {{"HOST", "h"},
                   {"upgrade", "WebSocket"},
                   {"CONNECTION", "UPGRADE"},
                   {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                   {"SEC-WEBSOCKET-VERSION", "13"}};
  EXPECT_EQ(check(fields), HandshakeStatus::kOk);
}

TEST(Handshake, ListsAndWhitespace) {
  EXPECT_EQ(check(with("Connection", "keep-alive, Upgrade")), HandshakeStatus::kOk);
  EXPECT_EQ(check(with("Connection", " , keep-alive ,\tupgrade\t")), HandshakeStatus::kOk);
  EXPECT_EQ(check(with("Upgrade", "h2c, websocket")), HandshakeStatus::kOk);
  EXPECT_EQ(check(with("Sec-WebSocket-Version", " 13 ")), HandshakeStatus::kOk);
  EXPECT_EQ(check(with("Sec-WebSocket-Key", "  dGhlIHNhbXBsZSBub25jZQ==\t")), HandshakeStatus::kOk);
  // Connection over two lines.
  Fields split = with("Connection", "keep-alive");
  split.push_back({"Connection", "Upgrade"});
  EXPECT_EQ(check(split), HandshakeStatus::kOk);
}

TEST(Handshake, PlainRequestsAreNotWebSocket) {
  EXPECT_EQ(check({{"Host", "h"}}), HandshakeStatus::kNotWebSocket);
  EXPECT_EQ(check(with("Upgrade", nullptr)), HandshakeStatus::kNotWebSocket);
  EXPECT_EQ(check(with("Upgrade", "h2c")), HandshakeStatus::kNotWebSocket);
  EXPECT_EQ(check(with("Upgrade", "websockets")), HandshakeStatus::kNotWebSocket);
  EXPECT_EQ(check(kRfcRequest, "POST"), HandshakeStatus::kNotWebSocket);
  EXPECT_EQ(check(kRfcRequest, "get"),
            HandshakeStatus::kNotWebSocket);  // methods are case-sensitive
  EXPECT_EQ(httpStatus(HandshakeStatus::kNotWebSocket), 426);
}

TEST(Handshake, MissingConnectionUpgradeIs400) {
  EXPECT_EQ(check(with("Connection", nullptr)), HandshakeStatus::kNoConnectionUpgrade);
  EXPECT_EQ(check(with("Connection", "keep-alive")), HandshakeStatus::kNoConnectionUpgrade);
  EXPECT_EQ(check(with("Connection", "upgrades")), HandshakeStatus::kNoConnectionUpgrade);
  EXPECT_EQ(httpStatus(HandshakeStatus::kNoConnectionUpgrade), 400);
}

TEST(Handshake, VersionOtherThan13Is426AndMissingIs400) {
  for (const char* v : {"8", "12", "14", "013", "13, 8", "abc", ""}) {
    EXPECT_EQ(check(with("Sec-WebSocket-Version", v)), HandshakeStatus::kUnsupportedVersion) << v;
  }
  EXPECT_EQ(httpStatus(HandshakeStatus::kUnsupportedVersion), 426);
  EXPECT_EQ(check(with("Sec-WebSocket-Version", nullptr)), HandshakeStatus::kBadVersion);
  Fields twice = kRfcRequest;
  twice.push_back({"Sec-WebSocket-Version", "13"});
  EXPECT_EQ(check(twice), HandshakeStatus::kBadVersion);
  EXPECT_EQ(httpStatus(HandshakeStatus::kBadVersion), 400);
}

TEST(Handshake, KeyMustBeBase64Of16Bytes) {
  for (const char* k : {"",
                        "dGhlIHNhbXBsZSBub25jZQ=",                 // 23 characters
                        "dGhlIHNhbXBsZSBub25jZQ===",               // 25
                        "dGhlIHNhbXBsZSBub25jZQAA",                // no padding
                        "dGhlIHNhbXBsZSBub25jZ===",                // padding too early
                        "dGhlIHNhbXBsZSBub25j*Q==",                // not base64
                        "dGhlIHNhbXBsZSBu b25jZQ==",               // inner space
                        "dGhlIHNhbXBsZSBub25jZQdGhlIHNhbXBsZQ==",  // 27 bytes
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}) {
    EXPECT_EQ(check(with("Sec-WebSocket-Key", k)), HandshakeStatus::kBadKey) << k;
  }
  EXPECT_EQ(check(with("Sec-WebSocket-Key", nullptr)), HandshakeStatus::kBadKey);
  Fields twice = kRfcRequest;
  twice.push_back({"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="});
  EXPECT_EQ(check(twice), HandshakeStatus::kBadKey);
  EXPECT_EQ(check(with("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")), HandshakeStatus::kOk);
  EXPECT_EQ(check(with("Sec-WebSocket-Key", "+/+/+/+/+/+/+/+/+/+/+w==")), HandshakeStatus::kOk);
  EXPECT_EQ(httpStatus(HandshakeStatus::kBadKey), 400);
}

TEST(Handshake, CheckedFieldByField) {
  HandshakeCheck c("GET");
  EXPECT_EQ(c.status(), HandshakeStatus::kNotWebSocket);
  for (const Field& f : kRfcRequest) c.addField(f.name, f.value);
  EXPECT_EQ(c.status(), HandshakeStatus::kOk);
  EXPECT_EQ(c.key(), "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(Handshake, WorksOverASpanOfFields) {
  Field fields[] = {{"Upgrade", "websocket"},
                    {"Connection", "Upgrade"},
                    {"Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw=="},
                    {"Sec-WebSocket-Version", "13"}};
  std::string_view key;
  EXPECT_EQ(checkHandshake("GET", std::span(fields, 4), &key), HandshakeStatus::kOk);
  auto accept = acceptKey(key);
  // The example of the Wikipedia article on WebSocket.
  EXPECT_EQ(std::string_view(accept.data(), accept.size()), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(Handshake, EveryStatusIsDescribed) {
  for (auto s : {HandshakeStatus::kOk, HandshakeStatus::kNotWebSocket,
                 HandshakeStatus::kNoConnectionUpgrade, HandshakeStatus::kBadVersion,
                 HandshakeStatus::kUnsupportedVersion, HandshakeStatus::kBadKey}) {
    EXPECT_FALSE(describe(s).empty());
  }
}

}  // namespace
}  // namespace rover::ws
