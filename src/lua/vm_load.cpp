// Loading an app into a Vm (lua-api.md §1.2-§1.3, §2, §4): running the app
// chunk with its package path and `arg`, validating the returned server's
// config (server.lua's validate_config), and walking the route tree into the
// router. Startup only; the request-time half of the Vm is in vm.cpp,
// tasks.cpp and respond.cpp.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <lua.hpp>

#include "lua/vm.h"

namespace rover::lua::prelude {
extern const std::string_view k_openapi;
extern const std::string_view k_ws;
}

namespace rover::lua {
namespace {

std::string appDir(const std::string& app_path) {
  size_t slash = app_path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : app_path.substr(0, slash);
}

// lua-api.md §1.2: modules next to the app, then the LuaRocks tree
// <app dir>/lua_modules (what `luarocks --lua-version 5.1 --tree lua_modules`
// installs), then LuaJIT's defaults.
void setPackagePath(lua_State* L, const std::string& app_path) {
  std::string dir = appDir(app_path);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  std::string path = fmt::format(
      "{0}/?.lua;{0}/?/init.lua;{0}/lua_modules/share/lua/5.1/?.lua;"
      "{0}/lua_modules/share/lua/5.1/?/init.lua;{1}",
      dir, lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushlstring(L, path.data(), path.size());
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "cpath");
  std::string cpath = fmt::format("{0}/lua_modules/lib/lua/5.1/?.so;{1}", dir, lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushlstring(L, cpath.data(), cpath.size());
  lua_setfield(L, -2, "cpath");
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

// Array of strings at t[key] -> out.
void readStrings(lua_State* L, int t, const char* key, std::vector<std::string>* out) {
  lua_getfield(L, t, key);
  if (lua_type(L, -1) == LUA_TTABLE) {
    for (int i = 1, n = static_cast<int>(lua_objlen(L, -1)); i <= n; ++i) {
      lua_rawgeti(L, -1, i);
      if (const char* s = lua_tostring(L, -1)) out->emplace_back(s);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

bool readBool(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  bool v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

std::string readString(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  size_t len = 0;
  const char* s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : nullptr;
  std::string v = s ? std::string(s, len) : std::string();
  lua_pop(L, 1);
  return v;
}

double readNumber(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

ServerConfig::RateRule readRateRule(lua_State* L, int t) {
  ServerConfig::RateRule r;
  r.requests_per_window = readNumber(L, t, "requests_per_window");
  r.window_secs = readNumber(L, t, "window_secs");
  r.key_header = readString(L, t, "key_header");
  r.path_pattern = readString(L, t, "path_pattern");
  return r;
}

// What prelude/config.lua's C.pipeline normalized (server-features.md §0.2).
void readPipeline(lua_State* L, int t, ServerConfig* out) {
  out->security_headers = readBool(L, t, "security_headers");
  out->allow_insecure_security_header_overrides =
      readBool(L, t, "allow_insecure_security_header_overrides");
  out->https_redirect = readBool(L, t, "https_redirect");
  lua_getfield(L, t, "cors");
  if (lua_type(L, -1) == LUA_TTABLE) {
    int c = lua_gettop(L);
    out->cors = true;
    readStrings(L, c, "origins", &out->cors_origins);
    out->cors_methods = readString(L, c, "methods");
    out->cors_headers = readString(L, c, "headers");
    out->cors_credentials = readBool(L, c, "credentials");
  }
  lua_pop(L, 1);
  lua_getfield(L, t, "trusted_proxies");
  for (int i = 1, n = static_cast<int>(lua_objlen(L, -1)); i <= n; ++i) {
    lua_rawgeti(L, -1, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    out->trusted_proxies.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 3);
  }
  lua_pop(L, 1);
  readStrings(L, t, "readiness_down", &out->readiness_down);
  out->docs = readBool(L, t, "docs");
  out->metrics = readBool(L, t, "metrics");
  out->management_prefix = readString(L, t, "management_prefix");
  out->management_token = readString(L, t, "management_token");
  out->allow_unauthenticated_management = readBool(L, t, "allow_unauthenticated_management");
  lua_getfield(L, t, "compress");
  if (lua_type(L, -1) == LUA_TTABLE) {
    int c = lua_gettop(L);
    out->compress = true;
    readStrings(L, c, "algorithms", &out->compress_algorithms);
    out->compress_min_size = static_cast<int64_t>(readNumber(L, c, "min_size"));
    readStrings(L, c, "types", &out->compress_types);
  }
  lua_pop(L, 1);
  lua_getfield(L, t, "rate_limit");
  if (lua_type(L, -1) == LUA_TTABLE) {
    int r = lua_gettop(L);
    out->rate_limit = true;
    lua_getfield(L, r, "global");
    out->rate_global = readRateRule(L, lua_gettop(L));
    lua_pop(L, 1);
    lua_getfield(L, r, "scoped");
    for (int i = 1, n = static_cast<int>(lua_objlen(L, -1)); i <= n; ++i) {
      lua_rawgeti(L, -1, i);
      out->rate_scoped.push_back(readRateRule(L, lua_gettop(L)));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

}  // namespace

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
  lua_rawgeti(L, LUA_REGISTRYINDEX, set_app_dir_ref_);
  std::string dir = appDir(args.path);
  lua_pushlstring(L, dir.data(), dir.size());
  lua_call(L, 1, 0);
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
  const std::pair<const char*, double*> timeouts[] = {
      {"head", &out->head_timeout}, {"idle", &out->idle_timeout},
      {"body", &out->body_timeout}, {"output", &out->output_timeout},
      {"linger", &out->linger},     {"handler", &out->handler_timeout},
      {"ws_ping", &out->ws_ping},   {"ws_idle", &out->ws_idle}};
  for (auto& [key, field] : timeouts) {
    lua_getfield(L, -1, key);
    *field = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  readStrings(L, t, "unknown", &out->unknown_keys);
  readStrings(L, t, "strict_errors", &out->strict_errors);
  readPipeline(L, t, out);
  expose_errors_ = out->expose_errors;
  lua_settop(L, 0);
  return true;
}

bool Vm::buildRoutes(router::Router& router, std::vector<RouteInfo>* routes, std::string* error,
                     router::Router* ws_router) {
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
  lua_pushvalue(L, list);
  routes_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  for (int i = 1, n = static_cast<int>(lua_objlen(L, list)); i <= n; ++i) {
    lua_rawgeti(L, list, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    auto method = router::parseMethod(lua_tostring(L, -2));
    std::string pattern = lua_tostring(L, -1);
    lua_rawgeti(L, -3, 6);  // the handler with its middleware
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
  bool ok = !ws_router || buildWsRoutes(list, *ws_router, routes, error);
  lua_settop(L, 0);
  return ok;
}

// The WebSocket endpoints of the route list at `list` (runtime-modules.md
// §7): prelude/ws.lua is loaded only for an app that has one; each endpoint's
// function runs now, and its join step is a GET handler of `ws_router`.
bool Vm::buildWsRoutes(int list, router::Router& ws_router, std::vector<RouteInfo>* routes,
                       std::string* error) {
  lua_State* L = L_;
  lua_getfield(L, list, "ws");
  int ws = lua_gettop(L);
  int n = static_cast<int>(lua_objlen(L, ws));
  if (n == 0) return true;
  const int first_id = static_cast<int>(handler_refs_.size());
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref_);
  lua_getfield(L, -1, "ws_handlers");
  lua_pushvalue(L, list);
  const std::string_view src = prelude::k_ws;
  if (luaL_loadbuffer(L, src.data(), src.size(), "=rover.ws") != 0) {
    *error = lua_tostring(L, -1);
    return false;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, natives_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref_);
  if (lua_pcall(L, 2, 1, 0) != 0) {
    *error = lua_tostring(L, -1);
    return false;
  }
  lua_getfield(L, -1, "dispatch");
  ws_dispatch_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushinteger(L, first_id);
  if (lua_pcall(L, 3, 1, 0) != 0) {
    *error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "invalid WebSocket endpoint";
    return false;
  }
  int handlers = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    lua_rawgeti(L, ws, i);
    lua_rawgeti(L, -1, 1);
    std::string pattern = lua_tostring(L, -1);
    lua_pop(L, 2);
    lua_rawgeti(L, handlers, i);
    int id = static_cast<int>(handler_refs_.size());
    handler_refs_.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
    std::string err = ws_router.add(router::Method::kGet, pattern, id);
    if (!err.empty()) {
      *error = err;
      return false;
    }
    if (routes) routes->push_back({router::Method::kGet, pattern, true});
  }
  return true;
}

}  // namespace rover::lua

namespace rover::lua {

std::vector<StaticMountInfo> Vm::staticMounts() {
  std::vector<StaticMountInfo> out;
  lua_State* L = L_;
  if (routes_ref_ < 0) return out;
  lua_rawgeti(L, LUA_REGISTRYINDEX, routes_ref_);
  lua_getfield(L, -1, "mounts");
  for (int i = 1, n = static_cast<int>(lua_objlen(L, -1)); i <= n; ++i) {
    lua_rawgeti(L, -1, i);
    StaticMountInfo m;
    lua_rawgeti(L, -1, 1);
    m.prefix = lua_tostring(L, -1);
    lua_rawgeti(L, -2, 2);
    m.dir = lua_tostring(L, -1);
    lua_rawgeti(L, -3, 3);
    if (lua_type(L, -1) == LUA_TSTRING) m.cache = lua_tostring(L, -1);
    lua_pop(L, 4);
    out.push_back(std::move(m));
  }
  lua_settop(L, 0);
  return out;
}

bool Vm::buildDocs(std::string* json, std::string* html, std::string* error) {
  lua_State* L = L_;
  const std::string_view src = prelude::k_openapi;
  if (routes_ref_ < 0) return false;
  if (luaL_loadbuffer(L, src.data(), src.size(), "=rover.openapi") != 0) {
    *error = lua_tostring(L, -1);
    lua_settop(L, 0);
    return false;
  }
  lua_getglobal(L, "rover");
  lua_getfield(L, -1, "guard");
  lua_remove(L, -2);
  static const char kBuild[] =
      "local O, routes = ...\n"
      "local list = {}\n"
      "for i, r in ipairs(routes) do\n"
      "  list[i] = { method = r[1], pattern = r[2], handler = r[3] }\n"
      "end\n"
      "local json, doc = O.build(list)\n"
      "return json, O.docs_html(doc, json)\n";
  if (lua_pcall(L, 1, 1, 0) != 0 || luaL_loadbuffer(L, kBuild, sizeof kBuild - 1, "=rover.docs")) {
    *error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot build the OpenAPI document";
    lua_settop(L, 0);
    return false;
  }
  lua_insert(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, routes_ref_);
  if (lua_pcall(L, 2, 2, 0) != 0) {
    *error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot build the OpenAPI document";
    lua_settop(L, 0);
    return false;
  }
  size_t len;
  const char* s = lua_tolstring(L, -2, &len);
  json->assign(s ? s : "", s ? len : 0);
  s = lua_tolstring(L, -1, &len);
  html->assign(s ? s : "", s ? len : 0);
  lua_settop(L, 0);
  return true;
}

}  // namespace rover::lua
