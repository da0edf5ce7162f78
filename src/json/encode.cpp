// Lua value -> JSON text (lua-api.md §9.1). The encoder walks the value with
// raw access only (lua_next / lua_rawgeti), so metatables never run and no
// Lua error can be raised except a memory error.
#include "json/encode.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <lua.hpp>
#include <new>

#include "core/limits.h"
#include "core/swar.h"

namespace rover::json {
namespace {

// Longest text encodeNumber writes: "-0.000000" + 17 digits is 26 bytes.
constexpr size_t kMaxNumberChars = 32;
constexpr std::string_view kReservedPrefix = "__rover_";

// For each byte: 0 if it is copied raw, else the letter after the backslash
// ('u' meaning \u00XX).
constexpr auto kEscapeTable = [] {
  struct Table {
    char c[256] = {};
  } t;
  for (int i = 0; i < 0x20; ++i) t.c[i] = 'u';
  t.c['\n'] = 'n';
  t.c['\r'] = 'r';
  t.c['\t'] = 't';
  t.c['\b'] = 'b';
  t.c['\f'] = 'f';
  t.c['"'] = '"';
  t.c['\\'] = '\\';
  return t;
}();

// True if any of the 8 bytes in `w` is < 0x20, '"' or '\\' (SWAR: lets the
// common case of plain text skip 8 bytes per step).
inline bool wordNeedsEscape(uint64_t w) {
  using namespace core::swar;
  return (below(w, 0x20) | equal(w, '"') | equal(w, '\\')) != 0;
}

// Lays out shortest round-trip digits the way JavaScript's Number::toString
// does (ECMA-262 6.1.6.1.20), so output matches String(x) byte for byte.
size_t formatLikeJs(double x, char* p) {
  char sci[kMaxNumberChars];
  char* sciEnd = std::to_chars(sci, sci + sizeof sci, x, std::chars_format::scientific).ptr;
  const char* s = sci;
  char* start = p;
  if (*s == '-') *p++ = *s++;
  char digits[20];
  int k = 0;
  for (; *s != 'e'; ++s) {
    if (*s != '.') digits[k++] = *s;
  }
  int exp = 0;
  std::from_chars(s + 1 + (s[1] == '+'), sciEnd, exp);
  int n = exp + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) {
    std::memcpy(p, digits, k);
    std::memset(p + k, '0', n - k);
    return p + n - start;
  }
  if (0 < n && n <= 21) {
    std::memcpy(p, digits, n);
    p[n] = '.';
    std::memcpy(p + n + 1, digits + n, k - n);
    return p + k + 1 - start;
  }
  if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    std::memset(p, '0', -n);
    std::memcpy(p - n, digits, k);
    return p - n + k - start;
  }
  *p++ = digits[0];
  if (k > 1) {
    *p++ = '.';
    std::memcpy(p, digits + 1, k - 1);
    p += k - 1;
  }
  *p++ = 'e';
  *p++ = n - 1 < 0 ? '-' : '+';
  return std::to_chars(p, p + 8, std::abs(n - 1)).ptr - start;
}

size_t formatNumber(double x, char* p) {
  if (std::fabs(x) < 0x1p63) {  // false for NaN
    auto i = static_cast<int64_t>(x);
    if (static_cast<double>(i) == x) return std::to_chars(p, p + kMaxNumberChars, i).ptr - p;
  }
  if (!std::isfinite(x)) {
    std::memcpy(p, "null", 4);
    return 4;
  }
  // Below 2^53, in JavaScript's fixed-notation range, the shortest round-trip
  // digits laid out in fixed notation are exactly String(x): one to_chars
  // call. (Above 2^53 to_chars may print exact digits where JS pads zeros.)
  double a = std::fabs(x);
  if (a >= 1e-6 && a < 0x1p53) {
    return static_cast<size_t>(
        std::to_chars(p, p + kMaxNumberChars, x, std::chars_format::fixed).ptr - p);
  }
  return formatLikeJs(x, p);
}

