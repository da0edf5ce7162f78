// libFuzzer target: the WebSocket codec (ws::parseFrame, ws::MessageReader,
// ws::HandshakeCheck). Input: a mode byte, an options byte, then by mode % 3
//   0: raw received bytes;
//   1: a program of well-formed frames (below), encoded and masked here;
//   2: request header lines "name:value\n" for the handshake check.
// Options: bit 0 a small message limit (40 bytes) instead of 1 MiB; bit 1
// (raw mode) frames from a server, unmasked; the rest seeds the cut points.
// Invariants, in modes 0 and 1: no crash; each read() uses at most the bytes
// given; fed whole, one byte at a time and in random pieces the events are the
// same; texts are valid UTF-8 (by a plain reference decoder), control payloads
// <= 125 bytes, messages <= the limit; errors are 1002, 1007 or 1009 and end
// the stream; what is left unread is an incomplete frame. Mode 1 also checks
// the events against a model of RFC 6455 built on the reference decoder, so a
// valid text is never refused with 1007 and an invalid one always is.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame.h"
#include "ws/handshake.h"
#include "ws/message.h"

namespace {

using namespace rover::ws;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_ws: invariant broken: %s\n", what);
  std::abort();
}

// UTF-8 by decoding code points (RFC 3629), independent of ws/utf8.cpp.
enum class Ref { kValid, kTruncated, kInvalid };

bool referenceValid(std::string_view s);

// Decodes s from *pos, a character boundary, and leaves *pos at the last
// boundary reached. kTruncated: s ends inside a sequence that some bytes
// could still complete (one of the smallest second bytes 80, 90, A0 and
// continuation bytes after it makes it valid).
Ref referenceScan(std::string_view s, size_t* pos) {
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  static constexpr std::string_view kTails[] = {
      "\x80", "\x80\x80", "\x80\x80\x80", "\x90", "\x90\x80", "\x90\x80\x80", "\xA0", "\xA0\x80"};
  size_t i = *pos;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = b;
    if (b < 0x80) {
      n = 0;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3, cp = b & 0x07;
    } else {
      return Ref::kInvalid;
    }
    if (i + n >= s.size() && n > 0) {
      *pos = i;
      std::string rest(s.substr(i));
      for (std::string_view t : kTails) {
        if (referenceValid(rest + std::string(t))) return Ref::kTruncated;
      }
      return Ref::kInvalid;
    }
    for (size_t k = 1; k <= n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return Ref::kInvalid;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return Ref::kInvalid;
    i += n + 1;
  }
  *pos = i;
  return Ref::kValid;
}

bool referenceValid(std::string_view s) {
  size_t pos = 0;
  return referenceScan(s, &pos) == Ref::kValid;
}

