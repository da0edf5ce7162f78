// The request context userdata (lua-api.md §6; ARCHITECTURE.md §2.5): one
// small userdata per request whose metatable is created once per VM. Fields
// are produced on access; tables are built only when asked for. The worker
// marks it dead when the response is produced, so a kept ctx raises
// "request context is no longer valid" instead of reading freed memory.
#pragma once
#include <string_view>

#include "lua/vm.h"

struct lua_State;

namespace rover::lua {

struct CtxData {
  RequestInfo* info;  // nullptr once the request has been answered
};

// Adds the ctx_* and body_* natives to the table at `natives_index`.
void addCtxNatives(lua_State* L, int natives_index);
// Creates the ctx metatable; `methods_index` is the Lua methods table.
// Leaves nothing on the stack; returns a registry ref.
int createCtxMetatable(lua_State* L, int methods_index);
// The request id: X-Request-ID when valid, else generated (cached in info).
std::string_view requestId(RequestInfo& info);

}  // namespace rover::lua
