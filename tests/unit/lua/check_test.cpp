// lua/check.cpp: what `rover check` reads of a loaded app (route sources,
// migrations reported instead of applied).
#include <unistd.h>

#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

class CheckTest : public VmTest {
 protected:
  // Loads `code` in check mode and builds its routes.
  void loadChecked(const std::string& code) {
    vm_ = std::make_unique<lua::Vm>(1, 1, &loop_);
    vm_->enterCheckMode();
    path_ = writeFile(code);
    std::string err;
    ASSERT_EQ(vm_->load({path_, {}}, &err), lua::LoadResult::kServer) << err;
    ASSERT_TRUE(vm_->readConfig({}, &config_, &err)) << err;
    ASSERT_TRUE(vm_->buildRoutes(router_, &routes_, &err)) << err;
  }
  std::string at(int line) const { return path_ + ":" + std::to_string(line); }
};

TEST_F(CheckTest, HandlersAndHooksByFileAndLine) {
  loadChecked(
      "local api = rover.server {}\n"                                         // 1
      "api.before = function(ctx) end\n"                                      // 2
      "api.a.before = { auth = function(ctx) end }\n"                         // 3
      "api.a.after = { function(ctx) end }\n"                                 // 4
      "function api.a.get(ctx)\n"                                             // 5
      "  return 1\n"                                                          // 6
      "end\n"                                                                 // 7
      "api.b.get = setmetatable({}, { __call = function(self, ctx) end })\n"  // 8
      "api.c.get = print\n"                                                   // 9
      "return api\n");
  std::vector<lua::RouteDetail> d = vm_->routeDetails();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].method, "GET");
  EXPECT_EQ(d[0].pattern, "/a");
  EXPECT_EQ(d[0].where, at(5));
  ASSERT_EQ(d[0].before.size(), 2u);
  EXPECT_EQ(d[0].before[0].name, "before");
  EXPECT_EQ(d[0].before[0].where, at(2));
  EXPECT_EQ(d[0].before[1].name, "auth");
  EXPECT_EQ(d[0].before[1].where, at(3));
  ASSERT_EQ(d[0].after.size(), 1u);
  EXPECT_EQ(d[0].after[0].where, at(4));
  EXPECT_EQ(d[1].pattern, "/b");
  EXPECT_EQ(d[1].where, at(8));  // a callable table: its __call
  EXPECT_EQ(d[2].pattern, "/c");
  EXPECT_EQ(d[2].where, "[C]");
}

TEST_F(CheckTest, NothingOutsideCheckMode) {
  loadServer("local api = rover.server {}\nfunction api.get() end\nreturn api\n");
  EXPECT_TRUE(vm_->routeDetails().empty());
  std::vector<std::string> lines;
  std::string err;
  EXPECT_TRUE(vm_->migrationReport({}, &lines, &err));
  EXPECT_TRUE(lines.empty());
}

TEST_F(CheckTest, MigrationsAtLoadAreReportedNotApplied) {
  std::string migration = writeFile(
      "function change() migration.t:create { id = rover.db.guard:integer():primary() } end\n",
      "001_t.lua");
  std::string db = writeFile("", "db.sqlite");
  ::unlink(db.c_str());
  loadChecked(
      "local api = rover.server {}\n"
      "local db = rover.db.connect { path = '" +
      db +
      "' }\n"
      "local lines = rover.db.run_migrations(db, { { name = '001_t.lua', path = '" +
      migration +
      "' } }, 'migrate')\n"
      "assert(lines[1] == 'pending 001_t.lua', lines[1])\n"
      "function api.get() end\n"
      "return api\n");
  std::vector<std::string> lines;
  std::string err;
  ASSERT_TRUE(vm_->migrationReport({}, &lines, &err)) << err;
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "run_migrations migrate at load on sqlite " + db + ": 1 of 1 pending: 001_t.lua");
  EXPECT_NE(::access(db.c_str(), F_OK), 0) << "the check created the database file";
}

}  // namespace
}  // namespace rover::lua_test
