// Tests for src/json/encode.cpp: every row and bullet of lua-api.md §9.1.
#include "json/encode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <lua.hpp>
#include <random>
#include <string>

#include "json/decode.h"

namespace rover::json {
namespace {

class EncodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L = luaL_newstate();
    luaL_openlibs(L);
    // nest(n) builds n nested tables: {{{...}}}.
    run("function nest(n) local t = {} for _ = 2, n do t = {t} end return t end");
  }
  void TearDown() override { lua_close(L); }

  void run(const std::string& code) {
    ASSERT_EQ(luaL_dostring(L, code.c_str()), 0) << lua_tostring(L, -1);
  }

  // Evaluates the Lua expression and returns its JSON text (expects success).
  std::string enc(const std::string& expr) {
    run("return " + expr);
    int top = lua_gettop(L);
    core::Buffer out;
    std::string reason;
    EXPECT_TRUE(encode(L, -1, out, &reason)) << expr << ": " << reason;
    EXPECT_EQ(lua_gettop(L), top);
    lua_pop(L, 1);
    return std::string(out.view());
  }

  // Evaluates the expression, expects encode to fail and the buffer and the
  // stack to be unchanged; returns the reason.
  std::string encError(const std::string& expr) {
    run("return " + expr);
    int top = lua_gettop(L);
    core::Buffer out;
    out.append("prefix");
    std::string reason;
    EXPECT_FALSE(encode(L, top, out, &reason)) << expr;
    EXPECT_EQ(out.view(), "prefix");
    EXPECT_EQ(lua_gettop(L), top);
    lua_pop(L, 1);
    return reason;
  }

  lua_State* L = nullptr;
};

std::string num(double x) {
  core::Buffer out;
  encodeNumber(x, out);
  return std::string(out.view());
}

std::string str(std::string_view s) {
  core::Buffer out;
  encodeString(s, out);
  return std::string(out.view());
}

TEST_F(EncodeTest, Scalars) {
  EXPECT_EQ(enc("nil"), "null");
  EXPECT_EQ(enc("true"), "true");
  EXPECT_EQ(enc("false"), "false");
  EXPECT_EQ(enc("42"), "42");
  EXPECT_EQ(enc("'hi'"), "\"hi\"");
}

TEST(EncodeNumber, IntegralBelowTwoTo63AreIntegers) {
  EXPECT_EQ(num(0), "0");
  EXPECT_EQ(num(-0.0), "0");
  EXPECT_EQ(num(42), "42");
  EXPECT_EQ(num(-7), "-7");
  EXPECT_EQ(num(1099511627776.0), "1099511627776");
  EXPECT_EQ(num(9007199254740992.0), "9007199254740992");  // 2^53
  EXPECT_EQ(num(1e18), "1000000000000000000");
  // The largest double below 2^63 and its negative.
  EXPECT_EQ(num(9223372036854774784.0), "9223372036854774784");
  EXPECT_EQ(num(-9223372036854774784.0), "-9223372036854774784");
}

