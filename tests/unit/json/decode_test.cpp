// Tests for src/json/decode.cpp: every bullet of lua-api.md §9.2.
#include "json/decode.h"

#include <gtest/gtest.h>

#include <lua.hpp>
#include <string>

#include "json/encode.h"

namespace rover::json {
namespace {

class DecodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L = luaL_newstate();
    luaL_openlibs(L);
    run("function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end");
  }
  void TearDown() override { lua_close(L); }

  void run(const std::string& code) {
    ASSERT_EQ(luaL_dostring(L, code.c_str()), 0) << lua_tostring(L, -1);
  }

  // Decodes `text` into the global `v` (expects success and one pushed value).
  void load(std::string_view text) {
    int top = lua_gettop(L);
    std::string detail;
    ASSERT_TRUE(decode(L, text, &detail)) << text << ": " << detail;
    ASSERT_EQ(lua_gettop(L), top + 1);
    lua_setglobal(L, "v");
  }

  // Decodes `text` and evaluates the Lua condition `check` on `v`.
  bool holds(std::string_view text, const std::string& check) {
    load(text);
    run("return " + check);
    bool ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return ok;
  }

  // Decodes `text` and returns the Lua string it must produce.
  std::string decodedString(std::string_view text) {
    load(text);
    lua_getglobal(L, "v");
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    std::string out = s ? std::string(s, len) : "<not a string>";
    lua_pop(L, 1);
    return out;
  }

  // Expects `text` to be invalid: nothing pushed, a detail given.
  std::string invalid(std::string_view text) {
    int top = lua_gettop(L);
    std::string detail;
    EXPECT_FALSE(decode(L, text, &detail)) << text;
    EXPECT_EQ(lua_gettop(L), top);
    EXPECT_FALSE(detail.empty());
    return detail;
  }

  lua_State* L = nullptr;
};

std::string nested(int depth, char open, char close) {
  return std::string(depth, open) + std::string(depth, close);
}

TEST_F(DecodeTest, AnyValueMayBeTheRoot) {
  EXPECT_TRUE(holds(R"({"a":1})", "type(v) == 'table' and v.a == 1"));
  EXPECT_TRUE(holds("[10,20]", "#v == 2 and v[1] == 10 and v[2] == 20"));
  EXPECT_TRUE(holds(R"("x")", "v == 'x'"));
  EXPECT_TRUE(holds("7", "v == 7"));
  EXPECT_TRUE(holds("-2.5", "v == -2.5"));
  EXPECT_TRUE(holds("true", "v == true"));
  EXPECT_TRUE(holds("false", "v == false"));
  EXPECT_TRUE(holds("{}", "type(v) == 'table' and next(v) == nil"));
  EXPECT_TRUE(holds("[]", "type(v) == 'table' and next(v) == nil"));
}

TEST_F(DecodeTest, NullRootPushesNil) {
  std::string detail;
  ASSERT_TRUE(decode(L, "null", &detail));
  EXPECT_EQ(lua_gettop(L), 1);
  EXPECT_TRUE(lua_isnil(L, -1));
}

TEST_F(DecodeTest, NullMembersAreAbsent) {
  EXPECT_TRUE(holds(R"({"a":null,"b":2})", "v.a == nil and v.b == 2 and count(v) == 1"));
  EXPECT_TRUE(holds(R"({"a":null})", "next(v) == nil"));
}

TEST_F(DecodeTest, ArrayNullsLeaveHoles) {
  EXPECT_TRUE(holds("[1,null,3]", "v[1] == 1 and v[2] == nil and v[3] == 3 and count(v) == 2"));
  EXPECT_TRUE(holds("[null,null,5]", "v[3] == 5 and count(v) == 1"));
  EXPECT_TRUE(holds("[null]", "next(v) == nil"));
}

TEST_F(DecodeTest, ObjectKeysStayStrings) {
  EXPECT_TRUE(holds(R"({"1":"a"})", "v['1'] == 'a' and v[1] == nil"));
  EXPECT_TRUE(holds(R"({"":0})", "v[''] == 0"));
}

