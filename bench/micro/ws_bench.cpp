// WebSocket codec throughput (rover::ws): unmasking a payload in place,
// UTF-8 validation of text (ASCII, mixed Latin, CJK), and one masked 1 KiB
// text frame through MessageReader (copy in, unmask, validate, event out).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ws/frame.h"
#include "ws/message.h"
#include "ws/utf8.h"

namespace {

using namespace rover::ws;

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

void BM_WsUnmask(benchmark::State& state) {
  std::vector<char> data(static_cast<size_t>(state.range(0)) + 1, 'x');
  for (auto _ : state) {
    unmask(data.data() + 1, data.size() - 1, kKey);  // + 1: not 8-byte aligned
    benchmark::DoNotOptimize(data.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_WsUnmask)->Arg(16)->Arg(125)->Arg(1024)->Arg(64 * 1024)->Arg(1024 * 1024);

// `unit` repeated to about n bytes.
std::string text(const std::string& unit, size_t n) {
  std::string s;
  while (s.size() + unit.size() <= n) s += unit;
  return s;
}

void utf8Bench(benchmark::State& state, const std::string& s) {
  for (auto _ : state) benchmark::DoNotOptimize(isValidUtf8(s));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(s.size()));
}

void BM_WsUtf8Ascii(benchmark::State& state) {
  utf8Bench(state, text(R"({"type":"say","text":"hello there, room 42"},)", 16 * 1024));
}
BENCHMARK(BM_WsUtf8Ascii);

void BM_WsUtf8Latin(benchmark::State& state) {  // French: one 2-byte character in ~12
  utf8Bench(state, text("Le c\xC5\x93ur a ses raisons que la raison ne conna\xC3\xAEt point. ",
                        16 * 1024));
}
BENCHMARK(BM_WsUtf8Latin);

void BM_WsUtf8Cjk(benchmark::State& state) {  // 3-byte characters only
  utf8Bench(state, text("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE4\xB8\xAD\xE6\x96\x87", 16 * 1024));
}
BENCHMARK(BM_WsUtf8Cjk);

void BM_WsReadTextFrame1K(benchmark::State& state) {
  std::string payload = text(R"({"type":"say","text":"hello"},)", 1024);
  std::string frame = {static_cast<char>(0x81), static_cast<char>(0xFE),
                       static_cast<char>(payload.size() >> 8), static_cast<char>(payload.size())};
  frame.append(reinterpret_cast<const char*>(kKey), 4);
  for (size_t i = 0; i < payload.size(); ++i) frame.push_back(payload[i] ^ kKey[i % 4]);
  std::string buf = frame;
  MessageReader reader;
  for (auto _ : state) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    Event ev;
    benchmark::DoNotOptimize(reader.read(buf.data(), buf.size(), &ev));
    benchmark::DoNotOptimize(ev.data.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
}
BENCHMARK(BM_WsReadTextFrame1K);

}  // namespace
