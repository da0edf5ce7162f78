#include "http/chunked.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/hex.h"
#include "core/limits.h"
#include "http/parser.h"

namespace rover::http {
namespace {

using Result = ChunkedDecoder::Result;

struct Decoded {
  Result result = Result::kNeedMore;
  size_t consumed = 0;  // input bytes used over all pieces
  std::string body;
};

// Feeds one piece the way RequestParser::readChunked does: feed() returns after
// each chunk's data (so the caller can check the body limit), so call it again
// until the piece is used up or the decoder stops.
Result feedPiece(ChunkedDecoder& d, std::string_view piece, Decoded* out) {
  size_t pos = 0;
  Result r = Result::kNeedMore;
  while (pos < piece.size()) {
    size_t used = 0;
    r = d.feed(piece.data() + pos, piece.size() - pos, &used, &out->body);
    EXPECT_LE(used, piece.size() - pos);
    pos += used;
    out->consumed += used;
    if (r != Result::kNeedMore) break;
    EXPECT_GT(used, 0u) << "kNeedMore without progress";
    if (used == 0) break;
  }
  out->result = r;
  return r;
}

// Feeds `input` in pieces of `step` bytes.
Decoded decode(std::string_view input, size_t step = std::string_view::npos) {
  ChunkedDecoder d;
  Decoded out;
  if (input.empty()) return out;
  if (step == 0 || step > input.size()) step = input.size();
  for (size_t i = 0; i < input.size(); i += step) {
    if (feedPiece(d, input.substr(i, step), &out) != Result::kNeedMore) break;
  }
  return out;
}

// Feeds input[0..a), input[a..b), input[b..).
Decoded decodeSplit(std::string_view input, size_t a, size_t b) {
  ChunkedDecoder d;
  Decoded out;
  std::string_view pieces[] = {input.substr(0, a), input.substr(a, b - a), input.substr(b)};
  for (std::string_view p : pieces) {
    if (feedPiece(d, p, &out) != Result::kNeedMore) break;
  }
  return out;
}

void expectDone(std::string_view input, std::string_view body) {
  Decoded out = decode(input);
  EXPECT_EQ(out.result, Result::kDone) << input;
  EXPECT_EQ(out.consumed, input.size()) << input;
  EXPECT_EQ(out.body, body) << input;
}

void expectError(std::string_view input) {
  Decoded out = decode(input);
  EXPECT_EQ(out.result, Result::kError) << input;
}

// A message touching every state: hex of both cases, several extensions with
// BWS and a quoted value, an empty extension, data with CR and LF inside, and trailers.
const std::string kFull =
    "5\r\nhello\r\n"
    "A ; a=1;b=\"x;y\" ;c\r\n0123\r\n6789\r\n"
    "1f;\r\nthirty-one bytes of chunk data!\r\n"
    "0;last\r\n"
    "Trailer-One: v1\r\n"
    "X-Obs: caf\xc3\xa9\t\r\n"
    "\r\n";
const std::string kFullBody = "hello0123\r\n6789thirty-one bytes of chunk data!";

TEST(ChunkedDecoder, DecodesSingleChunk) { expectDone("3\r\nabc\r\n0\r\n\r\n", "abc"); }

TEST(ChunkedDecoder, DecodesEmptyBody) { expectDone("0\r\n\r\n", ""); }

TEST(ChunkedDecoder, DecodesFullMessageInOneCall) { expectDone(kFull, kFullBody); }

TEST(ChunkedDecoder, HexDigitsInBothCasesAndLeadingZeros) {
  std::string data(0xAB, 'x');
  expectDone("ab\r\n" + data + "\r\n0\r\n\r\n", data);
  expectDone("Ab\r\n" + data + "\r\n0\r\n\r\n", data);
  expectDone("00000000000000aB\r\n" + data + "\r\n0\r\n\r\n", data);  // 16 digits
  expectDone("0000000000000000\r\n\r\n", "");                         // 16 zero digits
  expectDone("000\r\n\r\n", "");
}

TEST(ChunkedDecoder, ByteAtATime) {
  Decoded out = decode(kFull, 1);
  EXPECT_EQ(out.result, Result::kDone);
  EXPECT_EQ(out.consumed, kFull.size());
  EXPECT_EQ(out.body, kFullBody);
}

TEST(ChunkedDecoder, EveryPieceSize) {
  for (size_t step = 1; step <= kFull.size(); ++step) {
    Decoded out = decode(kFull, step);
    EXPECT_EQ(out.result, Result::kDone) << "step " << step;
    EXPECT_EQ(out.consumed, kFull.size()) << "step " << step;
    EXPECT_EQ(out.body, kFullBody) << "step " << step;
  }
}

TEST(ChunkedDecoder, SplitAtEveryPairOfPositions) {
  for (size_t a = 0; a <= kFull.size(); ++a) {
    for (size_t b = a; b <= kFull.size(); ++b) {
      Decoded out = decodeSplit(kFull, a, b);
      ASSERT_EQ(out.result, Result::kDone) << "split " << a << "," << b;
      ASSERT_EQ(out.consumed, kFull.size()) << "split " << a << "," << b;
      ASSERT_EQ(out.body, kFullBody) << "split " << a << "," << b;
    }
  }
}

TEST(ChunkedDecoder, IncompleteInputNeedsMoreAtEveryPrefix) {
  for (size_t n = 0; n < kFull.size(); ++n) {
    Decoded out = decode(std::string_view(kFull).substr(0, n));
    EXPECT_EQ(out.result, Result::kNeedMore) << "prefix " << n;
    EXPECT_EQ(out.consumed, n) << "prefix " << n;
    EXPECT_EQ(out.body, kFullBody.substr(0, out.body.size())) << "prefix " << n;
  }
}

// kDone stops right after the final CRLF: what follows is the next request.
TEST(ChunkedDecoder, StopsAtEndOfMessage) {
  std::string next = "GET / HTTP/1.1\r\n";
  for (std::string msg : {std::string("0\r\n\r\n"), std::string("2\r\nab\r\n0\r\nT: v\r\n\r\n")}) {
    std::string in = msg + next;
    ChunkedDecoder d;
    Decoded out;
    EXPECT_EQ(feedPiece(d, in, &out), Result::kDone) << msg;
    EXPECT_EQ(out.consumed, msg.size()) << msg;
  }
}

// feed() hands control back after each chunk's data, before decoding the
// next chunk, so the caller can check the body limit in between.
TEST(ChunkedDecoder, ReturnsAfterEachChunkData) {
  std::string in = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
  ChunkedDecoder d;
  std::string body;
  size_t used = 0;
  EXPECT_EQ(d.feed(in.data(), in.size(), &used, &body), Result::kNeedMore);
  EXPECT_EQ(used, 8u);  // "5\r\nhello"
  EXPECT_EQ(body, "hello");
  size_t pos = used;
  EXPECT_EQ(d.feed(in.data() + pos, in.size() - pos, &used, &body), Result::kNeedMore);
  EXPECT_EQ(pos + used, 18u);  // through "\r\n5\r\nworld"
  EXPECT_EQ(body, "helloworld");
  pos += used;
  EXPECT_EQ(d.feed(in.data() + pos, in.size() - pos, &used, &body), Result::kDone);
  EXPECT_EQ(pos + used, in.size());
}

// A chunk larger than the input so far: only the bytes given are appended.
TEST(ChunkedDecoder, LargeChunkArrivesInPieces) {
  ChunkedDecoder d;
  Decoded out;
  EXPECT_EQ(feedPiece(d, "100000\r\n", &out), Result::kNeedMore);  // 1 MiB
  std::string piece(1000, 'z');
  for (int i = 0; i < 10; ++i) EXPECT_EQ(feedPiece(d, piece, &out), Result::kNeedMore);
  EXPECT_EQ(out.body.size(), 10000u);
  EXPECT_EQ(out.consumed, 8u + 10000u);
}

TEST(ChunkedDecoder, ResetStartsAFreshMessage) {
  ChunkedDecoder d;
  Decoded out;
  EXPECT_EQ(feedPiece(d, "5\r\nhel", &out), Result::kNeedMore);
  d.reset();
  Decoded again;
  EXPECT_EQ(feedPiece(d, "2\r\nok\r\n0\r\n\r\n", &again), Result::kDone);
  EXPECT_EQ(again.body, "ok");
  // Also after an error.
  EXPECT_EQ(feedPiece(d, "zz", &again), Result::kError);
  d.reset();
  Decoded third;
  EXPECT_EQ(feedPiece(d, "1\r\nx\r\n0\r\n\r\n", &third), Result::kDone);
  EXPECT_EQ(third.body, "x");
}

TEST(ChunkedDecoder, RejectsInvalidChunkSize) {
  for (const char* in : {
           "\r\n\r\n",          // empty size
           "g\r\n",             // not hex
           "0x5\r\nhello\r\n",  // 0x prefix
           "+5\r\nhello\r\n",   // sign
           "-5\r\nhello\r\n",
           " 5\r\nhello\r\n",  // leading space
           "5 \r\nhello\r\n",  // trailing space without an extension
           "5\t\r\nhello\r\n",
           "5 6\r\n",       // space inside the number
           "5z\r\n",        // digit then garbage
           ";ext\r\n",      // extension without a size
           "5\nhello\r\n",  // bare LF after the size
           "5\rhello\r\n",  // CR without LF
           "5\r\r\n",
       }) {
    expectError(in);
  }
}

TEST(ChunkedDecoder, InvalidHexDigitAtEveryPosition) {
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    if (core::hexValue(c) >= 0 || c == ';' || c == ' ' || c == '\t' || c == '\r') continue;
    for (size_t at = 0; at < 4; ++at) {
      std::string size = "1000";
      size[at] = c;
      std::string in = size + "\r\n";
      EXPECT_EQ(decode(in).result, Result::kError) << "byte " << b << " at " << at;
    }
  }
}

TEST(ChunkedDecoder, SizeOfSixteenDigitsIsAccepted) {
  // The largest size: 16 digits fill 64 bits without overflow.
  ChunkedDecoder d;
  Decoded out;
  EXPECT_EQ(feedPiece(d, "ffffffffffffffff\r\nabc", &out), Result::kNeedMore);
  EXPECT_EQ(out.body, "abc");
  EXPECT_EQ(out.consumed, 21u);
}

TEST(ChunkedDecoder, RejectsSeventeenDigits) {
  expectError("10000000000000000\r\n");  // 2^64: would overflow
  expectError("00000000000000001\r\n");  // 17 digits even with leading zeros
  // Rejected as soon as the 17th digit arrives, without waiting for the CRLF.
  Decoded out = decode("fffffffffffffffff", 1);
  EXPECT_EQ(out.result, Result::kError);
}

TEST(ChunkedDecoder, ExtensionsAreSkipped) {
  expectDone("3;name\r\nabc\r\n0\r\n\r\n", "abc");
  expectDone("3;a=1;b=2;c=3\r\nabc\r\n0\r\n\r\n", "abc");  // several (llhttp rejects a second)
  expectDone("3 ;a=1\r\nabc\r\n0\r\n\r\n", "abc");         // BWS before ';'
  expectDone("3 \t ;a=1\r\nabc\r\n0\r\n\r\n", "abc");
  expectDone("3; a = \"q;\\\"s\" \r\nabc\r\n0\r\n\r\n", "abc");  // quoted value
  expectDone("3;a\tb\r\nabc\r\n0\r\n\r\n", "abc");               // HTAB allowed
  expectDone("3;caf\xc3\xa9\r\nabc\r\n0\r\n\r\n", "abc");        // obs-text
  expectDone("0;a=1;b\r\n\r\n", "");                             // on the last chunk
}

TEST(ChunkedDecoder, RejectsControlCharactersInExtensions) {
  for (int b = 0; b < 0x20; ++b) {
    if (b == '\t' || b == '\r') continue;
    std::string in = "3;a";
    in += static_cast<char>(b);
    in += "b\r\nabc\r\n0\r\n\r\n";
    EXPECT_EQ(decode(in).result, Result::kError) << "byte " << b;
  }
  expectError("3;a\nabc\r\n");       // bare LF ends nothing
  expectError("3;a\rb\r\nabc\r\n");  // bare CR
}

// The chunk-size line, extensions included, is bounded by kMaxChunkLineBytes.
TEST(ChunkedDecoder, ChunkLineLimit) {
  const size_t limit = core::kMaxChunkLineBytes;
  auto lineOf = [](size_t bytes) {  // "1;xxx…": `bytes` long before its CRLF
    return "1;" + std::string(bytes - 2, 'x');
  };
  // Well inside the limit whether or not the CRLF is counted.
  expectDone(lineOf(limit - 2) + "\r\na\r\n0\r\n\r\n", "a");
  // Beyond it by any count.
  expectError(lineOf(limit + 1) + "\r\na\r\n0\r\n\r\n");
  // Answered as soon as the line passes the limit, without waiting for CRLF.
  Decoded out = decode(lineOf(limit + 1), 1);
  EXPECT_EQ(out.result, Result::kError);
  // Whitespace before ';' counts toward the line too.
  expectError("1" + std::string(limit + 1, ' ') + ";\r\na\r\n0\r\n\r\n");
  // The limit is per line: many long lines in a row are fine.
  std::string in;
  std::string body;
  for (int i = 0; i < 8; ++i) {
    in += lineOf(limit - 2) + "\r\nq\r\n";
    body += 'q';
  }
  expectDone(in + "0\r\n\r\n", body);
}

TEST(ChunkedDecoder, RejectsMissingCrlfAfterData) {
  expectError("3\r\nabcd\r\n0\r\n\r\n");  // data longer than declared
  expectError("3\r\nabc\n0\r\n\r\n");     // LF only
  expectError("3\r\nabc\r0\r\n\r\n");     // CR only
  expectError("3\r\nabc0\r\n\r\n");
  Decoded out = decode("3\r\nab\r\n0\r\n\r\n");  // shorter: CRLF taken as data, then '0'
  EXPECT_EQ(out.result, Result::kError);
}

TEST(ChunkedDecoder, TrailersAreDropped) {
  expectDone("2\r\nok\r\n0\r\nT: v\r\n\r\n", "ok");
  expectDone("2\r\nok\r\n0\r\nA: 1\r\nB-C: two words\r\nEmpty:\r\n\r\n", "ok");
  expectDone("0\r\nT: caf\xc3\xa9\tx\r\n\r\n", "");
}

TEST(ChunkedDecoder, RejectsMalformedTrailers) {
  expectError("0\r\n T: v\r\n\r\n");  // obs-fold / leading space
  expectError("0\r\n\tT: v\r\n\r\n");
  expectError("0\r\nA: 1\r\n folded\r\n\r\n");
  expectError("0\r\n: v\r\n\r\n");                       // empty name
  expectError("0\r\nT: a\x01z\r\n\r\n");                 // control character
  expectError(std::string("0\r\nT: a\0z\r\n\r\n", 13));  // NUL
  expectError("0\r\nT: a\nb\r\n\r\n");                   // bare LF
  expectError("0\r\nT: a\rb\r\n\r\n");                   // bare CR
  expectError("0\r\n\n");                                // LF as the final line
  expectError("0\r\n\rX");                               // CR without LF at the end
}

// Trailer fields are parsed like header fields (lua-api.md §11.1): a token
// name, ':' right after it, a value without control characters or DEL.
TEST(ChunkedDecoder, RejectsTrailersThatAreNotFields) {
  expectError("0\r\nNoColon\r\n\r\n");
  expectError("0\r\nT : v\r\n\r\n");     // space before the colon
  expectError("0\r\nT(x): v\r\n\r\n");   // not a token
  expectError("0\r\nT\x80: v\r\n\r\n");  // obs-text in the name
  expectError("0\r\nT: a\x7f\r\n\r\n");  // DEL in the value
  expectDone("0\r\nX-Sum!#$%&'*+-.^_`|~: v:w\r\n\r\n",
             "");  // every token character; ':' in the value
}

// Trailers are bounded like a header section (kMaxTrailerBytes); beyond it
// the error is flagged as a 431 rather than a 400.
TEST(ChunkedDecoder, TrailerSectionLimit) {
  const size_t limit = ChunkedDecoder::kMaxTrailerBytes;
  EXPECT_EQ(limit, core::kMaxHeaderSectionBytes);
  auto trailersOf = [](size_t lines, size_t line_bytes) {  // each line `line_bytes` + CRLF
    std::string s;
    for (size_t i = 0; i < lines; ++i) s += "X: " + std::string(line_bytes - 3, 'v') + "\r\n";
    return s;
  };
  // 63 lines of 1000 bytes + CRLFs: under the limit by any count.
  {
    std::string in = "1\r\na\r\n0\r\n" + trailersOf(63, 1000) + "\r\n";
    ChunkedDecoder d;
    Decoded out;
    EXPECT_EQ(feedPiece(d, in, &out), Result::kDone);
    EXPECT_FALSE(d.trailerTooLarge());
  }
  // Content alone beyond the limit.
  {
    std::string in = "0\r\n" + trailersOf(65, 1024) + "\r\n";
    ChunkedDecoder d;
    Decoded out;
    EXPECT_EQ(feedPiece(d, in, &out), Result::kError);
    EXPECT_TRUE(d.trailerTooLarge());
    EXPECT_LT(out.consumed, in.size());
  }
  // One endless trailer line: answered once it passes the limit, before its CRLF.
  {
    ChunkedDecoder d;
    Decoded out;
    EXPECT_EQ(feedPiece(d, "0\r\nX: ", &out), Result::kNeedMore);
    std::string piece(1024, 'v');
    Result r = Result::kNeedMore;
    size_t fed = 0;
    while (r == Result::kNeedMore && fed < 2 * limit) {
      r = feedPiece(d, piece, &out);
      fed += piece.size();
    }
    EXPECT_EQ(r, Result::kError);
    EXPECT_TRUE(d.trailerTooLarge());
    EXPECT_LE(fed, limit + piece.size());
  }
}

TEST(ChunkedDecoder, OtherErrorsAreNotTrailerTooLarge) {
  for (const char* in : {"g\r\n", "0\r\n T: v\r\n\r\n", "1\r\nab"}) {
    ChunkedDecoder d;
    Decoded out;
    EXPECT_EQ(feedPiece(d, in, &out), Result::kError) << in;
    EXPECT_FALSE(d.trailerTooLarge()) << in;
  }
}

// The body limit is the parser's: it checks after every feed() return, so a
// chunked body is rejected with 413 as soon as it passes the limit.
ParseStatus parseChunked(RequestParser& p, const std::string& body, int64_t limit, size_t step) {
  p.setBodyLimit(limit);
  std::string in = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
  std::string buf;
  ParseStatus st = ParseStatus::kNeedMore;
  for (size_t i = 0; i < in.size(); i += step) {
    buf.append(in, i, step);
    st = p.execute(buf.data(), buf.size());
    while (st == ParseStatus::kContinue) st = p.execute(buf.data(), buf.size());
    if (st != ParseStatus::kNeedMore) return st;
  }
  return st;
}

TEST(ChunkedBodyLimit, ExactlyAtLimitIsAccepted) {
  for (size_t step : {size_t{1}, size_t{7}, size_t{100000}}) {
    RequestParser p;
    std::string body = "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n";
    EXPECT_EQ(parseChunked(p, body, 10, step), ParseStatus::kMessageComplete) << step;
  }
}

TEST(ChunkedBodyLimit, OneByteOverIsRejectedWith413) {
  for (size_t step : {size_t{1}, size_t{7}, size_t{100000}}) {
    RequestParser p;
    std::string body = "4\r\nabcd\r\n7\r\nefghijk\r\n0\r\n\r\n";
    EXPECT_EQ(parseChunked(p, body, 10, step), ParseStatus::kError) << step;
    EXPECT_EQ(p.errorStatus(), 413) << step;
    EXPECT_EQ(p.errorBodySize(), 11) << step;
  }
}

TEST(ChunkedBodyLimit, RejectedBeforeTheChunkEnds) {
  // A 1 MiB chunk against a 100-byte limit fails within the first piece past 100.
  RequestParser p;
  std::string body = "100000\r\n" + std::string(1000, 'x');
  EXPECT_EQ(parseChunked(p, body, 100, 10), ParseStatus::kError);
  EXPECT_EQ(p.errorStatus(), 413);
  EXPECT_LE(p.errorBodySize(), 110);
}

TEST(ChunkedBodyLimit, DefaultLimitAppliesToChunkedBodies) {
  RequestParser p;
  std::string over = "100001\r\n" + std::string(0x100001, 'x') + "\r\n0\r\n\r\n";
  EXPECT_EQ(parseChunked(p, over, core::kDefaultBodySizeLimit, 1 << 16), ParseStatus::kError);
  EXPECT_EQ(p.errorStatus(), 413);
  RequestParser q;
  std::string at = "100000\r\n" + std::string(0x100000, 'x') + "\r\n0\r\n\r\n";
  EXPECT_EQ(parseChunked(q, at, core::kDefaultBodySizeLimit, 1 << 16),
            ParseStatus::kMessageComplete);
}

TEST(ChunkedBodyLimit, TrailerTooLargeIs431) {
  RequestParser p;
  std::string trailers;
  for (int i = 0; i < 70; ++i) trailers += "X: " + std::string(1000, 'v') + "\r\n";
  EXPECT_EQ(parseChunked(p, "0\r\n" + trailers + "\r\n", 0, 4096), ParseStatus::kError);
  EXPECT_EQ(p.errorStatus(), 431);
}

}  // namespace
}  // namespace rover::http
