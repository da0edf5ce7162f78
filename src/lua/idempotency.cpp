// The natives of api.idempotent (server-features.md §12) over the
// process-wide core::IdempotencyStore; the wrapper itself is Lua
// (prelude/server.lua). The body's fingerprint uses OpenSSL's SHA-256.
#include <openssl/evp.h>

#include <lua.hpp>

#include "core/clock.h"
#include "core/idempotency_store.h"
#include "lua/native.h"

namespace rover::lua {
namespace {

uint64_t nowMs() { return core::monotonicNs() / 1'000'000; }

std::string_view arg(lua_State* L, int i) {
  size_t len;
  const char* s = luaL_checklstring(L, i, &len);
  return {s, len};
}

// sha256_hex(s) -> lower-case hex digest
int sha256Hex(lua_State* L) {
  std::string_view s = arg(L, 1);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr)) {
    return luaL_error(L, "sha256 failed");
  }
  char hex[2 * EVP_MAX_MD_SIZE];
  for (unsigned int i = 0; i < n; ++i) {
    hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
    hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
  }
  lua_pushlstring(L, hex, 2 * n);
  return 1;
}

// idem_begin(key, fingerprint, ttl_ms) -> "new" | "busy" | "conflict"
//                                        | "replay", status, headers, body
int idemBegin(lua_State* L) {
  core::StoredResponse stored;
  auto st = core::IdempotencyStore::instance().begin(
      arg(L, 1), arg(L, 2), static_cast<uint64_t>(luaL_checknumber(L, 3)), nowMs(), &stored);
  switch (st) {
    case core::IdempotencyState::kNew:
      lua_pushliteral(L, "new");
      return 1;
    case core::IdempotencyState::kBusy:
      lua_pushliteral(L, "busy");
      return 1;
    case core::IdempotencyState::kConflict:
      lua_pushliteral(L, "conflict");
      return 1;
    case core::IdempotencyState::kReplay:
      break;
  }
  lua_pushliteral(L, "replay");
  lua_pushinteger(L, stored.status);
  lua_createtable(L, static_cast<int>(stored.headers.size()), 0);
  for (size_t i = 0; i < stored.headers.size(); ++i) {
    lua_createtable(L, 2, 0);
    lua_pushlstring(L, stored.headers[i].first.data(), stored.headers[i].first.size());
    lua_rawseti(L, -2, 1);
    lua_pushlstring(L, stored.headers[i].second.data(), stored.headers[i].second.size());
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_pushlstring(L, stored.body.data(), stored.body.size());
  return 4;
}

// idem_complete(key, ttl_ms, status, headers = { {name, value}, ... }, body)
int idemComplete(lua_State* L) {
  core::StoredResponse r;
  r.status = static_cast<int>(luaL_checkinteger(L, 3));
  luaL_checktype(L, 4, LUA_TTABLE);
  for (int i = 1, n = static_cast<int>(lua_objlen(L, 4)); i <= n; ++i) {
    lua_rawgeti(L, 4, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    size_t nl, vl;
    const char* name = lua_tolstring(L, -2, &nl);
    const char* value = lua_tolstring(L, -1, &vl);
    if (name && value) r.headers.emplace_back(std::string(name, nl), std::string(value, vl));
    lua_pop(L, 3);
  }
  r.body = std::string(arg(L, 5));
  core::IdempotencyStore::instance().complete(
      arg(L, 1), std::move(r), static_cast<uint64_t>(luaL_checknumber(L, 2)), nowMs());
  return 0;
}

int idemAbandon(lua_State* L) {
  core::IdempotencyStore::instance().abandon(arg(L, 1));
  return 0;
}

}  // namespace

void addIdempotencyNatives(lua_State* L, int natives) {
  const luaL_Reg fns[] = {{"sha256_hex", native<sha256Hex>},
                          {"idem_begin", native<idemBegin>},
                          {"idem_complete", native<idemComplete>},
                          {"idem_abandon", native<idemAbandon>},
                          {nullptr, nullptr}};
  for (const luaL_Reg* f = fns; f->name; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, natives, f->name);
  }
}

}  // namespace rover::lua
