// rover.shared: the process-wide store every worker sees (lua-api.md §3).
#pragma once

struct lua_State;

namespace rover::lua {
// Pushes a table with get/set/add/incr/delete/keys.
void pushSharedTable(lua_State* L);
}  // namespace rover::lua
