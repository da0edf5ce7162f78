#include "http/parser.h"

#include <gtest/gtest.h>

#include <string>

namespace rover::http {
namespace {

// The request's views without its headers (their storage is gone on return).
Request requestOf(const RequestParser& p, const std::string& buf) {
  RequestStorage r;
  p.request(buf.data(), &r);
  Request copy = r;
  copy.headers = nullptr;
  copy.header_count = 0;
  return copy;
}

struct Fed {
  ParseStatus status;
  std::string buf;
};

// Feeds `input` in pieces of `step` bytes into one growing buffer.
ParseStatus feedAll(RequestParser& p, std::string& buf, const std::string& input, size_t step) {
  ParseStatus st = ParseStatus::kNeedMore;
  for (size_t i = 0; i < input.size(); i += step) {
    buf.append(input.substr(i, step));
    st = p.execute(buf.data(), buf.size());
    while (st == ParseStatus::kContinue) st = p.execute(buf.data(), buf.size());
    if (st != ParseStatus::kNeedMore) return st;
  }
  return st;
}

TEST(RequestParser, ParsesSimpleGet) {
  RequestParser p;
  std::string buf = "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-Y:  v  \r\n\r\n";
  ASSERT_EQ(p.execute(buf.data(), buf.size()), ParseStatus::kMessageComplete);
  RequestStorage r;
  p.request(buf.data(), &r);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/a/b");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_TRUE(r.has_query);
  ASSERT_EQ(r.header_count, 2u);
  EXPECT_EQ(r.headers[1].name, "X-Y");
  EXPECT_EQ(r.headers[1].value, "v");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.has_body);
}

TEST(RequestParser, ByteAtATimeWithBodyAndPipelining) {
  RequestParser p;
  std::string buf;
  std::string in =
      "\r\nPOST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloFOO /z HTTP/1.1\r\nHost: "
      "h\r\nEmpty:\r\n\r\n";
  size_t first = in.find("FOO");
  ASSERT_EQ(feedAll(p, buf, in.substr(0, first), 1), ParseStatus::kMessageComplete);
  RequestStorage r;
  p.request(buf.data(), &r);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.body, "hello");
  p.nextMessage();
  size_t start = p.messageStart();
  buf.erase(0, start);
  p.rebase(start);
  ASSERT_EQ(feedAll(p, buf, in.substr(first), 1), ParseStatus::kMessageComplete);
  RequestStorage r2;
  p.request(buf.data(), &r2);
  EXPECT_EQ(r2.method, "FOO");
  EXPECT_EQ(r2.path, "/z");
  ASSERT_EQ(r2.header_count, 2u);
  EXPECT_EQ(r2.headers[1].name, "Empty");
  EXPECT_EQ(r2.headers[1].value, "");
}

TEST(RequestParser, ChunkedBody) {
  RequestParser p;
  std::string buf;
  std::string in =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n"
      "T: x\r\n\r\n";
  ASSERT_EQ(feedAll(p, buf, in, 3), ParseStatus::kMessageComplete);
  EXPECT_EQ(requestOf(p, buf).body, "abcde");
}

TEST(RequestParser, Rejections) {
  struct Case {
    std::string in;
    int status;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", 400},                        // no Host
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},  // two Hosts
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
      {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413},
      {"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400},  // obs-fold
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400},   // control char
      {"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400},     // empty name
      {"GET / HTTP/1.1\r\nHost: a\r\nX : v\r\n\r\n", 400},       // space before colon
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400},     // bare CR
      {"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"GET / HTTP\r\nHost: a\r\n\r\n", 400},
  };
  for (auto& c : cases) {
    RequestParser p;
    std::string buf = c.in;
    ParseStatus st = p.execute(buf.data(), buf.size());
    while (st == ParseStatus::kContinue) st = p.execute(buf.data(), buf.size());
    EXPECT_EQ(st, ParseStatus::kError) << c.in;
    EXPECT_EQ(p.errorStatus(), c.status) << c.in;
  }
}

// Every byte value at every position of a 30-byte header value and target:
// the parser checks 8 bytes at a time, so position within a word matters.
TEST(RequestParser, EveryByteAtEveryPosition) {
  auto parse = [](const std::string& in) {
    RequestParser p;
    std::string buf = in;
    ParseStatus st = p.execute(buf.data(), buf.size());
    while (st == ParseStatus::kContinue) st = p.execute(buf.data(), buf.size());
    return st == ParseStatus::kError ? p.errorStatus() : 0;
  };
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool value_ok = b == '\t' || (b >= 0x20 && b != 0x7f);  // obs-text allowed
    const bool target_ok = b >= 0x21 && b <= 0x7e;
    for (size_t at = 0; at < 30; ++at) {
      std::string value(30, 'v');
      value[at] = c;
      std::string v_in = "GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "z\r\n\r\n";
      if (b == '\r' || b == '\n') continue;  // line structure, covered above
      EXPECT_EQ(parse(v_in), value_ok ? 0 : 400) << "value byte " << b << " at " << at;
      std::string target = "/" + std::string(30, 't');
      target[1 + at] = c;
      std::string t_in = "GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n";
      EXPECT_EQ(parse(t_in), target_ok ? 0 : 400) << "target byte " << b << " at " << at;
    }
  }
}

TEST(RequestParser, TooManyHeaders) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 99; ++i) in += "X-" + std::to_string(i) + ": v\r\n";
  RequestParser ok;
  std::string buf = in + "\r\n";
  EXPECT_EQ(ok.execute(buf.data(), buf.size()), ParseStatus::kMessageComplete);
  RequestParser bad;
  buf = in + "X-last: v\r\n\r\n";
  EXPECT_EQ(bad.execute(buf.data(), buf.size()), ParseStatus::kError);
  EXPECT_EQ(bad.errorStatus(), 431);
}

TEST(RequestParser, ExpectContinuePausesAfterHead) {
  RequestParser p;
  std::string buf =
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(p.execute(buf.data(), buf.size()), ParseStatus::kContinue);
  EXPECT_EQ(p.execute(buf.data(), buf.size()), ParseStatus::kNeedMore);
  buf += "ok";
  EXPECT_EQ(p.execute(buf.data(), buf.size()), ParseStatus::kMessageComplete);
  EXPECT_EQ(requestOf(p, buf).body, "ok");
}

TEST(RequestParser, Http10KeepAlive) {
  RequestParser p;
  std::string buf = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(p.execute(buf.data(), buf.size()), ParseStatus::kMessageComplete);
  EXPECT_FALSE(requestOf(p, buf).keep_alive);
  RequestParser q;
  buf = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  ASSERT_EQ(q.execute(buf.data(), buf.size()), ParseStatus::kMessageComplete);
  EXPECT_TRUE(requestOf(q, buf).keep_alive);
}

TEST(RequestParser, AbsoluteFormTarget) {
  RequestParser p;
  std::string buf = "GET http://example.com:8080/x/y?q=1 HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(p.execute(buf.data(), buf.size()), ParseStatus::kMessageComplete);
  EXPECT_EQ(requestOf(p, buf).path, "/x/y");
  EXPECT_EQ(requestOf(p, buf).query, "q=1");
}

}  // namespace
}  // namespace rover::http
