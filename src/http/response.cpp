#include "http/response.h"

#include <array>
#include <charconv>
#include <cstring>

#include "core/clock.h"

namespace rover::http {
namespace {

struct StatusLines {
  std::array<std::string_view, 600> reason{};
  StatusLines() {
    const std::pair<int, std::string_view> known[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {203, "Non-Authoritative Information"},
        {204, "No Content"},
        {205, "Reset Content"},
        {206, "Partial Content"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {305, "Use Proxy"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {421, "Misdirected Request"},
        {422, "Unprocessable Content"},
        {426, "Upgrade Required"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (auto& [code, text] : known) reason[code] = text;
  }
};
const StatusLines kStatus;

}  // namespace

std::string_view reasonPhrase(int status) {
  // "" (not a default view, whose data() is null) so callers may memcpy it.
  std::string_view r = status >= 0 && status < 600 ? kStatus.reason[status] : std::string_view{};
  return r.empty() ? std::string_view("") : r;
}

void appendDecimal(core::Buffer& out, size_t n) {
  char* p = out.prepare(24);
  auto r = std::to_chars(p, p + 24, n);
  out.commit(static_cast<size_t>(r.ptr - p));
}

void writeStatusLine(core::Buffer& out, int status) {
  std::string_view reason = reasonPhrase(status);
  std::string_view date = core::httpDate();
  char* p = out.prepare(64 + reason.size() + date.size());
  char* q = p;
  std::memcpy(q, "HTTP/1.1 ", 9);
  q += 9;
  q[0] = static_cast<char>('0' + status / 100);
  q[1] = static_cast<char>('0' + status / 10 % 10);
  q[2] = static_cast<char>('0' + status % 10);
  q[3] = ' ';
  q += 4;
  std::memcpy(q, reason.data(), reason.size());
  q += reason.size();
  std::memcpy(q, "\r\nDate: ", 8);
  q += 8;
  std::memcpy(q, date.data(), date.size());
  q += date.size();
  q[0] = '\r';
  q[1] = '\n';
  q += 2;
  out.commit(static_cast<size_t>(q - p));
}

void writeHeader(core::Buffer& out, std::string_view name, std::string_view value) {
  char* p = out.prepare(name.size() + value.size() + 4);
  std::memcpy(p, name.data(), name.size());
  p[name.size()] = ':';
  p[name.size() + 1] = ' ';
  std::memcpy(p + name.size() + 2, value.data(), value.size());
  p[name.size() + 2 + value.size()] = '\r';
  p[name.size() + 3 + value.size()] = '\n';
  out.commit(name.size() + value.size() + 4);
}

void finishHead(core::Buffer& out, int status, size_t content_length, ConnectionHeader conn) {
  if (!statusHasNoBody(status)) {
    out.append("Content-Length: ");
    appendDecimal(out, content_length);
    out.append("\r\n");
  }
  if (conn == ConnectionHeader::kClose)
    out.append("Connection: close\r\n");
  else if (conn == ConnectionHeader::kKeepAlive)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

namespace {

// The end of a stream's head (server-features.md §11): chunked framing
// unless close-delimited, no Content-Length. Out of line: the common
// response never takes it.
[[gnu::noinline, gnu::cold]] void finishStreamHead(core::Buffer& out, bool no_body,
                                                   const SerializeOptions& opts) {
  if (!opts.close_delimited && !no_body) out.append("Transfer-Encoding: chunked\r\n");
  if (opts.connection == ConnectionHeader::kClose) {
    out.append("Connection: close\r\n");
  } else if (opts.connection == ConnectionHeader::kKeepAlive) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

}  // namespace

void appendChunk(core::Buffer& out, std::string_view data) {
  char hex[20];
  size_t n = 0;
  for (size_t v = data.size(); v > 0; v >>= 4) hex[n++] = "0123456789abcdef"[v & 15];
  char* p = out.prepare(n + data.size() + 4);
  for (size_t i = 0; i < n; ++i) p[i] = hex[n - 1 - i];
  p[n] = '\r';
  p[n + 1] = '\n';
  std::memcpy(p + n + 2, data.data(), data.size());
  p[n + 2 + data.size()] = '\r';
  p[n + 3 + data.size()] = '\n';
  out.commit(n + data.size() + 4);
}

void serialize(const Response& r, const SerializeOptions& opts, core::Buffer& out) {
  writeStatusLine(out, r.status);
  for (const HeaderField& h : r.headers) writeHeader(out, h.name, h.value);
  if (!r.raw_fields.empty()) out.append(r.raw_fields);
  bool no_body = statusHasNoBody(r.status);
  if (!r.content_type.empty() && !no_body) writeHeader(out, "Content-Type", r.content_type);
  if (r.body_kind == BodyKind::kProducer) {
    finishStreamHead(out, no_body, opts);
    return;
  }
  size_t length = r.body_kind == BodyKind::kFile ? r.file.length : r.body.size();
  finishHead(out, r.status, length, opts.connection);
  if (!opts.head_request && !no_body && r.body_kind == BodyKind::kBytes) out.append(r.body);
}

}  // namespace rover::http
