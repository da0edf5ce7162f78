#include "http/parser.h"

#include <cstring>

namespace rover::http {
namespace {

// RFC 9110 tchar.
constexpr bool isTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

constexpr size_t kMaxMethodBytes = 64;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
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

RequestParser::RequestParser() {
  llhttp_init(&llhttp_, HTTP_REQUEST, settings());
  llhttp_.data = this;
}

void RequestParser::extend(Span& s, const char* at, size_t len) {
  uint32_t off = static_cast<uint32_t>(at - base_);
  if (s.len == 0) s.off = off;
  s.len = static_cast<uint32_t>(off + len - s.off);
}

int RequestParser::fail(int status) {
  if (error_status_ == 0) error_status_ = status;
  return -1;
}

ParseStatus RequestParser::execute(const char* buf, size_t size) {
  base_ = buf;
  if (state_ == State::kError) return ParseStatus::kError;
  if (state_ == State::kDone) return ParseStatus::kMessageComplete;
  if (state_ == State::kChunked) return feedChunked(buf, size);
  if (state_ == State::kIdle) {
    ParseStatus st = startMessage(buf, size);
    if (state_ == State::kIdle || st == ParseStatus::kError) return st;
  }
  return feed(buf, size);
}

// Skips empty lines, reads the method token ourselves (llhttp only knows its
// own method list, while Rover must frame any token method and answer it 400
// on an open connection), then primes llhttp with a neutral "GET " so it
// parses the rest of the request line, headers and body framing.
ParseStatus RequestParser::startMessage(const char* buf, size_t size) {
  while (pos_ < size && buf[pos_] == '\r') {
    if (pos_ + 1 >= size) return ParseStatus::kNeedMore;
    if (buf[pos_ + 1] != '\n') {
      state_ = State::kError;
      fail(400);
      return ParseStatus::kError;
    }
    pos_ += 2;
  }
  msg_start_ = pos_;
  size_t i = pos_;
  while (i < size && buf[i] != ' ') {
    if (!isTokenChar(static_cast<unsigned char>(buf[i])) || i - pos_ >= kMaxMethodBytes) {
      state_ = State::kError;
      fail(400);
      return ParseStatus::kError;
    }
    ++i;
  }
  if (i == size) return ParseStatus::kNeedMore;
  if (i == pos_) {
    state_ = State::kError;
    fail(400);
    return ParseStatus::kError;
  }
  method_ = {static_cast<uint32_t>(pos_), static_cast<uint32_t>(i - pos_)};
  llhttp_reset(&llhttp_);
  llhttp_execute(&llhttp_, "GET ", 4);
  pos_ = i + 1;
  state_ = State::kHead;
  return ParseStatus::kContinue;
}

ParseStatus RequestParser::feed(const char* buf, size_t size) {
  const char* start = buf + pos_;
  llhttp_errno_t err = llhttp_execute(&llhttp_, start, size - pos_);
  if (err == HPE_OK) {
    pos_ = size;
    if (state_ == State::kHead &&
        pos_ - msg_start_ > core::kMaxTargetBytes + core::kMaxHeaderSectionBytes + 64) {
      state_ = State::kError;
      fail(431);
      return ParseStatus::kError;
    }
    return ParseStatus::kNeedMore;
  }
  if (err == HPE_PAUSED) {
    pos_ = static_cast<size_t>(llhttp_get_error_pos(&llhttp_) - buf);
    llhttp_resume(&llhttp_);
    if (state_ == State::kDone) return ParseStatus::kMessageComplete;
    if (expect_continue_ && !continue_reported_) {
      continue_reported_ = true;
      return ParseStatus::kContinue;
    }
    if (state_ == State::kChunked) return feedChunked(buf, size);
    return ParseStatus::kContinue;
  }
  state_ = State::kError;
  if (error_status_ == 0) {
    bool in_request_line = header_count_ == 0 && !field_open_;
    error_status_ = in_request_line ? classifyLineError(buf, size) : 400;
  }
  return ParseStatus::kError;
}

ParseStatus RequestParser::feedChunked(const char* buf, size_t size) {
  body_copied_ = true;
  while (pos_ < size) {
    size_t used = 0;
    ChunkedDecoder::Result r = chunk_.feed(buf + pos_, size - pos_, &used, &body_store_);
    pos_ += used;
    body_size_ = static_cast<int64_t>(body_store_.size());
    if (body_limit_ > 0 && body_size_ > body_limit_) {
      state_ = State::kError;
      error_body_size_ = body_size_;
      fail(413);
      return ParseStatus::kError;
    }
    if (r == ChunkedDecoder::Result::kDone) {
      state_ = State::kDone;
      return ParseStatus::kMessageComplete;
    }
    if (r == ChunkedDecoder::Result::kError) {
      state_ = State::kError;
      fail(chunk_.trailerTooLarge() ? 431 : 400);
      return ParseStatus::kError;
    }
  }
  return ParseStatus::kNeedMore;
}

// An llhttp error inside the request line: 505 when the line is well formed
// but names another HTTP/<digit>.<digit> version, else 400.
int RequestParser::classifyLineError(const char* buf, size_t size) const {
  std::string_view rest(buf + msg_start_, size - msg_start_);
  size_t end = rest.find('\r');
  if (end == std::string_view::npos) return 400;
  std::string_view line = rest.substr(0, end);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || line.find(' ', sp1 + 1) != sp2) return 400;
  std::string_view v = line.substr(sp2 + 1);
  bool shaped = v.size() == 8 && v.substr(0, 5) == "HTTP/" && v[5] >= '0' && v[5] <= '9' &&
                v[6] == '.' && v[7] >= '0' && v[7] <= '9';
  if (!shaped) return 400;
  return (v[5] == '1' && (v[7] == '0' || v[7] == '1')) ? 400 : 505;
}

// Checks of lua-api.md §11.1 that llhttp 8.1 does not make, plus the body limit.
int RequestParser::checkHead() {
  // Request line: single spaces around the target, then "HTTP/d.d" and CRLF.
  if (url_.len == 0 || url_.off != method_.off + method_.len + 1) return 400;
  const char* after = base_ + url_.off + url_.len;
  if (std::memcmp(after, " HTTP/", 6) != 0 || after[7] != '.' || after[9] != '\r') return 400;
  uint8_t major = llhttp_.http_major, minor = llhttp_.http_minor;
  if (major != 1 || minor > 1) return 505;
  size_t hosts = 0, te_fields = 0;
  std::string_view te, expect;
  bool has_cl = false;
  for (size_t i = 0; i < header_count_; ++i) {
    std::string_view name = view(base_, headers_[i].name);
    std::string_view value = trim(view(base_, headers_[i].value));
    if (equalsIgnoreCase(name, "host")) ++hosts;
    else if (equalsIgnoreCase(name, "transfer-encoding")) ++te_fields, te = value;
    else if (equalsIgnoreCase(name, "expect")) expect = value;
    else if (equalsIgnoreCase(name, "content-length")) has_cl = true;
  }
  if (minor == 1 && hosts != 1) return 400;
  if (te_fields > 0) {
    if (minor == 0 || te_fields > 1 || has_cl) return 400;
    if (!equalsIgnoreCase(te, "chunked")) {
      // "chunked" anywhere but alone is malformed; other codings are unsupported.
      std::string lower(te);
      for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
      return lower.find("chunked") != std::string::npos ? 400 : 501;
    }
  }
  chunked_ = te_fields == 1;
  bool body_follows = chunked_ || (has_cl && llhttp_.content_length > 0);
  if (has_cl && body_limit_ > 0 && llhttp_.content_length > static_cast<uint64_t>(body_limit_)) {
    error_body_size_ = static_cast<int64_t>(llhttp_.content_length);
    return 413;
  }
  if (!expect.empty()) {
    if (!equalsIgnoreCase(expect, "100-continue")) return 417;
    expect_continue_ = body_follows;
  }
  return 0;
}

void RequestParser::rebase(size_t shift) {
  if (shift == 0) return;
  pos_ -= shift;
  msg_start_ -= shift;
  if (state_ == State::kIdle) return;
  auto move = [shift](Span& s) {
    if (s.len) s.off -= static_cast<uint32_t>(shift);
  };
  move(method_);
  move(url_);
  move(version_);
  for (size_t i = 0; i < header_count_; ++i) {
    move(headers_[i].name);
    // An empty value's offset is never read, so it may be stale.
    move(headers_[i].value);
  }
  if (!body_copied_) move(body_);
}

void RequestParser::request(const char* buf, Request* out) const {
  Request& r = *out;
  r.method = view(buf, method_);
  r.target = view(buf, url_);
  std::string_view t = r.target;
  if (t.size() > 7 && (t[0] | 0x20) == 'h') {
    size_t scheme = t.find("://");
    if (scheme != std::string_view::npos && scheme <= 5) {
      size_t slash = t.find('/', scheme + 3);
      size_t q = t.find('?', scheme + 3);
      if (slash == std::string_view::npos || (q != std::string_view::npos && q < slash)) {
        t = q == std::string_view::npos ? std::string_view("/") : t.substr(q);
        if (t[0] == '?') {
          r.path = "/";
          r.query = t.substr(1);
          r.has_query = true;
          goto headers;
        }
      } else {
        t = t.substr(slash);
      }
    }
  }
  {
    size_t q = t.find('?');
    r.has_query = q != std::string_view::npos;
    r.path = r.has_query ? t.substr(0, q) : t;
    r.query = r.has_query ? t.substr(q + 1) : std::string_view{};
  }
headers:
  r.version_minor = llhttp_.http_minor;
  r.header_count = header_count_;
  for (size_t i = 0; i < header_count_; ++i) {
    r.headers[i].name = view(buf, headers_[i].name);
    r.headers[i].value =
        headers_[i].value.len ? trim(view(buf, headers_[i].value)) : std::string_view{};
  }
  r.body = body_copied_ ? std::string_view(body_store_) : view(buf, body_);
  r.has_body = !r.body.empty();
  r.keep_alive = keep_alive_;
}

void RequestParser::reset() {
  pos_ = 0;
  error_status_ = 0;
  error_body_size_ = 0;
  nextMessage();
  msg_start_ = 0;
}

void RequestParser::nextMessage() {
  state_ = State::kIdle;
  msg_start_ = pos_;
  method_ = url_ = version_ = body_ = Span{};
  header_count_ = 0;
  field_open_ = false;
  body_copied_ = false;
  if (body_store_.capacity() > 64 * 1024) std::string().swap(body_store_);
  body_store_.clear();
  body_size_ = 0;
  expect_continue_ = false;
  continue_reported_ = false;
  chunked_ = false;
}

// --- llhttp callbacks -------------------------------------------------------

namespace {
RequestParser* self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

bool validField(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!isTokenChar(static_cast<unsigned char>(c))) return false;
  }
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}
}  // namespace

