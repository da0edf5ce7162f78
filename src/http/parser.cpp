#include "http/parser.h"
#include "http/text.h"

#include <cstring>

#include "core/swar.h"

namespace rover::http {
namespace {

// Character classes of RFC 9110/9112, one table lookup per byte.
enum : uint8_t { kToken = 1, kTarget = 2, kValue = 4 };

constexpr auto kClass = [] {
  struct Table {
    uint8_t c[256] = {};
  } t;
  for (int c = 0x21; c <= 0x7e; ++c) t.c[c] |= kTarget | kValue;
  t.c[' '] |= kValue;
  t.c['\t'] |= kValue;
  for (int c = 0x80; c <= 0xff; ++c) t.c[c] |= kValue;  // obs-text
  for (int c = '0'; c <= '9'; ++c) t.c[c] |= kToken;
  for (int c = 'a'; c <= 'z'; ++c) t.c[c] |= kToken;
  for (int c = 'A'; c <= 'Z'; ++c) t.c[c] |= kToken;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t.c[static_cast<uint8_t>(c)] |= kToken;
  return t;
}();

inline bool is(char c, uint8_t cls) { return kClass.c[static_cast<uint8_t>(c)] & cls; }

// Targets and header values are checked 8 bytes at a time (core/swar.h).
using core::swar::above;
using core::swar::below;
using core::swar::equal;
// From i, skips whole words with no byte in `bad` (a mask function); stops
// at the first such byte, or before a last partial word.
template <typename BadMask>
inline size_t skipWords(const char* base, size_t i, size_t end, BadMask bad) {
  if constexpr (core::swar::kLittleEndian) {
    while (end - i >= 8) {
      if (uint64_t m = bad(core::swar::load8(base + i))) return i + core::swar::firstByte(m);
      i += 8;
    }
  }
  return i;
}
// Target characters are 0x21-0x7E.
inline size_t skipTargetWords(const char* base, size_t i, size_t end) {
  return skipWords(base, i, end, [](uint64_t w) { return below(w, 0x21) | above(w, 0x7e); });
}
// Field-value characters other than HTAB (0x20-0x7E, 0x80-0xFF): stops at the
// first control byte, HTAB included (the caller checks it).
inline size_t skipValueWords(const char* base, size_t i, size_t end) {
  return skipWords(base, i, end, [](uint64_t w) { return below(w, 0x20) | equal(w, 0x7f); });
}

constexpr size_t kMaxRequestLineBytes = core::kMaxTargetBytes + 64;  // method + version
constexpr uint64_t kMaxContentLength = (uint64_t{1} << 63) - 1;


// Calls fn(element) for each comma-separated element, trimmed; empty ones skipped.
template <typename Fn>
void forEachListElement(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view e = trimOws(list.substr(0, comma));
    if (!e.empty()) fn(e);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// Content-Length: digits only, fits in 63 bits.
bool parseLength(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > kMaxContentLength) return false;
  *out = v;
  return true;
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(a[i]);
    if (c >= 'A' && c <= 'Z') c |= 0x20;
    if (c != static_cast<unsigned char>(lower_b[i])) return false;
  }
  return true;
}

std::string_view Request::header(std::string_view lower_name) const {
  for (size_t i = 0; i < header_count; ++i) {
    if (equalsIgnoreCase(headers[i].name, lower_name)) return headers[i].value;
  }
  return {};
}

ParseStatus RequestParser::fail(int status) {
  state_ = State::kError;
  if (error_status_ == 0) error_status_ = status;
  return ParseStatus::kError;
}

ParseStatus RequestParser::execute(const char* buf, size_t size) {
  switch (state_) {
    case State::kHead: {
      ParseStatus st = parseHead(buf, size);
      if (st != ParseStatus::kMessageComplete || state_ == State::kDone) return st;
      if (expect_continue_) return ParseStatus::kContinue;
      return state_ == State::kChunked ? readChunked(buf, size) : readBody(buf, size);
    }
    case State::kBody:
      return readBody(buf, size);
    case State::kChunked:
      return readChunked(buf, size);
    case State::kDone:
      return ParseStatus::kMessageComplete;
    case State::kError:
      return ParseStatus::kError;
  }
  return ParseStatus::kError;
}

// Finds the end of the head with memchr over new bytes only (O(n) over all
// calls), enforcing line and section limits as soon as they are exceeded,
// then parses the complete head once. Returns kMessageComplete when the head
// is done (state_ then says whether a body follows).
ParseStatus RequestParser::parseHead(const char* buf, size_t size) {
  if (scan_ == 0) {  // empty lines before a request line are ignored
    while (pos_ < size && buf[pos_] == '\r') {
      if (pos_ + 1 >= size) return ParseStatus::kNeedMore;
      if (buf[pos_ + 1] != '\n') return fail(400);
      pos_ += 2;
    }
    if (pos_ < size && buf[pos_] == '\n') return fail(400);
    msg_start_ = pos_;
  }
  const char* base = buf + msg_start_;
  size_t avail = size - msg_start_;
  while (scan_ < avail) {
    const void* nl = std::memchr(base + scan_, '\n', avail - scan_);
    if (!nl) {
      scan_ = avail;
      break;
    }
    size_t lf = static_cast<size_t>(static_cast<const char*>(nl) - base);
    scan_ = lf + 1;
    if (lf == 0 || base[lf - 1] != '\r') return fail(400);  // bare LF
    size_t line_end = lf - 1;
    if (line_start_ == 0) {
      if (int st = parseRequestLine(base, line_end)) return fail(st);
      headers_start_ = lf + 1;
    } else if (line_end == line_start_) {  // blank line: head complete
      pos_ = msg_start_ + lf + 1;
      if (int st = checkFraming(base)) return fail(st);
      return ParseStatus::kMessageComplete;
    } else if (int st = parseHeaderLine(base, line_start_, line_end)) {
      return fail(st);
    }
    line_start_ = lf + 1;
  }
  // Incomplete: answer a limit as soon as the bytes so far exceed it.
  if (line_start_ == 0) {
    if (avail > kMaxRequestLineBytes) return fail(414);
  } else if (avail - line_start_ > core::kMaxHeaderLineBytes ||
             avail - headers_start_ > core::kMaxHeaderSectionBytes) {
    return fail(431);
  }
  pos_ = size;
  return ParseStatus::kNeedMore;
}

// METHOD SP request-target SP HTTP/d.d (single spaces; CR already excluded).
int RequestParser::parseRequestLine(const char* base, size_t end) {
  size_t i = 0;
  while (i < end && is(base[i], kToken)) ++i;
  if (i == 0 || i >= end || base[i] != ' ') return 400;
  method_ = {0, static_cast<uint32_t>(i)};
  size_t t = ++i;
  i = skipTargetWords(base, i, end);
  while (i < end && is(base[i], kTarget)) ++i;
  if (i - t > core::kMaxTargetBytes) return 414;
  if (i == t || i >= end || base[i] != ' ') return 400;
  target_ = {static_cast<uint32_t>(t), static_cast<uint32_t>(i - t)};
  const char* v = base + i + 1;
  if (end - (i + 1) != 8 || std::memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
      v[6] != '.' || v[7] < '0' || v[7] > '9') {
    return 400;
  }
  if (v[5] != '1' || v[7] > '1') return 505;
  minor_ = static_cast<uint8_t>(v[7] - '0');
  return 0;
}

// name ":" OWS value OWS — no obs-fold, no whitespace before the colon,
// no control characters but HTAB in the value.
int RequestParser::parseHeaderLine(const char* base, size_t start, size_t end) {
  if (end - start > core::kMaxHeaderLineBytes) return 431;
  if (end - headers_start_ > core::kMaxHeaderSectionBytes) return 431;
  if (header_count_ >= core::kMaxHeaderCount) return 431;
  size_t i = start;
  while (i < end && is(base[i], kToken)) ++i;
  if (i == start || i >= end || base[i] != ':') return 400;
  size_t name_end = i++;
  while (i < end && (base[i] == ' ' || base[i] == '\t')) ++i;
  size_t v = i;
  for (i = skipValueWords(base, i, end); i < end; ++i) {
    if (!is(base[i], kValue)) return 400;
  }
  size_t ve = end;
  while (ve > v && (base[ve - 1] == ' ' || base[ve - 1] == '\t')) --ve;
  headers_[header_count_++] = {
      {static_cast<uint32_t>(start), static_cast<uint32_t>(name_end - start)},
      {static_cast<uint32_t>(v), static_cast<uint32_t>(ve - v)}};
  return 0;
}

// Host, Content-Length, Transfer-Encoding, Expect and Connection rules of
// lua-api.md §11.1/§11.3 and the body limit of server-features.md §7.
int RequestParser::checkFraming(const char* base) {
  size_t hosts = 0, te_fields = 0;
  bool has_cl = false, cl_bad = false, has_close = false, has_keep_alive = false;
  uint64_t cl = 0;
  std::string_view te, expect;
  for (size_t i = 0; i < header_count_; ++i) {
    std::string_view name(base + headers_[i].name.off, headers_[i].name.len);
    std::string_view value(base + headers_[i].value.off, headers_[i].value.len);
    if (equalsIgnoreCase(name, "host")) {
      ++hosts;
    } else if (equalsIgnoreCase(name, "content-length")) {
      forEachListElement(value, [&](std::string_view e) {
        uint64_t n;
        if (!parseLength(e, &n) || (has_cl && n != cl)) cl_bad = true;
        cl = n;
        has_cl = true;
      });
      if (value.empty()) cl_bad = true;
    } else if (equalsIgnoreCase(name, "transfer-encoding")) {
      ++te_fields;
      te = value;
    } else if (equalsIgnoreCase(name, "expect")) {
      expect = value;
    } else if (equalsIgnoreCase(name, "connection")) {
      forEachListElement(value, [&](std::string_view e) {
        if (equalsIgnoreCase(e, "close")) has_close = true;
        if (equalsIgnoreCase(e, "keep-alive")) has_keep_alive = true;
      });
    }
  }
  if (minor_ == 1 && hosts != 1) return 400;
  if (cl_bad) return 400;
  if (te_fields > 0) {
    if (minor_ == 0 || te_fields > 1 || has_cl) return 400;
    if (!equalsIgnoreCase(te, "chunked")) {
      bool mentions_chunked = false;
      forEachListElement(te, [&](std::string_view e) {
        if (equalsIgnoreCase(e, "chunked")) mentions_chunked = true;
      });
      return mentions_chunked ? 400 : 501;  // chunked repeated / not alone vs unsupported
    }
    chunked_ = true;
  }
  keep_alive_ = minor_ == 1 ? !has_close : has_keep_alive && !has_close;
  if (has_cl && body_limit_ > 0 && cl > static_cast<uint64_t>(body_limit_)) {
    error_body_size_ = static_cast<int64_t>(cl);
    return 413;
  }
  bool body_follows = chunked_ || cl > 0;
  if (!expect.empty()) {
    if (!equalsIgnoreCase(expect, "100-continue")) return 417;
    expect_continue_ = body_follows;
  }
  if (chunked_) {
    chunk_.reset();
    state_ = State::kChunked;
  } else if (cl > 0) {
    body_remaining_ = cl;
    body_.off = static_cast<uint32_t>(pos_ - msg_start_);
    state_ = State::kBody;
  } else {
    state_ = State::kDone;
  }
  return 0;
}

ParseStatus RequestParser::readBody(const char* buf, size_t size) {
  expect_continue_ = false;
  size_t take = static_cast<size_t>(std::min<uint64_t>(body_remaining_, size - pos_));
  pos_ += take;
  body_.len += static_cast<uint32_t>(take);
  body_remaining_ -= take;
  (void)buf;
  if (body_remaining_ > 0) return ParseStatus::kNeedMore;
  state_ = State::kDone;
  return ParseStatus::kMessageComplete;
}

ParseStatus RequestParser::readChunked(const char* buf, size_t size) {
  expect_continue_ = false;
  body_copied_ = true;
  while (pos_ < size) {
    size_t used = 0;
    ChunkedDecoder::Result r = chunk_.feed(buf + pos_, size - pos_, &used, &body_store_);
    pos_ += used;
    int64_t received = static_cast<int64_t>(body_store_.size());
    if (body_limit_ > 0 && received > body_limit_) {
      error_body_size_ = received;
      return fail(413);
    }
    if (r == ChunkedDecoder::Result::kDone) {
      state_ = State::kDone;
      return ParseStatus::kMessageComplete;
    }
    if (r == ChunkedDecoder::Result::kError) return fail(chunk_.trailerTooLarge() ? 431 : 400);
  }
  return ParseStatus::kNeedMore;
}

void RequestParser::request(const char* buf, Request* out) const {
  Request& r = *out;
  r.method = view(buf, method_);
  r.target = view(buf, target_);
  std::string_view t = r.target;
  // absolute-form: only its path and query are used
  if (t.size() > 7 && (t[0] | 0x20) == 'h') {
    size_t scheme = t.find("://");
    if (scheme != std::string_view::npos && scheme <= 5) {
      size_t rest = t.find_first_of("/?", scheme + 3);
      t = rest == std::string_view::npos ? std::string_view() : t.substr(rest);
    }
  }
  size_t q = t.find('?');
  r.has_query = q != std::string_view::npos;
  r.path = r.has_query ? t.substr(0, q) : t;
  if (r.path.empty()) r.path = "/";
  r.query = r.has_query ? t.substr(q + 1) : std::string_view{};
  r.version_minor = minor_;
  r.keep_alive = keep_alive_;
  r.header_count = header_count_;
  for (size_t i = 0; i < header_count_; ++i) {
    r.headers[i].name = view(buf, headers_[i].name);
    r.headers[i].value = view(buf, headers_[i].value);
  }
  r.body = body_copied_ ? std::string_view(body_store_) : view(buf, body_);
  r.has_body = !r.body.empty();
}

void RequestParser::reset() {
  pos_ = 0;
  error_status_ = 0;
  error_body_size_ = 0;
  nextMessage();
}

void RequestParser::nextMessage() {
  state_ = State::kHead;
  msg_start_ = pos_;
  scan_ = line_start_ = headers_start_ = 0;
  method_ = target_ = body_ = Span{};
  header_count_ = 0;
  body_remaining_ = 0;
  body_copied_ = false;
  if (body_store_.capacity() > core::kKeepBufferBytes) std::string().swap(body_store_);
  body_store_.clear();
  expect_continue_ = false;
  chunked_ = false;
  keep_alive_ = true;
}

void RequestParser::rebase(size_t shift) {
  pos_ -= shift;
  msg_start_ -= shift;
}

}  // namespace rover::http
