#include "http/response.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "core/clock.h"

namespace rover::http {
namespace {

// True when s has the IMF-fixdate shape "Sun, 06 Nov 1994 08:49:37 GMT".
bool isImfFixdate(std::string_view s) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29) return false;
  auto isOneOf = [](std::string_view word, auto& list) {
    for (std::string_view w : list)
      if (w == word) return true;
    return false;
  };
  auto digits = [&](size_t pos, size_t n) {
    for (size_t i = pos; i < pos + n; ++i)
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
  };
  return isOneOf(s.substr(0, 3), kDays) && s.substr(3, 2) == ", " && digits(5, 2) && s[7] == ' ' &&
         isOneOf(s.substr(8, 3), kMonths) && s[11] == ' ' && digits(12, 4) && s[16] == ' ' &&
         digits(17, 2) && s[19] == ':' && digits(20, 2) && s[22] == ':' && digits(23, 2) &&
         s.substr(25) == " GMT";
}

// The output with the Date header's value replaced by "<date>"; the value must
// be the one Date line right after the status line and have the IMF-fixdate shape.
std::string withoutDate(std::string_view out) {
  size_t status_end = out.find("\r\n");
  if (status_end == std::string_view::npos) {
    ADD_FAILURE() << "no status line in: " << out;
    return std::string(out);
  }
  std::string_view prefix = "\r\nDate: ";
  if (out.substr(status_end, prefix.size()) != prefix) {
    ADD_FAILURE() << "no Date line after the status line in: " << out;
    return std::string(out);
  }
  size_t value_start = status_end + prefix.size();
  size_t value_end = out.find("\r\n", value_start);
  std::string_view date = out.substr(value_start, value_end - value_start);
  EXPECT_TRUE(isImfFixdate(date)) << "Date: " << date;
  std::string rest(out.substr(0, value_start));
  rest += "<date>";
  rest += out.substr(value_end);
  return rest;
}

std::string serialized(const Response& r, SerializeOptions opts = {}) {
  core::Buffer out;
  serialize(r, opts, out);
  return withoutDate(out.view());
}

