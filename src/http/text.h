// Small pieces of HTTP's text grammar (RFC 9110 §5.6) shared by the units
// that parse header values: token characters, optional whitespace, the media
// type of a Content-Type. Case-insensitive comparison is equalsIgnoreCase
// (http/request.h). The request parser has its own table-driven classes.
#pragma once
#include <string_view>

namespace rover::http {

// tchar of RFC 9110 §5.6.2.
constexpr bool isTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

constexpr bool isOws(char c) { return c == ' ' || c == '\t'; }

// s without leading and trailing spaces and tabs.
constexpr std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// The media type of a Content-Type value: before ';', trimmed (compare it
// case-insensitively).
constexpr std::string_view mediaType(std::string_view content_type) {
  return trimOws(content_type.substr(0, content_type.find(';')));
}

}  // namespace rover::http
