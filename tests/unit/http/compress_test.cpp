#include "http/compress.h"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rover::http {
namespace {

constexpr Coding kBr = Coding::kBrotli;
constexpr Coding kGzip = Coding::kGzip;
constexpr Coding kDeflate = Coding::kDeflate;
constexpr Coding kIdentity = Coding::kIdentity;

Coding negotiateDefault(std::string_view accept) { return negotiate(accept, kDefaultCodings); }

TEST(Negotiate, HeaderAbsentOrEmpty) {
  EXPECT_EQ(negotiateDefault(""), kIdentity);
  EXPECT_EQ(negotiateDefault("  "), kIdentity);
  EXPECT_EQ(negotiateDefault(" , ,"), kIdentity);
}

TEST(Negotiate, SingleCoding) {
  EXPECT_EQ(negotiateDefault("gzip"), kGzip);
  EXPECT_EQ(negotiateDefault("deflate"), kDeflate);
  EXPECT_EQ(negotiateDefault("br"), kBr);
  EXPECT_EQ(negotiateDefault("x-gzip"), kGzip);
  EXPECT_EQ(negotiateDefault("compress"), kIdentity);
  EXPECT_EQ(negotiateDefault("zstd, identity"), kIdentity);
}

TEST(Negotiate, QZeroMeansNotAcceptable) {
  EXPECT_EQ(negotiateDefault("gzip;q=0"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=0.000"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=0."), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=0, deflate"), kDeflate);
  EXPECT_EQ(negotiateDefault("br;q=0, gzip;q=0, deflate;q=0"), kIdentity);
}

TEST(Negotiate, HighestQWins) {
  EXPECT_EQ(negotiateDefault("br;q=0.5, gzip;q=0.8"), kGzip);
  EXPECT_EQ(negotiateDefault("br;q=0.9, gzip;q=0.8"), kBr);
  EXPECT_EQ(negotiateDefault("gzip;q=0.001, deflate;q=0.002"), kDeflate);
  EXPECT_EQ(negotiateDefault("deflate;q=1.0, br;q=0.999"), kDeflate);
}

TEST(Negotiate, Star) {
  EXPECT_EQ(negotiateDefault("*"), kBr);
  EXPECT_EQ(negotiateDefault("*;q=0, gzip"), kGzip);
  EXPECT_EQ(negotiateDefault("gzip, *;q=0"), kGzip);
  EXPECT_EQ(negotiateDefault("*;q=0"), kIdentity);
  // br is named, so * does not apply to it.
  EXPECT_EQ(negotiateDefault("br;q=0, *"), kGzip);
  EXPECT_EQ(negotiateDefault("br;q=0.1, *;q=0.5"), kGzip);
  EXPECT_EQ(negotiateDefault("gzip;q=0.4, *;q=0.3"), kGzip);
  EXPECT_EQ(negotiateDefault("gzip;q=0.2, *;q=0.3"), kBr);
}

TEST(Negotiate, IdentityIsNeverChosenOverAnAcceptableCoding) {
  EXPECT_EQ(negotiateDefault("identity;q=0"), kIdentity);
  EXPECT_EQ(negotiateDefault("identity"), kIdentity);
  EXPECT_EQ(negotiateDefault("identity;q=1, gzip;q=0.1"), kGzip);
  EXPECT_EQ(negotiateDefault("identity;q=0, *;q=0"), kIdentity);
}

TEST(Negotiate, CaseInsensitive) {
  EXPECT_EQ(negotiateDefault("GZIP"), kGzip);
  EXPECT_EQ(negotiateDefault("Br;Q=0.5, GZip;q=0.4"), kBr);
  EXPECT_EQ(negotiateDefault("X-GZIP"), kGzip);
  EXPECT_EQ(negotiateDefault("DEFLATE;Q=0"), kIdentity);
}

TEST(Negotiate, Whitespace) {
  EXPECT_EQ(negotiateDefault("gzip ; q=0.5"), kGzip);
  EXPECT_EQ(negotiateDefault("\tgzip\t;\tq = 0.5\t,  br ;q= 0.6 "), kBr);
  EXPECT_EQ(negotiateDefault("br;q=0.5 ,gzip;q=0.8"), kGzip);
  EXPECT_EQ(negotiateDefault("gzip ; q=0"), kIdentity);
}

// A malformed q drops the element, as if it were not there.
TEST(Negotiate, InvalidQDropsTheElement) {
  EXPECT_EQ(negotiateDefault("gzip;q=2"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=abc"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q="), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=1.5"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=1.001"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=0.5000"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=-1"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=.5"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;q=2, deflate"), kDeflate);
  // The dropped coding is covered by * again.
  EXPECT_EQ(negotiate("gzip;q=abc, *;q=0.5", std::initializer_list<Coding>{kGzip}), kGzip);
  // A later element naming it counts instead.
  EXPECT_EQ(negotiateDefault("br;q=x, br;q=0.5, gzip;q=0.4"), kBr);
}

TEST(Negotiate, ValidQForms) {
  const Coding gzip_only[] = {kGzip};
  for (const char* accept :
       {"gzip;q=1", "gzip;q=1.", "gzip;q=1.000", "gzip;q=0.5", "gzip;q=0.05", "gzip;q=0.001"}) {
    EXPECT_EQ(negotiate(accept, gzip_only), kGzip) << accept;
  }
}

TEST(Negotiate, OtherParametersIgnored) {
  EXPECT_EQ(negotiateDefault("gzip;level=9"), kGzip);
  EXPECT_EQ(negotiateDefault("gzip;foo=bar;q=0"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip;;q=0.5;, br;q=0.4"), kGzip);
}

TEST(Negotiate, FirstElementForACodingCounts) {
  EXPECT_EQ(negotiateDefault("gzip;q=0, gzip"), kIdentity);
  EXPECT_EQ(negotiateDefault("gzip, gzip;q=0"), kGzip);
}

TEST(Negotiate, TiesFollowServerOrder) {
  EXPECT_EQ(negotiateDefault("gzip, deflate, br"), kBr);
  EXPECT_EQ(negotiateDefault("deflate, gzip"), kGzip);
  const Coding deflate_first[] = {kDeflate, kGzip, kBr};
  EXPECT_EQ(negotiate("gzip, deflate, br", deflate_first), kDeflate);
  EXPECT_EQ(negotiate("*", deflate_first), kDeflate);
  EXPECT_EQ(negotiate("br;q=0.5, gzip;q=0.5", deflate_first), kGzip);
}

TEST(Negotiate, OnlyOfferedCodings) {
  const Coding no_br[] = {kGzip, kDeflate};
  EXPECT_EQ(negotiate("br", no_br), kIdentity);
  EXPECT_EQ(negotiate("br, gzip;q=0.1", no_br), kGzip);
  EXPECT_EQ(negotiate("gzip, deflate, br", no_br), kGzip);
  EXPECT_EQ(negotiate("*", no_br), kGzip);
  EXPECT_EQ(negotiate("gzip", std::span<const Coding>{}), kIdentity);
  const Coding with_identity[] = {kIdentity, kDeflate};
  EXPECT_EQ(negotiate("*", with_identity), kDeflate);
}

TEST(Negotiate, TypicalBrowserHeaders) {
  EXPECT_EQ(negotiateDefault("gzip, deflate, br, zstd"), kBr);
  EXPECT_EQ(negotiateDefault("gzip, deflate"), kGzip);
  EXPECT_EQ(negotiateDefault("br;q=1.0, gzip;q=0.8, *;q=0.1"), kBr);
}

TEST(CodingNames, RoundTrip) {
  EXPECT_EQ(codingName(kGzip), "gzip");
  EXPECT_EQ(codingName(kDeflate), "deflate");
  EXPECT_EQ(codingName(kBr), "br");
  EXPECT_EQ(codingName(kIdentity), "identity");
  for (Coding c : kDefaultCodings) {
    Coding parsed = kIdentity;
    ASSERT_TRUE(parseCodingName(codingName(c), &parsed));
    EXPECT_EQ(parsed, c);
  }
  Coding parsed = kGzip;
  EXPECT_FALSE(parseCodingName("identity", &parsed));
  EXPECT_FALSE(parseCodingName("zstd", &parsed));
  EXPECT_FALSE(parseCodingName("GZIP", &parsed));
  EXPECT_FALSE(parseCodingName("", &parsed));
  EXPECT_EQ(parsed, kGzip);
}

TEST(IsCompressible, DefaultSet) {
  const std::vector<std::string> none;
  for (const char* type :
       {"text/html", "text/plain; charset=utf-8", "text/css", "text/csv", "application/json",
        "application/json; charset=utf-8", "application/javascript", "application/xml",
        "image/svg+xml", "application/problem+json", "application/ld+json", "application/atom+xml",
        "application/vnd.api+json", "TEXT/HTML", "Application/JSON", "  application/json  ;x=y",
        "\ttext/plain"}) {
    EXPECT_TRUE(isCompressible(type, none)) << type;
  }
  for (const char* type : {"",
                           "text/event-stream",
                           "Text/Event-Stream; charset=utf-8",
                           "image/png",
                           "image/jpeg",
                           "application/octet-stream",
                           "application/gzip",
                           "application/zip",
                           "application/pdf",
                           "video/mp4",
                           "application/+json",
                           "application/+xml",
                           "application/jsonx",
                           "application/json5",
                           "image/svg",
                           "audio/ogg",
                           "font/woff2",
                           "text",
                           "text/",
                           "/json",
                           "application",
                           "xjson/json",
                           "multipart/form-data",
                           "textual/plain"}) {
    EXPECT_FALSE(isCompressible(type, none)) << type;
  }
}

TEST(IsCompressible, ConfiguredTypesReplaceTheDefaultSet) {
  const std::vector<std::string> types = {"application/json", "Application/Wasm", "font/*",
                                          " image/x-icon ", "application/x-ndjson; charset=utf-8"};
  EXPECT_TRUE(isCompressible("application/json", types));
  EXPECT_TRUE(isCompressible("application/wasm", types));
  EXPECT_TRUE(isCompressible("APPLICATION/WASM;foo=bar", types));
  EXPECT_TRUE(isCompressible("font/ttf", types));
  EXPECT_TRUE(isCompressible("Font/OTF", types));
  EXPECT_TRUE(isCompressible("image/x-icon", types));
  EXPECT_TRUE(isCompressible("application/x-ndjson", types));
  EXPECT_FALSE(isCompressible("text/html", types));
  EXPECT_FALSE(isCompressible("image/svg+xml", types));
  EXPECT_FALSE(isCompressible("fonts/ttf", types));
  EXPECT_FALSE(isCompressible("", types));
  const std::vector<std::string> bad = {"", "*", "/*"};
  EXPECT_FALSE(isCompressible("text/html", bad));
}

// Decoders for the round trips.

std::string inflateAll(std::string_view in, int window_bits) {
  z_stream s{};
  EXPECT_EQ(inflateInit2(&s, window_bits), Z_OK);
  std::string out;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = uInt(in.size());
  char buf[16384];
  int rc;
  do {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof buf;
    rc = inflate(&s, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      ADD_FAILURE() << "inflate: " << rc;
      break;
    }
    out.append(buf, sizeof buf - s.avail_out);
  } while (rc != Z_STREAM_END);
  EXPECT_EQ(s.avail_in, 0u) << "trailing bytes";
  inflateEnd(&s);
  return out;
}

std::string brotliDecode(std::string_view in, size_t expected_size) {
  std::string out(expected_size + 1, '\0');  // +1: catches an over-long output
  size_t size = out.size();
  EXPECT_EQ(BrotliDecoderDecompress(in.size(), reinterpret_cast<const uint8_t*>(in.data()), &size,
                                    reinterpret_cast<uint8_t*>(out.data())),
            BROTLI_DECODER_RESULT_SUCCESS);
  out.resize(size);
  return out;
}

std::string decode(Coding c, std::string_view in, size_t expected_size) {
  switch (c) {
    case Coding::kGzip:
      return inflateAll(in, 15 + 16);
    case Coding::kDeflate:
      return inflateAll(in, 15);
    case Coding::kBrotli:
      return brotliDecode(in, expected_size);
    case Coding::kIdentity:
      break;
  }
  return {};
}

// A JSON-ish body: compressible but not trivially so.
std::string jsonBody(size_t size, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string out = "[";
  for (int id = 0; out.size() < size; ++id) {
    out += "{\"id\":" + std::to_string(id) + ",\"name\":\"user" + std::to_string(rng() % 100000) +
           "\",\"active\":" + (rng() % 2 ? "true" : "false") +
           ",\"score\":" + std::to_string(rng() % 10000) + "." + std::to_string(rng() % 100) + "},";
  }
  out.resize(size);
  return out;
}

std::string randomBytes(size_t size) {
  std::mt19937 rng(7);
  std::string out(size, '\0');
  for (char& c : out) c = char(rng());
  return out;
}

// The exact framing each coding must have.
void expectFraming(Coding c, std::string_view z) {
  ASSERT_GE(z.size(), 1u);
  if (c == kGzip) {
    ASSERT_GE(z.size(), 18u);
    EXPECT_EQ(uint8_t(z[0]), 0x1f);
    EXPECT_EQ(uint8_t(z[1]), 0x8b);
    EXPECT_EQ(z[2], 8);  // CM = deflate
  } else if (c == kDeflate) {
    ASSERT_GE(z.size(), 6u);
    EXPECT_EQ(uint8_t(z[0]) & 0x0f, 8);                       // CM = deflate
    EXPECT_EQ((uint8_t(z[0]) << 8 | uint8_t(z[1])) % 31, 0);  // FCHECK
  }
}

class RoundTrip : public ::testing::TestWithParam<Coding> {};

TEST_P(RoundTrip, Sizes) {
  Coding c = GetParam();
  Compressor compressor;
  std::string z;
  for (size_t size : {size_t{0}, size_t{1}, size_t{13}, size_t{10240}, size_t{1} << 20}) {
    std::string body = size == 13 ? std::string("Hello, Rover!") : jsonBody(size);
    ASSERT_TRUE(compressor.compress(c, body, z)) << size;
    expectFraming(c, z);
    EXPECT_EQ(decode(c, z, body.size()), body) << size;
    if (size >= 10240) {
      EXPECT_LT(z.size(), body.size() / 2) << size;
    }
  }
}

TEST_P(RoundTrip, IncompressibleInputGrowsOutput) {
  Coding c = GetParam();
  Compressor compressor;
  std::string body = randomBytes(100000);
  std::string z;
  ASSERT_TRUE(compressor.compress(c, body, z));
  EXPECT_GE(z.size(), body.size());  // the filter then sends the original (§9)
  EXPECT_EQ(decode(c, z, body.size()), body);
}

TEST_P(RoundTrip, EveryLevel) {
  Coding c = GetParam();
  std::string body = jsonBody(20000, 3);
  Compressor compressor;
  std::string z;
  for (int level = 0; level <= 12; ++level) {
    compressor.setLevels(level, level);
    ASSERT_TRUE(compressor.compress(c, body, z)) << level;
    EXPECT_EQ(decode(c, z, body.size()), body) << level;
  }
}

INSTANTIATE_TEST_SUITE_P(Codings, RoundTrip, ::testing::Values(kGzip, kDeflate, kBr),
                         [](const auto& info) { return std::string(codingName(info.param)); });

TEST(Compressor, ReusedForManyResponsesOfDifferentCodings) {
  Compressor compressor;
  std::string z;
  const Coding order[] = {kGzip, kBr, kDeflate, kGzip, kGzip, kDeflate, kBr, kBr, kDeflate};
  for (int i = 0; i < 90; ++i) {
    Coding c = order[i % std::size(order)];
    std::string body = jsonBody(100 + size_t(i) * 997, uint32_t(i));
    ASSERT_TRUE(compressor.compress(c, body, z)) << i;
    EXPECT_EQ(decode(c, z, body.size()), body) << i << " " << codingName(c);
  }
}

TEST(Compressor, OutputCapacityIsReused) {
  Compressor compressor;
  std::string body = jsonBody(50000);
  std::string z;
  ASSERT_TRUE(compressor.compress(kGzip, body, z));
  const char* data = z.data();
  for (Coding c : {kGzip, kDeflate, kBr, kGzip}) {
    ASSERT_TRUE(compressor.compress(c, body, z));
    EXPECT_EQ(z.data(), data) << codingName(c);
  }
}

TEST(Compressor, SameInputSameOutputAfterReset) {
  Compressor compressor;
  std::string body = jsonBody(30000);
  for (Coding c : {kGzip, kDeflate, kBr}) {
    std::string first, second, other;
    ASSERT_TRUE(compressor.compress(c, body, first));
    ASSERT_TRUE(compressor.compress(c, jsonBody(5000, 9), other));
    ASSERT_TRUE(compressor.compress(c, body, second));
    EXPECT_EQ(first, second) << codingName(c);
  }
}

TEST(Compressor, LevelsClampAndApply) {
  Compressor compressor;
  EXPECT_EQ(compressor.gzipLevel(), Compressor::kDefaultGzipLevel);
  EXPECT_EQ(compressor.brotliQuality(), Compressor::kDefaultBrotliQuality);
  compressor.setLevels(0, -3);
  EXPECT_EQ(compressor.gzipLevel(), 1);
  EXPECT_EQ(compressor.brotliQuality(), 0);
  compressor.setLevels(42, 42);
  EXPECT_EQ(compressor.gzipLevel(), 9);
  EXPECT_EQ(compressor.brotliQuality(), 11);

  std::string body = jsonBody(100000);
  std::string fast, best;
  compressor.setLevels(1, 0);
  ASSERT_TRUE(compressor.compress(kGzip, body, fast));
  compressor.setLevels(9, 11);
  ASSERT_TRUE(compressor.compress(kGzip, body, best));
  EXPECT_LT(best.size(), fast.size());
  compressor.setLevels(1, 0);
  ASSERT_TRUE(compressor.compress(kBr, body, fast));
  compressor.setLevels(1, 11);
  ASSERT_TRUE(compressor.compress(kBr, body, best));
  EXPECT_LT(best.size(), fast.size());
}

TEST(Compressor, IdentityFails) {
  Compressor compressor;
  std::string z = "x";
  EXPECT_FALSE(compressor.compress(kIdentity, "body", z));
}

}  // namespace
}  // namespace rover::http
