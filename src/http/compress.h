// Response compression (server-features.md §9): content codings, Accept-Encoding
// negotiation, the compressible media types, and a per-worker Compressor that
// keeps its zlib state between responses. The filter that decides whether a
// response is compressed (min_size, Content-Encoding, 204/304, streams, Vary,
// ETag suffix) lives elsewhere; this unit only answers and compresses.
// Views passed in are only read during the call; nothing is kept.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace rover::http {

enum class Coding : uint8_t { kIdentity, kGzip, kDeflate, kBrotli };

// The Content-Encoding token: "gzip", "deflate", "br" ("identity" for kIdentity).
std::string_view codingName(Coding c);

// The config spelling of `compress.algorithms` entries ("br", "gzip",
// "deflate", exact, lower case) -> its coding; false for anything else
// (the startup error "compress.algorithms: unsupported algorithm '<x>'").
bool parseCodingName(std::string_view name, Coding* out);

// The §9 default for compress.algorithms, in preference order.
inline constexpr Coding kDefaultCodings[] = {Coding::kBrotli, Coding::kGzip, Coding::kDeflate};

// Accept-Encoding negotiation (§9, RFC 9110 §12.5.3). `accept` is the header
// value, all field lines joined with ", " by the caller ("" = header absent);
// `offered` the enabled codings in preference order (kIdentity entries are
// skipped). Returns the offered coding with the highest q (q=0: not acceptable),
// ties to the earlier entry of `offered`; kIdentity when none is acceptable.
// * Elements are `coding *( OWS ";" OWS param )`; empty elements are skipped;
//   coding names are case-insensitive, `x-gzip` counts as `gzip`.
// * `*` gives its q to every coding not named by an element of its own.
// * q is `0[.ddd]` or `1[.000]` (RFC 9110 §12.4.2), "q"/"Q", OWS around '=';
//   other parameters are ignored. An element whose q is malformed or out of
//   range (q=2, q=abc, q=0.5000, q=) is dropped as if it were not there, so its
//   coding falls back to `*` if one is present.
// * When a coding is named twice, the first element naming it counts.
// * `identity` is never returned unless nothing offered is acceptable
//   (identity;q=0 alone still yields kIdentity: the caller sends identity
//   rather than 406).
// No allocation; linear in accept.size().
Coding negotiate(std::string_view accept, std::span<const Coding> offered);

// Whether a response with this Content-Type is compressed. The media type
// (before ';', OWS trimmed) is compared case-insensitively. With `types` empty,
// the §9 default set: text/* except text/event-stream, application/json,
// application/javascript, application/xml, image/svg+xml, application/*+json,
// application/*+xml. A non-empty `types` (config compress.types) replaces the
// default set (§9: "empty = the default set"); an entry `type/*` matches every
// subtype. An empty or malformed content type is not compressible.
bool isCompressible(std::string_view content_type, std::span<const std::string> types);

// Compresses whole bodies; one per worker thread, reused for every response.
// The zlib streams (one gzip, one deflate, ~270 KiB each) are created on first
// use and reset (deflateReset) between responses. Brotli 1.0 has no encoder
// reset, so each br response is one BrotliEncoderCompress call: an encoder
// instance per response, kept or with a reused arena, measured no cheaper
// (bench/micro/compress_levels.cpp). Not thread-safe.
class Compressor {
 public:
  // Levels for dynamic responses (bench/micro/compress_levels.cpp, 2-100 KiB
  // JSON): gzip 1 is nginx's default; 4 and 6 cost 1.3-2.5x its CPU for 4-21%
  // fewer bytes. Brotli 3 gives gzip-6 sizes for gzip-4 CPU at 10 KiB;
  // qualities 4-6 cost 1.3-3.4x quality 3 for 3-13% fewer bytes.
  static constexpr int kDefaultGzipLevel = 1;      // gzip and deflate, zlib 1-9
  static constexpr int kDefaultBrotliQuality = 3;  // 0-11

  Compressor();
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Compresses all of `in` into `out` (cleared first, its capacity reused).
  // False on failure (out of memory, kIdentity); `out` is then unspecified.
  bool compress(Coding c, std::string_view in, std::string& out);

  // Levels are clamped to zlib 1-9 and brotli 0-11. Applies to the next compress().
  void setLevels(int gzip_level, int brotli_quality);
  int gzipLevel() const { return gzip_level_; }
  int brotliQuality() const { return brotli_quality_; }

 private:
  struct ZStream;  // a z_stream set up for deflate, kept out of this header
  bool deflateInto(std::unique_ptr<ZStream>& z, int window_bits, std::string_view in,
                   std::string& out);
  bool brotliInto(std::string_view in, std::string& out);

  int gzip_level_ = kDefaultGzipLevel;
  int brotli_quality_ = kDefaultBrotliQuality;
  std::unique_ptr<ZStream> gzip_;
  std::unique_ptr<ZStream> deflate_;
};

}  // namespace rover::http
