// Response compression codecs and Accept-Encoding negotiation (server-features.md §9).
#include "http/compress.h"
#include "http/text.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>

namespace rover::http {
namespace {

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }


bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

bool endsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && equalsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
// as thousandths. -1 when malformed.
int parseQValue(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  if (v.size() == 1) return v[0] == '1' ? 1000 : 0;
  if (v[1] != '.' || v.size() > 5) return -1;
  int q = v[0] == '1' ? 1000 : 0;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (c < '0' || c > '9' || (q == 1000 && c != '0')) return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q;
}

// The q of one element's parameters (the text after the coding's first ';'):
// 1000 without a q parameter, -1 when a q parameter is malformed.
int elementQ(std::string_view params) {
  int q = 1000;
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view param = trimOws(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    size_t eq = param.find('=');
    std::string_view name = trimOws(param.substr(0, eq));
    if (name != "q" && name != "Q") continue;
    if (eq == std::string_view::npos) return -1;
    q = parseQValue(trimOws(param.substr(eq + 1)));
    if (q < 0) return -1;
  }
  return q;
}

constexpr size_t kCodingCount = 4;
constexpr size_t kStar = kCodingCount;  // slot for "*"

// Slot of a coding token in the weights table; -1 for identity and unknown codings.
int slotOf(std::string_view token) {
  if (equalsIgnoreCase(token, "gzip") || equalsIgnoreCase(token, "x-gzip")) {
    return int(Coding::kGzip);
  }
  if (equalsIgnoreCase(token, "deflate")) return int(Coding::kDeflate);
  if (equalsIgnoreCase(token, "br")) return int(Coding::kBrotli);
  if (token == "*") return int(kStar);
  return -1;
}

bool isDefaultCompressible(std::string_view media) {
  if (startsWithIgnoreCase(media, "text/")) return !equalsIgnoreCase(media, "text/event-stream");
  if (equalsIgnoreCase(media, "image/svg+xml")) return true;
  if (!startsWithIgnoreCase(media, "application/")) return false;
  std::string_view sub = media.substr(12);
  return equalsIgnoreCase(sub, "json") || equalsIgnoreCase(sub, "javascript") ||
         equalsIgnoreCase(sub, "xml") || (sub.size() > 5 && endsWithIgnoreCase(sub, "+json")) ||
         (sub.size() > 4 && endsWithIgnoreCase(sub, "+xml"));
}

// `media` is a trimmed type/subtype; `entry` a compress.types entry.
bool matchesType(std::string_view media, std::string_view entry) {
  entry = trimOws(entry.substr(0, entry.find(';')));
  if (entry.size() > 2 && entry.ends_with("/*")) {
    return startsWithIgnoreCase(media, entry.substr(0, entry.size() - 1));
  }
  return equalsIgnoreCase(media, entry);
}

// zlib counts in uInt; larger bodies go through in pieces.
constexpr size_t kZChunk = size_t{1} << 30;

}  // namespace

std::string_view codingName(Coding c) {
  switch (c) {
    case Coding::kGzip:
      return "gzip";
    case Coding::kDeflate:
      return "deflate";
    case Coding::kBrotli:
      return "br";
    case Coding::kIdentity:
      break;
  }
  return "identity";
}

bool parseCodingName(std::string_view name, Coding* out) {
  if (name == "br") {
    *out = Coding::kBrotli;
  } else if (name == "gzip") {
    *out = Coding::kGzip;
  } else if (name == "deflate") {
    *out = Coding::kDeflate;
  } else {
    return false;
  }
  return true;
}

Coding negotiate(std::string_view accept, std::span<const Coding> offered) {
  int q[kCodingCount + 1] = {-1, -1, -1, -1, -1};  // per slot; -1 = not named
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    size_t semi = element.find(';');
    int slot = slotOf(trimOws(element.substr(0, semi)));
    if (slot < 0 || q[slot] >= 0) continue;  // unknown, identity, or named before
    q[slot] = semi == std::string_view::npos ? 1000 : elementQ(element.substr(semi + 1));
  }
  Coding best = Coding::kIdentity;
  int best_q = 0;
  for (Coding c : offered) {
    if (c == Coding::kIdentity) continue;
    int cq = q[size_t(c)] >= 0 ? q[size_t(c)] : std::max(q[kStar], 0);
    if (cq > best_q) {
      best = c;
      best_q = cq;
    }
  }
  return best;
}