TEST_F(DecodeTest, DuplicateKeysLastWins) {
  EXPECT_TRUE(holds(R"({"a":1,"a":2})", "v.a == 2 and count(v) == 1"));
  EXPECT_TRUE(holds(R"({"a":1,"a":null})", "v.a == nil and next(v) == nil"));
  EXPECT_TRUE(holds(R"({"a":null,"a":{"b":true}})", "v.a.b == true"));
}

TEST_F(DecodeTest, NestedValues) {
  EXPECT_TRUE(holds(R"({"users":[{"id":1,"tags":["x"]},{"id":2}],"ok":true})",
                    "v.users[1].id == 1 and v.users[1].tags[1] == 'x' and v.users[2].id == 2 "
                    "and v.ok == true and #v.users == 2"));
}

TEST_F(DecodeTest, NumbersAreDoubles) {
  EXPECT_TRUE(holds("0", "v == 0"));
  EXPECT_TRUE(holds("-0", "v == 0"));
  EXPECT_TRUE(holds("1.5e3", "v == 1500"));
  EXPECT_TRUE(holds("1E-2", "v == 0.01"));
  EXPECT_TRUE(holds("1e308", "v == 1e308"));
  EXPECT_TRUE(holds("1e-400", "v == 0"));
  EXPECT_TRUE(holds("9007199254740993", "v == 2^53"));
  EXPECT_TRUE(holds("-9223372036854775808", "v == -2^63"));
  EXPECT_TRUE(holds("9223372036854775807", "v == 2^63"));
  EXPECT_TRUE(holds("18446744073709551615", "v == 2^64"));
}

TEST_F(DecodeTest, IntegersBeyond64BitsBecomeDoubles) {
  EXPECT_TRUE(holds("18446744073709551616", "v == 2^64"));
  EXPECT_TRUE(holds("-9223372036854775809", "v == -2^63"));
  EXPECT_TRUE(holds("123456789012345678901234567890", "v == 1.2345678901234568e29"));
  EXPECT_TRUE(holds("-123456789012345678901234567890", "v == -1.2345678901234568e29"));
  EXPECT_TRUE(holds("1" + std::string(300, '0'), "v == 1e300"));
  EXPECT_TRUE(holds("[99999999999999999999,1]", "v[1] == 1e20 and v[2] == 1"));
  EXPECT_TRUE(holds(R"({"n":123456789012345678901234,"s":"123456789012345678901234"})",
                    "v.n == 1.2345678901234568e23 and v.s == '123456789012345678901234'"));
}

TEST_F(DecodeTest, NumbersOutsideDoubleRangeAreInvalid) {
  invalid("1e400");
  invalid("-1e400");
  invalid("1" + std::string(400, '0'));
}

