#include "ws/message.h"

#include "core/limits.h"

namespace rover::ws {

size_t MessageReader::read(char* data, size_t size, Event* event) {
  *event = Event{};
  if (state_ == State::kFailed) {
    failWith(error_, event);
    return 0;
  }
  if (state_ == State::kClosed) return size;  // RFC 6455 §5.5.1: nothing after a close
  if (delivered_) startMessage();             // the last message's views end here

  size_t used = 0;
  FrameOptions frame_options;
  frame_options.masked = options_.masked;
  while (used < size) {
    frame_options.max_payload = options_.max_message_bytes - fragments_.size();
    Frame frame;
    CloseCode error = CloseCode::kNoStatus;
    ptrdiff_t n = parseFrame(data + used, size - used, frame_options, &frame, &error);
    if (n == kFrameIncomplete) break;
    if (n == kFrameError) {
      failWith(error, event);
      return used;
    }
    bool more = isControl(frame.opcode) ? onControlFrame(frame, event) : onDataFrame(frame, event);
    if (state_ == State::kFailed) return used;  // the frame is not consumed
    used += static_cast<size_t>(n);
    if (!more) {
      if (state_ == State::kClosed) return size;
      return used;
    }
  }
  return used;
}

bool MessageReader::onDataFrame(const Frame& frame, Event* event) {
  bool continuation = frame.opcode == Opcode::kContinuation;
  if (continuation != inMessage()) return failWith(CloseCode::kProtocolError, event);
  Opcode type = continuation ? open_ : frame.opcode;
  bool text = type == Opcode::kText;

  if (!continuation && frame.fin) {  // a whole message in one frame: no copy
    if (text && !isValidUtf8(frame.payload)) return failWith(CloseCode::kInvalidPayload, event);
    event->kind = text ? EventKind::kText : EventKind::kBinary;
    event->data = frame.payload;
    return false;
  }
  if (text && !utf8_.feed(frame.payload)) return failWith(CloseCode::kInvalidPayload, event);
  fragments_.append(frame.payload);
  open_ = type;
  if (!frame.fin) return true;
  if (text && !utf8_.complete()) return failWith(CloseCode::kInvalidPayload, event);
  event->kind = text ? EventKind::kText : EventKind::kBinary;
  event->data = fragments_.view();
  open_ = Opcode::kContinuation;
  delivered_ = true;
  return false;
}

bool MessageReader::onControlFrame(const Frame& frame, Event* event) {
  event->data = frame.payload;
  switch (frame.opcode) {
    case Opcode::kPing:
      event->kind = EventKind::kPing;
      return false;
    case Opcode::kPong:
      event->kind = EventKind::kPong;
      return false;
    default: {
      CloseBody body;
      CloseCode error = CloseCode::kNoStatus;
      if (!parseCloseBody(frame.payload, &body, &error)) return failWith(error, event);
      event->kind = EventKind::kClose;
      event->code = body.code;
      event->data = body.reason;
      state_ = State::kClosed;
      return false;
    }
  }
}

bool MessageReader::failWith(CloseCode code, Event* event) {
  state_ = State::kFailed;
  error_ = code;
  *event = Event{};
  event->kind = EventKind::kError;
  event->code = code;
  return false;
}

void MessageReader::startMessage() {
  delivered_ = false;
  fragments_.clear();
  fragments_.shrink_if_empty(core::kKeepBufferBytes);
  utf8_.reset();
}

void MessageReader::reset() {
  state_ = State::kOpen;
  error_ = CloseCode::kNoStatus;
  open_ = Opcode::kContinuation;
  startMessage();
}

}  // namespace rover::ws
