// Lua value -> JSON text (lua-api.md §9.1), written straight into a Buffer.
// Reads the Lua stack only (raw access, metatables ignored); never raises a
// Lua error and never throws into Lua.
#pragma once
#include <string>

#include "core/buffer.h"

struct lua_State;

namespace rover::json {

// Appends the JSON text of the value at stack index `idx` to `out`.
// On failure returns false, sets `*reason` (e.g. "cannot serialise function",
// "excessive nesting (> 64)") and leaves `out` at its size before the call.
// The Lua stack is left as it was.
bool encode(lua_State* L, int idx, core::Buffer& out, std::string* reason);

// Appends a JSON string literal (quotes and §9.1 escapes) for `s`.
void encodeString(std::string_view s, core::Buffer& out);

// Appends a number per §9.1 (integral |x| < 2^63 as an integer, other finite
// numbers like JavaScript String(x), NaN/inf as null).
void encodeNumber(double x, core::Buffer& out);

}  // namespace rover::json
