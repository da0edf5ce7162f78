#include "core/base64url.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace rover::core {
namespace {

std::string enc(std::string_view in) {
  std::string out;
  base64urlEncode(in, &out);
  return out;
}

// The decoded bytes, or "<invalid>".
std::string dec(std::string_view in) {
  std::string out;
  return base64urlDecode(in, &out) ? out : "<invalid>";
}

// RFC 4648 §10 vectors, '=' padding dropped.
TEST(Base64url, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, coded] : cases) {
    EXPECT_EQ(enc(plain), coded) << plain;
    EXPECT_EQ(dec(coded), plain) << coded;
  }
}

TEST(Base64url, UrlSafeAlphabet) {
  EXPECT_EQ(enc("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(dec("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(dec("+/+/"), "<invalid>");  // the standard alphabet's 62 and 63
}

// RFC 7515 appendix A.1: the JOSE header of the HS256 example.
TEST(Base64url, Rfc7515Header) {
  EXPECT_EQ(dec("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"),
            "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
}

TEST(Base64url, AllBytesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 7) {
    std::string part = all.substr(0, n);
    EXPECT_EQ(dec(enc(part)), part) << n;
  }
}

TEST(Base64url, AppendsToOutput) {
  std::string out = "x.";
  base64urlEncode("foo", &out);
  EXPECT_EQ(out, "x.Zm9v");
  EXPECT_TRUE(base64urlDecode("Zm8", &out));
  EXPECT_EQ(out, "x.Zm9vfo");
}

TEST(Base64url, RejectsPaddingWhitespaceAndBadLength) {
  EXPECT_EQ(dec("Zg=="), "<invalid>");
  EXPECT_EQ(dec("Zm8="), "<invalid>");
  EXPECT_EQ(dec("Zm9v "), "<invalid>");
  EXPECT_EQ(dec("Zm\n9v"), "<invalid>");
  EXPECT_EQ(dec("Z"), "<invalid>");      // 6 bits cannot end a byte string
  EXPECT_EQ(dec("Zm9vY"), "<invalid>");  // 4n + 1 characters
  EXPECT_EQ(dec(std::string_view("Zm\0v", 4)), "<invalid>");
}

// "Zh" and "Zg" both carry the byte 'f' in their first 8 bits; only the
// encoding whose unused bits are zero is accepted.
TEST(Base64url, RejectsNonCanonicalTrailingBits) {
  EXPECT_EQ(dec("Zh"), "<invalid>");
  EXPECT_EQ(dec("Zm9"), "<invalid>");  // "fo" is Zm8
  EXPECT_EQ(dec("Zm8"), "fo");
}

}  // namespace
}  // namespace rover::core
