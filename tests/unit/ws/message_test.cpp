#include "ws/message.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "test_frames.h"

namespace rover::ws {
namespace {

using test::clientFrame;
using test::closePayload;

constexpr uint8_t kText = 0x01, kBinary = 0x02, kCont = 0x00, kClose = 0x08, kPing = 0x09,
                  kPong = 0x0A, kFin = 0x80;

struct Seen {
  EventKind kind;
  std::string data;
  uint16_t code;
  bool operator==(const Seen&) const = default;
};

void PrintTo(const Seen& s, std::ostream* os) {
  *os << "{" << int(s.kind) << ", " << testing::PrintToString(s.data) << ", " << s.code << "}";
}

// What a connection does: append each piece to its receive buffer, read
// events until kNeedMore, drop the bytes used. Stops at an error.
struct Connection {
  explicit Connection(const ReaderOptions& options = {}) : reader(options) {}

  void receive(std::string_view piece) {
    if (failed) return;
    in.append(piece);
    while (true) {
      Event ev;
      size_t used = reader.read(in.data(), in.size(), &ev);
      EXPECT_LE(used, in.size());
      if (ev.kind != EventKind::kNeedMore) {
        events.push_back({ev.kind, std::string(ev.data), static_cast<uint16_t>(ev.code)});
      }
      in.erase(0, used);
      if (ev.kind == EventKind::kNeedMore) break;
      if (ev.kind == EventKind::kError) {
        failed = true;
        break;
      }
    }
  }