// Integral values from 2^63 up follow JavaScript's String(x), which prints
// the shortest round-trip digits padded with zeros below 1e21.
TEST(EncodeNumber, LargeIntegralFollowJavaScript) {
  EXPECT_EQ(num(0x1p63), "9223372036854776000");
  EXPECT_EQ(num(-0x1p63), "-9223372036854776000");
  EXPECT_EQ(num(1e20), "100000000000000000000");
  EXPECT_EQ(num(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(num(1e21), "1e+21");
  EXPECT_EQ(num(-1e21), "-1e+21");
  EXPECT_EQ(num(1.5e300), "1.5e+300");
  EXPECT_EQ(num(1e300), "1e+300");
  EXPECT_EQ(num(1.7976931348623157e308), "1.7976931348623157e+308");
}

TEST(EncodeNumber, FractionsFollowJavaScript) {
  EXPECT_EQ(num(3.14), "3.14");
  EXPECT_EQ(num(2.5), "2.5");
  EXPECT_EQ(num(-2.5), "-2.5");
  EXPECT_EQ(num(0.1), "0.1");
  EXPECT_EQ(num(0.001), "0.001");
  EXPECT_EQ(num(0.000001), "0.000001");
  EXPECT_EQ(num(-0.0000015), "-0.0000015");
  EXPECT_EQ(num(1e-7), "1e-7");
  EXPECT_EQ(num(1.5e-7), "1.5e-7");
  EXPECT_EQ(num(-1.5e-10), "-1.5e-10");
  EXPECT_EQ(num(5e-324), "5e-324");
  EXPECT_EQ(num(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(num(123.456), "123.456");
  EXPECT_EQ(num(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(num(123456789.125), "123456789.125");
}

TEST(EncodeNumber, NonFiniteIsNull) {
  EXPECT_EQ(num(NAN), "null");
  EXPECT_EQ(num(INFINITY), "null");
  EXPECT_EQ(num(-INFINITY), "null");
}

TEST(EncodeNumber, ShortestTextRoundTrips) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double x;
    std::memcpy(&x, &bits, sizeof x);
    if (!std::isfinite(x)) continue;
    std::string s = num(x);
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), x == 0 ? 0.0 : x) << s;
  }
}

TEST_F(EncodeTest, NumbersFromLua) {
  EXPECT_EQ(enc("-0"), "0");
  EXPECT_EQ(enc("2^63"), "9223372036854776000");
  EXPECT_EQ(enc("0/0"), "null");
  EXPECT_EQ(enc("math.huge"), "null");
  EXPECT_EQ(enc("-math.huge"), "null");
}

TEST(EncodeString, Escapes) {
  EXPECT_EQ(str("\"\\\n\r\t\b\f"), R"("\"\\\n\r\t\b\f")");
  EXPECT_EQ(str(std::string_view("\0\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(str("\x0b\x1a"), R"("\u000b\u001a")");
  EXPECT_EQ(str("a/b"), "\"a/b\"");
  EXPECT_EQ(str("\x7f"), "\"\x7f\"");  // DEL is copied raw
  EXPECT_EQ(str(" ~"), "\" ~\"");
  EXPECT_EQ(str(""), "\"\"");
}

TEST(EncodeString, AllControlBytes) {
  const char* named[] = {"b", "t", "n", nullptr, "f", "r"};
  for (int c = 0; c < 0x20; ++c) {
    std::string want;
    if (c >= 8 && c <= 13 && named[c - 8]) {
      want = std::string("\"\\") + named[c - 8] + "\"";
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\"\\u%04x\"", c);
      want = buf;
    }
    EXPECT_EQ(str(std::string(1, static_cast<char>(c))), want) << c;
  }
}

TEST(EncodeString, Utf8AndHighBytesAreRaw) {
  EXPECT_EQ(str("h\xc3\xa9llo \xf0\x9f\x98\x80"), "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
  EXPECT_EQ(str("\xff\xfe\x80"), "\"\xff\xfe\x80\"");  // invalid UTF-8 is not repaired
}

// The encoder skips plain text 8 bytes at a time; put an escape at every
// offset of strings of many lengths.
TEST(EncodeString, EscapeAtEveryPosition) {
  for (size_t len = 1; len < 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      std::string s(len, 'x');
      s[at] = '"';
      std::string want = s;
      want.replace(at, 1, "\\\"");
      want.insert(0, 1, '"');
      want.push_back('"');
      ASSERT_EQ(str(s), want) << len << " " << at;
    }
  }
}

// Two escapes: one anywhere, one in the last byte (the tail the encoder may
// take in one overlapping 8-byte step when it is clean).
TEST(EncodeString, EscapeAnywhereAndAtTheEnd) {
  for (size_t len = 2; len < 40; ++len) {
    for (size_t at = 0; at + 1 < len; ++at) {
      std::string s(len, 'y');
      s[at] = '\n';
      s[len - 1] = '\\';
      std::string want = "\"" + s.substr(0, at) + "\\n" + s.substr(at + 1, len - at - 2) + "\\\\\"";
      ASSERT_EQ(str(s), want) << len << " " << at;
    }
  }
}

TEST_F(EncodeTest, StringFromLua) { EXPECT_EQ(enc(R"('a"b\0c\1')"), R"("a\"b\u0000c\u0001")"); }

TEST_F(EncodeTest, EmptyTableIsObject) { EXPECT_EQ(enc("{}"), "{}"); }

TEST_F(EncodeTest, SequencesAreArrays) {
  EXPECT_EQ(enc("{1, 2, 3}"), "[1,2,3]");
  EXPECT_EQ(enc("{'a'}"), R"(["a"])");
  EXPECT_EQ(enc("{true, false, {}, {1}}"), "[true,false,{},[1]]");
  EXPECT_EQ(enc("{[1] = 'x', [2] = 'y'}"), R"(["x","y"])");
  std::string big =
      enc("(function() local t = {} for i = 1, 10000 do t[i] = i end return t end)()");
  EXPECT_EQ(big.substr(0, 8), "[1,2,3,4");
  EXPECT_EQ(big.substr(big.size() - 7), ",10000]");
}

TEST_F(EncodeTest, HolesAndMixedKeysAreObjects) {
  std::string holes = enc("{1, nil, 3}");
  EXPECT_TRUE(holes == R"({"1":1,"3":3})" || holes == R"({"3":3,"1":1})") << holes;
  std::string mixed = enc("{'a', n = 1}");
  EXPECT_TRUE(mixed == R"({"1":"a","n":1})" || mixed == R"({"n":1,"1":"a"})") << mixed;
  EXPECT_EQ(enc("{[2] = 'b'}"), R"({"2":"b"})");
  EXPECT_EQ(enc("{[0] = 'z'}"), R"({"0":"z"})");
  std::string sparse = enc("{[1] = 1, [3] = 3}");
  EXPECT_TRUE(sparse == R"({"1":1,"3":3})" || sparse == R"({"3":3,"1":1})") << sparse;
}

TEST_F(EncodeTest, NumberKeysAreFormattedAsNumbers) {
  EXPECT_EQ(enc("{[5] = true}"), R"({"5":true})");
  EXPECT_EQ(enc("{[1.5] = 'x'}"), R"({"1.5":"x"})");
  EXPECT_EQ(enc("{[-7] = 1}"), R"({"-7":1})");
  EXPECT_EQ(enc("{[1e21] = 1}"), R"({"1e+21":1})");
  EXPECT_EQ(enc("{[0.1] = 1}"), R"({"0.1":1})");
}

TEST_F(EncodeTest, StringKeysAreEscaped) {
  EXPECT_EQ(enc(R"({['a"b'] = 1})"), R"({"a\"b":1})");
  EXPECT_EQ(enc("{['1'] = 1}"), R"({"1":1})");  // a string key, not an array
}

TEST_F(EncodeTest, OtherKeyTypesAreErrors) {
  EXPECT_EQ(encError("{[true] = 1}"), "table key must be a string or number");
  EXPECT_EQ(encError("{[{}] = 1}"), "table key must be a string or number");
  EXPECT_EQ(encError("{[print] = 1}"), "table key must be a string or number");
  EXPECT_EQ(encError("{{[false] = 1}}"), "table key must be a string or number");
}

TEST_F(EncodeTest, ReservedKeysAreNeverWritten) {
  EXPECT_EQ(enc("{a = 1, __rover_x = 2}"), R"({"a":1})");
  EXPECT_EQ(enc("{__rover_ = 1}"), "{}");
  EXPECT_EQ(enc("{__rover_handler = print}"), "{}");  // not even inspected
  EXPECT_EQ(enc("{__rover = 1}"), R"({"__rover":1})");
  EXPECT_EQ(enc("{_rover_x = 1}"), R"({"_rover_x":1})");
  // Invisible keys do not stop a sequence being an array.
  EXPECT_EQ(enc("{1, 2, __rover_meta = true}"), "[1,2]");
}

TEST_F(EncodeTest, MetatablesAreIgnored) {
  EXPECT_EQ(enc("setmetatable({}, {__index = {a = 1}})"), "{}");
  EXPECT_EQ(enc("setmetatable({1, 2}, {__len = function() return 5 end})"), "[1,2]");
  EXPECT_EQ(enc("setmetatable({x = 1}, {__pairs = function() error('no') end})"), R"({"x":1})");
  EXPECT_EQ(enc("setmetatable({}, {__index = function() error('no') end})"), "{}");
  EXPECT_EQ(enc("setmetatable({1}, {__index = function(_, k) return k end})"), "[1]");
  EXPECT_EQ(enc("setmetatable({}, {__tojson = function() return 1 end})"), "{}");
}

TEST_F(EncodeTest, DepthLimit) {
  EXPECT_EQ(enc("nest(1)"), "{}");
  std::string deepest = enc("nest(64)");
  EXPECT_EQ(deepest, std::string(63, '[') + "{}" + std::string(63, ']'));
  EXPECT_EQ(encError("nest(65)"), "excessive nesting (max depth 64)");
  EXPECT_EQ(encError("{a = nest(64)}"), "excessive nesting (max depth 64)");
}

TEST_F(EncodeTest, CycleIsAnError) {
  EXPECT_EQ(encError("(function() local t = {} t.self = t return t end)()"),
            "excessive nesting (max depth 64)");
  EXPECT_EQ(encError("(function() local t = {} t[1] = t return t end)()"),
            "excessive nesting (max depth 64)");
}

TEST_F(EncodeTest, UnserialisableValuesAreErrors) {
  EXPECT_EQ(encError("print"), "cannot serialise function");
  EXPECT_EQ(encError("{a = 1, b = function() end}"), "cannot serialise function");
  EXPECT_EQ(encError("{1, 2, print}"), "cannot serialise function");
  EXPECT_EQ(encError("{x = coroutine.create(print)}"), "cannot serialise thread");
  EXPECT_EQ(encError("{x = newproxy()}"), "cannot serialise userdata");
  EXPECT_EQ(encError("{x = io.stdout}"), "cannot serialise userdata");
  EXPECT_EQ(encError("require('ffi').new('int64_t', 1)"), "cannot serialise cdata");
}

TEST_F(EncodeTest, LightUserdataIsAnError) {
  static int anchor;
  lua_pushlightuserdata(L, &anchor);
  core::Buffer out;
  std::string reason;
  EXPECT_FALSE(encode(L, -1, out, &reason));
  EXPECT_EQ(reason, "cannot serialise light userdata");
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(lua_gettop(L), 1);
}

TEST_F(EncodeTest, AppendsToBufferAndAcceptsAnyIndex) {
  run("return {1}, 'x'");
  core::Buffer out;
  out.append("data: ");
  EXPECT_TRUE(encode(L, 1, out, nullptr));
  EXPECT_TRUE(encode(L, -1, out, nullptr));
  EXPECT_TRUE(encode(L, -2, out, nullptr));
  EXPECT_EQ(out.view(), R"(data: [1]"x"[1])");
  EXPECT_EQ(lua_gettop(L), 2);
}

TEST_F(EncodeTest, NestedDocument) {
  EXPECT_EQ(enc(R"({{id = 1}, {{name = 'a/b'}, {tags = {'x', {}}}}})"),
            R"([{"id":1},[{"name":"a/b"},{"tags":["x",{}]}]])");
}

TEST_F(EncodeTest, RoundTripsThroughDecoder) {
  std::string first = enc(R"({1.5, 'é\n', {true, false}, {{2^53}}, 1e-7, -0.001})");
  EXPECT_EQ(first, "[1.5,\"\xc3\xa9\\n\",[true,false],[[9007199254740992]],1e-7,-0.001]");
  std::string detail;
  ASSERT_TRUE(decode(L, first, &detail)) << detail;
  core::Buffer again;
  ASSERT_TRUE(encode(L, -1, again, nullptr));
  EXPECT_EQ(again.view(), first);
}

}  // namespace
}  // namespace rover::json
