// libFuzzer target: http::ChunkedDecoder. Input: one control byte, then a
// chunked body. Decoding it in one piece and in pieces (lengths drawn from
// the control byte) must give the same result, body and end offset.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "http/chunked.h"

namespace {

using rover::http::ChunkedDecoder;

struct Outcome {
  ChunkedDecoder::Result result = ChunkedDecoder::Result::kNeedMore;
  std::string body;
  size_t used = 0;  // input bytes consumed when the decoder stopped
};

// Feeds data[0..size) in pieces of at most `step` bytes (0: one piece). As the
// parser does, feeds again after a partial kNeedMore (one per data chunk).
Outcome decode(const char* data, size_t size, size_t step) {
  ChunkedDecoder dec;
  Outcome out;
  while (out.used < size) {
    size_t piece = step == 0 ? size - out.used : std::min(step, size - out.used);
    size_t end = out.used + piece;
    while (out.used < end) {
      size_t consumed = 0;
      out.result = dec.feed(data + out.used, end - out.used, &consumed, &out.body);
      if (consumed > end - out.used) std::abort();
      out.used += consumed;
      if (out.result != ChunkedDecoder::Result::kNeedMore) return out;
      if (consumed == 0) std::abort();  // no progress on kNeedMore
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const char* body = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  Outcome whole = decode(body, n, 0);
  Outcome split = decode(body, n, 1 + data[0] % 16);
  Outcome bytewise = decode(body, n, 1);
  for (const Outcome* o : {&split, &bytewise}) {
    if (o->result != whole.result || o->body != whole.body || o->used != whole.used) {
      std::fprintf(stderr,
                   "fuzz_chunked: in pieces: result %d, %zu body bytes, %zu used; "
                   "in one piece: %d, %zu, %zu\n",
                   int(o->result), o->body.size(), o->used, int(whole.result), whole.body.size(),
                   whole.used);
      std::abort();
    }
  }
  return 0;
}
