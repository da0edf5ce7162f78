#include "ws/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "test_frames.h"

namespace rover::ws {
namespace {

using test::clientFrame;
using test::closePayload;

const FrameOptions kFromClient{};
const FrameOptions kFromServer{.max_payload = UINT64_MAX >> 1, .masked = false};

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

struct Parsed {
  ptrdiff_t n = 0;
  Frame frame;
  CloseCode error = CloseCode::kNoStatus;
};

Parsed parse(std::string& buf, const FrameOptions& options = kFromClient) {
  Parsed p;
  p.n = parseFrame(buf.data(), buf.size(), options, &p.frame, &p.error);
  return p;
}

CloseCode errorOf(std::string buf, const FrameOptions& options = kFromClient) {
  Parsed p = parse(buf, options);
  EXPECT_EQ(p.n, kFrameError);
  return p.n == kFrameError ? p.error : CloseCode::kNoStatus;
}

std::string built(void (*append)(core::Buffer*, std::string_view), std::string_view payload) {
  core::Buffer out;
  append(&out, payload);
  return std::string(out.view());
}

// RFC 6455 §5.7, "A single-frame unmasked text message".
TEST(Frame, RfcUnmaskedHello) {
  std::string buf = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  Parsed p = parse(buf, kFromServer);
  ASSERT_EQ(p.n, 7);
  EXPECT_EQ(p.frame.opcode, Opcode::kText);
  EXPECT_TRUE(p.frame.fin);
  EXPECT_EQ(p.frame.header_size, 2u);
  EXPECT_EQ(p.frame.payload, "Hello");
  EXPECT_EQ(built(appendText, "Hello"), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  // From a client it must have been masked.
  EXPECT_EQ(errorOf(buf), CloseCode::kProtocolError);
}

// "A single-frame masked text message".
TEST(Frame, RfcMaskedHello) {
  std::string buf = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(buf, clientFrame(0x81, "Hello"));
  Parsed p = parse(buf);
  ASSERT_EQ(p.n, 11);
  EXPECT_EQ(p.frame.opcode, Opcode::kText);
  EXPECT_EQ(p.frame.header_size, 6u);
  EXPECT_EQ(p.frame.payload, "Hello");
  EXPECT_EQ(p.frame.payload.data(), buf.data() + 6);  // unmasked in place
  // A server's parser (masked = false) refuses masked frames.
  EXPECT_EQ(errorOf(clientFrame(0x81, "Hello"), kFromServer), CloseCode::kProtocolError);
}

// "A fragmented unmasked text message".
TEST(Frame, RfcFragmentedUnmasked) {
  std::string wire = bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
  Parsed first = parse(wire, kFromServer);
  ASSERT_EQ(first.n, 5);
  EXPECT_EQ(first.frame.opcode, Opcode::kText);
  EXPECT_FALSE(first.frame.fin);
  EXPECT_EQ(first.frame.payload, "Hel");
  std::string rest = wire.substr(5);
  Parsed second = parse(rest, kFromServer);
  ASSERT_EQ(second.n, 4);
  EXPECT_EQ(second.frame.opcode, Opcode::kContinuation);
  EXPECT_TRUE(second.frame.fin);
  EXPECT_EQ(second.frame.payload, "lo");

  core::Buffer out;
  appendFrame(&out, Opcode::kText, "Hel", false);
  appendFrame(&out, Opcode::kContinuation, "lo");
  EXPECT_EQ(out.view(), wire);
}

// "Unmasked Ping request and masked Ping response" (the response is a pong).
TEST(Frame, RfcPingAndMaskedPong) {
  std::string ping = bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  EXPECT_EQ(built(appendPing, "Hello"), ping);
  Parsed p = parse(ping, kFromServer);
  ASSERT_EQ(p.n, 7);
  EXPECT_EQ(p.frame.opcode, Opcode::kPing);
  EXPECT_EQ(p.frame.payload, "Hello");

  std::string pong = bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  Parsed q = parse(pong);
  ASSERT_EQ(q.n, 11);
  EXPECT_EQ(q.frame.opcode, Opcode::kPong);
  EXPECT_EQ(q.frame.payload, "Hello");
  EXPECT_EQ(built(appendPong, "Hello"), bytes({0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

// "256 bytes binary message in a single unmasked frame" and "64KiB ...".
TEST(Frame, RfcLengthsOf256And65536) {
  for (size_t size : {size_t{256}, size_t{65536}}) {
    std::string payload(size, '\0');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 7);
    core::Buffer out;
    appendBinary(&out, payload);
    std::string header = size == 256
                             ? bytes({0x82, 0x7E, 0x01, 0x00})
                             : bytes({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00});
    EXPECT_EQ(out.view().substr(0, header.size()), header);
    EXPECT_EQ(out.view().substr(header.size()), payload);

    std::string wire(out.view());
    Parsed p = parse(wire, kFromServer);
    ASSERT_EQ(p.n, static_cast<ptrdiff_t>(header.size() + size));
    EXPECT_EQ(p.frame.payload, payload);

    std::string masked = clientFrame(0x82, payload);
    EXPECT_EQ(static_cast<uint8_t>(masked[1]), 0x80 | (size == 256 ? 126 : 127));
    Parsed m = parse(masked);
    ASSERT_EQ(m.n, static_cast<ptrdiff_t>(header.size() + 4 + size));
    EXPECT_EQ(m.frame.header_size, header.size() + 4);
    EXPECT_EQ(m.frame.payload, payload);
  }
}

TEST(Frame, HeaderSizesAtTheLengthBoundaries) {
  struct Case {
    size_t payload, header;
  } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}};
  for (const Case& c : cases) {
    char header[kMaxServerFrameHeader];
    EXPECT_EQ(writeFrameHeader(header, Opcode::kBinary, c.payload), c.header) << c.payload;
    std::string wire = clientFrame(0x82, std::string(c.payload, 'x'));
    Parsed p = parse(wire);
    ASSERT_EQ(p.n, static_cast<ptrdiff_t>(c.header + 4 + c.payload));
    EXPECT_EQ(p.frame.payload_size, c.payload);
  }
  char header[kMaxServerFrameHeader];
  ASSERT_EQ(writeFrameHeader(header, Opcode::kBinary, 0x0102030405060708ULL, false), 10u);
  EXPECT_EQ(std::string(header, 10), bytes({0x02, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Frame, NonMinimalLengthsAreAccepted) {
  // "Hi" with a 16-bit and a 64-bit length.
  std::string wire16 = bytes({0x81, 0xFE, 0x00, 0x02, 0, 0, 0, 0, 'H', 'i'});
  std::string wire64 = bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 'H', 'i'});
  for (std::string* w : {&wire16, &wire64}) {
    Parsed p = parse(*w);
    ASSERT_EQ(p.n, static_cast<ptrdiff_t>(w->size()));
    EXPECT_EQ(p.frame.payload, "Hi");
  }
}

TEST(Frame, EveryPrefixIsIncompleteAndUntouched) {
  std::string whole = clientFrame(0x82, std::string(300, 'z'));
  for (size_t n = 0; n < whole.size(); ++n) {
    std::string prefix = whole.substr(0, n);
    Parsed p = parse(prefix);
    ASSERT_EQ(p.n, kFrameIncomplete) << n;
    EXPECT_EQ(prefix, whole.substr(0, n));  // nothing unmasked yet
    if (n >= 8) {                           // 2 + 2 (length) + 4 (key): the header is known
      EXPECT_EQ(p.frame.header_size, 8u);
      EXPECT_EQ(p.frame.size(), whole.size());
    } else {
      EXPECT_EQ(p.frame.header_size, 0u);
    }
  }
  Parsed p = parse(whole);
  EXPECT_EQ(p.n, static_cast<ptrdiff_t>(whole.size()));
  EXPECT_EQ(p.frame.payload, std::string(300, 'z'));
}

TEST(Frame, ParsesOnlyTheFirstFrame) {
  std::string wire = clientFrame(0x81, "one") + clientFrame(0x81, "two");
  Parsed p = parse(wire);
  ASSERT_EQ(p.n, 9);
  EXPECT_EQ(p.frame.payload, "one");
  EXPECT_EQ(wire.substr(9), clientFrame(0x81, "two"));  // the next frame is untouched
}

TEST(Frame, ReservedBitsAre1002UnlessAllowed) {
  for (uint8_t rsv : {0x40, 0x20, 0x10, 0x70}) {
    EXPECT_EQ(errorOf(clientFrame(0x81 | rsv, "x")), CloseCode::kProtocolError) << int(rsv);
  }
  FrameOptions deflate;
  deflate.allowed_rsv = 0x40;
  std::string wire = clientFrame(0xC1, "x");
  Parsed p = parse(wire, deflate);
  ASSERT_EQ(p.n, 7);
  EXPECT_EQ(p.frame.rsv, 0x40);
  EXPECT_EQ(errorOf(clientFrame(0xA1, "x"), deflate), CloseCode::kProtocolError);
}

TEST(Frame, ReservedOpcodesAre1002) {
  for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    EXPECT_EQ(errorOf(clientFrame(0x80 | op, "")), CloseCode::kProtocolError) << int(op);
    // Known from the first byte alone.
    EXPECT_EQ(errorOf(bytes({0x80 | op})), CloseCode::kProtocolError);
  }
  for (uint8_t op : {0, 1, 2, 8, 9, 0xA}) {
    std::string wire = clientFrame(0x80 | op, "");
    EXPECT_EQ(parse(wire).n, 6) << int(op);
  }
}

TEST(Frame, FragmentedControlFramesAre1002) {
  for (uint8_t op : {0x8, 0x9, 0xA}) {
    EXPECT_EQ(errorOf(clientFrame(op, "")), CloseCode::kProtocolError);
  }
}

TEST(Frame, ControlPayloadsOver125Are1002) {
  for (uint8_t op : {0x88, 0x89, 0x8A}) {
    std::string ok = clientFrame(op, std::string(op == 0x88 ? 0 : 125, 'p'));
    EXPECT_GT(parse(ok).n, 0);
    EXPECT_EQ(errorOf(clientFrame(op, std::string(126, 'p'))), CloseCode::kProtocolError);
    // Known from the two first bytes.
    EXPECT_EQ(errorOf(bytes({op, 0xFE})), CloseCode::kProtocolError);
    EXPECT_EQ(errorOf(bytes({op, 0xFF})), CloseCode::kProtocolError);
  }
  std::string ping125 = clientFrame(0x89, std::string(125, 'p'));
  EXPECT_EQ(parse(ping125).frame.payload.size(), 125u);
}

TEST(Frame, SixtyFourBitLengthWithTheHighBitIs1002) {
  std::string wire = bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(errorOf(wire), CloseCode::kProtocolError);
  FrameOptions tiny;
  tiny.max_payload = 10;  // the high bit is a protocol error before it is a size error
  EXPECT_EQ(errorOf(wire, tiny), CloseCode::kProtocolError);
  std::string largest = bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  Parsed p = parse(largest);
  EXPECT_EQ(p.n, kFrameIncomplete);  // allowed, only not here yet
  EXPECT_EQ(p.frame.header_size, 0u);
}

TEST(Frame, PayloadOverTheLimitIs1009FromTheHeader) {
  FrameOptions limit;
  limit.max_payload = 1000;
  std::string at = clientFrame(0x82, std::string(1000, 'a'));
  EXPECT_EQ(parse(at, limit).n, static_cast<ptrdiff_t>(at.size()));
  std::string over = clientFrame(0x82, std::string(1001, 'a'));
  EXPECT_EQ(errorOf(over, limit), CloseCode::kMessageTooBig);
  EXPECT_EQ(errorOf(over.substr(0, 4), limit), CloseCode::kMessageTooBig);  // header only
  // Continuations count too; control frames are bounded by 125 only.
  EXPECT_EQ(errorOf(clientFrame(0x00, std::string(1001, 'a')), limit), CloseCode::kMessageTooBig);
  limit.max_payload = 0;
  std::string ping = clientFrame(0x89, "ping");
  EXPECT_GT(parse(ping, limit).n, 0);
}

TEST(Frame, UnmaskMatchesBytewiseXorAtAnyAlignment) {
  const uint8_t key[4] = {0x12, 0x34, 0xAB, 0xCD};
  std::vector<char> storage(200);
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t size = 0; size < 100; ++size) {
      char* data = storage.data() + offset;
      std::string expected(size, '\0');
      for (size_t i = 0; i < size; ++i) {
        data[i] = static_cast<char>(i * 31 + offset);
        expected[i] = static_cast<char>(data[i] ^ key[i % 4]);
      }
      unmask(data, size, key);
      ASSERT_EQ(std::string(data, size), expected) << offset << " " << size;
    }
  }
}

TEST(Frame, CloseBodies) {
  CloseBody body;
  CloseCode error = CloseCode::kNoStatus;
  ASSERT_TRUE(parseCloseBody("", &body, &error));
  EXPECT_EQ(body.code, CloseCode::kNoStatus);
  std::string bye = closePayload(1000, "bye \xC3\xA9");  // the reason is a view of it
  ASSERT_TRUE(parseCloseBody(bye, &body, &error));
  EXPECT_EQ(body.code, CloseCode::kNormal);
  EXPECT_EQ(body.reason, "bye \xC3\xA9");
  EXPECT_FALSE(parseCloseBody("\x03", &body, &error));
  EXPECT_EQ(error, CloseCode::kProtocolError);
  EXPECT_FALSE(parseCloseBody(closePayload(1000, "\xC0\xAF"), &body, &error));
  EXPECT_EQ(error, CloseCode::kInvalidPayload);
  EXPECT_FALSE(parseCloseBody(closePayload(1000, "\xE2\x82"), &body, &error));  // cut short
  EXPECT_EQ(error, CloseCode::kInvalidPayload);

  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                        3000, 3999, 4000, 4999}) {
    EXPECT_TRUE(isValidCloseCode(code)) << code;
    EXPECT_TRUE(parseCloseBody(closePayload(code), &body, &error)) << code;
    EXPECT_EQ(static_cast<uint16_t>(body.code), code);
  }
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(isValidCloseCode(code)) << code;
    EXPECT_FALSE(parseCloseBody(closePayload(code), &body, &error)) << code;
    EXPECT_EQ(error, CloseCode::kProtocolError);
  }
}

