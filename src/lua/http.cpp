// The natives of rover.http (runtime-modules.md §5) over client::HttpClient:
// one call, http_request, that follows the suspend/resume recipe of
// lua/tasks.cpp (STYLE.md habit 12). The request lives in an HttpWait owned
// by the waiting task; its cancel hook stops the transfer, so an aborted
// request (client gone, handler timeout) is never resumed. prelude/http.lua
// builds the module's surface (methods, params, JSON bodies, create).
#include <cstring>
#include <memory>
#include <lua.hpp>

#include "client/http_client.h"
#include "http/request.h"
#include "http/text.h"
#include "json/decode.h"
#include "lua/native.h"
#include "lua/vm.h"

namespace rover::lua {
namespace {

struct HttpWait : Wait {
  client::OutboundRequest req;
};

// application/json or application/*+json (runtime-modules.md §5).
bool isJsonResponse(const client::OutboundRequest& r) {
  for (const auto& [name, value] : r.response_headers.fields()) {
    if (name != "content-type") continue;
    std::string_view media = http::mediaType(value);
    if (http::equalsIgnoreCase(media, "application/json")) return true;
    return media.size() > 17 && http::equalsIgnoreCase(media.substr(0, 12), "application/") &&
           http::equalsIgnoreCase(media.substr(media.size() - 5), "+json");
  }
  return false;
}

// Resumes the task with (status, headers, data) or (nil, message).
void httpDone(client::OutboundRequest* r) {
  auto* w = static_cast<HttpWait*>(r->data);
  Task* t = w->task;
  t->removeWait(w);
  lua_State* co = t->co;
  lua_settop(co, 0);
  int n;
  if (!r->error.empty()) {
    lua_pushnil(co);
    lua_pushlstring(co, r->error.data(), r->error.size());
    n = 2;
  } else {
    lua_pushnumber(co, static_cast<double>(r->status));
    const auto& fields = r->response_headers.fields();
    lua_createtable(co, 0, static_cast<int>(fields.size()));
    for (const auto& [name, value] : fields) {
      lua_pushlstring(co, name.data(), name.size());
      lua_pushlstring(co, value.data(), value.size());
      lua_rawset(co, -3);
    }
    std::string detail;
    if (r->response_body.empty() || !isJsonResponse(*r) ||
        !json::decode(co, r->response_body, &detail)) {
      lua_pushlstring(co, r->response_body.data(), r->response_body.size());
    }
    n = 3;
  }
  delete w;
  t->vm->resume(t, n);
}

void httpCancel(Wait* w) {
  auto* hw = static_cast<HttpWait*>(w);
  if (hw->req.client) hw->req.client->cancel(&hw->req);
  delete hw;
}

bool safeHeaderLine(std::string_view h) {
  size_t colon = h.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  for (size_t i = 0; i < colon; ++i) {
    if (!http::isTokenChar(h[i])) return false;
  }
  for (char c : h) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// http_request(method, url, header_lines, body|nil, timeout_ms, allow_private)
//   -> (yields) status, headers, data | nil, message
int luaHttpRequest(lua_State* L) {
  Vm* vm = upvalueVm(L);
  Task* t = vm->suspendableTask(L);
  if (!t)
    return luaL_error(L, "rover.http must be called inside a handler or task");
  size_t mlen, ulen;
  const char* method = luaL_checklstring(L, 1, &mlen);
  const char* url = luaL_checklstring(L, 2, &ulen);
  luaL_checktype(L, 3, LUA_TTABLE);
  double timeout = luaL_checknumber(L, 5);
  if (!(timeout > 0) || timeout > 2'147'483'647.0)
    return luaL_error(L, "http request failed: timeout must be a number of ms > 0");
  if (std::memchr(url, '\0', ulen)) return luaL_error(L, "http request failed: invalid URL");
  auto w = std::make_unique<HttpWait>();
  client::OutboundRequest& r = w->req;
  r.method.assign(method, mlen);
  r.url.assign(url, ulen);
  int count = static_cast<int>(lua_objlen(L, 3));
  r.headers.reserve(static_cast<size_t>(count));
  for (int i = 1; i <= count; ++i) {
    lua_rawgeti(L, 3, i);
    size_t hlen;
    const char* h = lua_tolstring(L, -1, &hlen);
    if (!h || !safeHeaderLine({h, hlen})) return luaL_error(L, "http request failed: invalid header");
    r.headers.emplace_back(h, hlen);
    lua_pop(L, 1);
  }
  if (lua_type(L, 4) == LUA_TSTRING) {
    size_t blen;
    const char* b = lua_tolstring(L, 4, &blen);
    r.body.assign(b, blen);
    r.has_body = true;
  }
  r.timeout_ms = static_cast<uint64_t>(timeout);
  r.allow_private = lua_toboolean(L, 6);
  r.done = httpDone;
  r.data = w.get();
  if (!vm->httpClient(r.allow_private)->start(&r)) {
    lua_pushnil(L);
    lua_pushlstring(L, r.error.data(), r.error.size());
    return 2;
  }
  w->cancel = httpCancel;
  t->addWait(w.release());
  return lua_yield(L, 0);
}

}  // namespace

void addHttpNatives(lua_State* L, int natives, Vm* vm) {
  lua_pushlightuserdata(L, vm);
  lua_pushcclosure(L, native<luaHttpRequest>, 1);
  lua_setfield(L, natives, "http_request");
}

}  // namespace rover::lua