int RequestParser::onUrl(llhttp_t* p, const char* at, size_t len) {
  RequestParser* s = self(p);
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = static_cast<unsigned char>(at[i]);
    if (c < 0x21 || c > 0x7e) return s->fail(400);
  }
  s->extend(s->url_, at, len);
  return s->url_.len > core::kMaxTargetBytes ? s->fail(414) : 0;
}

int RequestParser::onVersion(llhttp_t* p, const char* at, size_t len) {
  RequestParser* s = self(p);
  s->extend(s->version_, at, len);
  return 0;
}

int RequestParser::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  RequestParser* s = self(p);
  uint32_t end = static_cast<uint32_t>(at + len - s->base_);
  if (s->state_ == State::kBody) {  // trailer fields: bounded, then discarded
    s->head_bytes_ += len;
    return s->head_bytes_ > core::kMaxHeaderSectionBytes ? s->fail(431) : 0;
  }
  if (!s->field_open_) {
    // llhttp 8.1 accepts a bare LF ending the request line.
    if (at - s->base_ < 2 || at[-1] != '\n' || at[-2] != '\r') return s->fail(400);
    if (s->header_count_ >= core::kMaxHeaderCount) return s->fail(431);
    s->headers_[s->header_count_] = HeaderSpan{};
    s->field_open_ = true;
  }
  HeaderSpan& h = s->headers_[s->header_count_];
  s->extend(h.name, at, len);
  if (h.name.len > core::kMaxHeaderLineBytes) return s->fail(431);
  if (end - (s->url_.off + s->url_.len) > core::kMaxHeaderSectionBytes) return s->fail(431);
  return 0;
}

