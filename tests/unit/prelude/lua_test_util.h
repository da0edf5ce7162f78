// Helpers for testing the pure-Lua prelude modules (src/lua/prelude/*.lua) in a bare LuaJIT
// state: each test gets a fresh state with the standard libraries and the modules loaded
// straight from the source tree, installed as `rover.guard` / `rover.html`.
#pragma once

#include <gtest/gtest.h>

#include <lua.hpp>
#include <string>

namespace rover::prelude_test {

class LuaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L_ = luaL_newstate();
    luaL_openlibs(L_);
    lua_newtable(L_);
    lua_setglobal(L_, "rover");
  }

  void TearDown() override { lua_close(L_); }

  // Runs src/lua/prelude/<file> and stores the module it returns as rover.<field>.
  void loadModule(const char* file, const char* field) {
    std::string path = std::string(ROVER_SOURCE_DIR) + "/src/lua/prelude/" + file;
    ASSERT_EQ(luaL_loadfile(L_, path.c_str()), 0) << lua_tostring(L_, -1);
    ASSERT_EQ(lua_pcall(L_, 0, 1, 0), 0) << lua_tostring(L_, -1);
    lua_getglobal(L_, "rover");
    lua_insert(L_, -2);
    lua_setfield(L_, -2, field);
    lua_pop(L_, 1);
  }

  // Runs a Lua chunk and returns tostring() of its first result (tostring(nil) = "nil").
  // A raised error comes back as "error: " + tostring(err), so tests can compare messages.
  std::string eval(const std::string& code) {
    int top = lua_gettop(L_);
    std::string out;
    if (luaL_loadbuffer(L_, code.data(), code.size(), "=test") != 0 ||
        lua_pcall(L_, 0, 1, 0) != 0) {
      out = "error: " + toString(-1);
    } else {
      out = toString(-1);
    }
    lua_settop(L_, top);
    return out;
  }

  // Runs a chunk of assertions; fails the test with the Lua error if one is raised.
  void run(const std::string& code) {
    std::string result = eval(code + "\nreturn 'ok'");
    EXPECT_EQ(result, "ok");
  }

 private:
  // tostring() through the global, so __tostring metamethods are honoured.
  std::string toString(int index) {
    if (index < 0) index = lua_gettop(L_) + index + 1;
    lua_getglobal(L_, "tostring");
    lua_pushvalue(L_, index);
    if (lua_pcall(L_, 1, 1, 0) != 0) {
      std::string msg = "<tostring failed>";
      lua_pop(L_, 1);
      return msg;
    }
    size_t len = 0;
    const char* s = lua_tolstring(L_, -1, &len);
    std::string out = s ? std::string(s, len) : "<non-string>";
    lua_pop(L_, 1);
    return out;
  }

 protected:
  lua_State* L_ = nullptr;
};

}  // namespace rover::prelude_test
