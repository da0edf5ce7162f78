// Response head assembly straight into the connection's send buffer: status
// line from a static table, `Date`, framing and `Connection` (lua-api.md §11.3).
#pragma once
#include <cstddef>
#include <string_view>

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

// "HTTP/1.1 <status> <reason>\r\nDate: <date>\r\n"
void writeStatusLine(core::Buffer& out, int status);
void writeHeader(core::Buffer& out, std::string_view name, std::string_view value);
// Writes `Content-Length` (unless the status forbids a body), `Connection`
// when asked, and the blank line ending the head.
void finishHead(core::Buffer& out, int status, size_t content_length, ConnectionHeader conn);
// True for 1xx, 204 and 304: never a body, never Content-Length.
inline bool statusHasNoBody(int status) {
  return status < 200 || status == 204 || status == 304;
}

// A complete response with an optional body; omits the body for HEAD.
void writeSimpleResponse(core::Buffer& out, int status, std::string_view content_type,
                         std::string_view body, bool head_request, ConnectionHeader conn);

// Appends the decimal text of n.
void appendDecimal(core::Buffer& out, size_t n);

}  // namespace rover::http
