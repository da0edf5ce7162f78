// Tasks and the one suspend/resume recipe (ARCHITECTURE.md §2.6-2.7, STYLE.md
// habit 12), and the natives of runtime-modules.md §6 built on it.
//
// A task's coroutine runs one function per run: the prelude's dispatch for a
// request, the function given to spawn for a background task. A function
// that returned leaves the coroutine reusable (LuaJIT resumes a finished
// coroutine with the next function pushed), so runs cost a lua_resume, and a
// request's JIT trace ends with a plain return to C. A waiting call yields
// from inside the function after registering its Wait on the task. After
// lua_resume:
//   0 (returned)                   -> the run is over (kDone), results on the stack
//   LUA_YIELD with a Wait          -> the task waits (kSuspended)
//   an error, or a bare coroutine.yield in app code
//                                  -> the run is over with an error (t->failed,
//                                     the value on top); the coroutine is dropped
#include <fmt/format.h>

#include <cmath>
#include <lua.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "lua/ctx.h"
#include "lua/native.h"
#include "lua/vm.h"

namespace rover::lua {
namespace {

constexpr const char* kYieldOutsideWait =
    "attempt to yield from a handler or task outside a waiting call";

void delayFired(net::Timer* timer) {
  auto* t = static_cast<Task*>(timer->data);
  t->removeWait(&t->delay);
  t->vm->resume(t);
}

void delayCancel(Wait* w) {
  auto* d = static_cast<DelayWait*>(w);
  d->task->vm->loop()->disarm(&d->timer);
}

// rover.delay(ms): the recipe in five steps.
int luaDelay(lua_State* L) {
  Vm* vm = upvalueVm(L);
  Task* t = vm->suspendableTask(L);  // 1. check (not at load time, a hook run
  if (!t)                            //    from C or an app's own coroutine)
    return luaL_error(L, "rover.delay must be called inside a handler or task");
  double ms = lua_type(L, 1) == LUA_TNUMBER ? lua_tonumber(L, 1) : -1;
  if (!(ms >= 0) || std::isinf(ms)) return luaL_error(L, "rover.delay: ms must be a number >= 0");
  net::Loop* loop = vm->loop();
  t->delay.timer.fire = delayFired;  // 2. register the event
  t->delay.timer.data = t;
  // Rounded up from the exact clock, so the wait is never shorter than ms.
  uint64_t due_ns = core::monotonicNs() + static_cast<uint64_t>(ms * 1e6);
  loop->arm(&t->delay.timer, (due_ns + 999'999) / 1'000'000);
  t->delay.cancel = delayCancel;  //    and its cancel hook
  t->addWait(&t->delay);
  return lua_yield(L, 0);  // 3. yield; 4. the loop resumes
}

// Handles returned by spawn and interval: { task, generation } with :cancel().
struct TaskHandle {
  Task* task;
  uint32_t generation;
};

int luaSpawn(lua_State* L) {
  Vm* vm = upvalueVm(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const char* label = luaL_optstring(L, 2, "rover.spawn task");
  lua_settop(L, 1);
  // The Vm's own state runs spawn: move the function there.
  lua_State* M = vm->state();
  if (M != L) lua_xmove(L, M, 1);
  Task* t = vm->spawn(label);
  auto* h = static_cast<TaskHandle*>(lua_newuserdata(L, sizeof(TaskHandle)));
  h->task = t;
  h->generation = t ? t->generation : 0;
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_setmetatable(L, -2);
  return 1;
}

int luaCancel(lua_State* L) {
  Vm* vm = upvalueVm(L);
  auto* h = static_cast<TaskHandle*>(luaL_checkudata(L, 1, "rover.task"));
  if (h->task) vm->cancel(h->task, h->generation);
  return 0;
}

int luaNowMs(lua_State* L) {
  Vm* vm = upvalueVm(L);
  lua_pushnumber(L, vm->loop() ? static_cast<double>(vm->loop()->updateNow()) : 0.0);
  return 1;
}

int luaLogError(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  if (core::logEnabled(core::LogLevel::kError)) core::logLine(core::LogLevel::kError, {s, len});
  return 0;
}

}  // namespace

void addTaskNatives(lua_State* L, int natives, Vm* vm) {
  lua_pushlightuserdata(L, vm);
  lua_pushcclosure(L, native<luaDelay>, 1);
  lua_setfield(L, natives, "delay");
  lua_pushlightuserdata(L, vm);
  luaL_newmetatable(L, "rover.task");
  lua_createtable(L, 0, 1);
  lua_pushlightuserdata(L, vm);
  lua_pushcclosure(L, native<luaCancel>, 1);
  lua_setfield(L, -2, "cancel");
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "rover.task");
  lua_setfield(L, -2, "__metatable");
  lua_pushcclosure(L, native<luaSpawn>, 2);
  lua_setfield(L, natives, "spawn");
  lua_pushlightuserdata(L, vm);
  lua_pushcclosure(L, native<luaNowMs>, 1);
  lua_setfield(L, natives, "now_ms");
  lua_pushcfunction(L, native<luaLogError>);
  lua_setfield(L, natives, "log_error");
}

Task* Vm::acquireTask(TaskKind kind) {
  Task* t;
  if (!free_tasks_.empty()) {
    t = free_tasks_.back();
    free_tasks_.pop_back();
  } else {
    tasks_.push_back(std::make_unique<Task>());
    t = tasks_.back().get();
    t->vm = this;
    t->slot = static_cast<uint32_t>(tasks_.size() - 1);
  }
  t->kind = kind;
  t->in_use = true;
  t->cancelled = false;
  if (!t->co) ensureCoroutine(t);
  return t;
}

void Vm::ensureCoroutine(Task* t) {
  if (t->co) return;
  t->co = lua_newthread(L_);
  t->co_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
}

void Vm::dropCoroutine(Task* t) {
  if (!t->co) return;
  luaL_unref(L_, LUA_REGISTRYINDEX, t->co_ref);
  t->co = nullptr;
  t->co_ref = LUA_NOREF;
}

// startRequest + respond, fused for the handler that does not wait.
int Vm::handle(RequestInfo& info, TaskOwner* owner, http::Response* out, Task** task) {
  Task* t = hot_;
  if (t) {
    hot_ = nullptr;
    t->in_use = true;
  } else {
    t = acquireTask(TaskKind::kRequest);
  }
  *task = t;
  if (startRequest(t, info, owner) == RunStatus::kSuspended) return 0;
  return respond(t, out);
}

RunStatus Vm::startRequest(Task* t, RequestInfo& info, TaskOwner* owner) {
  lua_State* co = t->co;
  t->info = &info;
  t->owner = owner;
  t->ws_conn = info.ws_conn;
  lua_rawgeti(co, LUA_REGISTRYINDEX, dispatch_ref_);
  lua_rawgeti(co, LUA_REGISTRYINDEX, handlerRef(info.match->handler));
  beginRequest(co, t);  // slot, generation, method
  return run(t, 4);
}

Task* Vm::spawn(const char* label) {
  Task* t = acquireTask(TaskKind::kBackground);
  t->label = label;
  lua_xmove(L_, t->co, 1);
  if (run(t, 0) == RunStatus::kDone) {
    finishBackground(t);
    return nullptr;
  }
  return t;
}

RunStatus Vm::run(Task* t, int nargs) {
  Task* outer = current_;
  current_ = t;
  int rc = lua_resume(t->co, nargs);
  current_ = outer;
  return rc == 0 ? RunStatus::kDone : afterYield(t, rc);
}

// lua_resume returned rc != 0: a wait, or the end of the run with an error.
RunStatus Vm::afterYield(Task* t, int rc) {
  lua_State* co = t->co;
  if (rc == LUA_YIELD && t->waits) {
    if (t->cancelled) {  // cancelled while it ran: never resumed
      abort(t);
      return RunStatus::kSuspended;
    }
    t->suspended = true;
    ++suspended_count_;
    if (t->kind == TaskKind::kRequest) clearCurrentCtx(L_);  // set again on resume
    return RunStatus::kSuspended;
  }
  if (rc == LUA_YIELD) {
    lua_settop(co, 0);
    lua_pushstring(co, kYieldOutsideWait);
  } else if (core::logEnabled(core::LogLevel::kDebug)) {
    luaL_traceback(L_, co, nullptr, 0);  // the dead coroutine's stack is intact
    lua_setfield(L_, LUA_REGISTRYINDEX, "rover.traceback");
  }
  t->cancelWaits();
  t->failed = true;
  t->co_dead = true;  // read until release(), which drops it
  return RunStatus::kDone;
}

void Vm::resume(Task* t, int nargs) {
  t->suspended = false;
  --suspended_count_;
  lua_State* co = t->co;
  if (nargs == 0) lua_settop(co, 0);  // what the wait yielded; delay returns nothing
  if (t->kind == TaskKind::kRequest) setCurrentCtx(co, t);
  if (run(t, nargs) == RunStatus::kSuspended) return;
  if (t->kind == TaskKind::kRequest || (t->kind == TaskKind::kWebSocket && t->owner)) {
    t->owner->taskFinished(t);
  } else {
    finishBackground(t);
  }
}

RunStatus Vm::startWs(Task* t, TaskOwner* owner, uint64_t conn, int kind, std::string_view data) {
  lua_State* co = t->co;
  t->owner = owner;
  t->ws_conn = conn;
  t->label = "WebSocket handler";
  lua_rawgeti(co, LUA_REGISTRYINDEX, ws_dispatch_ref_);
  lua_pushnumber(co, static_cast<double>(conn));
  lua_pushinteger(co, kind);
  lua_pushlstring(co, data.data(), data.size());
  return run(t, 3);
}

void Vm::setCurrentCtx(lua_State* L, Task* t) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_cur_ref_);
  lua_pushinteger(L, static_cast<lua_Integer>(t->slot));
  lua_rawseti(L, -2, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(t->generation));
  lua_rawseti(L, -2, 2);
  std::string_view m = router::methodName(t->info->method);
  lua_pushlstring(L, m.data(), m.size());
  lua_rawseti(L, -2, 3);
  lua_pop(L, 1);
}

void Vm::clearCurrentCtx(lua_State* L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_cur_ref_);
  lua_pushinteger(L, -1);
  lua_rawseti(L, -2, 1);
  lua_pop(L, 1);
}

