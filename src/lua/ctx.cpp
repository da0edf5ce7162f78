#include "lua/ctx.h"

#include <fmt/format.h>

#include <cstring>
#include <lua.hpp>
#include <string>

#include "core/log.h"
#include "core/request_id.h"
#include "http/multipart.h"
#include "http/query.h"
#include "http/response.h"
#include "http/text.h"
#include "json/decode.h"
#include "lua/native.h"

namespace rover::lua {
namespace {

constexpr char kDead[] = "request context is no longer valid";

constexpr int kTypeCdata = 10;  // LuaJIT's lua_type() of an FFI cdata

[[noreturn]] void raiseDead(lua_State* L) {
  luaL_error(L, kDead);
  __builtin_unreachable();
}

// Every ctx native has the Vm as upvalue 1.
inline Task* checkCtxTask(lua_State* L, int idx) {
  // lua_topointer gives a cdata's payload (NULL or another object's address
  // for anything else, which the type check rules out first)
  if (lua_type(L, idx) != kTypeCdata) raiseDead(L);
  auto* h = static_cast<const CtxHandle*>(lua_topointer(L, idx));
  auto* vm = static_cast<Vm*>(lua_touserdata(L, lua_upvalueindex(1)));
  Task* t = h->magic == kCtxMagic ? vm->taskAt(h->slot) : nullptr;
  if (!t || t->generation != h->generation || !t->info) raiseDead(L);
  return t;
}

RequestInfo* checkCtx(lua_State* L, int idx) { return checkCtxTask(L, idx)->info; }

void pushLower(lua_State* L, std::string_view s) {
  char small[128];
  std::string big;
  char* p = small;
  if (s.size() > sizeof small) {
    big.resize(s.size());
    p = big.data();
  }
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    p[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  }
  lua_pushlstring(L, p, s.size());
}

bool isForwardingHeader(std::string_view lower) {
  return lower == "forwarded" || lower.rfind("x-forwarded-", 0) == 0;
}

// Case-insensitive lookups on the headers table: lower-case the key.
int headersIndex(lua_State* L) {
  size_t len;
  const char* k = lua_tolstring(L, 2, &len);
  if (!k || lua_type(L, 2) != LUA_TSTRING) return 0;
  pushLower(L, {k, len});
  lua_rawget(L, 1);
  return 1;
}

int ctxHeaders(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  const http::Request& r = *info->request;
  lua_createtable(L, 0, static_cast<int>(r.header_count));
  int t = lua_gettop(L);
  for (size_t i = 0; i < r.header_count; ++i) {
    pushLower(L, r.headers[i].name);
    size_t nlen;
    const char* lname = lua_tolstring(L, -1, &nlen);
    if (!info->trusted_peer && isForwardingHeader({lname, nlen})) {  // server-features.md §3
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -1);
    lua_rawget(L, t);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushlstring(L, r.headers[i].value.data(), r.headers[i].value.size());
    } else {
      const char* sep = std::string_view(lname, nlen) == "cookie" ? "; " : ", ";
      lua_pushstring(L, sep);
      lua_pushlstring(L, r.headers[i].value.data(), r.headers[i].value.size());
      lua_concat(L, 3);
    }
    lua_rawset(L, t);
  }
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_setmetatable(L, t);
  return 1;
}

int ctxQuery(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  lua_newtable(L);
  int t = lua_gettop(L);
  http::forEachQueryPair(info->request->query, [&](std::string_view k, std::string_view v) {
    lua_pushlstring(L, k.data(), k.size());
    lua_pushlstring(L, v.data(), v.size());
    lua_rawset(L, t);
  });
  return 1;
}

int ctxParams(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  const router::Param* params = info->params;
  lua_createtable(L, 0, static_cast<int>(info->param_count));
  thread_local std::string decoded;  // reused: no allocation per call
  for (size_t i = 0; i < info->param_count; ++i) {
    lua_pushlstring(L, params[i].name.data(), params[i].name.size());
    if (http::decodePathParam(params[i].raw, &decoded)) {
      lua_pushlstring(L, decoded.data(), decoded.size());
    } else {  // the router only matches valid encodings
      lua_pushlstring(L, params[i].raw.data(), params[i].raw.size());
    }
    lua_rawset(L, -3);
  }
  return 1;
}

int ctxRequestId(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  std::string_view id = requestId(*info);
  lua_pushlstring(L, id.data(), id.size());
  return 1;
}

// log_request_error(ctx, message): an app error logged like a handler's
// (lua-api.md §12): "[id] METHOD path - message", the traceback at DEBUG.
int logRequestError(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  size_t len;
  const char* msg = luaL_checklstring(L, 2, &len);
  if (core::logEnabled(core::LogLevel::kError)) {
    core::logLine(core::LogLevel::kError,
                  fmt::format("[{}] {} {} - {}", requestId(*info), info->request->method,
                              info->request->path, std::string_view(msg, len)));
  }
  if (core::logEnabled(core::LogLevel::kDebug)) {
    lua_getfield(L, LUA_REGISTRYINDEX, "rover.traceback");
    if (lua_type(L, -1) == LUA_TSTRING) {
      core::logLine(core::LogLevel::kDebug, lua_tostring(L, -1));
    }
    lua_pop(L, 1);
  }
  return 0;
}

int ctxCheck(lua_State* L) {
  checkCtx(L, 1);
  return 0;
}

// ctx:set(key, value) / ctx:get(key): one table per request, made on first set.
int ctxSet(lua_State* L) {
  Task* t = checkCtxTask(L, 1);
  lua_settop(L, 3);
  if (t->store_ref == LUA_NOREF) {
    lua_newtable(L);
    t->store_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->store_ref);
  lua_insert(L, 2);
  lua_settable(L, 2);
  return 0;
}

int ctxGet(lua_State* L) {
  Task* t = checkCtxTask(L, 1);
  if (t->store_ref == LUA_NOREF) {
    lua_pushnil(L);
    return 1;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->store_ref);
  lua_pushvalue(L, 2);
  lua_gettable(L, -2);
  return 1;
}

int ctxHasBody(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  lua_pushboolean(L, !info->request->body.empty());
  return 1;
}

int bodyText(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  std::string_view b = info->request->body;
  lua_pushlstring(L, b.data(), b.size());
  return 1;
}

int bodyBytes(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  std::string_view b = info->request->body;
  lua_createtable(L, static_cast<int>(b.size()), 0);
  for (size_t i = 0; i < b.size(); ++i) {
    lua_pushinteger(L, static_cast<unsigned char>(b[i]));
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  return 1;
}

bool isJsonMediaType(std::string_view media) {
  return http::equalsIgnoreCase(media, "application/json") ||
         (media.size() >= 5 && http::equalsIgnoreCase(media.substr(media.size() - 5), "+json"));
}

bool hasContentType(const http::Request& r, std::string_view* value) {
  for (size_t i = 0; i < r.header_count; ++i) {
    if (http::equalsIgnoreCase(r.headers[i].name, "content-type")) {
      *value = r.headers[i].value;
      return true;
    }
  }
  return false;
}

// Returns (true, value, is_object) or (false, status, message).
int bodyJson(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  const http::Request& r = *info->request;
  std::string_view ct;
  if (hasContentType(r, &ct)) {
    std::string_view media = http::mediaType(ct);
    if (!isJsonMediaType(media)) {
      lua_pushboolean(L, 0);
      lua_pushinteger(L, 415);
      std::string msg = "Unsupported Media Type (415): expected application/json, got ";
      for (char c : media) msg.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c));
      lua_pushlstring(L, msg.data(), msg.size());
      return 3;
    }
  }
  std::string detail;  // stays empty (no allocation) unless decoding fails
  lua_pushboolean(L, 1);
  if (!json::decode(L, r.body, &detail)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
    lua_pushinteger(L, 400);
    std::string msg = "Invalid JSON in request body: " + detail;
    lua_pushlstring(L, msg.data(), msg.size());
    return 3;
  }
  size_t i = 0;
  while (i < r.body.size() &&
         (r.body[i] == ' ' || r.body[i] == '\t' || r.body[i] == '\n' || r.body[i] == '\r')) {
    ++i;
  }
  lua_pushboolean(L, i < r.body.size() && r.body[i] == '{');
  return 3;
}

