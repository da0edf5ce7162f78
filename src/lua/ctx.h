// The request context (lua-api.md §6; ARCHITECTURE.md §2.5). `ctx` is a light
// userdata holding the request's sequence number: nothing is allocated per
// request. Its metatable (the one shared by light userdata, set once per VM)
// resolves fields on access; tables are built only when asked for. A ctx
// kept past its request carries an old number and raises
// "request context is no longer valid" instead of reading freed memory.
#pragma once
#include <cstdint>
#include <string_view>

#include "lua/vm.h"

struct lua_State;

namespace rover::lua {

// The request being handled on this thread (one VM per worker thread).
struct CurrentRequest {
  uint64_t seq = 0;  // 0: none; ctx values carry the seq they were made for
  RequestInfo* info = nullptr;
  int store_ref = -2;  // ctx:set/get table (LUA_NOREF = -2 until the first set)
};
CurrentRequest& currentRequest();
// Pushes a fresh ctx for `info` and the method argument of the prelude's
// dispatch; endRequest() invalidates the ctx.
void beginRequest(lua_State* L, RequestInfo* info);
void endRequest(lua_State* L);

// Adds the ctx_* and body_* natives to the table at `natives_index`.
void addCtxNatives(lua_State* L, int natives_index);
// Registry refs to what the prelude's make_ctx made (server.lua).
struct CtxRefs {
  int cur = -2;       // CUR: [1] the live ctx, [2] its method string
  int dispatch = -2;  // dispatch(handler, ctx, method)
};
// Installs the ctx metatable (as the light userdata metatable) with the
// prelude's __index (module at `module_index`) in front of the native one.
CtxRefs installCtx(lua_State* L, int module_index);
// The request id: X-Request-ID when valid, else generated (cached in info).
std::string_view requestId(RequestInfo& info);

}  // namespace rover::lua
