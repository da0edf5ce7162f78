// HTTP parse of a typical browser request (rover::http::RequestParser,
// strict HTTP/1.x), head only, no body: views filled into a Request.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "http/parser.h"

namespace {

using rover::http::ParseStatus;
using rover::http::RequestParser;

// A page load from a desktop browser (14 header fields, 758 bytes).
const std::string kBrowserRequest =
    "GET /users/123/posts?page=2&sort=desc HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: max-age=0\r\n"
    "sec-ch-ua: \"Chromium\";v=\"118\", \"Google Chrome\";v=\"118\", \"Not=A?Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: none\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n"
    "Cookie: session=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08; "
    "theme=dark\r\n"
    "\r\n";

// One request per iteration on a fresh connection state (reset()).
void BM_HttpParseBrowserRequest(benchmark::State& state) {
  RequestParser parser;
  rover::http::RequestStorage req;
  const char* buf = kBrowserRequest.data();
  size_t size = kBrowserRequest.size();
  for (auto _ : state) {
    parser.reset();
    ParseStatus st = parser.execute(buf, size);
    if (st != ParseStatus::kMessageComplete) {
      state.SkipWithError("browser request did not parse");
      break;
    }
    parser.request(buf, &req);
    benchmark::DoNotOptimize(req.header_count);
    benchmark::DoNotOptimize(req.path.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_HttpParseBrowserRequest);

// The same request as the next message of a keep-alive connection
// (nextMessage() instead of reset()), 16 back to back in one buffer: the
// pipelined path. Reported per request.
void BM_HttpParseBrowserRequestPipelined16(benchmark::State& state) {
  std::string buf;
  for (int i = 0; i < 16; ++i) buf += kBrowserRequest;
  RequestParser parser;
  rover::http::RequestStorage req;
  for (auto _ : state) {
    parser.reset();
    for (int i = 0; i < 16; ++i) {
      if (parser.execute(buf.data(), buf.size()) != ParseStatus::kMessageComplete) {
        state.SkipWithError("pipelined request did not parse");
        return;
      }
      parser.request(buf.data(), &req);
      benchmark::DoNotOptimize(req.header_count);
      parser.nextMessage();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 16));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_HttpParseBrowserRequestPipelined16);

}  // namespace