TEST(HttpDate, HasImfFixdateShape) {
  EXPECT_TRUE(isImfFixdate("Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(isImfFixdate("Sunday, 06-Nov-94 08:49:37 GMT"));
  EXPECT_TRUE(isImfFixdate(core::httpDate())) << core::httpDate();
}

TEST(ReasonPhrase, KnownCodes) {
  EXPECT_EQ(reasonPhrase(100), "Continue");
  EXPECT_EQ(reasonPhrase(200), "OK");
  EXPECT_EQ(reasonPhrase(204), "No Content");
  EXPECT_EQ(reasonPhrase(304), "Not Modified");
  EXPECT_EQ(reasonPhrase(404), "Not Found");
  EXPECT_EQ(reasonPhrase(413), "Content Too Large");
  EXPECT_EQ(reasonPhrase(500), "Internal Server Error");
  EXPECT_EQ(reasonPhrase(505), "HTTP Version Not Supported");
}

TEST(ReasonPhrase, UnknownCodesAreEmptyButNotNull) {
  for (int code : {-1, 0, 99, 199, 299, 418, 599, 600, 999, 100000}) {
    std::string_view r = reasonPhrase(code);
    EXPECT_EQ(r, "") << code;
    EXPECT_NE(r.data(), nullptr) << code;  // callers may memcpy it
  }
}

TEST(StatusHasNoBody, InformationalNoContentAndNotModified) {
  EXPECT_TRUE(statusHasNoBody(100));
  EXPECT_TRUE(statusHasNoBody(101));
  EXPECT_TRUE(statusHasNoBody(199));
  EXPECT_TRUE(statusHasNoBody(204));
  EXPECT_TRUE(statusHasNoBody(304));
  EXPECT_FALSE(statusHasNoBody(200));
  EXPECT_FALSE(statusHasNoBody(205));
  EXPECT_FALSE(statusHasNoBody(301));
  EXPECT_FALSE(statusHasNoBody(404));
  EXPECT_FALSE(statusHasNoBody(500));
}

TEST(AppendDecimal, Values) {
  core::Buffer out;
  appendDecimal(out, 0);
  out.push_back(' ');
  appendDecimal(out, 12345);
  out.push_back(' ');
  appendDecimal(out, SIZE_MAX);
  EXPECT_EQ(out.view(), "0 12345 18446744073709551615");
}

TEST(WriteStatusLine, KnownStatusThenDate) {
  core::Buffer out;
  writeStatusLine(out, 404);
  EXPECT_EQ(withoutDate(out.view()), "HTTP/1.1 404 Not Found\r\nDate: <date>\r\n");
}

TEST(WriteStatusLine, UnknownStatusHasEmptyReason) {
  core::Buffer out;
  writeStatusLine(out, 299);
  EXPECT_EQ(withoutDate(out.view()), "HTTP/1.1 299 \r\nDate: <date>\r\n");
}

TEST(WriteStatusLine, AppendsToExistingBytes) {
  core::Buffer out;
  out.append("prev");
  writeStatusLine(out, 200);
  ASSERT_EQ(out.view().substr(0, 4), "prev");
  EXPECT_EQ(withoutDate(out.view().substr(4)), "HTTP/1.1 200 OK\r\nDate: <date>\r\n");
}

TEST(WriteHeader, NameColonSpaceValue) {
  core::Buffer out;
  writeHeader(out, "X-Thing", "a b");
  writeHeader(out, "Empty", "");
  EXPECT_EQ(out.view(), "X-Thing: a b\r\nEmpty: \r\n");
}

TEST(FinishHead, ContentLengthAndConnection) {
  core::Buffer out;
  finishHead(out, 200, 5, ConnectionHeader::kNone);
  EXPECT_EQ(out.view(), "Content-Length: 5\r\n\r\n");
  out.clear();
  finishHead(out, 200, 0, ConnectionHeader::kClose);
  EXPECT_EQ(out.view(), "Content-Length: 0\r\nConnection: close\r\n\r\n");
  out.clear();
  finishHead(out, 404, 123456, ConnectionHeader::kKeepAlive);
  EXPECT_EQ(out.view(), "Content-Length: 123456\r\nConnection: keep-alive\r\n\r\n");
}

TEST(FinishHead, NoContentLengthWhenStatusForbidsABody) {
  for (int status : {100, 101, 204, 304}) {
    core::Buffer out;
    finishHead(out, status, 7, ConnectionHeader::kNone);
    EXPECT_EQ(out.view(), "\r\n") << status;
    out.clear();
    finishHead(out, status, 7, ConnectionHeader::kClose);
    EXPECT_EQ(out.view(), "Connection: close\r\n\r\n") << status;
  }
}

// What writeSimpleResponse did before it was folded into Response + serialize.
std::string simple(int status, std::string_view ctype, std::string_view body, bool head,
                   ConnectionHeader conn) {
  Response r;
  r.reset(status, ctype, body);
  core::Buffer out;
  serialize(r, {head, conn}, out);
  return std::string(out.view());
}

TEST(SimpleResponse, WithBody) {
  core::Buffer out;
  out.append(simple(200, kTextPlain, "hello", false, ConnectionHeader::kKeepAlive));
  EXPECT_EQ(withoutDate(out.view()),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 5\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            "hello");
}

TEST(SimpleResponse, HeadKeepsContentLengthButOmitsBody) {
  core::Buffer out;
  out.append(simple(200, kJson, "{\"a\":1}", true, ConnectionHeader::kNone));
  EXPECT_EQ(withoutDate(out.view()),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 7\r\n"
            "\r\n");
}

TEST(SimpleResponse, NoContentTypeAndEmptyBody) {
  core::Buffer out;
  out.append(simple(400, {}, {}, false, ConnectionHeader::kClose));
  EXPECT_EQ(withoutDate(out.view()),
            "HTTP/1.1 400 Bad Request\r\nDate: <date>\r\n"
            "Content-Length: 0\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(SimpleResponse, NoBodyStatusDropsTypeLengthAndBody) {
  core::Buffer out;
  out.append(simple(304, kTextHtml, "<p>x</p>", false, ConnectionHeader::kNone));
  EXPECT_EQ(withoutDate(out.view()), "HTTP/1.1 304 Not Modified\r\nDate: <date>\r\n\r\n");
}

TEST(Response, Defaults) {
  Response r;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.content_type.empty());
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.body_kind, BodyKind::kBytes);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.file.fd, -1);
  EXPECT_EQ(r.producer, nullptr);
}

TEST(Response, AddHeaderKeepsOrderAndDuplicates) {
  Response r;
  r.addHeader("X-A", "1");
  r.addHeader("Set-Cookie", "a=1");
  r.addHeader("Set-Cookie", "b=2");
  ASSERT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[0].name, "X-A");
  EXPECT_EQ(r.headers[0].value, "1");
  EXPECT_EQ(r.headers[1].name, "Set-Cookie");
  EXPECT_EQ(r.headers[1].value, "a=1");
  EXPECT_EQ(r.headers[2].name, "Set-Cookie");
  EXPECT_EQ(r.headers[2].value, "b=2");
}

TEST(Response, ResetSetsStatusTypeAndBytesBody) {
  Response r;
  r.status = 500;
  r.content_type = kJson;
  r.addHeader("X-A", "1");
  r.body_kind = BodyKind::kFile;
  r.file = {3, 10, 20};
  r.reset(201, kTextPlain, "made");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, kTextPlain);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.body_kind, BodyKind::kBytes);
  EXPECT_EQ(r.body, "made");

  r.reset(204);
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.content_type.empty());
  EXPECT_TRUE(r.body.empty());
}