  MessageReader reader;
  std::string in;
  std::vector<Seen> events;
  bool failed = false;
};

std::vector<Seen> readAll(std::string_view wire, size_t step = 0,
                          const ReaderOptions& options = {}) {
  Connection c(options);
  if (step == 0) step = wire.size() ? wire.size() : 1;
  for (size_t i = 0; i < wire.size(); i += step) c.receive(wire.substr(i, step));
  return c.events;
}

Seen text(std::string s) { return {EventKind::kText, std::move(s), 1005}; }
Seen binary(std::string s) { return {EventKind::kBinary, std::move(s), 1005}; }
Seen ping(std::string s) { return {EventKind::kPing, std::move(s), 1005}; }
Seen pong(std::string s) { return {EventKind::kPong, std::move(s), 1005}; }
Seen closed(uint16_t code, std::string reason = {}) {
  return {EventKind::kClose, std::move(reason), code};
}
Seen error(CloseCode code) { return {EventKind::kError, {}, static_cast<uint16_t>(code)}; }

// The same events whole, in pieces of 1, 2, 3, 7 and 64 bytes.
void expectEvents(const std::string& wire, const std::vector<Seen>& expected,
                  const ReaderOptions& options = {}) {
  for (size_t step : {0, 1, 2, 3, 7, 64}) {
    EXPECT_EQ(readAll(wire, step, options), expected) << "step " << step;
  }
}

TEST(MessageReader, SingleFrameMessages) {
  expectEvents(clientFrame(kFin | kText, "Hello"), {text("Hello")});
  expectEvents(clientFrame(kFin | kBinary, std::string("\0\xFF\x80", 3)),
               {binary(std::string("\0\xFF\x80", 3))});
  expectEvents(clientFrame(kFin | kText, ""), {text("")});
  expectEvents(clientFrame(kFin | kText, "a") + clientFrame(kFin | kBinary, "b"),
               {text("a"), binary("b")});
}

TEST(MessageReader, SingleFrameMessageStaysInTheReceiveBuffer) {
  std::string wire = clientFrame(kFin | kText, "Hello");
  MessageReader reader;
  Event ev;
  ASSERT_EQ(reader.read(wire.data(), wire.size(), &ev), wire.size());
  EXPECT_EQ(ev.kind, EventKind::kText);
  EXPECT_EQ(ev.data.data(), wire.data() + 6);
}

TEST(MessageReader, RfcFragmentedHello) {
  expectEvents(clientFrame(kText, "Hel") + clientFrame(kFin | kCont, "lo"), {text("Hello")});
}

TEST(MessageReader, ManyFragmentsAndEmptyOnes) {
  std::string wire = clientFrame(kBinary, "") + clientFrame(kCont, "ab") + clientFrame(kCont, "") +
                     clientFrame(kCont, "cd") + clientFrame(kFin | kCont, "");
  expectEvents(wire, {binary("abcd")});
  expectEvents(clientFrame(kText, "") + clientFrame(kFin | kCont, ""), {text("")});
}

TEST(MessageReader, ControlFramesBetweenFragments) {
  std::string wire = clientFrame(kText, "Hel") + clientFrame(kFin | kPing, "p1") +
                     clientFrame(kCont, "l") + clientFrame(kFin | kPong, "p2") +
                     clientFrame(kFin | kCont, "o") + clientFrame(kFin | kPing, "");
  expectEvents(wire, {ping("p1"), pong("p2"), text("Hello"), ping("")});
}

TEST(MessageReader, ARfcPingOf125Bytes) {
  expectEvents(clientFrame(kFin | kPing, std::string(125, 'x')), {ping(std::string(125, 'x'))});
}

TEST(MessageReader, ContinuationWithoutAStartIs1002) {
  expectEvents(clientFrame(kFin | kCont, "x"), {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kCont, "x"), {error(CloseCode::kProtocolError)});
  // After a completed fragmented message, too.
  expectEvents(
      clientFrame(kText, "a") + clientFrame(kFin | kCont, "b") + clientFrame(kFin | kCont, "c"),
      {text("ab"), error(CloseCode::kProtocolError)});
}

TEST(MessageReader, NewDataFrameInsideAFragmentedMessageIs1002) {
  expectEvents(clientFrame(kText, "a") + clientFrame(kFin | kText, "b"),
               {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kBinary, "a") + clientFrame(kText, "b"),
               {error(CloseCode::kProtocolError)});
}

TEST(MessageReader, FrameErrorsCarryTheirCloseCodes) {
  std::string unmasked = std::string("\x81\x02hi", 4);
  expectEvents(unmasked, {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kFin | 0x40 | kText, "x"), {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kFin | 0x03, "x"), {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kPing, "x"), {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kFin | kPing, std::string(126, 'x')),
               {error(CloseCode::kProtocolError)});
  expectEvents(std::string("\x82\xFF\x80\0\0\0\0\0\0\0", 10), {error(CloseCode::kProtocolError)});
  // Events before the bad frame are still delivered.
  expectEvents(clientFrame(kFin | kText, "ok") + unmasked,
               {text("ok"), error(CloseCode::kProtocolError)});
}

TEST(MessageReader, ErrorsAreSticky) {
  std::string wire = clientFrame(kFin | kCont, "x") + clientFrame(kFin | kText, "fine");
  MessageReader reader;
  Event ev;
  EXPECT_EQ(reader.read(wire.data(), wire.size(), &ev), 0u);
  EXPECT_EQ(ev.kind, EventKind::kError);
  EXPECT_EQ(reader.read(wire.data(), wire.size(), &ev), 0u);
  EXPECT_EQ(ev.kind, EventKind::kError);
  EXPECT_EQ(ev.code, CloseCode::kProtocolError);
  EXPECT_TRUE(reader.closed());
  reader.reset();
  std::string fine = clientFrame(kFin | kText, "fine");
  EXPECT_EQ(reader.read(fine.data(), fine.size(), &ev), fine.size());
  EXPECT_EQ(ev.kind, EventKind::kText);
}

TEST(MessageReader, MessageSizeLimitDefaultsTo1MiB) {
  std::string at(kDefaultMaxMessageBytes, 'm');
  expectEvents(clientFrame(kFin | kBinary, at), {binary(at)});
  std::string over(kDefaultMaxMessageBytes + 1, 'm');
  expectEvents(clientFrame(kFin | kBinary, over), {error(CloseCode::kMessageTooBig)});
}

TEST(MessageReader, MessageSizeLimitCountsEveryFragment) {
  ReaderOptions options;
  options.max_message_bytes = 10;
  expectEvents(clientFrame(kText, "12345") + clientFrame(kFin | kCont, "67890"),
               {text("1234567890")}, options);
  expectEvents(
      clientFrame(kText, "12345") + clientFrame(kCont, "67890") + clientFrame(kFin | kCont, "x"),
      {error(CloseCode::kMessageTooBig)}, options);
  // Refused from the header: the oversized payload is never waited for.
  std::string wire = clientFrame(kText, "12345") + clientFrame(kFin | kCont, std::string(100, 'x'));
  Connection c(options);
  c.receive(wire.substr(0, 11 + 2));
  EXPECT_EQ(c.events, std::vector<Seen>{error(CloseCode::kMessageTooBig)});
  // Control frames do not count, and each message starts from zero.
  expectEvents(clientFrame(kText, "12345") + clientFrame(kFin | kPing, "123456789") +
                   clientFrame(kFin | kCont, "67890") + clientFrame(kFin | kText, "0123456789"),
               {ping("123456789"), text("1234567890"), text("0123456789")}, options);
}

TEST(MessageReader, InvalidUtf8TextIs1007) {
  expectEvents(clientFrame(kFin | kText, "\xC0\xAF"), {error(CloseCode::kInvalidPayload)});
  expectEvents(clientFrame(kFin | kText, "\xED\xA0\x80"), {error(CloseCode::kInvalidPayload)});
  expectEvents(clientFrame(kFin | kText, "cut \xE2\x82"), {error(CloseCode::kInvalidPayload)});
  // Binary is not checked.
  expectEvents(clientFrame(kFin | kBinary, "\xC0\xAF"), {binary("\xC0\xAF")});
}

TEST(MessageReader, Utf8IsCheckedAcrossFragments) {
  // "€" (E2 82 AC) split over three fragments, with a ping in between.
  expectEvents(clientFrame(kText, "\xE2") + clientFrame(kCont, "\x82") +
                   clientFrame(kFin | kPing, "") + clientFrame(kFin | kCont, "\xAC!"),
               {ping(""), text("\xE2\x82\xAC!")});
  // A message ending inside a sequence.
  expectEvents(clientFrame(kText, "ok") + clientFrame(kFin | kCont, "\xF0\x9F\x98"),
               {error(CloseCode::kInvalidPayload)});
  // An overlong spread over two fragments.
  expectEvents(clientFrame(kText, "\xE0") + clientFrame(kFin | kCont, "\x80\x80"),
               {error(CloseCode::kInvalidPayload)});
}

TEST(MessageReader, BadTextFailsBeforeTheMessageEnds) {
  Connection c;
  c.receive(clientFrame(kText, "fine") + clientFrame(kCont, "\xFF"));
  EXPECT_EQ(c.events, std::vector<Seen>{error(CloseCode::kInvalidPayload)});
}

TEST(MessageReader, CloseFrames) {
  expectEvents(clientFrame(kFin | kClose, closePayload(1000, "bye")), {closed(1000, "bye")});
  expectEvents(clientFrame(kFin | kClose, ""), {closed(1005)});
  expectEvents(clientFrame(kFin | kClose, closePayload(4321)), {closed(4321)});
  expectEvents(clientFrame(kFin | kClose, "\x03"), {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kFin | kClose, closePayload(1005)), {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kFin | kClose, closePayload(999)), {error(CloseCode::kProtocolError)});
  expectEvents(clientFrame(kFin | kClose, closePayload(1000, "\xFF")),
               {error(CloseCode::kInvalidPayload)});
  // During a fragmented message.
  expectEvents(clientFrame(kText, "par") + clientFrame(kFin | kClose, closePayload(1001)),
               {closed(1001)});
}

TEST(MessageReader, BytesAfterACloseAreIgnored) {
  std::string wire = clientFrame(kFin | kClose, closePayload(1000)) +
                     clientFrame(kFin | kText, "late") + "garbage";
  expectEvents(wire, {closed(1000)});
  MessageReader reader;
  Event ev;
  EXPECT_EQ(reader.read(wire.data(), wire.size(), &ev), wire.size());
  EXPECT_EQ(ev.kind, EventKind::kClose);
  std::string more = "more";
  EXPECT_EQ(reader.read(more.data(), more.size(), &ev), more.size());
  EXPECT_EQ(ev.kind, EventKind::kNeedMore);
  EXPECT_TRUE(reader.closed());
}

TEST(MessageReader, IncompleteFramesAreLeftInTheBuffer) {
  std::string wire = clientFrame(kFin | kText, "one") + clientFrame(kFin | kText, "two");
  MessageReader reader;
  Event ev;
  std::string buf = wire.substr(0, 9 + 5);
  EXPECT_EQ(reader.read(buf.data(), buf.size(), &ev), 9u);
  EXPECT_EQ(ev.kind, EventKind::kText);
  EXPECT_EQ(reader.read(buf.data() + 9, 5, &ev), 0u);
  EXPECT_EQ(ev.kind, EventKind::kNeedMore);
  // Fragments are copied out as they complete: only whole frames are used.
  std::string frag = clientFrame(kText, "ab") + clientFrame(kFin | kCont, "cd").substr(0, 3);
  MessageReader r2;
  EXPECT_EQ(r2.read(frag.data(), frag.size(), &ev), 8u);
  EXPECT_EQ(ev.kind, EventKind::kNeedMore);
  EXPECT_TRUE(r2.inMessage());
}

TEST(MessageReader, ReassembledMessageLivesUntilTheNextRead) {
  std::string wire = clientFrame(kText, "Hel") + clientFrame(kFin | kCont, "lo");
  MessageReader reader;
  Event ev;
  ASSERT_EQ(reader.read(wire.data(), wire.size(), &ev), wire.size());
  ASSERT_EQ(ev.kind, EventKind::kText);
  wire.assign(wire.size(), '\0');  // the receive buffer is reused
  EXPECT_EQ(ev.data, "Hello");
  std::string next = clientFrame(kBinary, "x") + clientFrame(kFin | kCont, "y");
  ASSERT_EQ(reader.read(next.data(), next.size(), &ev), next.size());
  EXPECT_EQ(ev.data, "xy");
}

TEST(MessageReader, LargeFragmentedMessages) {
  std::string payload(256 + 65536 + 3, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  std::string wire = clientFrame(kText, payload.substr(0, 256)) +
                     clientFrame(kCont, payload.substr(256, 65536)) +
                     clientFrame(kFin | kCont, payload.substr(256 + 65536));
  for (size_t step : {0, 1000, 4096}) EXPECT_EQ(readAll(wire, step), std::vector{text(payload)});
}

// A long mixed stream, fed whole, byte by byte and cut at random points,
// gives the same events.
TEST(MessageReader, SplitFeedingGivesTheSameEvents) {
  std::string wire;
  std::vector<Seen> expected;
  std::mt19937 rng(42);
  for (int m = 0; m < 60; ++m) {
    std::string body;
    size_t size = rng() % 300;
    for (size_t i = 0; i < size; ++i) body.push_back(static_cast<char>('A' + rng() % 50));
    if (m % 5 == 0) body += "\xC3\xA9\xF0\x9F\x98\x80";
    size_t cut = body.empty() ? 0 : rng() % body.size();
    switch (m % 4) {
      case 0:
        wire += clientFrame(kFin | kText, body);
        expected.push_back(text(body));
        break;
      case 1:  // fragmented at a byte that may be inside a character
        wire += clientFrame(kText, body.substr(0, cut)) + clientFrame(kFin | kPing, "hb") +
                clientFrame(kFin | kCont, body.substr(cut));
        expected.push_back(ping("hb"));
        expected.push_back(text(body));
        break;
      case 2:
        wire += clientFrame(kBinary, body.substr(0, cut)) + clientFrame(kCont, "") +
                clientFrame(kFin | kCont, body.substr(cut));
        expected.push_back(binary(body));
        break;
      default:
        wire += clientFrame(kFin | kPong, body.substr(0, 125));
        expected.push_back(pong(body.substr(0, 125)));
    }
  }
  wire += clientFrame(kFin | kClose, closePayload(1000, "done"));
  expected.push_back(closed(1000, "done"));
  expectEvents(wire, expected);

  for (int trial = 0; trial < 20; ++trial) {
    Connection c;
    size_t pos = 0;
    while (pos < wire.size()) {
      size_t n = 1 + rng() % 200;
      c.receive(std::string_view(wire).substr(pos, n));
      pos += n;
    }
    EXPECT_EQ(c.events, expected) << "trial " << trial;
  }
}

}  // namespace
}  // namespace rover::ws