bool isReservedKey(const char* s, size_t len) {
  return len >= kReservedPrefix.size() &&
         std::memcmp(s, kReservedPrefix.data(), kReservedPrefix.size()) == 0;
}

bool isReservedKeyAt(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING) return false;
  size_t len;
  const char* s = lua_tolstring(L, idx, &len);
  return isReservedKey(s, len);
}

// One encode() call. Holds no heap memory; on failure the caller restores
// the stack and the buffer, so members may bail out at any point.
class Encoder {
 public:
  Encoder(lua_State* L, core::Buffer& out, std::string* reason)
      : L_(L), out_(out), reason_(reason) {}

  bool value(int idx, int depth);

 private:
  bool table(int idx, int depth);
  size_t arrayLength(int idx);
  bool array(int idx, size_t n, int depth);
  bool object(int idx, int depth);
  bool fail(const char* what);
  bool failType(int type);

  lua_State* L_;
  core::Buffer& out_;
  std::string* reason_;
};

bool Encoder::fail(const char* what) {
  if (reason_) *reason_ = what;
  return false;
}

bool Encoder::failType(int type) {
  if (reason_) {
    *reason_ = "cannot serialise ";
    *reason_ += type == LUA_TLIGHTUSERDATA ? "light userdata" : lua_typename(L_, type);
  }
  return false;
}

bool Encoder::value(int idx, int depth) {
  switch (int type = lua_type(L_, idx)) {
    case LUA_TNIL:
      out_.append("null");
      return true;
    case LUA_TBOOLEAN:
      out_.append(lua_toboolean(L_, idx) ? std::string_view("true") : std::string_view("false"));
      return true;
    case LUA_TNUMBER:
      encodeNumber(lua_tonumber(L_, idx), out_);
      return true;
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L_, idx, &len);
      encodeString({s, len}, out_);
      return true;
    }
    case LUA_TTABLE:
      return table(idx, depth + 1);
    default:
      return failType(type);
  }
}

bool Encoder::table(int idx, int depth) {
  if (depth > core::kJsonEncodeMaxDepth) return fail("excessive nesting (max depth 64)");
  // Each level holds a key and a value on the stack while it recurses.
  if (!lua_checkstack(L_, 4)) return fail("excessive nesting (Lua stack exhausted)");
  size_t n = arrayLength(idx);
  return n > 0 ? array(idx, n, depth) : object(idx, depth);
}

// Returns n when the visible keys (reserved ones aside) are exactly 1..n,
// else 0. lua_objlen gives a candidate n cheaply; one pass then checks that
// every key is an integer in 1..n and that there are n of them, which
// (keys being distinct) means all of 1..n are present.
size_t Encoder::arrayLength(int idx) {
  size_t n = lua_objlen(L_, idx);
  if (n == 0) return 0;
  const auto limit = static_cast<double>(n);
  size_t count = 0;
  lua_pushnil(L_);
  while (lua_next(L_, idx)) {
    lua_pop(L_, 1);
    if (lua_type(L_, -1) == LUA_TNUMBER) {
      double k = lua_tonumber(L_, -1);
      if (k >= 1 && k <= limit && k == std::floor(k)) {
        ++count;
        continue;
      }
    } else if (isReservedKeyAt(L_, -1)) {
      continue;
    }
    lua_pop(L_, 1);
    return 0;
  }
  return count == n ? n : 0;
}

bool Encoder::array(int idx, size_t n, int depth) {
  out_.push_back('[');
  for (size_t i = 1; i <= n; ++i) {
    if (i > 1) out_.push_back(',');
    lua_rawgeti(L_, idx, static_cast<int>(i));
    if (!value(lua_gettop(L_), depth)) return false;
    lua_pop(L_, 1);
  }
  out_.push_back(']');
  return true;
}

