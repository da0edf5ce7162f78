// Percent-decoding for path parameters and query strings (lua-api.md §5, §6.2).
#pragma once
#include <string>
#include <string_view>

namespace rover::http {

// Path parameter decoding: %XX (hex case-insensitive) decoded once, '+' kept.
// Returns false (and leaves *out unspecified) on a malformed '%' sequence.
bool decodePathParam(std::string_view raw, std::string* out);
// True when `raw` has only well-formed %XX sequences (no allocation).
bool isValidPercentEncoding(std::string_view raw);

// Query component decoding: '+' -> space, then %XX decoded; malformed '%'
// sequences kept literally.
void decodeQueryComponent(std::string_view raw, std::string* out);

// Splits `query` (text after the first '?', without it) on '&'; for each pair
// with a non-empty name calls visit(decoded_name, decoded_value) in order
// (value "" when the pair has no '='). Callers apply "last wins".
template <typename Visit>
void forEachQueryPair(std::string_view query, Visit&& visit) {
  thread_local std::string name, value;  // reused: no allocation per call
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    if (raw_name.empty()) continue;
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    decodeQueryComponent(raw_name, &name);
    decodeQueryComponent(raw_value, &value);
    visit(std::string_view(name), std::string_view(value));
  }
}

}  // namespace rover::http
