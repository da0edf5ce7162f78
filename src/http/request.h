// A parsed HTTP/1.x request head and body, as views. All views point into the
// connection's receive buffer (or, for chunked bodies, the parser's body
// storage) and stay valid until the connection consumes or grows that buffer,
// i.e. until the request has been answered.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/limits.h"

namespace rover::http {

struct Header {
  std::string_view name;   // as sent (case kept)
  std::string_view value;  // surrounding whitespace removed
};

struct Request {
  std::string_view method;  // as sent, e.g. "GET" (not validated against the 7 methods)
  std::string_view target;  // request-target as sent
  std::string_view path;    // path of the target, without query (absolute-form: only its path)
  std::string_view query;   // text after the first '?', without it ("" when none)
  bool has_query = false;
  uint8_t version_minor = 1;  // HTTP/1.<minor>
  bool keep_alive = true;
  bool has_body = false;  // Content-Length > 0 or chunked with data
  std::string_view body;
  size_t header_count = 0;
  Header* headers = nullptr;  // header_count of them (RequestStorage's, or a copy's)

  // Case-insensitive lookup of the first field named `name` (lower-case argument).
  std::string_view header(std::string_view lower_name) const;
};

// A Request with room for the most headers a request may have: what the
// parser fills. A Request copied out of one points at its own headers.
struct RequestStorage : Request {
  RequestStorage() { headers = storage; }
  RequestStorage(const RequestStorage&) = delete;
  RequestStorage& operator=(const RequestStorage&) = delete;
  Header storage[core::kMaxHeaderCount];
};

bool equalsIgnoreCase(std::string_view a, std::string_view lower_b);

}  // namespace rover::http
