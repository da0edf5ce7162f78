// WebSocket frames (RFC 6455 §5): parsing one frame out of a connection's
// receive buffer, and building server frames into its send buffer.
//
// The parser keeps no state and never allocates, in the manner of
// picohttpparser: call it on the unconsumed bytes, which start at a frame;
// it returns the frame's size once the whole frame has arrived,
// kFrameIncomplete before that, or kFrameError with the close code. Only a
// complete frame is unmasked (in place), so calling again on the same,
// longer bytes after kFrameIncomplete is safe; calling again on a frame
// already returned is not (it would mask the payload again): drop those bytes.
// Views in a Frame point into the caller's buffer and live as long as its bytes.
//
// Lengths need not use the minimal encoding (receivers may accept that, the
// RFC only binds senders); the builders always write the minimal one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace rover::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

constexpr bool isControl(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// Status codes of close frames (RFC 6455 §7.4, IANA registry). A peer may
// send any code of 3000..4999 too: the enum holds every uint16_t.
enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kNoStatus = 1005,  // never on the wire: a close frame without a payload
  kAbnormal = 1006,  // never on the wire: closed without a close frame
  kInvalidPayload = 1007,
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kMandatoryExtension = 1010,
  kInternalError = 1011,
};

inline constexpr size_t kMaxControlPayload = 125;    // RFC 6455 §5.5
inline constexpr size_t kMaxFrameHeader = 14;        // 2 + 8 (length) + 4 (mask)
inline constexpr size_t kMaxServerFrameHeader = 10;  // unmasked

inline constexpr ptrdiff_t kFrameError = -1;
inline constexpr ptrdiff_t kFrameIncomplete = -2;

struct FrameOptions {
  // Largest data frame payload; a longer one is refused with 1009 as soon
  // as its header arrives. (Control frames are bounded by 125 bytes.)
  uint64_t max_payload = UINT64_MAX >> 1;
  // Frames must be masked (client to server); false: must not be (server to client).
  bool masked = true;
  // RSV bits a negotiated extension gives meaning to (0x40 is RSV1); other set bits are 1002.
  uint8_t allowed_rsv = 0;
};

struct Frame {
  Opcode opcode = Opcode::kContinuation;
  bool fin = false;
  uint8_t rsv = 0;         // the RSV bits, in place (0x70 of the first byte)
  size_t header_size = 0;  // 0 until the header has arrived
  uint64_t payload_size = 0;
  std::string_view payload;  // unmasked, inside the parsed bytes (complete frames only)

  uint64_t size() const { return header_size + payload_size; }
};

// Parses the frame at data[0..size). Returns the frame's size (> 0) with
// *frame filled and its payload unmasked in place; kFrameIncomplete when
// bytes are missing (bytes unchanged; once the header is in, *frame has its
// fields but no payload, and frame->size() is what the whole frame needs);
// kFrameError with *error the code to close with: 1002 for a protocol error
// (RSV bits, reserved opcode, masking, fragmented or > 125-byte control
// frame, 64-bit length with the high bit set), 1009 over max_payload.
// Errors are found in byte order, so any prefix showing one gives the same.
ptrdiff_t parseFrame(char* data, size_t size, const FrameOptions& options, Frame* frame,
                     CloseCode* error);

// XORs data[0..size) with the 4-byte masking key, 8 bytes at a time.
void unmask(char* data, size_t size, const uint8_t key[4]);

// The payload of a close frame: its code (kNoStatus when empty) and reason.
struct CloseBody {
  CloseCode code = CloseCode::kNoStatus;
  std::string_view reason;  // inside the payload
};

// Codes a peer may send (RFC 6455 §7.4: 1000-1003, 1007-1014, 3000-4999).
bool isValidCloseCode(uint16_t code);
// Parses a received close payload. False with *error 1002 (one byte, or a
// code that may not be sent) or 1007 (reason not UTF-8).
bool parseCloseBody(std::string_view payload, CloseBody* out, CloseCode* error);

// Writes the header of an unmasked frame (at most kMaxServerFrameHeader
// bytes) to out; returns its size.
size_t writeFrameHeader(char* out, Opcode opcode, uint64_t payload_size, bool fin = true);

// Appends one unmasked frame to out.
void appendFrame(core::Buffer* out, Opcode opcode, std::string_view payload, bool fin = true);
inline void appendText(core::Buffer* out, std::string_view text) {
  appendFrame(out, Opcode::kText, text);
}
inline void appendBinary(core::Buffer* out, std::string_view data) {
  appendFrame(out, Opcode::kBinary, data);
}
// Ping and pong payloads longer than 125 bytes are cut to 125.
void appendPing(core::Buffer* out, std::string_view payload = {});
void appendPong(core::Buffer* out, std::string_view payload);
// code + reason, the reason cut on a UTF-8 boundary to fit 125 bytes. The
// codes that never go on the wire (1005, 1006, 1015) give an empty payload.
void appendClose(core::Buffer* out, CloseCode code, std::string_view reason = {});

// For a payload written straight into the send buffer (e.g. by the JSON
// encoder): beginFrame() reserves room for the header and returns the
// payload's offset; once the payload is appended, endFrame() writes the
// header and closes up the unused room (a move of the payload when the header
// is shorter than kMaxServerFrameHeader).
size_t beginFrame(core::Buffer* out);
void endFrame(core::Buffer* out, size_t payload_offset, Opcode opcode, bool fin = true);

}  // namespace rover::ws