// body_form(ctx, files_wanted) -> true, fields, files  |  false, status, message
// (server-features.md §16 uploads). fields: { name = value } (last wins);
// files: { field = { { name, size, type, data }, ... } }. multipart/form-data
// parts are views into the body until pushed (each file's bytes are copied
// once, into its Lua string); application/x-www-form-urlencoded bodies are
// decoded like a query (lua-api.md §6.2) when files are not wanted.
int bodyForm(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  bool files_wanted = lua_toboolean(L, 2);
  const http::Request& r = *info->request;
  std::string_view ct;
  hasContentType(r, &ct);
  auto fail = [&](int status, std::string_view message) {
    lua_pushboolean(L, 0);
    lua_pushinteger(L, status);
    lua_pushlstring(L, message.data(), message.size());
    return 3;
  };
  if (!files_wanted && http::isUrlencodedForm(ct)) {
    lua_pushboolean(L, 1);
    lua_newtable(L);
    int t = lua_gettop(L);
    http::forEachQueryPair(r.body, [&](std::string_view k, std::string_view v) {
      lua_pushlstring(L, k.data(), k.size());
      lua_pushlstring(L, v.data(), v.size());
      lua_rawset(L, t);
    });
    lua_newtable(L);
    return 3;
  }
  std::string_view boundary;
  http::FormError err = http::multipartBoundary(ct, &boundary);
  if (err == http::FormError::kNotMultipart) {
    std::string msg = files_wanted
                          ? "Unsupported Media Type (415): expected multipart/form-data, got "
                          : "Unsupported Media Type (415): expected multipart/form-data or "
                            "application/x-www-form-urlencoded, got ";
    for (char c : http::mediaType(ct)) msg.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c));
    return fail(415, msg);
  }
  thread_local std::vector<http::FormPart> parts;
  thread_local std::string scratch;
  if (err == http::FormError::kNone) {
    err = http::parseMultipart(r.body, boundary, http::MultipartLimits{}, &parts, &scratch);
  }
  if (err != http::FormError::kNone) {
    return fail(http::formErrorStatus(err), http::formErrorMessage(err));
  }
  lua_pushboolean(L, 1);
  lua_newtable(L);
  int fields = lua_gettop(L);
  lua_newtable(L);
  int files = lua_gettop(L);
  for (const http::FormPart& p : parts) {
    if (!p.has_filename) {
      lua_pushlstring(L, p.name.data(), p.name.size());
      lua_pushlstring(L, p.data.data(), p.data.size());
      lua_rawset(L, fields);
      continue;
    }
    lua_pushlstring(L, p.name.data(), p.name.size());
    lua_rawget(L, files);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushlstring(L, p.name.data(), p.name.size());
      lua_pushvalue(L, -2);
      lua_rawset(L, files);
    }
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, p.filename.data(), p.filename.size());
    lua_setfield(L, -2, "name");
    lua_pushnumber(L, static_cast<double>(p.data.size()));
    lua_setfield(L, -2, "size");
    std::string_view type = p.content_type.empty() ? http::kOctetStream : p.content_type;
    lua_pushlstring(L, type.data(), type.size());
    lua_setfield(L, -2, "type");
    lua_pushlstring(L, p.data.data(), p.data.size());
    lua_setfield(L, -2, "data");
    lua_rawseti(L, -2, static_cast<int>(lua_objlen(L, -2) + 1));
    lua_pop(L, 1);
  }
  return 3;
}

