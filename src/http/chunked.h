// Incremental decoder for chunked request bodies (RFC 9112 §7.1, lua-api.md
// §11.1): hex sizes of at most 16 digits, extensions skipped (line bounded by
// kMaxChunkLineBytes), CRLF after data, trailer fields bounded and dropped.
// Done here rather than by llhttp 8.1, which rejects a second extension.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/limits.h"

namespace rover::http {

class ChunkedDecoder {
 public:
  static constexpr size_t kMaxTrailerBytes = core::kMaxHeaderSectionBytes;
  enum class Result { kNeedMore, kDone, kError };

  void reset();
  // Decodes from data[0..size); appends body bytes to *body; *consumed is the
  // number of input bytes used (all of them unless kDone or kError).
  Result feed(const char* data, size_t size, size_t* consumed, std::string* body);
  // After kError: the trailer section passed its limit (431, not 400).
  bool trailerTooLarge() const { return trailer_bytes_ > kMaxTrailerBytes; }

 private:
  enum class State : uint8_t {
    kSize,
    kSizeWs,
    kExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailer,       // the field name, up to ':'
    kTrailerValue,  // after ':', up to CR
    kTrailerLf,
    kEndLf
  };
  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  int digits_ = 0;
  size_t line_bytes_ = 0;
  size_t trailer_bytes_ = 0;
};

}  // namespace rover::http
