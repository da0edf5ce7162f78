// Tests for src/lua/auth.cpp: the natives of rover.auth in a bare LuaJIT state
// (the module itself: auth_module_test.cpp).
#include <gtest/gtest.h>

#include <lua.hpp>
#include <string>

namespace rover::lua {
void addAuthNatives(lua_State* L, int natives);
}

namespace rover::lua_test {
namespace {

class AuthNativesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L_ = luaL_newstate();
    luaL_openlibs(L_);
    lua_newtable(L_);
    lua::addAuthNatives(L_, lua_gettop(L_));
    lua_setglobal(L_, "N");
    ASSERT_EQ(luaL_dostring(L_, R"lua(
      function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
      function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
    )lua"),
              0);
  }
  void TearDown() override { lua_close(L_); }

  std::string eval(const std::string& code) {
    int top = lua_gettop(L_);
    std::string out;
    if (luaL_loadbuffer(L_, code.data(), code.size(), "=test") != 0 ||
        lua_pcall(L_, 0, 1, 0) != 0) {
      out = "error: ";
    }
    lua_getglobal(L_, "tostring");
    lua_pushvalue(L_, -2);
    lua_pcall(L_, 1, 1, 0);
    out += lua_tostring(L_, -1);
    lua_settop(L_, top);
    return out;
  }

  lua_State* L_ = nullptr;
};

// RFC 4231 §4.2, §4.3 and §4.7 (a key longer than the block size).
TEST_F(AuthNativesTest, HmacSha256Rfc4231) {
  EXPECT_EQ(eval("return hex(N.hmac_sha256(string.rep('\\11', 20), 'Hi There'))"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(eval("return hex(N.hmac_sha256('Jefe', 'what do ya want for nothing?'))"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(eval("return hex(N.hmac_sha256(string.rep('\\170', 131), "
                 "'Test Using Larger Than Block-Size Key - Hash Key First'))"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_F(AuthNativesTest, HmacSha256BinaryKeyAndData) {
  EXPECT_EQ(eval("return #N.hmac_sha256('k\\0ey', 'da\\0ta')"), "32");
  EXPECT_EQ(eval("return N.hmac_sha256('k\\0a', 'x') ~= N.hmac_sha256('k\\0b', 'x')"), "true");
  EXPECT_EQ(eval("return hex(N.hmac_sha256('', ''))"),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_F(AuthNativesTest, HmacSha256ChecksArguments) {
  EXPECT_NE(eval("return N.hmac_sha256(nil, 'x')").find("error: "), std::string::npos);
  EXPECT_NE(eval("return N.hmac_sha256('k')").find("error: "), std::string::npos);
}

TEST_F(AuthNativesTest, ConstantEq) {
  EXPECT_EQ(eval("return N.constant_eq('abc', 'abc')"), "true");
  EXPECT_EQ(eval("return N.constant_eq('', '')"), "true");
  EXPECT_EQ(eval("return N.constant_eq('abc', 'abd')"), "false");
  EXPECT_EQ(eval("return N.constant_eq('xbc', 'abc')"), "false");
  EXPECT_EQ(eval("return N.constant_eq('abc', 'abcd')"), "false");
  EXPECT_EQ(eval("return N.constant_eq('a\\0b', 'a\\0c')"), "false");  // not strcmp
  EXPECT_EQ(eval("return N.constant_eq('a\\0b', 'a\\0b')"), "true");
}

TEST_F(AuthNativesTest, Base64url) {
  EXPECT_EQ(eval("return N.b64url_encode('{\"alg\":\"HS256\",\"typ\":\"JWT\"}')"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
  EXPECT_EQ(eval("return N.b64url_decode('eyJzdWIiOiIxMjM0NTY3ODkwIn0')"),
            "{\"sub\":\"1234567890\"}");
  EXPECT_EQ(eval("return N.b64url_encode('\\251\\255\\191')"), "-_-_");
  EXPECT_EQ(eval("return N.b64url_decode('Zm9v=')"), "nil");
  EXPECT_EQ(eval("return N.b64url_decode('Zm+v')"), "nil");
  EXPECT_EQ(eval("return N.b64url_decode('')"), "");
}

TEST_F(AuthNativesTest, JsonDecode) {
  EXPECT_EQ(
      eval("local ok, v = N.json_decode('{\"sub\":\"a\",\"exp\":5}') return ok and v.sub .. v.exp"),
      "a5");
  EXPECT_EQ(eval("local ok, v = N.json_decode('[1,2]') return ok and #v"), "2");
  EXPECT_EQ(eval("local ok, v = N.json_decode('{') return ok"), "false");
  EXPECT_EQ(eval("local ok, v = N.json_decode('{') return type(v)"), "string");
  EXPECT_EQ(eval("local ok, v = N.json_decode('null') return tostring(ok) .. tostring(v)"),
            "truenil");
}

}  // namespace
}  // namespace rover::lua_test
