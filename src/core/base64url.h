// Base64url without padding (RFC 4648 §5), the encoding of JWT segments
// (RFC 7515 §2). Decoding is strict: only the url-safe alphabet, no '=',
// no whitespace, and the unused low bits of the last character must be zero,
// so every byte string has exactly one accepted encoding.
#pragma once
#include <string>
#include <string_view>

namespace rover::core {

// Appends the encoding of `in` to `*out`.
void base64urlEncode(std::string_view in, std::string* out);

// Appends the bytes `in` encodes to `*out`; false (with `*out` unspecified)
// when `in` is not a canonical unpadded base64url text.
bool base64urlDecode(std::string_view in, std::string* out);

}  // namespace rover::core
