// Compression levels for dynamic responses (server-features.md §9): compressed
// size and CPU time per response for gzip levels and brotli qualities on JSON
// bodies, plus the per-response setup choices behind http::Compressor
// (deflateReset vs deflateInit; brotli one-shot vs an encoder instance).
// Standalone, not in CMake:
//   g++ -std=c++20 -O2 -DNDEBUG -Isrc bench/micro/compress_levels.cpp
//       src/http/compress.cpp -lz -lbrotlienc -o /tmp/compress_levels
//   taskset -c 1 /tmp/compress_levels [runs=5]
// Each row: the median over `runs` runs of the median over 15 batches of
// thread CPU time per response (each batch ~10 ms).
#include <brotli/encode.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "http/compress.h"

namespace {

using rover::http::Coding;
using rover::http::Compressor;

// An API listing: [{"id":..,"name":..,"email":..,"active":..,"verified":..,
// "score":..,"balance":..,"created_at":..,"tags":[..]}, ...], `size` bytes or just over.
std::string jsonBody(size_t size) {
  static const char* kFirst[] = {"Ada",    "Grace",    "Linus", "Barbara", "Ken",
                                 "Dennis", "Margaret", "Alan",  "Edsger",  "Frances",
                                 "John",   "Radia",    "Guido", "Bjarne",  "Niklaus",
                                 "Donald", "Leslie",   "Tony",  "Sophie",  "Yukihiro"};
  static const char* kLast[] = {"Lovelace", "Hopper",   "Torvalds", "Liskov",     "Thompson",
                                "Ritchie",  "Hamilton", "Turing",   "Dijkstra",   "Allen",
                                "McCarthy", "Perlman",  "Rossum",   "Stroustrup", "Wirth",
                                "Knuth",    "Lamport",  "Hoare",    "Wilson",     "Matsumoto"};
  static const char* kDomains[] = {"example.com", "mail.example.org", "corp.example.net",
                                   "users.example.io"};
  static const char* kTags[] = {"admin", "beta", "staff", "trial", "pro", "eu", "us", "legacy"};
  std::mt19937 rng(42);
  std::string out = "[";
  char buf[512];
  for (int id = 1; out.size() < size; ++id) {
    const char* first = kFirst[rng() % std::size(kFirst)];
    const char* last = kLast[rng() % std::size(kLast)];
    int n = std::snprintf(
        buf, sizeof buf,
        "%s{\"id\":%d,\"name\":\"%s %s\",\"email\":\"%c%c.%s%u@%s\",\"active\":%s,"
        "\"verified\":%s,\"score\":%.3f,\"balance\":%.2f,"
        "\"created_at\":\"2024-%02u-%02uT%02u:%02u:%02uZ\",\"tags\":[\"%s\",\"%s\"]}",
        id == 1 ? "" : ",", 1000 + id * 7 + int(rng() % 7), first, last, first[0] | 0x20,
        last[0] | 0x20, last + 1, unsigned(rng() % 100), kDomains[rng() % std::size(kDomains)],
        rng() % 4 ? "true" : "false", rng() % 2 ? "true" : "false", double(rng() % 100000) / 1000,
        double(rng() % 10000000) / 100, 1 + unsigned(rng() % 12), 1 + unsigned(rng() % 28),
        unsigned(rng() % 24), unsigned(rng() % 60), unsigned(rng() % 60),
        kTags[rng() % std::size(kTags)], kTags[rng() % std::size(kTags)]);
    out.append(buf, size_t(n));
  }
  out += "]";
  return out;
}

double threadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median CPU microseconds per call of `fn`.
double measure(const std::function<size_t()>& fn) {
  fn();  // warm up: first-use allocations
  int iters = 1;
  for (;;) {
    double t0 = threadCpuSeconds();
    for (int i = 0; i < iters; ++i) fn();
    double t = threadCpuSeconds() - t0;
    if (t > 0.01) break;
    iters *= 2;
  }
  std::vector<double> batches;
  for (int b = 0; b < 15; ++b) {
    double t0 = threadCpuSeconds();
    for (int i = 0; i < iters; ++i) fn();
    batches.emplace_back((threadCpuSeconds() - t0) / iters * 1e6);
  }
  return median(batches);
}

struct Row {
  Row(std::string n, std::function<size_t()> f) : name(std::move(n)), fn(std::move(f)) {}
  std::string name;
  std::function<size_t()> fn;
  size_t size = 0;
  std::vector<double> us;
};

void runTable(const char* title, std::vector<Row>& rows, size_t body_size, int runs) {
  for (Row& r : rows) r.size = r.fn();
  for (int run = 0; run < runs; ++run) {
    for (Row& r : rows) r.us.emplace_back(measure(r.fn));
  }
  std::printf("\n### %s (%zu bytes)\n\n", title, body_size);
  std::printf("| setting | bytes | ratio | CPU us/response | MB/s in |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  for (Row& r : rows) {
    double us = median(r.us);
    std::printf("| %s | %zu | %.1f%% | %.1f | %.0f |\n", r.name.c_str(), r.size,
                100.0 * double(r.size) / double(body_size), us, double(body_size) / us);
  }
  std::fflush(stdout);
}

// Brotli encoder allocations served from one reused arena: the cost of
// malloc/free and fresh pages per response, isolated.
struct Arena {
  std::vector<char> mem = std::vector<char>(size_t{32} << 20);
  size_t used = 0;
  static void* alloc(void* opaque, size_t n) {
    auto* a = static_cast<Arena*>(opaque);
    size_t at = (a->used + 63) & ~size_t{63};
    if (at + n > a->mem.size()) return nullptr;
    a->used = at + n;
    return a->mem.data() + at;
  }
  static void release(void*, void*) {}
};

size_t brotliInstance(std::string_view in, std::string& out, int quality, int lgwin, Arena* arena) {
  BrotliEncoderState* s = arena ? BrotliEncoderCreateInstance(Arena::alloc, Arena::release, arena)
                                : BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
  BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, uint32_t(quality));
  BrotliEncoderSetParameter(s, BROTLI_PARAM_LGWIN, uint32_t(lgwin));
  BrotliEncoderSetParameter(s, BROTLI_PARAM_SIZE_HINT, uint32_t(in.size()));
  out.resize(BrotliEncoderMaxCompressedSize(in.size()));
  size_t avail_in = in.size(), avail_out = out.size();
  const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
  auto* next_out = reinterpret_cast<uint8_t*>(out.data());
  BrotliEncoderCompressStream(s, BROTLI_OPERATION_FINISH, &avail_in, &next_in, &avail_out,
                              &next_out, nullptr);
  BrotliEncoderDestroyInstance(s);
  if (arena) arena->used = 0;
  return out.size() - avail_out;
}

