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

// A ctx value: an FFI cdata of its own type (struct rover_ctx; other
// userdata in the VM keep their own behaviour) naming a task slot and the
// generation of the run it was made for. dispatch (server.lua) makes it from
// the two numbers C passes, in the handler's JIT trace. When the run ends the
// task's generation moves on, so a ctx kept past its request (also across a
// suspension) raises.
struct CtxHandle {
  uint32_t magic;
  uint32_t slot;
  uint32_t generation;
};
inline constexpr uint32_t kCtxMagic = 0x7c7a6f72;  // also in prelude/ctx.lua
// Pushes dispatch's arguments after the handler for the request task `t`:
// slot, generation, method.
void beginRequest(lua_State* L, Task* t);

// Adds the ctx_* and body_* natives to the table at `natives_index`; they
// resolve ctx values through `vm`'s tasks.
void addCtxNatives(lua_State* L, int natives_index, Vm* vm);
// Registry refs to what the prelude's make_ctx made (server.lua).
struct CtxRefs {
  int cur = -2;       // CUR: [1] the live ctx, [2] its method string
  int dispatch = -2;  // dispatch(handler, ctx, method)
};
// Makes ctx's type (ffi.metatype) with the prelude's __index (module at
// `module_index`) in front of the native one (which resolves through `vm`).
CtxRefs installCtx(lua_State* L, int module_index, Vm* vm);
// The request id: X-Request-ID when valid, else generated (cached in info).
std::string_view requestId(RequestInfo& info);

}  // namespace rover::lua