bool Encoder::object(int idx, int depth) {
  out_.push_back('{');
  bool first = true;
  lua_pushnil(L_);
  while (lua_next(L_, idx)) {
    // the key at -2: one type check and one string fetch serve both the
    // reserved-key test and the output
    switch (lua_type(L_, -2)) {
      case LUA_TSTRING: {
        size_t len;
        const char* s = lua_tolstring(L_, -2, &len);
        if (isReservedKey(s, len)) {
          lua_pop(L_, 1);
          continue;
        }
        if (!first) out_.push_back(',');
        encodeString({s, len}, out_);
        break;
      }
      case LUA_TNUMBER:
        if (!first) out_.push_back(',');
        out_.push_back('"');
        encodeNumber(lua_tonumber(L_, -2), out_);
        out_.push_back('"');
        break;
      default:
        return fail("table key must be a string or number");
    }
    out_.push_back(':');
    first = false;
    if (!value(lua_gettop(L_), depth)) return false;
    lua_pop(L_, 1);
  }
  out_.push_back('}');
  return true;
}

}  // namespace

bool encode(lua_State* L, int idx, core::Buffer& out, std::string* reason) {
  const int top = lua_gettop(L);
  if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = top + idx + 1;
  const size_t start = out.size();
  bool ok;
  try {
    ok = Encoder(L, out, reason).value(idx, 0);
  } catch (const std::bad_alloc&) {
    ok = false;
    if (reason) *reason = "out of memory";
  }
  lua_settop(L, top);
  if (!ok) out.resize(start);
  return ok;
}

namespace {
char* escapeByte(unsigned char c, char* w) {
  char letter = kEscapeTable.c[c];
  if (letter == 0) {
    *w = static_cast<char>(c);
    return w + 1;
  }
  if (letter != 'u') {
    w[0] = '\\';
    w[1] = letter;
    return w + 2;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::memcpy(w, "\\u00", 4);
  w[4] = kHex[c >> 4];
  w[5] = kHex[c & 15];
  return w + 6;
}

// Escapes [begin, end) into w, which has room for 6 bytes per input byte.
// Strings of 8+ bytes go 8 clean bytes per step, and a clean tail in one
// overlapping step (the string's last 8 bytes); shorter ones and the bytes
// around an escape go one at a time.
char* escapeInto(const char* begin, const char* end, char* w) {
  const char* p = begin;
  if (end - begin >= 8) {
    while (p < end) {
      uint64_t word;
      if (end - p >= 8) {
        std::memcpy(&word, p, 8);
        if (!wordNeedsEscape(word)) {
          std::memcpy(w, &word, 8);
          w += 8;
          p += 8;
          continue;
        }
      } else {
        // the bytes before p in this word were written raw (they are clean)
        std::memcpy(&word, end - 8, 8);
        if (!wordNeedsEscape(word)) {
          const ptrdiff_t n = end - p;
          std::memcpy(w - (8 - n), &word, 8);
          return w + n;
        }
      }
      w = escapeByte(static_cast<unsigned char>(*p++), w);
    }
    return w;
  }
  for (; p < end; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (kEscapeTable.c[c] == 0) {
      *w++ = static_cast<char>(c);
    } else {
      w = escapeByte(c, w);
    }
  }
  return w;
}
}  // namespace

void encodeString(std::string_view s, core::Buffer& out) {
  // Room for the worst case (\u00XX per byte) is reserved per slice, so
  // bytes are written without per-byte checks and long strings do not
  // reserve six times their size.
  constexpr size_t kSlice = 4096;
  if (s.size() <= kSlice) {  // the common case: one reservation, quotes included
    char* w = out.prepare(s.size() * 6 + 2);
    *w = '"';
    char* e = escapeInto(s.data(), s.data() + s.size(), w + 1);
    *e++ = '"';
    out.commit(static_cast<size_t>(e - w));
    return;
  }
  out.push_back('"');
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char* stop = end - p > static_cast<ptrdiff_t>(kSlice) ? p + kSlice : end;
    char* w = out.prepare((stop - p) * 6);
    out.commit(static_cast<size_t>(escapeInto(p, stop, w) - w));
    p = stop;
  }
  out.push_back('"');
}

void encodeNumber(double x, core::Buffer& out) {
  char* p = out.prepare(kMaxNumberChars);
  out.commit(formatNumber(x, p));
}

}  // namespace rover::json
