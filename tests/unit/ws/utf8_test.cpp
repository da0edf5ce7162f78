#include "ws/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace rover::ws {
namespace {

// A plain decoder to compare with: code point by code point, then ranges.
bool referenceValid(std::string_view s) {
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    int n = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// Valid when fed whole, and when fed in two pieces split at every position.
void expectValidity(const std::string& s, bool valid) {
  EXPECT_EQ(isValidUtf8(s), valid) << testing::PrintToString(s);
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    Utf8Validator v;
    bool ok = v.feed(std::string_view(s).substr(0, cut)) && v.feed(std::string_view(s).substr(cut));
    EXPECT_EQ(ok && v.complete(), valid) << "cut at " << cut;
  }
}

TEST(Utf8, ValidSequencesAndBoundaries) {
  const std::string valid[] = {
      "",
      "Hello, world",
      bytes({0x00}),
      bytes({0x7F}),
      bytes({0xC2, 0x80}),                             // U+0080, first 2-byte
      bytes({0xDF, 0xBF}),                             // U+07FF, last 2-byte
      bytes({0xE0, 0xA0, 0x80}),                       // U+0800, first 3-byte
      bytes({0xED, 0x9F, 0xBF}),                       // U+D7FF, below the surrogates
      bytes({0xEE, 0x80, 0x80}),                       // U+E000, above them
      bytes({0xEF, 0xBF, 0xBD}),                       // U+FFFD
      bytes({0xEF, 0xBF, 0xBF}),                       // U+FFFF
      bytes({0xF0, 0x90, 0x80, 0x80}),                 // U+10000, first 4-byte
      bytes({0xF4, 0x8F, 0xBF, 0xBF}),                 // U+10FFFF, the last code point
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5",  // "κόσμε" (Autobahn 6.2)
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 done",
  };
  for (const std::string& s : valid) expectValidity(s, true);
}

TEST(Utf8, RejectsOverlongsSurrogatesAndOutOfRange) {
  const std::string invalid[] = {
      bytes({0x80}),  // stray continuation
      bytes({0xBF}),
      bytes({0xC0, 0x80}),                          // overlong U+0000
      bytes({0xC1, 0xBF}),                          // overlong U+007F
      bytes({0xE0, 0x80, 0x80}),                    // overlong 3-byte
      bytes({0xE0, 0x9F, 0xBF}),                    // overlong U+07FF
      bytes({0xF0, 0x80, 0x80, 0x80}),              // overlong 4-byte
      bytes({0xF0, 0x8F, 0xBF, 0xBF}),              // overlong U+FFFF
      bytes({0xED, 0xA0, 0x80}),                    // U+D800
      bytes({0xED, 0xBF, 0xBF}),                    // U+DFFF
      bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}),  // a surrogate pair (CESU-8)
      bytes({0xF4, 0x90, 0x80, 0x80}),              // U+110000
      bytes({0xF5, 0x80, 0x80, 0x80}),
      bytes({0xF8, 0x88, 0x80, 0x80, 0x80}),  // 5-byte form
      bytes({0xFE}),
      bytes({0xFF}),
      bytes({0xC2, 0x41}),  // lead, then ASCII
      bytes({0xE1, 0x80, 0x41}),
      bytes({0xC2, 0xC2, 0x80}),  // lead, then lead
      "abc" + bytes({0xC0, 0xAF}) + "def",
  };
  for (const std::string& s : invalid) expectValidity(s, false);
}

TEST(Utf8, TruncatedSequencesAreIncompleteNotFailed) {
  for (const std::string& s : {bytes({0xC2}), bytes({0xE0, 0xA0}), bytes({0xF0, 0x90, 0x80}),
                               bytes({0xF4, 0x8F, 0xBF}), "ok" + bytes({0xE2, 0x82})}) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(s));
    EXPECT_FALSE(v.failed());
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(isValidUtf8(s));
  }
}

TEST(Utf8, SequenceSplitOverManyPiecesOneByteEach) {
  std::string s = "\xF0\x9F\x98\x80\xE2\x82\xAC\xC3\xA9";
  Utf8Validator v;
  for (char c : s) {
    EXPECT_TRUE(v.feed(std::string_view(&c, 1)));
  }
  EXPECT_TRUE(v.complete());
  // The narrowed range of a second byte survives the split: E0 then 80 is overlong.
  Utf8Validator w;
  EXPECT_TRUE(w.feed("\xE0"));
  EXPECT_FALSE(w.feed("\x80\x80"));
  EXPECT_TRUE(w.failed());
  EXPECT_FALSE(w.feed("a"));  // stays failed
  w.reset();
  EXPECT_TRUE(w.feed("a"));
  EXPECT_TRUE(w.complete());
}

TEST(Utf8, AllOneAndTwoByteInputsMatchTheReference) {
  for (int a = 0; a < 256; ++a) {
    std::string one = bytes({a});
    ASSERT_EQ(isValidUtf8(one), referenceValid(one)) << a;
    for (int b = 0; b < 256; ++b) {
      std::string two = bytes({a, b});
      ASSERT_EQ(isValidUtf8(two), referenceValid(two)) << a << " " << b;
    }
  }
}

TEST(Utf8, AllThreeByteAndFourByteLeadsMatchTheReference) {
  for (int a = 0xE0; a <= 0xFF; ++a) {
    for (int b = 0x70; b <= 0xC5; ++b) {
      for (int c = 0x70; c <= 0xC5; ++c) {
        std::string three = bytes({a, b, c});
        ASSERT_EQ(isValidUtf8(three), referenceValid(three)) << a << " " << b << " " << c;
        for (int d : {0x41, 0x7F, 0x80, 0xBF, 0xC0}) {
          std::string four = three + static_cast<char>(d);
          ASSERT_EQ(isValidUtf8(four), referenceValid(four));
        }
      }
    }
  }
}

TEST(Utf8, FastPathFindsABadByteAtEveryOffset) {
  for (size_t len : {7u, 8u, 15u, 16u, 17u, 40u, 100u}) {
    for (size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      s[at] = '\x80';
      EXPECT_FALSE(isValidUtf8(s)) << len << " " << at;
      s[at] = '\xC3';  // a lead with its continuation cut off or followed by ASCII
      EXPECT_FALSE(isValidUtf8(s)) << len << " " << at;
      std::string ok = std::string(at, 'a') + "\xC3\xA9" + std::string(len, 'b');
      EXPECT_TRUE(isValidUtf8(ok)) << len << " " << at;
    }
  }
}

TEST(Utf8, TruncateCutsOnACharacterBoundary) {
  std::string s = "ab\xC3\xA9\xE2\x82\xAC";  // a b é €
  EXPECT_EQ(truncateUtf8(s, 100), s);
  EXPECT_EQ(truncateUtf8(s, 9), s);
  EXPECT_EQ(truncateUtf8(s, 8), s);
  EXPECT_EQ(truncateUtf8(s, 6), "ab\xC3\xA9");
  EXPECT_EQ(truncateUtf8(s, 5), "ab\xC3\xA9");
  EXPECT_EQ(truncateUtf8(s, 4), "ab\xC3\xA9");
  EXPECT_EQ(truncateUtf8(s, 3), "ab");
  EXPECT_EQ(truncateUtf8(s, 2), "ab");
  EXPECT_EQ(truncateUtf8(s, 0), "");
  EXPECT_EQ(truncateUtf8(s, 7), "ab\xC3\xA9\xE2\x82\xAC");
}

}  // namespace
}  // namespace rover::ws
