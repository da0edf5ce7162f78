// libFuzzer target: core::base64urlDecode / base64urlEncode. Input: the text
// to decode. Invariants: no crash; a text that decodes is the one canonical
// encoding of its bytes (encoding them again gives the text back); any bytes
// encode to a text that decodes to them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/base64url.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_base64url: invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string bytes;
  if (rover::core::base64urlDecode(in, &bytes)) {
    std::string again;
    rover::core::base64urlEncode(bytes, &again);
    check(again == in, "a decoded text re-encodes to itself");
  }
  std::string text, back;
  rover::core::base64urlEncode(in, &text);
  check(rover::core::base64urlDecode(text, &back), "an encoding decodes");
  check(back == in, "an encoding decodes to its bytes");
  return 0;
}
