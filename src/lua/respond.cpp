// Turning a handler's return value or raised error into a response value
// (lua-api.md §7, §8; http::Response). Views into Lua strings stay valid while
// the task's results are on its stack, i.e. until Vm::release(); JSON bodies
// are encoded into the Vm's scratch buffer.
#include <fmt/format.h>

#include <lua.hpp>

#include "core/log.h"
#include "json/encode.h"
#include "lua/ctx.h"
#include "lua/vm.h"

namespace rover::lua {
namespace {

bool isServerOnlyHeader(std::string_view name) {
  static constexpr std::string_view kServerOnly[] = {
      "content-length", "transfer-encoding", "connection", "keep-alive",
      "upgrade",        "trailer",           "te",         "date"};
  for (std::string_view s : kServerOnly) {
    if (http::equalsIgnoreCase(name, s)) return true;
  }
  return false;
}

std::string_view toView(lua_State* L, int idx) {
  size_t len;
  const char* s = lua_tolstring(L, idx, &len);
  return s ? std::string_view(s, len) : std::string_view{};
}

bool metatableIs(lua_State* L, int idx, int ref) {
  if (!lua_getmetatable(L, idx)) return false;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

// App headers of a response object (slot 5): array of { name, value }.
// Returns true when the app set its own Content-Type. The strings stay alive
// in the response object's tables.
bool addAppHeaders(lua_State* L, int list, http::Response& out) {
  bool has_ct = false;
  for (int i = 1, n = static_cast<int>(lua_objlen(L, list)); i <= n; ++i) {
    lua_rawgeti(L, list, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    std::string_view name = toView(L, -2);
    if (!isServerOnlyHeader(name)) {
      if (http::equalsIgnoreCase(name, "content-type")) has_ct = true;
      if (lua_type(L, -1) == LUA_TTABLE) {
        for (int j = 1, m = static_cast<int>(lua_objlen(L, -1)); j <= m; ++j) {
          lua_rawgeti(L, -1, j);
          out.addHeader(name, toView(L, -1));
          lua_pop(L, 1);
        }
      } else {
        out.addHeader(name, toView(L, -1));
      }
    }
    lua_pop(L, 3);
  }
  return has_ct;
}

}  // namespace

void Vm::fillJsonError(int status, std::string_view message, http::Response& out) {
  scratch_.clear();
  scratch_.append("{\"error\":");
  json::encodeString(message, scratch_);
  scratch_.push_back('}');
  out.reset(status, http::kJson, scratch_.view());
}

void Vm::fill500(std::string_view message, RequestInfo& info, http::Response& out) {
  if (core::logEnabled(core::LogLevel::kError)) {
    std::string_view id = requestId(info);
    core::logLine(core::LogLevel::kError, fmt::format("[{}] {} {} - {}", id, info.request->method,
                                                      info.request->path, message));
  }
  fillJsonError(500, expose_errors_ ? message : "Internal Server Error", out);
}

void Vm::fillResult(lua_State* L, int idx, RequestInfo& info, http::Response& out) {
  std::string reason;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
      out.reset(204);
      return;
    case LUA_TSTRING:
    case LUA_TNUMBER:
      out.reset(200, http::kTextPlain, toView(L, idx));
      return;
    case LUA_TBOOLEAN:
      out.reset(200, http::kTextPlain, lua_toboolean(L, idx) ? "true" : "false");
      return;
    case LUA_TTABLE:
      break;
    default:
      fill500(fmt::format("Unsupported return type: {}", lua_typename(L, lua_type(L, idx))), info,
              out);
      return;
  }
  if (metatableIs(L, idx, renderer_mt_ref_)) {
    fill500("api.html: template missing", info, out);
    return;
  }
  scratch_.clear();
  if (!json::encode(L, idx, scratch_, &reason)) {
    fill500("Failed to serialize response: " + reason, info, out);
    return;
  }
  out.reset(200, http::kJson, scratch_.view());
}

void Vm::fillResponseObject(lua_State* L, int first, RequestInfo& info, http::Response& out) {
  const int ctype = first + 1, kind_idx = first + 2, payload = first + 3, headers = first + 4;
  const double number = lua_tonumber(L, first);
  if (!(number >= 100 && number <= 999)) {  // builders check; a forged object may not
    fill500("invalid response object", info, out);
    return;
  }
  const int code = static_cast<int>(number);
  std::string_view kind = lua_type(L, kind_idx) == LUA_TSTRING ? toView(L, kind_idx) : "";
  std::string_view body;
  if (kind == "j") {
    std::string reason;
    scratch_.clear();
    if (!json::encode(L, payload, scratch_, &reason)) {
      fill500("Failed to serialize response: " + reason, info, out);
      return;
    }
    body = scratch_.view();
  } else if (kind == "s") {
    body = toView(L, payload);
  }
  out.reset(code, {}, body);
  if (kind == "p") out.body_kind = http::BodyKind::kProducer;  // Vm::startStream takes it
  bool app_ct = lua_type(L, headers) == LUA_TTABLE && addAppHeaders(L, headers, out);
  if (!app_ct && lua_type(L, ctype) == LUA_TSTRING) out.content_type = toView(L, ctype);
}

void Vm::fillErrorValue(lua_State* L, int idx, RequestInfo& info, http::Response& out) {
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, error_response_ref_);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, expose_errors_);
  if (lua_pcall(L, 2, 3, 0) != 0) {
    lua_settop(L, top);
    fill500("unknown error", info, out);
    return;
  }
  int code = static_cast<int>(lua_tonumber(L, top + 1));
  if (code == 500) {
    std::string_view message = toView(L, top + 3);
    if (core::logEnabled(core::LogLevel::kError)) {
      core::logLine(core::LogLevel::kError,
                    fmt::format("[{}] {} {} - {}", requestId(info), info.request->method,
                                info.request->path, message));
    }
    if (core::logEnabled(core::LogLevel::kDebug)) {
      lua_getfield(L, LUA_REGISTRYINDEX, "rover.traceback");
      if (lua_type(L, -1) == LUA_TSTRING) core::logLine(core::LogLevel::kDebug, toView(L, -1));
      lua_pop(L, 1);
    }
  }
  scratch_.clear();
  std::string reason;
  if (!json::encode(L, top + 2, scratch_, &reason)) {
    scratch_.clear();
    scratch_.append("{\"error\":\"Internal Server Error\"}");
  }
  out.reset(code, http::kJson, scratch_.view());
  lua_settop(L, top);
}

// After a request task's run is over its coroutine's stack holds what
// dispatch returned:
//   true, status, content type, kind, payload, headers  (a response object)
//   false, value                                        (any other value)
// or, when the handler raised (t->failed), the error value on top.
int Vm::respond(Task* t, http::Response* out) {
  lua_State* L = t->co;
  RequestInfo& info = *t->info;
  if (t->failed) {
    clearCurrentCtx(L_);  // dispatch did not get to clear it
    // error mapping calls Lua: on the main state, not the dead coroutine
    int top = lua_gettop(L_);
    lua_xmove(L, L_, 1);
    fillErrorValue(L_, top + 1, info, *out);
    lua_settop(L_, top);
  } else if (lua_toboolean(L, 1)) {
    fillResponseObject(L, 2, info, *out);
  } else {
    fillResult(L, 2, info, *out);
  }
  return out->status;
}

}  // namespace rover::lua
