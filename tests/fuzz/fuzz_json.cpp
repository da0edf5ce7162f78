// libFuzzer target: json::decode into a Lua state; when it succeeds, the value
// is encoded with json::encode and the text decoded again. The round trip must
// succeed and give the same value up to what lua-api.md §9 changes on purpose
// (array/object keys compared as text, `__rover_` keys dropped).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <lua.hpp>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "json/decode.h"
#include "json/encode.h"

namespace {

lua_State* L = nullptr;  // process lifetime

// same(a, b): deep equality modulo the §9.1 mapping: integer keys 1..n and
// their text are one key; keys starting with __rover_ are never encoded.
constexpr const char* kSame = R"(
local function norm(t)
  local out, n = {}, 0
  for k, v in pairs(t) do
    if type(k) == "number" then k = string.format("%d", k) end
    if k:sub(1, 8) ~= "__rover_" then out[k] = v; n = n + 1 end
  end
  return out, n
end
function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  local na, ca = norm(a)
  local nb, cb = norm(b)
  if ca ~= cb then return false end
  for k, v in pairs(na) do
    if not same(v, nb[k]) then return false end
  end
  return true
end
)";

void die(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_json: %s: %.*s\n", what, int(detail.size()), detail.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  L = luaL_newstate();
  if (!L) die("luaL_newstate failed", "");
  luaL_openlibs(L);
  if (luaL_dostring(L, kSame) != 0) die("prelude", lua_tostring(L, -1));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string detail;
  lua_settop(L, 0);
  if (!rover::json::decode(L, text, &detail)) {
    if (lua_gettop(L) != 0) die("failed decode pushed a value", detail);
    return 0;
  }
  if (lua_gettop(L) != 1) die("decode pushed more than one value", text);

  rover::core::Buffer out;
  std::string reason;
  if (!rover::json::encode(L, 1, out, &reason)) {
    // Decoding allows nesting to 512, encoding to 64 (lua-api.md §9).
    if (reason.find("nesting") == std::string::npos) die("encode failed", reason);
    if (out.size() != 0) die("failed encode left output", out.view());
    return 0;
  }
  if (lua_gettop(L) != 1) die("encode changed the stack", out.view());
  if (!rover::json::decode(L, out.view(), &detail)) die("re-decode failed", out.view());

  lua_getglobal(L, "same");
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 1);
  if (!lua_toboolean(L, -1)) die("round trip changed the value", out.view());
  lua_settop(L, 0);
  return 0;
}
