// Incremental HTTP/1.x request parser: llhttp (strict mode) plus the checks
// llhttp does not make (lua-api.md §11.1). Bytes in, request views out; no fd.
//
// The connection owns one contiguous receive buffer and passes its start and
// size on every call; the parser remembers positions as offsets into it, so
// the buffer may grow (realloc) between calls. The connection may drop bytes
// before messageStart() and must then call rebase() with the count.
#pragma once
#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/chunked.h"
#include "http/request.h"

namespace rover::http {

enum class ParseStatus {
  kNeedMore,         // all bytes consumed, message incomplete
  kContinue,         // head complete, request carries `Expect: 100-continue` and a body
  kMessageComplete,  // request() is ready; call nextMessage() after answering
  kError,            // errorStatus() is the status to answer; the connection must close
};

class RequestParser {
 public:
  RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Back to the initial state for a new connection (keeps the limit).
  void reset();
  // body_limit <= 0: no limit (server-features.md §7).
  void setBodyLimit(int64_t limit) { body_limit_ = limit; }

  // Parses from the first unparsed byte up to buf + size.
  ParseStatus execute(const char* buf, size_t size);

  // After kMessageComplete: fills *out with views into buf (and into this
  // parser for chunked bodies), valid until the buffer changes or nextMessage().
  void request(const char* buf, Request* out) const;
  // After kMessageComplete: prepares the next message.
  void nextMessage();

  int errorStatus() const { return error_status_; }
  // For 413: the declared length or the bytes received so far.
  int64_t errorBodySize() const { return error_body_size_; }
  // Offset of the first byte still needed (start of the current message).
  size_t messageStart() const { return msg_start_; }
  size_t parsedUpTo() const { return pos_; }
  // True while the current message's head is incomplete (for head limits/timeouts).
  bool inHead() const { return state_ == State::kHead || state_ == State::kIdle; }
  bool inMessage() const { return state_ != State::kIdle; }
  void rebase(size_t shift);

 private:
  struct Span {
    uint32_t off = 0, len = 0;
  };
  struct HeaderSpan {
    Span name, value;
  };
  enum class State : uint8_t { kIdle, kHead, kBody, kChunked, kDone, kError };

  static int onUrl(llhttp_t* p, const char* at, size_t len);
  static int onVersion(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onMessageComplete(llhttp_t* p);
  static const llhttp_settings_t* settings();

  ParseStatus startMessage(const char* buf, size_t size);
  ParseStatus feed(const char* buf, size_t size);
  ParseStatus feedChunked(const char* buf, size_t size);
  int classifyLineError(const char* buf, size_t size) const;
  int checkHead();
  int fail(int status);
  void extend(Span& s, const char* at, size_t len);
  std::string_view view(const char* buf, Span s) const { return {buf + s.off, s.len}; }

  llhttp_t llhttp_;
  const char* base_ = nullptr;  // buffer start during execute()
  State state_ = State::kIdle;
  size_t pos_ = 0;        // next byte to feed
  size_t msg_start_ = 0;  // first byte of the current message
  Span method_, url_, version_;
  HeaderSpan headers_[core::kMaxHeaderCount];
  size_t header_count_ = 0;
  bool field_open_ = false;  // a header entry has begun and not completed
  size_t head_bytes_ = 0;
  Span body_;
  bool body_copied_ = false;  // chunked: body lives in body_store_
  std::string body_store_;
  int64_t body_size_ = 0;
  int64_t body_limit_ = core::kDefaultBodySizeLimit;
  int error_status_ = 0;
  int64_t error_body_size_ = 0;
  bool expect_continue_ = false;
  bool chunked_ = false;
  ChunkedDecoder chunk_;
  bool continue_reported_ = false;
  bool keep_alive_ = true;
};

}  // namespace rover::http
