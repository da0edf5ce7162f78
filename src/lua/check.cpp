// `rover check` (lua-api.md §1.1): the Vm's side of it, over prelude/check.lua.
// Startup only; nothing here runs in a server.
#include <lua.hpp>
#include <stdexcept>

#include "lua/vm.h"

namespace rover::lua::prelude {
extern const std::string_view k_check;
}

namespace rover::lua {
namespace {

std::string fieldString(lua_State* L, int t, int i) {
  lua_rawgeti(L, t, i);
  size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  std::string v = s ? std::string(s, len) : std::string();
  lua_pop(L, 1);
  return v;
}

// t[i]: an array of { name, where } -> out.
void readHooks(lua_State* L, int t, int i, std::vector<RouteDetail::Hook>* out) {
  lua_rawgeti(L, t, i);
  int list = lua_gettop(L);
  for (int k = 1, n = static_cast<int>(lua_objlen(L, list)); k <= n; ++k) {
    lua_rawgeti(L, list, k);
    int h = lua_gettop(L);
    out->push_back({fieldString(L, h, 1), fieldString(L, h, 2)});
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

}  // namespace

void Vm::enterCheckMode() {
  lua_State* L = L_;
  const std::string_view src = prelude::k_check;
  if (luaL_loadbuffer(L, src.data(), src.size(), "=rover.check") != 0) {
    throw std::runtime_error(lua_tostring(L, -1));
  }
  lua_getglobal(L, "rover");
  if (lua_pcall(L, 1, 1, 0) != 0) throw std::runtime_error(lua_tostring(L, -1));
  check_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
}

std::vector<RouteDetail> Vm::routeDetails() {
  std::vector<RouteDetail> out;
  lua_State* L = L_;
  if (check_ref_ < 0 || routes_ref_ < 0) return out;
  lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref_);
  lua_getfield(L, -1, "routes");
  lua_rawgeti(L, LUA_REGISTRYINDEX, routes_ref_);
  if (lua_pcall(L, 1, 1, 0) != 0) {
    lua_settop(L, 0);
    return out;
  }
  int list = lua_gettop(L);
  for (int i = 1, n = static_cast<int>(lua_objlen(L, list)); i <= n; ++i) {
    lua_rawgeti(L, list, i);
    int r = lua_gettop(L);
    RouteDetail d;
    d.method = fieldString(L, r, 1);
    d.pattern = fieldString(L, r, 2);
    d.where = fieldString(L, r, 3);
    readHooks(L, r, 4, &d.before);
    readHooks(L, r, 5, &d.after);
    out.push_back(std::move(d));
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  return out;
}

bool Vm::migrationReport(const std::vector<std::pair<std::string, std::string>>& files,
                         std::vector<std::string>* lines, std::string* error) {
  lua_State* L = L_;
  if (check_ref_ < 0) return true;
  lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref_);
  lua_getfield(L, -1, "migrations");
  lua_createtable(L, static_cast<int>(files.size()), 0);
  for (size_t i = 0; i < files.size(); ++i) {
    lua_createtable(L, 0, 2);
    lua_pushlstring(L, files[i].first.data(), files[i].first.size());
    lua_setfield(L, -2, "name");
    lua_pushlstring(L, files[i].second.data(), files[i].second.size());
    lua_setfield(L, -2, "path");
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  if (lua_pcall(L, 1, 1, 0) != 0) {
    const char* msg = lua_tostring(L, -1);
    *error = msg ? msg : "migration check failed";
    lua_settop(L, 0);
    return false;
  }
  int list = lua_gettop(L);
  for (int i = 1, n = static_cast<int>(lua_objlen(L, list)); i <= n; ++i) {
    lines->push_back(fieldString(L, list, i));
  }
  lua_settop(L, 0);
  return true;
}

}  // namespace rover::lua
