// libFuzzer target: client::ResponseHeaders, the one part of rover.http that
// parses bytes from an upstream itself (libcurl hands over raw header lines).
// Input: lines split at '\n' (each fed with its '\n', as libcurl does).
// Invariants: no crash; names are non-empty, lower-case token characters and
// unique; at most kMaxFields names; values hold no CR or LF.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

#include "client/response_headers.h"
#include "http/text.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_response_headers: invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  rover::client::ResponseHeaders h;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    size_t len = nl == std::string_view::npos ? in.size() : nl + 1;
    h.addLine(in.substr(0, len));
    in.remove_prefix(len);
  }
  check(h.fields().size() <= rover::client::ResponseHeaders::kMaxFields, "field count");
  std::set<std::string_view> seen;
  for (const auto& [name, value] : h.fields()) {
    check(!name.empty(), "empty name");
    check(seen.insert(name).second, "duplicate name");
    for (char c : name) {
      check(rover::http::isTokenChar(c), "name character");
      check(!(c >= 'A' && c <= 'Z'), "upper case in name");
    }
    for (char c : value) check(c != '\r' && c != '\n', "CR or LF in value");
  }
  return 0;
}
