#include "ws/frame.h"

#include <cstring>

#include "ws/utf8.h"

namespace rover::ws {
namespace {

ptrdiff_t fail(CloseCode* error, CloseCode code) {
  *error = code;
  return kFrameError;
}

constexpr bool isKnownOpcode(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

uint64_t loadBigEndian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

constexpr bool sentOnWire(CloseCode code) {
  return code != CloseCode::kNoStatus && code != CloseCode::kAbnormal &&
         static_cast<uint16_t>(code) != 1015;  // TLS handshake failure, reserved too
}

void appendControl(core::Buffer* out, Opcode opcode, std::string_view payload) {
  appendFrame(out, opcode, payload.substr(0, kMaxControlPayload));
}

}  // namespace

ptrdiff_t parseFrame(char* data, size_t size, const FrameOptions& options, Frame* frame,
                     CloseCode* error) {
  *frame = Frame{};
  if (size < 1) return kFrameIncomplete;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  uint8_t rsv = bytes[0] & 0x70;
  if ((rsv & ~options.allowed_rsv) != 0) return fail(error, CloseCode::kProtocolError);
  uint8_t op = bytes[0] & 0x0F;
  if (!isKnownOpcode(op)) return fail(error, CloseCode::kProtocolError);
  auto opcode = static_cast<Opcode>(op);
  bool fin = (bytes[0] & 0x80) != 0;
  bool control = isControl(opcode);
  if (control && !fin) return fail(error, CloseCode::kProtocolError);
  if (size < 2) return kFrameIncomplete;

  bool masked = (bytes[1] & 0x80) != 0;
  if (masked != options.masked) return fail(error, CloseCode::kProtocolError);
  uint64_t length = bytes[1] & 0x7F;
  if (control && length > kMaxControlPayload) return fail(error, CloseCode::kProtocolError);
  size_t pos = 2;
  if (length >= 126) {
    int extra = length == 126 ? 2 : 8;
    if (size < pos + extra) return kFrameIncomplete;
    length = loadBigEndian(bytes + pos, extra);
    if (length >> 63) return fail(error, CloseCode::kProtocolError);
    pos += extra;
  }
  if (!control && length > options.max_payload) return fail(error, CloseCode::kMessageTooBig);
  const unsigned char* key = bytes + pos;
  if (masked) pos += 4;
  if (size < pos) return kFrameIncomplete;

  frame->opcode = opcode;
  frame->fin = fin;
  frame->rsv = rsv;
  frame->header_size = pos;
  frame->payload_size = length;
  if (size - pos < length) return kFrameIncomplete;
  char* payload = data + pos;
  if (masked) unmask(payload, length, key);
  frame->payload = {payload, static_cast<size_t>(length)};
  return static_cast<ptrdiff_t>(pos + length);
}

void unmask(char* data, size_t size, const uint8_t key[4]) {
  uint8_t k[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  uint64_t mask;
  std::memcpy(&mask, k, 8);  // byte order in memory = order of the data bytes
  size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    uint64_t w[4];
    std::memcpy(w, data + i, 32);
    w[0] ^= mask;
    w[1] ^= mask;
    w[2] ^= mask;
    w[3] ^= mask;
    std::memcpy(data + i, w, 32);
  }
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    w ^= mask;
    std::memcpy(data + i, &w, 8);
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ k[i & 3]);
}

bool isValidCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

bool parseCloseBody(std::string_view payload, CloseBody* out, CloseCode* error) {
  *out = CloseBody{};
  if (payload.empty()) return true;
  if (payload.size() == 1) {
    *error = CloseCode::kProtocolError;
    return false;
  }
  auto code = static_cast<uint16_t>(
      loadBigEndian(reinterpret_cast<const unsigned char*>(payload.data()), 2));
  if (!isValidCloseCode(code)) {
    *error = CloseCode::kProtocolError;
    return false;
  }
  std::string_view reason = payload.substr(2);
  if (!isValidUtf8(reason)) {
    *error = CloseCode::kInvalidPayload;
    return false;
  }
  out->code = static_cast<CloseCode>(code);
  out->reason = reason;
  return true;
}

size_t writeFrameHeader(char* out, Opcode opcode, uint64_t payload_size, bool fin) {
  out[0] = static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode));
  if (payload_size < 126) {
    out[1] = static_cast<char>(payload_size);
    return 2;
  }
  int extra = payload_size <= 0xFFFF ? 2 : 8;
  out[1] = static_cast<char>(extra == 2 ? 126 : 127);
  for (int i = 0; i < extra; ++i) {
    out[2 + i] = static_cast<char>(payload_size >> (8 * (extra - 1 - i)));
  }
  return 2 + extra;
}

void appendFrame(core::Buffer* out, Opcode opcode, std::string_view payload, bool fin) {
  char* p = out->prepare(kMaxServerFrameHeader + payload.size());
  size_t header = writeFrameHeader(p, opcode, payload.size(), fin);
  if (!payload.empty()) std::memcpy(p + header, payload.data(), payload.size());
  out->commit(header + payload.size());
}

void appendPing(core::Buffer* out, std::string_view payload) {
  appendControl(out, Opcode::kPing, payload);
}

void appendPong(core::Buffer* out, std::string_view payload) {
  appendControl(out, Opcode::kPong, payload);
}

void appendClose(core::Buffer* out, CloseCode code, std::string_view reason) {
  if (!sentOnWire(code)) {
    appendFrame(out, Opcode::kClose, {});
    return;
  }
  char body[kMaxControlPayload];
  auto value = static_cast<uint16_t>(code);
  body[0] = static_cast<char>(value >> 8);
  body[1] = static_cast<char>(value);
  reason = truncateUtf8(reason, kMaxControlPayload - 2);
  if (!reason.empty()) std::memcpy(body + 2, reason.data(), reason.size());
  appendFrame(out, Opcode::kClose, {body, 2 + reason.size()});
}

size_t beginFrame(core::Buffer* out) {
  out->resize(out->size() + kMaxServerFrameHeader);
  return out->size();
}

void endFrame(core::Buffer* out, size_t payload_offset, Opcode opcode, bool fin) {
  size_t payload_size = out->size() - payload_offset;
  char header[kMaxServerFrameHeader];
  size_t header_size = writeFrameHeader(header, opcode, payload_size, fin);
  char* start = out->data() + payload_offset - kMaxServerFrameHeader;
  size_t gap = kMaxServerFrameHeader - header_size;
  if (gap > 0) std::memmove(start + header_size, start + kMaxServerFrameHeader, payload_size);
  std::memcpy(start, header, header_size);
  out->resize(out->size() - gap);
}

}  // namespace rover::ws