bool isCompressible(std::string_view content_type, std::span<const std::string> types) {
  std::string_view media = trimOws(content_type.substr(0, content_type.find(';')));
  size_t slash = media.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == media.size()) return false;
  if (types.empty()) return isDefaultCompressible(media);
  for (const std::string& entry : types) {
    if (matchesType(media, entry)) return true;
  }
  return false;
}

struct Compressor::ZStream {
  z_stream s{};
  bool ready = false;
  ~ZStream() {
    if (ready) deflateEnd(&s);
  }
};

Compressor::Compressor() = default;
Compressor::~Compressor() = default;

void Compressor::setLevels(int gzip_level, int brotli_quality) {
  gzip_level = std::clamp(gzip_level, 1, 9);
  brotli_quality = std::clamp(brotli_quality, BROTLI_MIN_QUALITY, BROTLI_MAX_QUALITY);
  if (gzip_level != gzip_level_) {
    gzip_.reset();  // re-created at the new level on next use
    deflate_.reset();
  }
  gzip_level_ = gzip_level;
  brotli_quality_ = brotli_quality;
}

bool Compressor::compress(Coding c, std::string_view in, std::string& out) {
  out.clear();
  switch (c) {
    case Coding::kGzip:
      return deflateInto(gzip_, 15 + 16, in, out);
    case Coding::kDeflate:
      return deflateInto(deflate_, 15, in, out);
    case Coding::kBrotli:
      return brotliInto(in, out);
    case Coding::kIdentity:
      break;
  }
  return false;
}

bool Compressor::deflateInto(std::unique_ptr<ZStream>& z, int window_bits, std::string_view in,
                             std::string& out) {
  if (z && deflateReset(&z->s) != Z_OK) z.reset();
  if (!z) {
    z = std::make_unique<ZStream>();
    if (deflateInit2(&z->s, gzip_level_, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      z.reset();
      return false;
    }
    z->ready = true;
  }
  z_stream& s = z->s;
  // deflateBound is exact enough that the loop below normally runs once.
  out.resize(std::max<size_t>(deflateBound(&s, uLong(in.size())), 64));
  const auto* data = reinterpret_cast<const Bytef*>(in.data());
  size_t in_pos = 0;
  s.avail_in = 0;  // deflateReset keeps the pointers of the last response
  s.avail_out = 0;
  int rc;
  do {
    if (s.avail_in == 0) {
      size_t n = std::min(in.size() - in_pos, kZChunk);
      s.next_in = const_cast<Bytef*>(data + in_pos);
      s.avail_in = uInt(n);
      in_pos += n;
    }
    if (s.avail_out == 0) {
      size_t done = s.total_out;
      if (done == out.size()) out.resize(out.size() * 2);
      s.next_out = reinterpret_cast<Bytef*>(out.data() + done);
      s.avail_out = uInt(std::min(out.size() - done, kZChunk));
    }
    rc = deflate(&s, in_pos == in.size() ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR) {
      z.reset();
      return false;
    }
  } while (rc != Z_STREAM_END);
  out.resize(s.total_out);
  return true;
}

bool Compressor::brotliInto(std::string_view in, std::string& out) {
  size_t bound = BrotliEncoderMaxCompressedSize(in.size());
  if (bound == 0) return false;  // size overflow
  out.resize(bound);
  size_t size = out.size();
  if (!BrotliEncoderCompress(brotli_quality_, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                             reinterpret_cast<const uint8_t*>(in.data()), &size,
                             reinterpret_cast<uint8_t*>(out.data()))) {
    return false;
  }
  out.resize(size);
  return true;
}

}  // namespace rover::http
