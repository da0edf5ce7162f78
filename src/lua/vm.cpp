#include "lua/vm.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <lua.hpp>

#include "core/dotenv.h"
#include "core/limits.h"
#include "core/log.h"
#include "json/encode.h"
#include "client/http_client.h"
#include "lua/ctx.h"
#include "lua/native.h"
#include "lua/shared.h"

namespace rover::lua::prelude {
extern const std::string_view k_server;
extern const std::string_view k_guard;
extern const std::string_view k_html;
extern const std::string_view k_timers;
extern const std::string_view k_config;
extern const std::string_view k_ctx;
extern const std::string_view k_env;
extern const std::string_view k_http;
extern const std::string_view k_db;
extern const std::string_view k_db_builder;
extern const std::string_view k_db_migrate;
extern const std::string_view k_cookie;
extern const std::string_view k_auth;
extern const std::string_view k_session;
}  // namespace rover::lua::prelude

namespace rover::lua {

void addTaskNatives(lua_State* L, int natives, Vm* vm);  // lua/tasks.cpp
void addIdempotencyNatives(lua_State* L, int natives);   // lua/idempotency.cpp
void addHttpNatives(lua_State* L, int natives, Vm* vm);  // lua/http.cpp
void addPgNatives(lua_State* L, int natives, Vm* vm);    // lua/db_pg.cpp
void addDbNatives(lua_State* L, int natives, Vm* vm);    // lua/db_natives.cpp
void addAuthNatives(lua_State* L, int natives);          // lua/auth.cpp
void addWsNatives(lua_State* L, int natives, Vm* vm);    // lua/ws.cpp
void pushSessionNatives(lua_State* L);                   // lua/session.cpp

namespace {

// Loads an embedded chunk, calls it with `nargs` arguments from the stack
// and leaves its one result. Startup only: a failure is a build defect.
void runPrelude(lua_State* L, std::string_view src, const char* name, int nargs) {
  if (luaL_loadbuffer(L, src.data(), src.size(), name) != 0) {
    throw std::runtime_error(lua_tostring(L, -1));
  }
  lua_insert(L, -(nargs + 1));
  if (lua_pcall(L, nargs, 1, 0) != 0) throw std::runtime_error(lua_tostring(L, -1));
}

// pcall message handler: keeps the error value, records the traceback for the
// DEBUG log line (lua-api.md §8, §12).
int messageHandler(lua_State* L) {
  if (core::logEnabled(core::LogLevel::kDebug)) {
    luaL_traceback(L, L, nullptr, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "rover.traceback");
  }
  return 1;
}

int jsonEncode(lua_State* L) {
  core::Buffer out;
  std::string reason;
  if (!json::encode(L, 1, out, &reason)) {
    lua_pushnil(L);
    lua_pushlstring(L, reason.data(), reason.size());
    return 2;
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

// environment_with_prefix(prefix) -> names, values (rover.config.from_env).
int environmentWithPrefix(lua_State* L) {
  size_t len;
  const char* prefix = luaL_checklstring(L, 1, &len);
  std::vector<core::DotenvEntry> vars = core::environmentWithPrefix({prefix, len});
  lua_createtable(L, static_cast<int>(vars.size()), 0);
  lua_createtable(L, static_cast<int>(vars.size()), 0);
  for (size_t i = 0; i < vars.size(); ++i) {
    lua_pushlstring(L, vars[i].name.data(), vars[i].name.size());
    lua_rawseti(L, -3, static_cast<int>(i + 1));
    lua_pushlstring(L, vars[i].value.data(), vars[i].value.size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  return 2;
}

void pushReasons(lua_State* L) {
  lua_newtable(L);
  for (int code = 100; code < 600; ++code) {
    std::string_view r = http::reasonPhrase(code);
    if (r.empty()) continue;
    lua_pushlstring(L, r.data(), r.size());
    lua_rawseti(L, -2, code);
  }
}

// natives.defaults: the config defaults of core/limits.h, for server.lua.
void pushDefaults(lua_State* L) {
  lua_createtable(L, 0, 8);
  lua_pushlstring(L, core::kDefaultHost.data(), core::kDefaultHost.size());
  lua_setfield(L, -2, "host");
  lua_pushinteger(L, core::kDefaultPort);
  lua_setfield(L, -2, "port");
  lua_pushlstring(L, core::kDefaultLogLevel.data(), core::kDefaultLogLevel.size());
  lua_setfield(L, -2, "log_level");
  lua_pushnumber(L, static_cast<double>(core::kDefaultBodySizeLimit));
  lua_setfield(L, -2, "body_size_limit");
  lua_pushnumber(L, core::kDefaultDrainTimeoutMs / 1000.0);
  lua_setfield(L, -2, "drain_timeout_secs");
  lua_createtable(L, 0, 6);
  const std::pair<const char*, int> timeouts[] = {
      {"head", core::kHeadTimeoutMs}, {"idle", core::kIdleTimeoutMs},
      {"body", core::kBodyTimeoutMs}, {"output", core::kOutputStallTimeoutMs},
      {"linger", core::kLingerMs},    {"handler", core::kHandlerTimeoutMs},
      {"ws_ping", core::kWsPingMs},   {"ws_idle", core::kWsIdleMs}};
  for (auto& [key, ms] : timeouts) {
    lua_pushnumber(L, ms / 1000.0);
    lua_setfield(L, -2, key);
  }
  lua_setfield(L, -2, "timeouts");
}

}  // namespace

// rover's __index(t, key), upvalues the natives and rover.guard: builds a
// lazily loaded module and stores it in `rover` (later reads find it there).
int lazyRoverField(lua_State* L) {
  size_t len;
  const char* key = lua_tolstring(L, 2, &len);
  std::string_view name(key ? key : "", key ? len : 0);
  if (name == "http") {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_getfield(L, lua_upvalueindex(1), "json_encode");
    lua_pushliteral(L, ROVER_VERSION);
    runPrelude(L, prelude::k_http, "=rover.http", 3);
  } else if (name == "db") {
    lua_pushvalue(L, lua_upvalueindex(2));
    runPrelude(L, prelude::k_db_builder, "=rover.db.builder", 1);
    runPrelude(L, prelude::k_db_migrate, "=rover.db.migrate", 1);  // adds to the builder
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, -2);
    runPrelude(L, prelude::k_db, "=rover.db", 2);
  } else if (name == "cookie") {
    runPrelude(L, prelude::k_cookie, "=rover.cookie", 0);
  } else if (name == "auth") {
    lua_pushvalue(L, lua_upvalueindex(1));
    runPrelude(L, prelude::k_auth, "=rover.auth", 1);
  } else if (name == "session") {
    pushSessionNatives(L);
    lua_getfield(L, 1, "cookie");  // built first if it was not yet
    runPrelude(L, prelude::k_session, "=rover.session", 2);
  } else {
    return 0;
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);
  return 1;
}

bool runString(lua_State* L, const std::string& code) {
  bool ok = luaL_dostring(L, code.c_str()) == 0;
  lua_settop(L, 0);
  return ok;
}

Vm::Vm(int worker_id, int worker_count, net::Loop* loop) : worker_id_(worker_id), loop_(loop) {
  L_ = luaL_newstate();
  if (!L_) throw std::runtime_error("cannot create Lua state");
  lua_State* L = L_;
  luaL_openlibs(L);

  // natives: C functions server.lua builds on.
  lua_newtable(L);
  int natives = lua_gettop(L);
  addCtxNatives(L, natives, this);
  lua_pushcfunction(L, native<jsonEncode>);
  lua_setfield(L, natives, "json_encode");
  pushReasons(L);
  lua_setfield(L, natives, "reasons");
  pushDefaults(L);
  lua_setfield(L, natives, "defaults");
  lua_pushcfunction(L, native<messageHandler>);
  lua_setfield(L, natives, "msgh");
  lua_pushcfunction(L, native<environmentWithPrefix>);
  lua_setfield(L, natives, "environment_with_prefix");
  addTaskNatives(L, natives, this);
  addIdempotencyNatives(L, natives);
  addHttpNatives(L, natives, this);
  addPgNatives(L, natives, this);
  addDbNatives(L, natives, this);
  addAuthNatives(L, natives);
  addWsNatives(L, natives, this);
  lua_pushvalue(L, natives);
  natives_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);

  runPrelude(L, prelude::k_guard, "=rover.guard", 0);
  int guard = lua_gettop(L);
  runPrelude(L, prelude::k_html, "=rover.html", 0);
  int html = lua_gettop(L);
  lua_pushvalue(L, natives);
  runPrelude(L, prelude::k_config, "=rover.server.config", 1);
  int config = lua_gettop(L);
  lua_pushvalue(L, natives);
  lua_pushvalue(L, guard);
  lua_pushvalue(L, html);
  lua_pushvalue(L, config);
  runPrelude(L, prelude::k_server, "=rover.server", 4);
  int module = lua_gettop(L);
  lua_pushvalue(L, natives);
  lua_pushvalue(L, guard);
  lua_pushvalue(L, module);
  runPrelude(L, prelude::k_ctx, "=rover.ctx", 3);  // fills the module's ctx part
  lua_pop(L, 1);

  // The global `rover`.
  lua_createtable(L, 0, 8);
  lua_getfield(L, module, "server");
  lua_setfield(L, -2, "server");
  lua_pushvalue(L, guard);
  lua_setfield(L, -2, "guard");
  lua_pushvalue(L, html);
  lua_setfield(L, -2, "html");
  pushSharedTable(L);
  lua_setfield(L, -2, "shared");
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, worker_id);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, worker_count);
  lua_setfield(L, -2, "count");
  lua_setfield(L, -2, "worker");
  lua_pushliteral(L, ROVER_VERSION);
  lua_setfield(L, -2, "version");
  int rover = lua_gettop(L);
  lua_pushvalue(L, natives);
  lua_getfield(L, module, "message_of");
  runPrelude(L, prelude::k_timers, "=rover.timers", 2);
  for (const char* name : {"delay", "spawn", "interval"}) {
    lua_getfield(L, -1, name);
    lua_setfield(L, rover, name);
  }
  lua_pop(L, 1);
  // Modules built on first use (rover.http): an app that never touches them
  // carries none of their Lua objects (the GC traverses every live one).
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, natives);
  lua_pushvalue(L, guard);
  lua_pushcclosure(L, native<lazyRoverField>, 2);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, rover);
  lua_pushvalue(L, natives);
  runPrelude(L, prelude::k_env, "=rover.env", 1);
  lua_getfield(L, -1, "env");
  lua_setfield(L, rover, "env");
  lua_getfield(L, -1, "config");
  lua_setfield(L, rover, "config");
  lua_getfield(L, -1, "set_app_dir");
  set_app_dir_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  lua_setglobal(L, "rover");

  CtxRefs ctx_refs = installCtx(L, module, this);
  ctx_cur_ref_ = ctx_refs.cur;
  dispatch_ref_ = ctx_refs.dispatch;
  lua_getfield(L, module, "RENDERER");
  renderer_mt_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, module, "error_response");
  error_response_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, native<messageHandler>);
  msgh_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, module);
  module_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
}

Vm::~Vm() {
  // Waits of suspended tasks are registered with a loop that may outlive us.
  for (auto& t : tasks_) t->cancelWaits();
  lua_close(L_);
}

Vm* upvalueVm(lua_State* L) { return static_cast<Vm*>(lua_touserdata(L, lua_upvalueindex(1))); }

client::HttpClient* Vm::httpClient(bool allow_private) {
  std::unique_ptr<client::HttpClient>& c = http_[allow_private ? 1 : 0];
  if (!c) c = std::make_unique<client::HttpClient>(loop_);
  return c.get();
}

void Vm::callHook(const char* name) {
  lua_State* L = L_;
  if (root_ref_ < 0) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, root_ref_);
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_settop(L, 0);
    return;
  }
  std::string& label = hook_labels_.emplace_back(fmt::format("{} hook", name));
  spawn(label.c_str());
  lua_settop(L, 0);
}

}  // namespace rover::lua