TEST(Frame, CloseFramesAreBuiltWithCodeAndReason) {
  core::Buffer out;
  appendClose(&out, CloseCode::kGoingAway, "shutting down");
  EXPECT_EQ(out.view(), bytes({0x88, 15, 0x03, 0xE9}) + "shutting down");
  out.clear();
  appendClose(&out, CloseCode::kNoStatus, "ignored");
  EXPECT_EQ(out.view(), bytes({0x88, 0x00}));
  out.clear();
  appendClose(&out, CloseCode::kAbnormal);
  EXPECT_EQ(out.view(), bytes({0x88, 0x00}));
  out.clear();
  appendClose(&out, static_cast<CloseCode>(4000));
  EXPECT_EQ(out.view(), bytes({0x88, 0x02, 0x0F, 0xA0}));
}

TEST(Frame, CloseReasonIsCutToFitOnACharacterBoundary) {
  // 122 ASCII bytes and a 2-byte character: 124 > 123 bytes of room.
  std::string reason = std::string(122, 'r') + "\xC3\xA9";
  core::Buffer out;
  appendClose(&out, CloseCode::kNormal, reason);
  ASSERT_EQ(out.size(), 2u + 2 + 122);
  EXPECT_EQ(out.view().substr(4), std::string(122, 'r'));

  std::string fits = std::string(121, 'r') + "\xC3\xA9";  // exactly 123
  out.clear();
  appendClose(&out, CloseCode::kNormal, fits);
  ASSERT_EQ(out.size(), 2u + 125);
  std::string wire(out.view());
  Parsed p = parse(wire, kFromServer);
  ASSERT_GT(p.n, 0);
  CloseBody body;
  CloseCode error;
  ASSERT_TRUE(parseCloseBody(p.frame.payload, &body, &error));
  EXPECT_EQ(body.reason, fits);

  out.clear();
  appendClose(&out, CloseCode::kNormal, std::string(200, 'x') + "\xF0\x9F\x98\x80");
  EXPECT_EQ(out.size(), 2u + 125);
}

TEST(Frame, PingAndPongPayloadsAreCutTo125) {
  std::string long_payload(300, 'p');
  EXPECT_EQ(built(appendPing, long_payload), bytes({0x89, 125}) + std::string(125, 'p'));
  EXPECT_EQ(built(appendPong, long_payload), bytes({0x8A, 125}) + std::string(125, 'p'));
  core::Buffer out;
  appendPing(&out);
  EXPECT_EQ(out.view(), bytes({0x89, 0x00}));
}

TEST(Frame, BeginAndEndFrameAroundAPayloadWrittenInPlace) {
  for (size_t size : {size_t{0}, size_t{5}, size_t{125}, size_t{126}, size_t{70000}}) {
    core::Buffer out;
    out.append("before");
    size_t at = beginFrame(&out);
    EXPECT_EQ(at, 6 + kMaxServerFrameHeader);
    std::string payload(size, 'q');
    out.append(payload);
    endFrame(&out, at, Opcode::kText);

    core::Buffer expected;
    expected.append("before");
    appendText(&expected, payload);
    EXPECT_EQ(out.view(), expected.view()) << size;
  }
}

}  // namespace
}  // namespace rover::ws
