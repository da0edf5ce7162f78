// Responses as values until the last moment (ARCHITECTURE.md §2.8, STYLE.md
// habit 14): a Response is status, content type, header list and a body
// description; the response filters edit it and serialize() — the one writer
// of response bytes — turns it into the head and body in the connection's
// send buffer: status line from a static table, `Date`, framing and
// `Connection` (lua-api.md §11.3).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/buffer.h"

namespace rover::http {

// Standard reason phrase (RFC 9110), "" for codes without one.
std::string_view reasonPhrase(int status);

// Content types used by the server (lua-api.md conventions).
inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
inline constexpr std::string_view kTextHtml = "text/html; charset=utf-8";
inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kOctetStream = "application/octet-stream";

enum class ConnectionHeader : uint8_t { kNone, kClose, kKeepAlive };

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// What a body is: bytes (a view), a range of an open file (sent with
// sendfile), or a producer pulled when the socket can take more.
enum class BodyKind : uint8_t { kBytes, kFile, kProducer };
struct FileRange {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};
class BodyProducer {
 public:
  virtual ~BodyProducer() = default;
};

// The views (content type, headers, body) stay valid until the response is
// serialized: whoever fills a Response keeps what they point at alive.
struct Response {
  int status = 200;
  std::string_view content_type;     // empty: no Content-Type
  std::vector<HeaderField> headers;  // in order; capacity kept between responses
  // Whole field lines ("Name: value\r\n"...) written after `headers`, for
  // fixed headers the filters add to most responses (security headers).
  std::string_view raw_fields;
  BodyKind body_kind = BodyKind::kBytes;
  std::string_view body;
  FileRange file;
  BodyProducer* producer = nullptr;

  // A new response with a bytes body (headers emptied, capacity kept).
  void reset(int code, std::string_view ctype = {}, std::string_view bytes = {}) {
    status = code;
    content_type = ctype;
    headers.clear();
    raw_fields = {};
    body_kind = BodyKind::kBytes;
    body = bytes;
  }
  void addHeader(std::string_view name, std::string_view value) {
    headers.push_back({name, value});
  }
};

struct SerializeOptions {
  bool head_request = false;  // the head only (Content-Length still that of the body)
  ConnectionHeader connection = ConnectionHeader::kNone;
  // A producer body without chunked framing (an HTTP/1.0 client: the end of
  // the body is the end of the connection).
  bool close_delimited = false;
};

// Appends one chunk of a chunked body ("<hex>\r\n<data>\r\n"; data not empty).
void appendChunk(core::Buffer& out, std::string_view data);

// Appends the whole response (a bytes body; the head of a file or producer
// body, whose bytes the connection sends itself) to `out`.
void serialize(const Response& r, const SerializeOptions& opts, core::Buffer& out);

// "HTTP/1.1 <status> <reason>\r\nDate: <date>\r\n"
void writeStatusLine(core::Buffer& out, int status);
void writeHeader(core::Buffer& out, std::string_view name, std::string_view value);
// Writes `Content-Length` (unless the status forbids a body), `Connection`
// when asked, and the blank line ending the head.
void finishHead(core::Buffer& out, int status, size_t content_length, ConnectionHeader conn);
// True for 1xx, 204 and 304: never a body, never Content-Length.
inline bool statusHasNoBody(int status) { return status < 200 || status == 204 || status == 304; }

// Appends the decimal text of n.
void appendDecimal(core::Buffer& out, size_t n);

}  // namespace rover::http
