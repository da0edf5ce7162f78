// The header fields of an outbound response, from the lines libcurl hands
// over one at a time (status lines and the blank line included, CRLF kept).
// Only the last response of a redirect chain (or after a 1xx) counts: a status
// line starts over. Names are lower-cased, values trimmed; a repeated name's
// values are joined with ", " (RFC 9110 §5.3). Lines are untrusted bytes.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rover::client {

class ResponseHeaders {
 public:
  // Beyond this many distinct names further names are dropped (bounds the
  // linear search of the join).
  static constexpr size_t kMaxFields = 256;

  void addLine(std::string_view line);
  void clear() { fields_.clear(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace rover::client