int RequestParser::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  RequestParser* s = self(p);
  if (s->state_ == State::kBody) {
    s->head_bytes_ += len;
    return s->head_bytes_ > core::kMaxHeaderSectionBytes ? s->fail(431) : 0;
  }
  HeaderSpan& h = s->headers_[s->header_count_];
  s->extend(h.value, at, len);
  if (h.name.len + h.value.len > core::kMaxHeaderLineBytes) return s->fail(431);
  uint32_t end = static_cast<uint32_t>(at + len - s->base_);
  if (end - (s->url_.off + s->url_.len) > core::kMaxHeaderSectionBytes) return s->fail(431);
  return 0;
}

int RequestParser::onHeaderValueComplete(llhttp_t* p) {
  RequestParser* s = self(p);
  if (s->state_ == State::kBody) return 0;
  // llhttp 8.1 lets obs-fold, whitespace in names and some controls through.
  if (!validField(s->view(s->base_, s->headers_[s->header_count_].name),
                  s->view(s->base_, s->headers_[s->header_count_].value))) {
    return s->fail(400);
  }
  ++s->header_count_;
  s->field_open_ = false;
  return 0;
}

int RequestParser::onHeadersComplete(llhttp_t* p) {
  RequestParser* s = self(p);
  p->upgrade = 0;  // Upgrade requests are served as plain HTTP/1.1 for now.
  if (int status = s->checkHead()) return s->fail(status);
  s->state_ = State::kBody;
  s->head_bytes_ = 0;
  if (s->chunked_) {  // decoded by ChunkedDecoder once llhttp pauses at message end
    s->chunk_.reset();
    return 1;
  }
  return s->expect_continue_ ? HPE_PAUSED : 0;
}

