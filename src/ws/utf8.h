// UTF-8 validation (RFC 3629) for WebSocket text messages and close reasons
// (RFC 6455 §8.1: invalid text closes with 1007). Incremental, so a message
// is checked fragment by fragment as it arrives and a sequence may be split
// across fragments. Rejects overlong forms, surrogates (U+D800..DFFF), code
// points above U+10FFFF, stray continuation bytes and truncated sequences.
// Runs of ASCII are skipped 16 and 8 bytes at a time, the rest goes through
// a shift DFA (utf8.cpp). Keeps no pointers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rover::ws {

class Utf8Validator {
 public:
  // Checks the next bytes of the text. False once the bytes so far cannot
  // begin valid UTF-8, whatever follows; it then stays false until reset().
  bool feed(std::string_view bytes);
  // The bytes fed so far are valid and end on a character boundary.
  bool complete() const;
  bool failed() const;
  void reset() { state_ = 0; }

 private:
  uint8_t state_ = 0;  // of the DFA in utf8.cpp: 0 on a boundary
};

// The whole of s is valid UTF-8.
bool isValidUtf8(std::string_view s);

// The longest prefix of s of at most max bytes that does not end inside a
// multi-byte sequence (for truncating valid text; s need not be valid).
std::string_view truncateUtf8(std::string_view s, size_t max);

}  // namespace rover::ws
