// The natives of rover.session (runtime-modules.md §3; the module itself is
// prelude/session.lua): a Lua face on core::SessionStores. A store is passed
// around as a light userdata (stores live as long as the process); session
// data crosses as a plain table of string keys to string/number/boolean.
// Data is copied out of the store before anything is pushed, so no Lua call
// (which may raise) happens under a shard lock.
#include <lua.hpp>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/session_store.h"
#include "lua/native.h"

namespace rover::lua {
namespace {

core::SessionStore* checkStore(lua_State* L, int i) {
  luaL_checktype(L, i, LUA_TLIGHTUSERDATA);
  return static_cast<core::SessionStore*>(lua_touserdata(L, i));
}

// Reads the data table at idx; on a bad key or value returns the message to
// raise (after `out` is gone), else nullptr.
const char* readData(lua_State* L, int idx, core::SessionData* out) {
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      return "rover.session: keys must be strings";
    }
    size_t klen;
    const char* k = lua_tolstring(L, -2, &klen);
    core::SessionValue v;
    switch (lua_type(L, -1)) {
      case LUA_TSTRING: {
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        v = std::string(s, len);
        break;
      }
      case LUA_TNUMBER:
        v = lua_tonumber(L, -1);
        break;
      case LUA_TBOOLEAN:
        v = static_cast<bool>(lua_toboolean(L, -1));
        break;
      default:
        lua_pop(L, 2);
        return "rover.session: values must be strings, numbers or booleans";
    }
    out->insert_or_assign(std::string(k, klen), std::move(v));
    lua_pop(L, 1);
  }
  return nullptr;
}

void pushData(lua_State* L, const core::SessionData& data) {
  lua_createtable(L, 0, static_cast<int>(data.size()));
  for (const auto& [k, v] : data) {
    lua_pushlstring(L, k.data(), k.size());
    if (auto* s = std::get_if<std::string>(&v))
      lua_pushlstring(L, s->data(), s->size());
    else if (auto* d = std::get_if<double>(&v))
      lua_pushnumber(L, *d);
    else
      lua_pushboolean(L, std::get<bool>(v));
    lua_rawset(L, -3);
  }
}

// id, created_at, last_accessed, ttl
int pushSnapshot(lua_State* L, const core::SessionSnapshot& snap) {
  lua_pushlstring(L, snap.id.data(), snap.id.size());
  lua_pushnumber(L, snap.created_at);
  lua_pushnumber(L, snap.last_accessed);
  lua_pushnumber(L, snap.ttl);
  return 4;
}

// store(cookie_name, max_sessions) -> the process-wide store for that name
int sessionStore(lua_State* L) {
  std::string_view name = checkView(L, 1);
  lua_Number max = luaL_checknumber(L, 2);
  if (!(max >= 1)) return luaL_error(L, "rover.session: max_sessions must be positive");
  core::SessionStore& s =
      core::SessionStores::instance().store(name, static_cast<size_t>(max < 1e15 ? max : 1e15));
  lua_pushlightuserdata(L, &s);
  return 1;
}

// create(store, ttl) -> id, created_at, last_accessed, ttl
int sessionCreate(lua_State* L) {
  core::SessionStore* store = checkStore(L, 1);
  double ttl = luaL_checknumber(L, 2);
  {
    core::SessionSnapshot snap;
    if (store->create(ttl, &snap)) return pushSnapshot(L, snap);
  }
  return luaL_error(L, "rover.session: no random bytes for a session id");
}

// get(store, id) -> data, created_at, last_accessed, ttl | nil
int sessionGet(lua_State* L) {
  core::SessionStore* store = checkStore(L, 1);
  std::string_view id = checkView(L, 2);
  core::SessionSnapshot snap;
  if (!store->get(id, &snap)) return 0;
  pushData(L, snap.data);
  lua_pushnumber(L, snap.created_at);
  lua_pushnumber(L, snap.last_accessed);
  lua_pushnumber(L, snap.ttl);
  return 4;
}

// save(store, id, data) -> last_accessed | nil (the session is gone)
int sessionSave(lua_State* L) {
  core::SessionStore* store = checkStore(L, 1);
  std::string_view id = checkView(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  const char* bad;
  bool saved = false;
  double last = 0;
  {
    core::SessionData data;
    bad = readData(L, 3, &data);
    if (!bad) saved = store->save(id, std::move(data), &last);
  }
  if (bad) return luaL_error(L, "%s", bad);
  if (!saved) return 0;
  lua_pushnumber(L, last);
  return 1;
}

// refresh(store, id) -> last_accessed | nil
int sessionRefresh(lua_State* L) {
  core::SessionStore* store = checkStore(L, 1);
  double last = 0;
  if (!store->refresh(checkView(L, 2), &last)) return 0;
  lua_pushnumber(L, last);
  return 1;
}

// regenerate(store, id, data) -> new id, created_at, last_accessed, ttl | nil
int sessionRegenerate(lua_State* L) {
  core::SessionStore* store = checkStore(L, 1);
  std::string_view id = checkView(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  const char* bad;
  {
    core::SessionData data;
    bad = readData(L, 3, &data);
    if (!bad) {
      core::SessionSnapshot snap;
      if (!store->regenerate(id, std::move(data), &snap)) return 0;
      return pushSnapshot(L, snap);
    }
  }
  return luaL_error(L, "%s", bad);
}

// delete(store, id) -> boolean
int sessionDelete(lua_State* L) {
  core::SessionStore* store = checkStore(L, 1);
  lua_pushboolean(L, store->remove(checkView(L, 2)));
  return 1;
}

// exists(store, id) -> boolean
int sessionExists(lua_State* L) {
  core::SessionStore* store = checkStore(L, 1);
  lua_pushboolean(L, store->exists(checkView(L, 2)));
  return 1;
}

// now(store) -> Unix seconds on the store's clock
int sessionNow(lua_State* L) {
  lua_pushnumber(L, checkStore(L, 1)->now());
  return 1;
}

}  // namespace

void pushSessionNatives(lua_State* L) {
  const luaL_Reg fns[] = {
      {"store", native<sessionStore>},     {"create", native<sessionCreate>},
      {"get", native<sessionGet>},         {"save", native<sessionSave>},
      {"refresh", native<sessionRefresh>}, {"regenerate", native<sessionRegenerate>},
      {"delete", native<sessionDelete>},   {"exists", native<sessionExists>},
      {"now", native<sessionNow>},         {nullptr, nullptr}};
  lua_createtable(L, 0, 10);
  for (const luaL_Reg* f = fns; f->name; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
  lua_pushnumber(L, static_cast<double>(core::kDefaultSessionMaxSessions));
  lua_setfield(L, -2, "default_max_sessions");
}

}  // namespace rover::lua
