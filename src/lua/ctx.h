// The request context (lua-api.md §6; ARCHITECTURE.md §2.6). `ctx` is a
// small userdata naming its request's task and run (slot + generation); its
// metatable resolves fields on access; tables are built only when asked for.
// A ctx kept past its request raises "request context is no longer valid"
// instead of reading freed memory.
#pragma once
#include <cstdint>
#include <string_view>

#include "lua/task.h"
#include "lua/vm.h"

struct lua_State;

namespace rover::lua {

// A ctx value: a full userdata of its own type (other light userdata in the
// VM keep their own behaviour) naming a task and the generation of the run
// it was made for. When the run ends the task's generation moves on, so a
// ctx kept past its request (also across a suspension) raises.
struct CtxHandle {
  uint64_t magic;
  Task* task;
  uint32_t generation;
};
// Pushes a fresh ctx for the request task `t` and the method argument of the
// prelude's dispatch. `ctx_mt_ref` is the registry ref of ctx's metatable.
void beginRequest(lua_State* L, Task* t, int ctx_mt_ref);

// Adds the ctx_* and body_* natives to the table at `natives_index`.
void addCtxNatives(lua_State* L, int natives_index);
// Registry refs to what the prelude's make_ctx made (server.lua).
struct CtxRefs {
  int cur = -2;       // CUR: [1] the live ctx, [2] its method string
  int dispatch = -2;  // dispatch(handler, ctx, method)
  int ctx_mt = -2;    // ctx's metatable
};
// Makes ctx's metatable with the prelude's __index (module at
// `module_index`) in front of the native one.
CtxRefs installCtx(lua_State* L, int module_index);
// The request id: X-Request-ID when valid, else generated (cached in info).
std::string_view requestId(RequestInfo& info);

}  // namespace rover::lua
