// Fixture for the rover.db Lua tests (db_builder_test.cpp, db_migrate_test.cpp): a bare
// LuaJIT state with rover.guard, B = prelude/db_builder.lua (called with the guard) extended
// by prelude/db_migrate.lua, installed as rover.db, and the fakes of fixtures/db_fake.lua.
// Globals: g (rover.guard), B, dg (rover.db.guard), FIXTURES (the fixtures directory).
#pragma once

#include <string>

#include "lua_test_util.h"

namespace rover::prelude_test {

class DbLuaTest : public LuaTest {
 protected:
  void SetUp() override {
    LuaTest::SetUp();
    loadModule("guard.lua", "guard");
    runChunkWith("db_builder.lua", "rover.guard");
    lua_setglobal(L_, "B");
    runChunkWith("db_migrate.lua", "B");
    lua_pop(L_, 1);
    std::string fixtures = std::string(ROVER_SOURCE_DIR) + "/tests/unit/prelude/fixtures";
    lua_pushlstring(L_, fixtures.data(), fixtures.size());
    lua_setglobal(L_, "FIXTURES");
    run(R"lua(
      dofile(FIXTURES .. "/db_fake.lua")
      g = rover.guard
      rover.db = B
      dg = B.guard
    )lua");
  }

  void TearDown() override {
    run("remove_migration_files()");
    LuaTest::TearDown();
  }

  // Runs src/lua/prelude/<file> with the value of the Lua expression `arg`; leaves its result.
  void runChunkWith(const char* file, const char* arg) {
    std::string path = std::string(ROVER_SOURCE_DIR) + "/src/lua/prelude/" + file;
    ASSERT_EQ(luaL_loadfile(L_, path.c_str()), 0) << lua_tostring(L_, -1);
    std::string get = std::string("return ") + arg;
    ASSERT_EQ(luaL_dostring(L_, get.c_str()), 0) << lua_tostring(L_, -1);
    ASSERT_EQ(lua_pcall(L_, 1, 1, 0), 0) << lua_tostring(L_, -1);
  }
};

}  // namespace rover::prelude_test