std::string Vm::errorMessage(lua_State* from, int idx) {
  lua_pushvalue(from, idx);
  lua_xmove(from, L_, 1);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, module_ref_);
  lua_getfield(L_, -1, "message_of");
  lua_pushvalue(L_, -3);
  std::string msg = "unknown error";
  if (lua_pcall(L_, 1, 1, 0) == 0 && lua_isstring(L_, -1)) msg = lua_tostring(L_, -1);
  lua_pop(L_, 3);
  return msg;
}

void Vm::finishBackground(Task* t) {
  lua_State* co = t->co;
  if (t->failed && core::logEnabled(core::LogLevel::kError)) {
    core::logLine(core::LogLevel::kError,
                  fmt::format("{} failed: {}", t->label, errorMessage(co, -1)));
  }
  release(t);
}

void Vm::clearStack(Task* t) { lua_settop(t->co, 0); }

void Vm::releaseSlow(Task* t) {
  endRun(t);
  if (t->co && !hot_ && t->kind == TaskKind::kRequest) {
    hot_ = t;
  } else {
    free_tasks_.push_back(t);
  }
}

// A run is over: ctx handles of it are dead from here on.
void Vm::endRun(Task* t) {
  if (t->co_dead) {  // the next run gets a new coroutine
    dropCoroutine(t);
    t->co_dead = false;
  } else if (lua_gettop(t->co) != 0) {
    lua_settop(t->co, 0);
  }
  endGeneration(t);
  if (t->store_ref != LUA_NOREF) {
    luaL_unref(L_, LUA_REGISTRYINDEX, t->store_ref);
    t->store_ref = LUA_NOREF;
  }
  if (t->producer_ref != LUA_NOREF) {
    luaL_unref(L_, LUA_REGISTRYINDEX, t->producer_ref);
    t->producer_ref = LUA_NOREF;
  }
}

