// JSON text -> Lua value (lua-api.md §9.2), using simdjson.
#pragma once
#include <string>
#include <string_view>

struct lua_State;

namespace rover::json {

// Parses `text` and pushes exactly one Lua value (null at the root pushes nil).
// On invalid JSON pushes nothing, returns false and sets `*detail` to a short
// human-readable description. Never raises a Lua error (apart from memory errors).
bool decode(lua_State* L, std::string_view text, std::string* detail);

}  // namespace rover::json