// ctx.__index for what the prelude's Lua __index (server.lua, make_ctx) does
// not answer itself: a ctx that is no longer valid (raises), a live ctx that
// is not the one running (a suspended request's, used by a task), ctx.path,
// the client address and the protocol. Upvalue 2: the ctx methods table.
int ctxIndex(lua_State* L) {
  RequestInfo* info = checkCtx(L, 1);
  size_t len;
  const char* k = lua_tolstring(L, 2, &len);
  if (!k) return 0;
  std::string_view key(k, len);
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(2));
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  if (key == "method") {
    std::string_view m = router::methodName(info->method);
    lua_pushlstring(L, m.data(), m.size());
  } else if (key == "path") {
    lua_pushlstring(L, info->request->path.data(), info->request->path.size());
  } else if (key == "client_ip" || key == "ip") {
    lua_pushstring(L, info->client_ip ? info->client_ip : "");
  } else if (key == "proto" || key == "client_proto") {
    if (info->https) {
      lua_pushliteral(L, "https");
    } else {
      lua_pushliteral(L, "http");
    }
  } else {
    lua_pushnil(L);
  }
  return 1;
}

}  // namespace

std::string_view requestId(RequestInfo& info) {
  if (info.request_id_len == 0) {
    std::string_view given = info.request->header("x-request-id");
    bool valid = !given.empty() && given.size() <= 256;
    for (char c : given) {
      if (c < 0x21 || c > 0x7e) valid = false;
    }
    if (valid) {
      std::memcpy(info.request_id, given.data(), given.size());
      info.request_id_len = given.size();
    } else {
      core::generateRequestId(info.worker_id, info.request_id);
      info.request_id_len = core::kRequestIdLength;
    }
  }
  return {info.request_id, info.request_id_len};
}

