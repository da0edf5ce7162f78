#include "http/chunked.h"
#include "http/text.h"

#include <algorithm>

#include "core/hex.h"
#include "core/limits.h"

namespace rover::http {
namespace {


}  // namespace

void ChunkedDecoder::reset() { *this = ChunkedDecoder{}; }

ChunkedDecoder::Result ChunkedDecoder::feed(const char* data, size_t size, size_t* consumed,
                                            std::string* body) {
  size_t i = 0;
  auto error = [&] {
    *consumed = i;
    return Result::kError;
  };
  while (i < size) {
    char c = data[i];
    switch (state_) {
      case State::kSize: {
        int v = core::hexValue(c);
        if (v >= 0) {
          if (++digits_ > 16) return error();
          remaining_ = remaining_ << 4 | static_cast<uint64_t>(v);
        } else if (digits_ == 0) {
          return error();
        } else if (c == ';') {
          state_ = State::kExt;
        } else if (c == ' ' || c == '\t') {
          state_ = State::kSizeWs;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return error();
        }
        ++i;
        if (++line_bytes_ > core::kMaxChunkLineBytes) return error();
        break;
      }
      case State::kSizeWs:  // BWS before ';' only
        if (c == ';')
          state_ = State::kExt;
        else if (c != ' ' && c != '\t')
          return error();
        ++i;
        if (++line_bytes_ > core::kMaxChunkLineBytes) return error();
        break;
      case State::kExt:
        if (c == '\r')
          state_ = State::kSizeLf;
        else if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t'))
          return error();
        ++i;
        if (++line_bytes_ > core::kMaxChunkLineBytes) return error();
        break;
      case State::kSizeLf:
        if (c != '\n') return error();
        ++i;
        line_bytes_ = 0;
        digits_ = 0;
        state_ = remaining_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, size - i));
        body->append(data + i, n);
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        *consumed = i;
        return Result::kNeedMore;  // let the caller check the body limit
      }
      case State::kDataCr:
        if (c != '\r') return error();
        ++i;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return error();
        ++i;
        state_ = State::kSize;
        break;
      case State::kTrailerStart:
        if (c == '\r') {
          state_ = State::kEndLf;
          ++i;
          break;
        }
        if (c == ' ' || c == '\t' || c == ':') return error();  // obs-fold / empty name
        state_ = State::kTrailer;
        break;
      // Trailer fields are parsed like header fields (lua-api.md §11.1): a
      // token, ':', a value without control characters (tab allowed).
      case State::kTrailer:
        if (c == ':') {
          state_ = State::kTrailerValue;
        } else if (!isTokenChar(c)) {
          return error();
        }
        ++i;
        if (++trailer_bytes_ > core::kMaxHeaderSectionBytes) return error();
        break;
      case State::kTrailerValue: {
        auto u = static_cast<unsigned char>(c);
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
          return error();
        }
        ++i;
        if (++trailer_bytes_ > core::kMaxHeaderSectionBytes) return error();
        break;
      }
      case State::kTrailerLf:
        if (c != '\n') return error();
        ++i;
        state_ = State::kTrailerStart;
        break;
      case State::kEndLf:
        if (c != '\n') return error();
        ++i;
        *consumed = i;
        return Result::kDone;
    }
  }
  *consumed = i;
  return Result::kNeedMore;
}

}  // namespace rover::http
