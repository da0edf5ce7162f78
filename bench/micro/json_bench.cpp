// JSON: encode (rover::json::encode, Lua table -> Buffer) of the echo
// response table and of a 100-element array of objects; decode
// (rover::json::decode, text -> Lua value) of a 1 KiB request body.
#include <benchmark/benchmark.h>

#include <lua.hpp>
#include <string>

#include "core/buffer.h"
#include "json/decode.h"
#include "json/encode.h"

namespace {

struct LuaState {
  LuaState() {
    L = luaL_newstate();
    luaL_openlibs(L);
  }
  ~LuaState() { lua_close(L); }
  // Evaluates `expr` and leaves its value on the stack.
  bool push(const std::string& expr) { return luaL_dostring(L, ("return " + expr).c_str()) == 0; }
  lua_State* L;
};

void encodeBench(benchmark::State& state, const std::string& expr) {
  LuaState lua;
  if (!lua.push(expr)) {
    state.SkipWithError(lua_tostring(lua.L, -1));
    return;
  }
  rover::core::Buffer out(64 * 1024);
  std::string reason;
  size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    if (!rover::json::encode(lua.L, -1, out, &reason)) {
      state.SkipWithError(reason.c_str());
      break;
    }
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["json_bytes"] = static_cast<double>(bytes);
}

// The table GET /echo returns.
void BM_JsonEncodeEcho(benchmark::State& state) {
  encodeBench(state, R"({ message = "Echo GET", method = "GET" })");
}
BENCHMARK(BM_JsonEncodeEcho);

// A list endpoint: 100 objects with strings, integers, a float, a boolean.
void BM_JsonEncodeArray100(benchmark::State& state) {
  encodeBench(state, R"((function()
    local t = {}
    for i = 1, 100 do
      t[i] = { id = i, name = "user" .. i, email = "user" .. i .. "@example.com",
               active = (i % 3 ~= 0), score = i * 1.25, tags = { "a", "b" } }
    end
    return t
  end)())");
}
BENCHMARK(BM_JsonEncodeArray100);

// A 1 KiB request body (an order with nested objects and an array).
std::string body1KiB() {
  std::string s =
      R"({"order_id":"ord_8f14e45fceea167a5a36dedd4bea2543","customer":{"id":42,"name":"Ada Lovelace",)"
      R"("email":"ada@example.com","address":{"street":"12 Analytical Engine Road","city":"London",)"
      R"("postcode":"NW1 6XE","country":"GB"}},"currency":"EUR","paid":true,"notes":null,"items":[)";
  for (int i = 0; i < 7; ++i) {
    if (i) s += ",";
    s += R"({"sku":"SKU-)" + std::to_string(1000 + i) + R"(","title":"Widget model )" +
         std::to_string(i) + R"(","qty":)" + std::to_string(i + 1) + R"(,"unit_price":)" +
         std::to_string(9 + i) + R"(.99})";
  }
  s += R"(],"tags":["gift","express","fragile"],"created_at":"2026-11-27T06:00:00Z"})";
  // pad to exactly 1 KiB with one more string member
  const std::string pad_key = R"(,"comment":"")";
  if (s.size() + pad_key.size() < 1024) {
    std::string pad = R"(,"comment":")" + std::string(1024 - s.size() - pad_key.size(), 'x') + "\"";
    s.insert(s.size() - 1, pad);
  }
  return s;
}

void BM_JsonDecode1KiB(benchmark::State& state) {
  LuaState lua;
  std::string text = body1KiB();
  std::string detail;
  int top = lua_gettop(lua.L);
  for (auto _ : state) {
    if (!rover::json::decode(lua.L, text, &detail)) {
      state.SkipWithError(detail.c_str());
      break;
    }
    lua_settop(lua.L, top);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["json_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_JsonDecode1KiB);

}  // namespace