size_t gzipInitPerResponse(std::string_view in, std::string& out, int level) {
  z_stream s{};
  deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  out.resize(deflateBound(&s, uLong(in.size())));
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = uInt(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  deflate(&s, Z_FINISH);
  size_t n = s.total_out;
  deflateEnd(&s);
  return n;
}

int lgwinFor(size_t size) {
  int lgwin = BROTLI_MIN_WINDOW_BITS;
  while (lgwin < BROTLI_DEFAULT_WINDOW && (size_t{1} << lgwin) - 16 < size) ++lgwin;
  return lgwin;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  std::printf("zlib %s, brotli %u.%u.%u, %d runs\n", zlibVersion(), BrotliEncoderVersion() >> 24,
              (BrotliEncoderVersion() >> 12) & 0xfff, BrotliEncoderVersion() & 0xfff, runs);
  for (size_t target : {size_t{2} << 10, size_t{10} << 10, size_t{100} << 10}) {
    const std::string body = jsonBody(target);
    std::string out;
    Compressor c;

    std::vector<Row> levels;
    for (int level : {1, 4, 6, 9}) {
      levels.emplace_back("gzip " + std::to_string(level), [&c, &body, &out, level] {
        c.setLevels(level, c.brotliQuality());
        c.compress(Coding::kGzip, body, out);
        return out.size();
      });
    }
    for (int q : {1, 3, 4, 5, 6, 11}) {
      levels.emplace_back("br " + std::to_string(q), [&c, &body, &out, q] {
        c.setLevels(c.gzipLevel(), q);
        c.compress(Coding::kBrotli, body, out);
        return out.size();
      });
    }
    runTable("levels, http::Compressor", levels, body.size(), runs);

    Arena arena;
    std::vector<Row> setup;
    for (int level : {1, 4}) {
      setup.emplace_back("gzip " + std::to_string(level) + ", deflateReset (Compressor)",
                         [&c, &body, &out, level] {
                           c.setLevels(level, c.brotliQuality());
                           c.compress(Coding::kGzip, body, out);
                           return out.size();
                         });
      setup.emplace_back("gzip " + std::to_string(level) + ", deflateInit2/End per response",
                         [&body, &out, level] { return gzipInitPerResponse(body, out, level); });
    }
    for (int q : {1, 3, 5}) {
      std::string qs = "br " + std::to_string(q);
      setup.emplace_back(qs + ", BrotliEncoderCompress lgwin 22 (Compressor)",
                         [&c, &body, &out, q] {
                           c.setLevels(c.gzipLevel(), q);
                           c.compress(Coding::kBrotli, body, out);
                           return out.size();
                         });
      setup.emplace_back(qs + ", BrotliEncoderCompress lgwin fitted to the body", [&body, &out, q] {
        out.resize(BrotliEncoderMaxCompressedSize(body.size()));
        size_t n = out.size();
        BrotliEncoderCompress(q, lgwinFor(body.size()), BROTLI_MODE_GENERIC, body.size(),
                              reinterpret_cast<const uint8_t*>(body.data()), &n,
                              reinterpret_cast<uint8_t*>(out.data()));
        return n;
      });
      setup.emplace_back(qs + ", instance per response, malloc", [&body, &out, q] {
        return brotliInstance(body, out, q, BROTLI_DEFAULT_WINDOW, nullptr);
      });
      setup.emplace_back(qs + ", instance per response, reused arena", [&body, &out, &arena, q] {
        return brotliInstance(body, out, q, BROTLI_DEFAULT_WINDOW, &arena);
      });
    }
    runTable("per-response setup", setup, body.size(), runs);
  }
}