bool referenceCloseCode(uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

struct Seen {
  EventKind kind;
  std::string data;
  uint16_t code;
  bool operator==(const Seen&) const = default;
};

struct Outcome {
  std::vector<Seen> events;
  std::string left;  // received, never used
  bool operator==(const Outcome&) const = default;
};

// Feeds wire in pieces of cuts[i] bytes (the rest in one), as a connection
// does: append, read until kNeedMore, drop what was used.
Outcome feed(std::string_view wire, const std::vector<size_t>& cuts, const ReaderOptions& options) {
  MessageReader reader(options);
  Outcome out;
  std::string in;
  size_t start = 0;  // in[0..start) is used
  size_t pos = 0, piece = 0;
  bool failed = false;
  while (pos < wire.size() && !failed) {
    size_t n = piece < cuts.size() ? cuts[piece++] : wire.size() - pos;
    n = std::min(n, wire.size() - pos);
    if (start > 0 && start >= in.size() / 2) {  // amortised: big frames are not moved per piece
      in.erase(0, start);
      start = 0;
    }
    in.append(wire.substr(pos, n));
    pos += n;
    while (true) {
      Event ev;
      size_t used = reader.read(in.data() + start, in.size() - start, &ev);
      check(used <= in.size() - start, "used <= bytes given");
      if (ev.kind != EventKind::kNeedMore) {
        out.events.push_back({ev.kind, std::string(ev.data), static_cast<uint16_t>(ev.code)});
      }
      start += used;
      if (ev.kind == EventKind::kError) failed = true;
      if (ev.kind == EventKind::kNeedMore || failed) break;
    }
  }
  in.erase(0, start);
  if (!failed) {
    // The reader stopped at an incomplete frame (a larger limit cannot turn
    // that into a whole one or an error). After an error, what is left
    // depends on where the pieces were cut, so it is not compared.
    Frame frame;
    CloseCode error;
    FrameOptions fo;
    fo.masked = options.masked;
    std::string rest = in;
    check(parseFrame(rest.data(), rest.size(), fo, &frame, &error) == kFrameIncomplete,
          "what is left is an incomplete frame");
    out.left = in;
  }
  return out;
}

void checkEvents(const Outcome& o, const ReaderOptions& options) {
  for (size_t i = 0; i < o.events.size(); ++i) {
    const Seen& e = o.events[i];
    switch (e.kind) {
      case EventKind::kText:
        check(referenceValid(e.data), "texts are valid UTF-8");
        [[fallthrough]];
      case EventKind::kBinary:
        check(e.data.size() <= options.max_message_bytes, "messages within the limit");
        break;
      case EventKind::kPing:
      case EventKind::kPong:
        check(e.data.size() <= kMaxControlPayload, "control payloads <= 125");
        break;
      case EventKind::kClose:
        check(e.code == 1005 ? e.data.empty() : referenceCloseCode(e.code), "close code valid");
        check(referenceValid(e.data) && e.data.size() <= 123, "close reason valid");
        check(i + 1 == o.events.size(), "nothing after a close");
        break;
      case EventKind::kError:
        check(e.code == 1002 || e.code == 1007 || e.code == 1009, "error codes");
        check(i + 1 == o.events.size(), "nothing after an error");
        break;
      case EventKind::kNeedMore:
        check(false, "kNeedMore is not an event");
    }
  }
}

// Whole, one byte at a time (when short), and in random pieces: same outcome.
Outcome runAllWays(std::string_view wire, const ReaderOptions& options, uint32_t seed) {
  Outcome whole = feed(wire, {}, options);
  checkEvents(whole, options);
  if (wire.size() <= 16 * 1024) {
    check(feed(wire, std::vector<size_t>(wire.size(), 1), options) == whole, "bytewise == whole");
  }
  std::mt19937 rng(seed);
  std::vector<size_t> cuts;
  for (size_t total = 0; total < wire.size();) {
    size_t n = rng() % 3 == 0 ? 1 + rng() % 3 : 1 + rng() % 97;
    cuts.push_back(n);
    total += n;
  }
  check(feed(wire, cuts, options) == whole, "pieces == whole");
  return whole;
}

// Mode 1: a program of frames, one instruction per byte b (then its operands):
//   b & 7 in 0..4, 7: a data frame (text if b & 8 when it starts a message,
//   else a continuation), FIN if b & 16, length = next byte (x 300 if b & 32),
//   payload the next bytes (cycled when the length is longer);
//   5: ping, 6: pong (length = next byte % 126); b & 7 == 7 with b & 64: close
//   with the code in the next two bytes and a reason of (next byte % 124) bytes.
// The model: each frame in order, the checks a receiver makes.
struct Program {
  std::string wire;
  std::vector<Seen> expected;
};

class Builder {
 public:
  Builder(std::string_view in, size_t limit) : in_(in), limit_(limit) {}
  static constexpr size_t kMaxWire = 1536 * 1024;  // past the 1 MiB limit, not much more

  Program build() {
    while (!in_.empty() && !done_ && program_.wire.size() < kMaxWire) step();
    return std::move(program_);
  }

 private:
  uint8_t next() {
    if (in_.empty()) return 0;
    auto b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return b;
  }

  // The next n bytes of input, cycled (or 'a's) when fewer remain; built by
  // doubling, as big frames would otherwise dominate the run time.
  std::string payload(size_t n) {
    std::string_view src = in_.substr(0, std::min(n, in_.size()));
    in_.remove_prefix(src.size());
    std::string p = src.empty() ? std::string(n, 'a') : std::string(src);
    while (p.size() < n) p.append(p, 0, std::min(p.size(), n - p.size()));
    return p;
  }

  void frame(uint8_t first, std::string_view p) {
    uint8_t key[4] = {next(), next(), next(), next()};
    std::string& w = program_.wire;
    w.push_back(static_cast<char>(first));
    if (p.size() < 126) {
      w.push_back(static_cast<char>(0x80 | p.size()));
    } else if (p.size() <= 0xFFFF) {
      w.push_back(static_cast<char>(0xFE));
      w.push_back(static_cast<char>(p.size() >> 8));
      w.push_back(static_cast<char>(p.size()));
    } else {
      w.push_back(static_cast<char>(0xFF));
      for (int i = 7; i >= 0; --i) w.push_back(static_cast<char>(uint64_t{p.size()} >> (8 * i)));
    }
    w.append(reinterpret_cast<const char*>(key), 4);
    // Masked 4 bytes a step (ws::unmask works on 8 and 32; it is not used here,
    // since a consistently wrong XOR would undo itself).
    size_t at = w.size();
    w.append(p);
    char* q = w.data() + at;
    size_t i = 0;
    for (; i + 4 <= p.size(); i += 4, q += 4) {
      q[0] = static_cast<char>(q[0] ^ key[0]);
      q[1] = static_cast<char>(q[1] ^ key[1]);
      q[2] = static_cast<char>(q[2] ^ key[2]);
      q[3] = static_cast<char>(q[3] ^ key[3]);
    }
    for (size_t k = 0; i < p.size(); ++i, ++k) q[k] = static_cast<char>(q[k] ^ key[k]);
  }

  void expect(EventKind kind, std::string data, uint16_t code = 1005) {
    program_.expected.push_back({kind, std::move(data), code});
    if (kind == EventKind::kError || kind == EventKind::kClose) done_ = true;
  }

  void step() {
    uint8_t b = next();
    int op = b & 7;
    if (op == 5 || op == 6) {
      std::string p = payload(next() % 126);
      frame(0x80 | (op == 5 ? 0x9 : 0xA), p);
      expect(op == 5 ? EventKind::kPing : EventKind::kPong, p);
      return;
    }
    if (op == 7 && (b & 64)) {
      uint16_t code = static_cast<uint16_t>(next() << 8);
      code |= next();
      std::string reason = payload(next() % 124);
      std::string body{static_cast<char>(code >> 8), static_cast<char>(code)};
      frame(0x88, body + reason);
      if (!referenceCloseCode(code)) return expect(EventKind::kError, {}, 1002);
      if (!referenceValid(reason)) return expect(EventKind::kError, {}, 1007);
      return expect(EventKind::kClose, reason, code);
    }
    bool fin = b & 16;
    size_t n = next();
    if (b & 32) n *= 300;  // up to 76,500: 16- and 64-bit lengths
    std::string p = payload(n);
    uint8_t opcode = open_ ? 0x0 : (b & 8) ? 0x1 : 0x2;
    if (!open_) text_ = opcode == 0x1;
    frame((fin ? 0x80 : 0) | opcode, p);
    open_ = true;
    message_ += p;
    if (message_.size() > limit_) return expect(EventKind::kError, {}, 1009);
    Ref text = text_ ? referenceScan(message_, &checked_) : Ref::kValid;
    if (text == Ref::kInvalid) return expect(EventKind::kError, {}, 1007);
    if (!fin) return;
    if (text != Ref::kValid) return expect(EventKind::kError, {}, 1007);
    expect(text_ ? EventKind::kText : EventKind::kBinary, message_);
    open_ = false;
    message_.clear();
    checked_ = 0;
  }

  std::string_view in_;
  size_t limit_;
  Program program_;
  bool done_ = false;
  bool open_ = false;
  bool text_ = false;
  std::string message_;
  size_t checked_ = 0;  // message_ is valid UTF-8 up to here (a character boundary)
};

// Mode 2: header lines for the handshake check.
void runHandshake(std::string_view in) {
  HandshakeCheck c("GET");
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    c.addField(line.substr(0, colon), line.substr(colon + 1));
  }
  HandshakeStatus s = c.status();
  int status = httpStatus(s);
  check(status == 101 || status == 400 || status == 426, "handshake statuses");
  check(!describe(s).empty(), "described");
  if (s == HandshakeStatus::kOk) {
    check(c.key().size() == 24, "keys are 24 characters");
    auto accept = acceptKey(c.key());
    check(accept[27] == '=' && accept[26] != '=', "accept is base64 of 20 bytes");
    rover::core::Buffer out;
    appendSwitchingProtocols(&out, c.key());
    check(out.view().ends_with("\r\n\r\n"), "head ends with an empty line");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  uint8_t flags = data[1];
  ReaderOptions options;
  if (flags & 1) options.max_message_bytes = 40;
  switch (data[0] % 3) {
    case 0:
      options.masked = !(flags & 2);
      runAllWays(in, options, flags);
      break;
    case 1: {
      Program p = Builder(in, options.max_message_bytes).build();
      Outcome o = runAllWays(p.wire, options, flags);
      check(o.events == p.expected, "events match the model");
      break;
    }
    default:
      runHandshake(in);
      break;
  }
  return 0;
}
