#include "client/response_headers.h"

#include "http/text.h"

namespace rover::client {

void ResponseHeaders::addLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {  // a new response
    fields_.clear();
    return;
  }
  if (line.find_first_of("\r\n") != std::string_view::npos) return;  // a bare CR: not a field
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;  // blank line, folding, junk
  std::string_view name = line.substr(0, colon);
  for (char ch : name) {
    if (!http::isTokenChar(ch)) return;
  }
  std::string_view value = http::trimOws(line.substr(colon + 1));
  std::string lower(name);
  for (char& ch : lower) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  for (auto& [n, v] : fields_) {
    if (n == lower) {
      v.append(", ");
      v.append(value);
      return;
    }
  }
  if (fields_.size() >= kMaxFields) return;
  fields_.emplace_back(std::move(lower), std::string(value));
}

}  // namespace rover::client