// dispatch returned true, status, content type, kind, payload (the
// producer), headers.
void Vm::startStream(Task* t) {
  lua_State* co = t->co;
  lua_pushvalue(co, 5);
  t->producer_ref = luaL_ref(co, LUA_REGISTRYINDEX);
  lua_settop(co, 0);
  ++t->generation;  // the handler's ctx is no longer valid
}

RunStatus Vm::pull(Task* t) {
  lua_State* co = t->co;
  lua_settop(co, 0);
  lua_rawgeti(co, LUA_REGISTRYINDEX, t->producer_ref);
  return run(t, 0);
}

int Vm::streamChunk(Task* t, std::string_view* chunk) {
  lua_State* co = t->co;
  std::string problem;
  if (t->failed) {
    problem = "stream producer failed: " + errorMessage(co, -1);
  } else if (lua_gettop(co) == 0 || lua_isnil(co, 1)) {
    return 0;
  } else if (lua_type(co, 1) == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(co, 1, &len);
    *chunk = {s, len};
    return 1;
  } else {
    problem = fmt::format("stream producer returned a {}", lua_typename(co, lua_type(co, 1)));
  }
  if (core::logEnabled(core::LogLevel::kError)) {
    RequestInfo& info = *t->info;
    core::logLine(core::LogLevel::kError, fmt::format("[{}] {} {} - {}", requestId(info),
                                                      info.request->method, info.request->path,
                                                      problem));
  }
  return -1;
}

void Vm::abort(Task* t) {
  t->cancelWaits();
  if (t->suspended) {
    t->suspended = false;
    --suspended_count_;
  }
  t->co_dead = true;
  release(t);
}

void Vm::cancel(Task* t, uint32_t generation) {
  if (!t->in_use || t->generation != generation || t->kind != TaskKind::kBackground) return;
  if (t->suspended) {
    abort(t);
  } else {
    t->cancelled = true;  // running now: stopped at its next wait
  }
}

}  // namespace rover::lua
