// Incremental, strict HTTP/1.x request parser (RFC 9112 as lua-api.md §11.1
// words it). Bytes in, request views out; no fd, no allocation per header.
//
// Written here instead of wrapping llhttp 8.1 (Debian's node-llhttp): llhttp
// rejects valid input the spec requires (several chunk extensions, identical
// repeated Content-Length), accepts what it forbids (obs-fold, bare LF, double
// spaces in the request line, HTTP/0.9 lines), knows only its own method list,
// and the wrapper cost 1,940 more instructions per GET /echo than this parser
// (callgrind, 11,172 -> 9,232 per request).
//
// The connection owns one contiguous receive buffer and passes its start and
// size on every call; positions are offsets from the current message's start,
// so the buffer may grow (realloc) between calls, and bytes before
// messageStart() may be dropped (then call rebase() with the count).
#pragma once
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
  RequestParser() = default;
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
  // out->headers must have room for kMaxHeaderCount (RequestStorage).
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
  bool inHead() const { return state_ == State::kHead; }
  // Some byte of the current message has arrived (empty lines excepted).
  bool inMessage() const { return state_ != State::kHead || scan_ > 0; }
  void rebase(size_t shift);

 private:
  struct Span {
    uint32_t off = 0, len = 0;  // relative to msg_start_
  };
  struct HeaderSpan {
    Span name, value;
  };
  enum class State : uint8_t { kHead, kBody, kChunked, kDone, kError };

  ParseStatus parseHead(const char* buf, size_t size);
  int parseRequestLine(const char* base, size_t line_end);
  int parseHeaderLine(const char* base, size_t start, size_t end);
  int checkFraming(const char* base);
  ParseStatus readBody(const char* buf, size_t size);
  ParseStatus readChunked(const char* buf, size_t size);
  ParseStatus fail(int status);
  std::string_view view(const char* buf, Span s) const { return {buf + msg_start_ + s.off, s.len}; }

  State state_ = State::kHead;
  size_t pos_ = 0;         // next byte not yet consumed
  size_t msg_start_ = 0;   // first byte of the current message
  size_t scan_ = 0;        // head: bytes from msg_start_ already searched for line ends
  size_t line_start_ = 0;  // head: start of the line being searched (from msg_start_)
  size_t headers_start_ = 0;
  Span method_, target_;
  uint8_t minor_ = 1;
  HeaderSpan headers_[core::kMaxHeaderCount];
  size_t header_count_ = 0;
  Span body_;
  uint64_t body_remaining_ = 0;
  bool body_copied_ = false;  // chunked: body lives in body_store_
  std::string body_store_;
  int64_t body_limit_ = core::kDefaultBodySizeLimit;
  int error_status_ = 0;
  int64_t error_body_size_ = 0;
  bool expect_continue_ = false;
  bool chunked_ = false;
  bool keep_alive_ = true;
  ChunkedDecoder chunk_;
};

}  // namespace rover::http
