#include "lua/vm.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <lua.hpp>

#include "core/limits.h"
#include "core/log.h"
#include "json/encode.h"
#include "lua/ctx.h"
#include "lua/shared.h"

namespace rover::lua::prelude {
extern const std::string_view k_server;
extern const std::string_view k_guard;
extern const std::string_view k_html;
extern const std::string_view k_timers;
}  // namespace rover::lua::prelude

namespace rover::lua {

void addTaskNatives(lua_State* L, int natives, Vm* vm);  // lua/tasks.cpp

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
      {"head", core::kHeadTimeoutMs},          {"idle", core::kIdleTimeoutMs},
      {"body", core::kBodyTimeoutMs},          {"output", core::kOutputStallTimeoutMs},
      {"linger", core::kLingerMs},             {"handler", core::kHandlerTimeoutMs}};
  for (auto& [key, ms] : timeouts) {
    lua_pushnumber(L, ms / 1000.0);
    lua_setfield(L, -2, key);
  }
  lua_setfield(L, -2, "timeouts");
}

void setPackagePath(lua_State* L, const std::string& app_path) {
  std::string dir = ".";
  size_t slash = app_path.rfind('/');
  if (slash != std::string::npos) dir = slash == 0 ? "/" : app_path.substr(0, slash);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  std::string path = fmt::format("{0}/?.lua;{0}/?/init.lua;{1}", dir, lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushlstring(L, path.data(), path.size());
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

void setArgs(lua_State* L, const AppArgs& args) {
  lua_createtable(L, static_cast<int>(args.extra.size()), 1);
  lua_pushlstring(L, args.path.data(), args.path.size());
  lua_rawseti(L, -2, 0);
  for (size_t i = 0; i < args.extra.size(); ++i) {
    lua_pushlstring(L, args.extra[i].data(), args.extra[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_setglobal(L, "arg");
}

}  // namespace

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
  lua_pushcfunction(L, jsonEncode);
  lua_setfield(L, natives, "json_encode");
  pushReasons(L);
  lua_setfield(L, natives, "reasons");
  pushDefaults(L);
  lua_setfield(L, natives, "defaults");
  addTaskNatives(L, natives, this);

  runPrelude(L, prelude::k_guard, "=rover.guard", 0);
  int guard = lua_gettop(L);
  runPrelude(L, prelude::k_html, "=rover.html", 0);
  int html = lua_gettop(L);
  lua_pushvalue(L, natives);
  lua_pushvalue(L, guard);
  lua_pushvalue(L, html);
  runPrelude(L, prelude::k_server, "=rover.server", 3);
  int module = lua_gettop(L);

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
  lua_setglobal(L, "rover");

  CtxRefs ctx_refs = installCtx(L, module, this);
  ctx_cur_ref_ = ctx_refs.cur;
  dispatch_ref_ = ctx_refs.dispatch;
  lua_getfield(L, module, "RENDERER");
  renderer_mt_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, module, "error_response");
  error_response_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, messageHandler);
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

LoadResult Vm::load(const AppArgs& args, std::string* error) {
  lua_State* L = L_;
  FILE* f = std::fopen(args.path.c_str(), "rb");
  if (!f) {
    *error = fmt::format("❌ Error: cannot read app file '{}': {}", args.path, std::strerror(errno));
    return LoadResult::kFailed;
  }
  std::fclose(f);
  setPackagePath(L, args.path);
  setArgs(L, args);
  lua_rawgeti(L, LUA_REGISTRYINDEX, msgh_ref_);
  int msgh = lua_gettop(L);
  int rc = luaL_loadfile(L, args.path.c_str());
  if (rc == LUA_ERRFILE) {
    *error = fmt::format("❌ Error: cannot read app file '{}': {}", args.path, lua_tostring(L, -1));
    lua_settop(L, 0);
    return LoadResult::kFailed;
  }
  if (rc == 0) rc = lua_pcall(L, 0, 1, msgh);
  if (rc != 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref_);
    lua_getfield(L, -1, "message_of");
    lua_pushvalue(L, -3);
    lua_pcall(L, 1, 1, 0);
    const char* msg = lua_tostring(L, -1);
    *error = fmt::format("❌ Error loading {}:\n{}", args.path, msg ? msg : "unknown error");
    lua_settop(L, 0);
    return LoadResult::kFailed;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref_);
  lua_getfield(L, -1, "is_root");
  lua_pushvalue(L, -3);
  lua_call(L, 1, 1);
  bool is_server = lua_toboolean(L, -1);
  if (is_server) {
    lua_pushvalue(L, -3);
    root_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_settop(L, 0);
  return is_server ? LoadResult::kServer : LoadResult::kScript;
}

bool Vm::readConfig(const ConfigOverrides& ov, ServerConfig* out, std::string* error) {
  lua_State* L = L_;
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref_);
  lua_getfield(L, -1, "validate_config");
  lua_rawgeti(L, LUA_REGISTRYINDEX, root_ref_);
  lua_newtable(L);
  if (ov.host) {
    lua_pushlstring(L, ov.host->data(), ov.host->size());
    lua_setfield(L, -2, "host");
  }
  if (ov.port) {
    lua_pushnumber(L, static_cast<double>(*ov.port));
    lua_setfield(L, -2, "port");
  }
  if (ov.workers) {
    lua_pushnumber(L, static_cast<double>(*ov.workers));
    lua_setfield(L, -2, "workers");
  }
  if (lua_pcall(L, 2, 1, 0) != 0) {
    *error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "invalid config";
    lua_settop(L, 0);
    return false;
  }
  int t = lua_gettop(L);
  lua_getfield(L, t, "host");
  out->host = lua_tostring(L, -1);
  lua_getfield(L, t, "port");
  out->port = static_cast<int>(lua_tonumber(L, -1));
  lua_getfield(L, t, "log_level");
  out->log_level = lua_tostring(L, -1);
  lua_getfield(L, t, "workers");
  out->workers = static_cast<int>(lua_tonumber(L, -1));
  lua_getfield(L, t, "expose_errors");
  out->expose_errors = lua_toboolean(L, -1);
  lua_getfield(L, t, "body_size_limit");
  out->body_size_limit = static_cast<int64_t>(lua_tonumber(L, -1));
  lua_getfield(L, t, "drain_timeout_secs");
  out->drain_timeout_secs = lua_tonumber(L, -1);
  lua_getfield(L, t, "timeouts");
  const std::pair<const char*, double*> timeouts[] = {{"head", &out->head_timeout},
                                                      {"idle", &out->idle_timeout},
                                                      {"body", &out->body_timeout},
                                                      {"output", &out->output_timeout},
                                                      {"linger", &out->linger},
                                                      {"handler", &out->handler_timeout}};
  for (auto& [key, field] : timeouts) {
    lua_getfield(L, -1, key);
    *field = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getfield(L, t, "unknown");
  for (int i = 1, n = static_cast<int>(lua_objlen(L, -1)); i <= n; ++i) {
    lua_rawgeti(L, -1, i);
    out->unknown_keys.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  expose_errors_ = out->expose_errors;
  lua_settop(L, 0);
  return true;
}

bool Vm::buildRoutes(router::Router& router, std::vector<RouteInfo>* routes, std::string* error) {
  lua_State* L = L_;
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref_);
  lua_getfield(L, -1, "collect_routes");
  lua_rawgeti(L, LUA_REGISTRYINDEX, root_ref_);
  if (lua_pcall(L, 1, 1, 0) != 0) {
    *error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "invalid route tree";
    lua_settop(L, 0);
    return false;
  }
  int list = lua_gettop(L);
  for (int i = 1, n = static_cast<int>(lua_objlen(L, list)); i <= n; ++i) {
    lua_rawgeti(L, list, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    auto method = router::parseMethod(lua_tostring(L, -2));
    std::string pattern = lua_tostring(L, -1);
    lua_rawgeti(L, -3, 3);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    int id = static_cast<int>(handler_refs_.size());
    handler_refs_.push_back(ref);
    std::string err = router.add(*method, pattern, id);
    if (!err.empty()) {
      *error = err;
      lua_settop(L, 0);
      return false;
    }
    if (routes) routes->push_back({*method, pattern});
    lua_pop(L, 3);
  }
  lua_settop(L, 0);
  return true;
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