TEST_F(DecodeTest, StringEscapes) {
  EXPECT_EQ(decodedString(R"("a\"b\\c\/d")"), "a\"b\\c/d");
  EXPECT_EQ(decodedString(R"("\n\r\t\b\f")"), "\n\r\t\b\f");
  EXPECT_EQ(decodedString(R"("\u0041\u00e9\u20AC")"), "A\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(decodedString(R"("\u0000")"), std::string(1, '\0'));
  EXPECT_EQ(decodedString("\"h\xc3\xa9llo \xf0\x9f\x98\x80\""), "h\xc3\xa9llo \xf0\x9f\x98\x80");
}

TEST_F(DecodeTest, SurrogatePairsCombine) {
  EXPECT_EQ(decodedString(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(decodedString(R"("\uD834\uDD1E")"), "\xf0\x9d\x84\x9e");
}

TEST_F(DecodeTest, LoneSurrogatesBecomeReplacementCharacter) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(decodedString(R"("\ud800")"), fffd);
  EXPECT_EQ(decodedString(R"("\udc00")"), fffd);
  EXPECT_EQ(decodedString(R"("\uDBFF!")"), fffd + "!");
  EXPECT_EQ(decodedString(R"("a\ud800\u0041")"), "a" + fffd + "A");
  EXPECT_EQ(decodedString(R"("\ud800\ud83d\ude00")"), fffd + "\xf0\x9f\x98\x80");
  EXPECT_EQ(decodedString(R"("\ude00\ud83d")"), fffd + fffd);
  EXPECT_EQ(decodedString(R"("\\ud800")"), "\\ud800");  // an escaped backslash, not an escape
  EXPECT_TRUE(holds(R"({"k\udc00":["\ud800",12345678901234567890123]})",
                    "v['k\\239\\191\\189'][1] == '\\239\\191\\189' and "
                    "v['k\\239\\191\\189'][2] == 1.2345678901234568e22"));
}

TEST_F(DecodeTest, WhitespaceAroundTheValue) {
  EXPECT_TRUE(holds(" \t\r\n[ 1 , 2 ] \n\t ", "v[1] == 1 and v[2] == 2"));
  EXPECT_TRUE(holds("  7  ", "v == 7"));
  EXPECT_TRUE(holds("\n\"s\"\n", "v == 's'"));
}

TEST_F(DecodeTest, TrailingGarbageIsInvalid) {
  invalid("[1] x");
  invalid("1 2");
  invalid("{}}");
  invalid(R"({"a":1},)");
  invalid("null null");
  invalid("12345678901234567890123 1");
}

TEST_F(DecodeTest, SyntaxErrorsAreInvalid) {
  for (const char* text : {"",
                           "   ",
                           "[1,]",
                           "[1 2]",
                           R"({"a"})",
                           R"({"a":})",
                           R"({a:1})",
                           "{'a':1}",
                           "tru",
                           "nul",
                           "True",
                           "01",
                           "1.",
                           ".5",
                           "-",
                           "+1",
                           "NaN",
                           "Infinity",
                           "[",
                           "]",
                           R"("abc)",
                           "\"a\tb\"",
                           R"("\x")",
                           R"("\u12")",
                           R"("\uZZZZ")",
                           "//c\n1",
                           "0123456789012345678901",
                           "--12345678901234567890123",
                           "[12345678901234567890123 1]",
                           "1e",
                           "1e+"}) {
    invalid(text);
  }
  EXPECT_EQ(invalid("\"\xff\""), "invalid UTF-8");
  EXPECT_EQ(invalid(""), "no JSON value");
}

TEST_F(DecodeTest, DepthLimitIs512) {
  EXPECT_TRUE(holds(nested(512, '[', ']'), "type(v[1][1][1]) == 'table'"));
  EXPECT_EQ(invalid(nested(513, '[', ']')), "nesting deeper than 512");
  std::string objects;
  for (int i = 0; i < 511; ++i) objects += R"({"a":)";
  EXPECT_TRUE(holds(objects + "{}" + std::string(511, '}'), "type(v.a.a) == 'table'"));
  invalid(objects + "{\"a\":[]}" + std::string(511, '}'));
  invalid(nested(100000, '[', ']'));
}

// The limit must survive the parser growing its buffers for a big document.
TEST_F(DecodeTest, DepthLimitHoldsAfterGrowth) {
  std::string big = "[";
  for (int i = 0; i < 200000; ++i) big += "1,";
  big += "1]";
  EXPECT_TRUE(holds(big, "#v == 200001"));
  invalid(nested(513, '[', ']'));
  EXPECT_TRUE(holds(nested(512, '[', ']'), "type(v) == 'table'"));
}

TEST_F(DecodeTest, InputNeedNotBeTerminated) {
  std::string text = "[1,2]garbage";
  EXPECT_TRUE(holds(std::string_view(text).substr(0, 5), "#v == 2"));
}

TEST_F(DecodeTest, FailureLeavesStackAlone) {
  lua_pushinteger(L, 99);
  std::string detail;
  EXPECT_FALSE(decode(L, "[1,2", &detail));
  EXPECT_FALSE(decode(L, "[1,2", nullptr));
  EXPECT_EQ(lua_gettop(L), 1);
  EXPECT_EQ(lua_tointeger(L, 1), 99);
}

TEST_F(DecodeTest, RoundTripsThroughEncoder) {
  const char* text = R"([1,"two",[3.5,-0.001,1e-7],{"k":[true,false]},9007199254740992])";
  load(text);
  lua_getglobal(L, "v");
  core::Buffer out;
  std::string reason;
  ASSERT_TRUE(encode(L, -1, out, &reason)) << reason;
  EXPECT_EQ(out.view(), text);
}

}  // namespace
}  // namespace rover::json
