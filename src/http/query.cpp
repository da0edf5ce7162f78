// Percent-decoding (see query.h). Both decoders make one pass and reuse the
// caller's string, so a warm string decodes without allocating.
#include "http/query.h"

#include "core/hex.h"

namespace rover::http {
namespace {

// Decoded byte of the "%XX" at raw[i], or -1 when it is not well-formed.
int escapeAt(std::string_view raw, size_t i) {
  if (raw.size() - i < 3) return -1;
  int hi = core::hexValue(raw[i + 1]);
  int lo = core::hexValue(raw[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

bool isValidPercentEncoding(std::string_view raw) { return core::isValidPercentEncoding(raw); }

bool decodePathParam(std::string_view raw, std::string* out) {
  out->clear();
  out->reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      out->push_back(raw[i]);
      continue;
    }
    int byte = escapeAt(raw, i);
    if (byte < 0) return false;
    out->push_back(static_cast<char>(byte));
    i += 2;
  }
  return true;
}

// '+' is never a hex digit, so turning it into a space in the same pass as
// %XX decoding gives the two-step result of lua-api.md §6.2 ("%2B" -> "+").
void decodeQueryComponent(std::string_view raw, std::string* out) {
  out->clear();
  out->reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    int byte = c == '%' ? escapeAt(raw, i) : -1;
    if (byte >= 0) {
      out->push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out->push_back(c == '+' ? ' ' : c);
    }
  }
}

}  // namespace rover::http
