// The natives of rover.auth (runtime-modules.md §4; the module itself is
// prelude/auth.lua): HMAC-SHA-256 through OpenSSL's libcrypto, base64url
// (core/base64url.h), a comparison whose time does not depend on where two
// strings differ (CRYPTO_memcmp), and JSON decoding for token segments.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <lua.hpp>
#include <string>
#include <string_view>

#include "core/base64url.h"
#include "json/decode.h"
#include "lua/native.h"

namespace rover::lua {
namespace {

// hmac_sha256(key, data) -> the 32-byte MAC
int hmacSha256(lua_State* L) {
  std::string_view key = checkView(L, 1);
  std::string_view data = checkView(L, 2);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n)) {
    return luaL_error(L, "hmac_sha256 failed");
  }
  lua_pushlstring(L, reinterpret_cast<const char*>(md), n);
  return 1;
}

// constant_eq(a, b) -> boolean. Only the lengths (public: a MAC's is fixed)
// decide early; equal-length strings are compared without data-dependent
// branches.
int constantEq(lua_State* L) {
  std::string_view a = checkView(L, 1);
  std::string_view b = checkView(L, 2);
  lua_pushboolean(L, a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0);
  return 1;
}

// b64url_encode(s) -> text without padding
int b64urlEncode(lua_State* L) {
  std::string out;
  core::base64urlEncode(checkView(L, 1), &out);
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

// b64url_decode(text) -> bytes | nil (not canonical unpadded base64url)
int b64urlDecode(lua_State* L) {
  std::string out;
  if (!core::base64urlDecode(checkView(L, 1), &out)) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

// json_decode(text) -> true, value | false, detail (lua-api.md §9.2 rules)
int jsonDecode(lua_State* L) {
  std::string_view text = checkView(L, 1);
  std::string detail;
  lua_pushboolean(L, 1);
  if (!json::decode(L, text, &detail)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
    lua_pushlstring(L, detail.data(), detail.size());
  }
  return 2;
}

}  // namespace

void addAuthNatives(lua_State* L, int natives) {
  const luaL_Reg fns[] = {
      {"hmac_sha256", native<hmacSha256>},     {"constant_eq", native<constantEq>},
      {"b64url_encode", native<b64urlEncode>}, {"b64url_decode", native<b64urlDecode>},
      {"json_decode", native<jsonDecode>},     {nullptr, nullptr}};
  for (const luaL_Reg* f = fns; f->name; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, natives, f->name);
  }
}

}  // namespace rover::lua
