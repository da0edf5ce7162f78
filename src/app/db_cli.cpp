#include "app/db_cli.h"

#include <lua.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/log.h"
#include "lua/vm.h"

namespace rover::app {
namespace {

constexpr const char* kUsage =
    "usage: rover db migrate | rollback [--steps N] | status | reset --force\n"
    "                [--url URL | --path FILE]\n"
    "  Runs the migrations in db/migrations/*.lua (in file name order) against\n"
    "  PostgreSQL (--url, any libpq URI or key=value string) or SQLite (--path,\n"
    "  default rover.sqlite).\n";

// Lua: (command, url|nil, path, steps|nil, force, files) -> prints, raises on failure.
constexpr const char* kRun = R"lua(
local command, url, path, steps, force, files = ...
local db = url and rover.db.connect { url = url, pool = 1, max_connections = 1 }
  or rover.db.connect { path = path }
local lines = rover.db.run_migrations(db, files, command,
  { steps = steps, force = force, print = function(line) io.stdout:write(line, "\n") end })
return #lines
)lua";

int usage(const char* why) {
  if (why) std::fprintf(stderr, "rover db: %s\n\n", why);
  std::fputs(kUsage, why ? stderr : stdout);
  return why ? 2 : 0;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> migrationFiles() {
  std::vector<std::pair<std::string, std::string>> files;
  std::error_code ec;
  std::filesystem::path dir = "db/migrations";
  if (std::filesystem::is_directory(dir, ec)) {
    std::filesystem::path abs = std::filesystem::absolute(dir, ec);
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".lua") {
        std::string name = e.path().filename().string();
        files.emplace_back(name, (abs / name).string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

int runDbCommand(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  if (args.empty()) return usage("a command is needed");
  std::string command = args[0];
  if (command == "--help" || command == "-h" || command == "help") return usage(nullptr);
  if (command != "migrate" && command != "rollback" && command != "status" && command != "reset")
    return usage(("unknown command " + command).c_str());
  std::string url, path = "rover.sqlite";
  bool has_url = false, force = false;
  long steps = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* {
      return i + 1 < args.size() ? &args[++i] : nullptr;
    };
    if (a == "--url") {
      const std::string* v = value();
      if (!v) return usage("--url needs a value");
      url = *v;
      has_url = true;
    } else if (a == "--path") {
      const std::string* v = value();
      if (!v) return usage("--path needs a value");
      path = *v;
    } else if (a == "--steps" && command == "rollback") {
      const std::string* v = value();
      char* end = nullptr;
      if (!v || (steps = std::strtol(v->c_str(), &end, 10)) < 1 || *end)
        return usage("--steps needs a whole number >= 1");
    } else if (a == "--force" && command == "reset") {
      force = true;
    } else {
      return usage(("unexpected argument " + a).c_str());
    }
  }

  std::vector<std::pair<std::string, std::string>> files = migrationFiles();

  core::setLogLevel(core::LogLevel::kWarn);  // the step lines are the output; no NOTICE chatter
  lua::Vm vm(1, 1);
  lua_State* L = vm.state();
  if (luaL_loadbuffer(L, kRun, std::char_traits<char>::length(kRun), "=rover db") != 0) {
    std::fprintf(stderr, "❌ %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_pushstring(L, command.c_str());
  if (has_url) {
    lua_pushstring(L, url.c_str());
  } else {
    lua_pushnil(L);
  }
  lua_pushstring(L, path.c_str());
  if (steps > 0) {
    lua_pushinteger(L, steps);
  } else {
    lua_pushnil(L);
  }
  lua_pushboolean(L, force);
  lua_createtable(L, static_cast<int>(files.size()), 0);
  for (size_t i = 0; i < files.size(); ++i) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, files[i].first.c_str());
    lua_setfield(L, -2, "name");
    lua_pushstring(L, files[i].second.c_str());
    lua_setfield(L, -2, "path");
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  if (lua_pcall(L, 6, 1, 0) != 0) {
    const char* msg = lua_tostring(L, -1);
    std::fprintf(stderr, "❌ %s\n", msg ? msg : "migration failed");
    return 1;
  }
  return 0;
}

}  // namespace rover::app
