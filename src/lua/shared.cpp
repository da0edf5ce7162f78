// rover.shared (lua-api.md §3): a Lua face on core::SharedStore.
#include "lua/shared.h"

#include <lua.hpp>

#include "core/shared_store.h"
#include "lua/native.h"

namespace rover::lua {
namespace {

core::SharedStore& store() { return core::SharedStore::instance(); }

// Methods are called with ':'; also accept '.' by skipping a leading table.
int firstArg(lua_State* L) { return lua_type(L, 1) == LUA_TTABLE ? 2 : 1; }

std::string_view checkKey(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING) luaL_error(L, "rover.shared keys must be strings");
  size_t len;
  const char* s = lua_tolstring(L, idx, &len);
  return {s, len};
}

core::SharedValue checkValue(lua_State* L, int idx) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, idx, &len);
      return std::string(s, len);
    }
    case LUA_TNUMBER:
      return lua_tonumber(L, idx);
    case LUA_TBOOLEAN:
      return static_cast<bool>(lua_toboolean(L, idx));
    default:
      luaL_error(L, "rover.shared values must be string, number or boolean");
      return false;
  }
}

void pushValue(lua_State* L, const core::SharedValue& v) {
  if (auto* s = std::get_if<std::string>(&v))
    lua_pushlstring(L, s->data(), s->size());
  else if (auto* d = std::get_if<double>(&v))
    lua_pushnumber(L, *d);
  else
    lua_pushboolean(L, std::get<bool>(v));
}

int sharedGet(lua_State* L) {
  int a = firstArg(L);
  auto v = store().get(checkKey(L, a));
  if (!v) return 0;
  pushValue(L, *v);
  return 1;
}

int sharedSet(lua_State* L) {
  int a = firstArg(L);
  std::string_view key = checkKey(L, a);
  core::SharedValue v = checkValue(L, a + 1);
  store().set(key, std::move(v), luaL_optnumber(L, a + 2, 0));
  lua_pushboolean(L, 1);
  return 1;
}

int sharedAdd(lua_State* L) {
  int a = firstArg(L);
  std::string_view key = checkKey(L, a);
  core::SharedValue v = checkValue(L, a + 1);
  lua_pushboolean(L, store().add(key, std::move(v), luaL_optnumber(L, a + 2, 0)));
  return 1;
}

int sharedIncr(lua_State* L) {
  int a = firstArg(L);
  std::string_view key = checkKey(L, a);
  double by = luaL_optnumber(L, a + 1, 1);
  std::optional<double> init;
  if (!lua_isnoneornil(L, a + 2)) init = luaL_checknumber(L, a + 2);
  double result;
  if (!store().incr(key, by, init, &result)) {
    return luaL_error(L, "rover.shared:incr: value of '%s' is not a number",
                      std::string(key).c_str());
  }
  lua_pushnumber(L, result);
  return 1;
}

int sharedDelete(lua_State* L) {
  int a = firstArg(L);
  lua_pushboolean(L, store().remove(checkKey(L, a)));
  return 1;
}

int sharedKeys(lua_State* L) {
  std::vector<std::string> keys = store().keys();
  lua_createtable(L, static_cast<int>(keys.size()), 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    lua_pushlstring(L, keys[i].data(), keys[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  return 1;
}

}  // namespace

void pushSharedTable(lua_State* L) {
  const luaL_Reg fns[] = {{"get", native<sharedGet>},
                          {"set", native<sharedSet>},
                          {"add", native<sharedAdd>},
                          {"incr", native<sharedIncr>},
                          {"delete", native<sharedDelete>},
                          {"keys", native<sharedKeys>},
                          {nullptr, nullptr}};
  lua_createtable(L, 0, 6);
  for (const luaL_Reg* f = fns; f->name; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
}

}  // namespace rover::lua
