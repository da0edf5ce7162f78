// Client messages out of received bytes (RFC 6455 §5.4, §5.5, §8.1): a
// connection owns one MessageReader and hands it its receive buffer; the
// reader parses frames, answers nothing, and reports what the connection must
// act on: a whole text or binary message, a ping (send a pong), a pong, the
// peer's close, or the close code of a protocol error.
//
// Fragmented messages are reassembled into the reader's own buffer (only
// they allocate; a single-frame message stays in the receive buffer);
// control frames may come between fragments. Text is checked as UTF-8
// fragment by fragment, so bad text fails before the message is complete.
// The message size limit counts all fragments and is checked on each header,
// before its payload is buffered.
//
// Lifetimes: an Event's data points into the bytes passed to read() or into
// the reader, and lives until the next read() or until the caller changes
// those bytes (payloads are unmasked in place). The caller must drop the bytes
// read() reports used before calling again.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"
#include "ws/frame.h"
#include "ws/utf8.h"

namespace rover::ws {

// runtime-modules.md §7: messages over 1 MiB close with 1009.
inline constexpr size_t kDefaultMaxMessageBytes = 1024 * 1024;

enum class EventKind : uint8_t {
  kNeedMore,  // every frame in the bytes was used; feed more
  kText,      // data: the whole message, valid UTF-8
  kBinary,    // data: the whole message
  kPing,      // data: the payload, for the pong
  kPong,      // data: the payload
  kClose,     // code: the peer's (kNoStatus if none), data: its reason. Later bytes are ignored.
  kError,     // code: what to close with (1002, 1007, 1009). Sticky.
};

struct Event {
  EventKind kind = EventKind::kNeedMore;
  std::string_view data;
  CloseCode code = CloseCode::kNoStatus;
};

struct ReaderOptions {
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  bool masked = true;  // frames come from a client (must be masked)
};

class MessageReader {
 public:
  explicit MessageReader(const ReaderOptions& options = {}) : options_(options) {}
  MessageReader(const MessageReader&) = delete;
  MessageReader& operator=(const MessageReader&) = delete;

  // Reads frames from data[0..size), which starts at a frame boundary, until
  // one gives an event or the complete frames run out. Returns the bytes used
  // (whole frames only; an incomplete frame is left for the next call, with
  // more bytes). After kClose every byte is used and ignored; after kError
  // none is, and kError is returned again.
  size_t read(char* data, size_t size, Event* event);

  // A fragmented message has started and not ended.
  bool inMessage() const { return open_ != Opcode::kContinuation; }
  bool closed() const { return state_ != State::kOpen; }
  // Back to a new connection's state (keeps the options).
  void reset();

 private:
  enum class State : uint8_t { kOpen, kClosed, kFailed };

  // Each returns false when the frame ends the loop with *event filled.
  bool onDataFrame(const Frame& frame, Event* event);
  bool onControlFrame(const Frame& frame, Event* event);
  bool failWith(CloseCode code, Event* event);
  void startMessage();

  ReaderOptions options_;
  State state_ = State::kOpen;
  CloseCode error_ = CloseCode::kNoStatus;
  Opcode open_ = Opcode::kContinuation;  // kText/kBinary while fragments come in
  bool delivered_ = false;               // fragments_ holds a message already returned
  core::Buffer fragments_;
  Utf8Validator utf8_;
};

}  // namespace rover::ws