TEST(Response, ResetKeepsHeaderCapacity) {
  Response r;
  for (int i = 0; i < 12; ++i) r.addHeader("X-N", "v");
  size_t cap = r.headers.capacity();
  const HeaderField* storage = r.headers.data();
  ASSERT_GE(cap, 12u);

  r.reset(200);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.headers.capacity(), cap);
  for (int i = 0; i < 12; ++i) r.addHeader("X-M", "w");
  // No reallocation on reuse: same capacity, same storage.
  EXPECT_EQ(r.headers.capacity(), cap);
  EXPECT_EQ(r.headers.data(), storage);
  EXPECT_EQ(r.headers.size(), 12u);
}

TEST(Serialize, HeaderOrderAppThenTypeLengthConnection) {
  Response r;
  r.reset(200, kJson, "{}");
  r.addHeader("X-First", "1");
  r.addHeader("Cache-Control", "no-store");
  r.addHeader("X-Last", "3");
  EXPECT_EQ(serialized(r, {.connection = ConnectionHeader::kKeepAlive}),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n"
            "X-First: 1\r\n"
            "Cache-Control: no-store\r\n"
            "X-Last: 3\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            "{}");
}

TEST(Serialize, UnknownStatusHasEmptyReason) {
  Response r;
  r.reset(299, kTextPlain, "x");
  EXPECT_EQ(serialized(r),
            "HTTP/1.1 299 \r\nDate: <date>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 1\r\n"
            "\r\n"
            "x");
}

TEST(Serialize, ConnectionHeaderVariants) {
  Response r;
  r.reset(200, {}, "ok");
  const std::string head = "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 2\r\n";
  EXPECT_EQ(serialized(r, {.connection = ConnectionHeader::kNone}), head + "\r\nok");
  EXPECT_EQ(serialized(r, {.connection = ConnectionHeader::kClose}),
            head + "Connection: close\r\n\r\nok");
  EXPECT_EQ(serialized(r, {.connection = ConnectionHeader::kKeepAlive}),
            head + "Connection: keep-alive\r\n\r\nok");
}

TEST(Serialize, EmptyBodyGivesContentLengthZero) {
  Response r;
  r.reset(200);
  EXPECT_EQ(serialized(r), "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n");
}

TEST(Serialize, NoBodyStatusesOmitTypeLengthAndBody) {
  for (int status : {100, 101, 204, 304}) {
    Response r;
    r.reset(status, kTextHtml, "<p>never</p>");
    r.addHeader("ETag", "\"e\"");
    std::string expected = "HTTP/1.1 " + std::to_string(status) + " " +
                           std::string(reasonPhrase(status)) +
                           "\r\nDate: <date>\r\n"
                           "ETag: \"e\"\r\n"
                           "Connection: close\r\n"
                           "\r\n";
    EXPECT_EQ(serialized(r, {.connection = ConnectionHeader::kClose}), expected) << status;
  }
}

TEST(Serialize, HeadRequestHasBodyLengthButNoBody) {
  Response r;
  r.reset(200, kTextPlain, "hello world");
  EXPECT_EQ(serialized(r, {.head_request = true}),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 11\r\n"
            "\r\n");
}

TEST(Serialize, FileBodyWritesHeadWithFileLengthOnly) {
  Response r;
  r.reset(200, kOctetStream);
  r.body = "not sent";  // ignored for a file body
  r.body_kind = BodyKind::kFile;
  r.file = {7, 100, 4096};
  const std::string expected =
      "HTTP/1.1 200 OK\r\nDate: <date>\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Length: 4096\r\n"
      "\r\n";
  EXPECT_EQ(serialized(r), expected);
  EXPECT_EQ(serialized(r, {.head_request = true}), expected);
}

TEST(Serialize, LargeBody) {
  const std::string body(100 * 1024, 'z');
  Response r;
  r.reset(200, kOctetStream, body);
  core::Buffer out;
  serialize(r, {}, out);
  std::string s = withoutDate(out.view());
  const std::string head =
      "HTTP/1.1 200 OK\r\nDate: <date>\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Length: 102400\r\n"
      "\r\n";
  ASSERT_EQ(s.size(), head.size() + body.size());
  EXPECT_EQ(s.substr(0, head.size()), head);
  EXPECT_TRUE(s.compare(head.size(), std::string::npos, body) == 0);
}

TEST(Serialize, AppendsAfterExistingBytes) {
  Response r;
  r.reset(404, kTextPlain, "no");
  core::Buffer out;
  out.append("earlier response bytes|");
  serialize(r, {}, out);
  serialize(r, {.connection = ConnectionHeader::kClose}, out);
  std::string_view v = out.view();
  ASSERT_EQ(v.substr(0, 23), "earlier response bytes|");
  v.remove_prefix(23);
  size_t second = v.find("HTTP/1.1", 1);
  ASSERT_NE(second, std::string_view::npos);
  EXPECT_EQ(withoutDate(v.substr(0, second)),
            "HTTP/1.1 404 Not Found\r\nDate: <date>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 2\r\n"
            "\r\n"
            "no");
  EXPECT_EQ(withoutDate(v.substr(second)),
            "HTTP/1.1 404 Not Found\r\nDate: <date>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 2\r\n"
            "Connection: close\r\n"
            "\r\n"
            "no");
}

}  // namespace
}  // namespace rover::http
