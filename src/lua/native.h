// The one wrapper every Lua-callable C++ function goes through (ARCHITECTURE.md
// §3, STYLE.md habit 7): native<F> is the exception barrier — a C++
// exception (std::bad_alloc from a buffer, fmt's format_error, ...) never
// unwinds through Lua frames; it becomes a Lua error with its message.
// Argument checks (luaL_check*) and the dead-ctx check (checkCtx) are the
// first lines of each F; they raise Lua errors, which pass through here
// untouched (LuaJIT's errors are not std::exception, so they are not caught).
#pragma once
#include <exception>
#include <lua.hpp>
#include <string_view>

namespace rover::lua {

template <lua_CFunction F>
int native(lua_State* L) {
  try {
    return F(L);
  } catch (const std::exception& e) {
    lua_pushstring(L, e.what());
  }
  return lua_error(L);
}

// A string argument as a view into the Lua string (raises as luaL_checklstring).
inline std::string_view checkView(lua_State* L, int i) {
  size_t len;
  const char* s = luaL_checklstring(L, i, &len);
  return {s, len};
}

}  // namespace rover::lua