int RequestParser::onBody(llhttp_t* p, const char* at, size_t len) {
  RequestParser* s = self(p);
  s->body_size_ += static_cast<int64_t>(len);
  if (s->body_limit_ > 0 && s->body_size_ > s->body_limit_) {
    s->error_body_size_ = s->body_size_;
    return s->fail(413);
  }
  bool contiguous = !s->body_copied_ &&
                    (s->body_.len == 0 || s->body_.off + s->body_.len == at - s->base_);
  if (contiguous) {
    s->extend(s->body_, at, len);
  } else {
    if (!s->body_copied_) {
      s->body_store_.assign(s->base_ + s->body_.off, s->body_.len);
      s->body_copied_ = true;
    }
    s->body_store_.append(at, len);
  }
  return 0;
}

int RequestParser::onMessageComplete(llhttp_t* p) {
  RequestParser* s = self(p);
  s->state_ = s->chunked_ ? State::kChunked : State::kDone;
  s->keep_alive_ = llhttp_should_keep_alive(p) != 0;
  return HPE_PAUSED;
}

const llhttp_settings_t* RequestParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_url = &onUrl;
    st.on_version = &onVersion;
    st.on_header_field = &onHeaderField;
    st.on_header_value = &onHeaderValue;
    st.on_header_value_complete = &onHeaderValueComplete;
    st.on_headers_complete = &onHeadersComplete;
    st.on_body = &onBody;
    st.on_message_complete = &onMessageComplete;
    return st;
  }();
  return &s;
}

}  // namespace rover::http