void addCtxNatives(lua_State* L, int natives, Vm* vm) {
  // headers() tables share one metatable for case-insensitive lookups.
  lua_pushlightuserdata(L, vm);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, native<headersIndex>);
  lua_setfield(L, -2, "__index");
  lua_pushcclosure(L, native<ctxHeaders>, 2);
  lua_setfield(L, natives, "ctx_headers");
  const luaL_Reg fns[] = {
      {"ctx_query", native<ctxQuery>},
      {"ctx_params", native<ctxParams>},
      {"ctx_request_id", native<ctxRequestId>},
      {"ctx_check", native<ctxCheck>},
      {"log_request_error", native<logRequestError>},
      {"ctx_has_body", native<ctxHasBody>},
      {"body_text", native<bodyText>},
      {"ctx_set", native<ctxSet>},
      {"ctx_get", native<ctxGet>},
      {"body_bytes", native<bodyBytes>},
      {"body_json", native<bodyJson>},
      {"body_form", native<bodyForm>},
      {nullptr, nullptr},
  };
  for (const luaL_Reg* f = fns; f->name; ++f) {
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, f->func, 1);
    lua_setfield(L, natives, f->name);
  }
}

CtxRefs installCtx(lua_State* L, int module_index, Vm* vm) {
  const int top = lua_gettop(L);
  lua_getfield(L, module_index, "make_ctx");
  lua_pushlightuserdata(L, vm);
  lua_getfield(L, module_index, "ctx_methods");
  lua_pushcclosure(L, native<ctxIndex>, 2);
  lua_call(L, 1, 4);  // -> index, dispatch, CUR, NAMES
  CtxRefs refs;
  for (int m = 0; m < router::kMethodCount; ++m) {
    std::string_view name = router::methodName(static_cast<router::Method>(m));
    lua_pushlstring(L, name.data(), name.size());
    lua_rawseti(L, -2, m);
  }
  lua_pop(L, 1);
  refs.cur = luaL_ref(L, LUA_REGISTRYINDEX);
  refs.dispatch = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, top);
  return refs;
}

void beginRequest(lua_State* L, Task* t) {
  lua_pushinteger(L, static_cast<lua_Integer>(t->slot));
  lua_pushinteger(L, static_cast<lua_Integer>(t->generation));
  // the router's number (info->method was parsed from the request's method
  // text, so its name is that text)
  lua_pushinteger(L, static_cast<int>(t->info->method));
}

}  // namespace rover::lua
