// JSON text -> Lua value (lua-api.md §9.2). simdjson's DOM parser validates
// the whole document first, so Lua values are only built from valid input.
// Two things simdjson rejects but §9.2 accepts are handled by rewriting the
// (private, padded) copy of the input in place and parsing again:
//   * lone surrogate escapes, which §9.2 turns into U+FFFD;
//   * integers beyond 64 bits, which §9.2 reads as doubles.
// Both rewrites keep the text length, so no offsets move.
#include "json/decode.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>
#include <memory>
#include <new>

#include "core/hex.h"
#include "core/limits.h"

namespace rover::json {
namespace {

namespace dom = simdjson::dom;

// A per-thread copy of the input with the SIMDJSON_PADDING bytes simdjson
// may read past the end; it grows and is then reused.
class PaddedInput {
 public:
  char* assign(std::string_view text) {
    size_t need = text.size() + simdjson::SIMDJSON_PADDING;
    if (need > cap_) {
      size_t cap = cap_ ? cap_ : 4096;
      while (cap < need) cap *= 2;
      data_.reset(new char[cap]);
      cap_ = cap;
    }
    std::memcpy(data_.get(), text.data(), text.size());
    std::memset(data_.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
    return data_.get();
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_ = 0;
};

thread_local PaddedInput tInput;
thread_local dom::parser tParser;

// simdjson counts nesting exactly as §9.2 does: depth 512 parses, 513 fails.
simdjson::error_code ensureDepthLimit() {
  if (tParser.max_depth() == core::kJsonDecodeMaxDepth) return simdjson::SUCCESS;
  return tParser.allocate(simdjson::dom::MINIMAL_DOCUMENT_CAPACITY, core::kJsonDecodeMaxDepth);
}

const char* describe(simdjson::error_code err) {
  switch (err) {
    case simdjson::EMPTY:
      return "no JSON value";
    case simdjson::DEPTH_ERROR:
      return "nesting deeper than 512";
    case simdjson::STRING_ERROR:
      return "invalid string escape";
    case simdjson::UNCLOSED_STRING:
      return "unterminated string";
    case simdjson::UNESCAPED_CHARS:
      return "control character in string";
    case simdjson::NUMBER_ERROR:
      return "invalid or out-of-range number";
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal";
    case simdjson::TAPE_ERROR:
      return "syntax error or trailing characters";
    case simdjson::CAPACITY:
      return "document too large";
    case simdjson::MEMALLOC:
      return "out of memory";
    default:
      return simdjson::error_message(err);
  }
}

// ---- In-place repair of what simdjson rejects but §9.2 accepts ----

// Reads the 4 hex digits of a \u escape starting at `p` (the backslash);
// returns -1 if `p` is not a complete \uXXXX.
long unicodeEscapeAt(const char* p, const char* end) {
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
  long v = 0;
  for (int i = 2; i < 6; ++i) {
    int h = core::hexValue(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// Given `p` at a \uXXXX escape inside a string, rewrites it to \ufffd if it is
// a lone surrogate. Returns the position after the escape (or pair).
char* repairEscape(char* p, const char* end, bool& changed) {
  long cp = unicodeEscapeAt(p, end);
  if (cp < 0xD800 || cp > 0xDFFF) return p + 2;  // not a surrogate (or malformed)
  if (cp < 0xDC00) {
    long low = unicodeEscapeAt(p + 6, end);
    if (low >= 0xDC00 && low <= 0xDFFF) return p + 12;  // a proper pair
  }
  std::memcpy(p + 2, "fffd", 4);
  changed = true;
  return p + 6;
}

// Skips the string starting at `p` (the opening quote); returns the position
// after the closing quote.
char* repairString(char* p, const char* end, bool& changed) {
  for (++p; p < end; ++p) {
    if (*p == '"') return p + 1;
    if (*p != '\\') continue;
    if (p + 1 < end && p[1] == 'u') {
      p = repairEscape(p, end, changed) - 1;
    } else {
      ++p;
    }
  }
  return p;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Given `p` at '-' or a digit outside strings, rewrites a well-formed integer
// of 19+ digits (which may not fit 64 bits) as shortest-digits-and-exponent
// text of the same double, padded with spaces. That text is never longer:
// at most 17 digits + "e" + an exponent of fewer than the dropped digits.
char* repairNumber(char* p, const char* end, bool& changed) {
  char* start = p;
  if (*p == '-') ++p;
  char* digits = p;
  while (p < end && isDigit(*p)) ++p;
  size_t count = p - digits;
  bool fraction = p < end && (*p == '.' || *p == 'e' || *p == 'E');
  if (fraction || count < 19 || *digits == '0') {
    // Leave it to simdjson; skip the rest of the token.
    while (p < end &&
           (isDigit(*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
      ++p;
    return p > start ? p : start + 1;
  }
  // The padding past `end` makes *p writable; terminate the token for strtod.
  char saved = *p;
  *p = '\0';
  double value = std::strtod(start, nullptr);
  *p = saved;
  if (!std::isfinite(value)) return p;  // out of double range: stays invalid
  char sci[40];
  char* sciEnd = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific).ptr;
  // "-d.ddde+XX" -> "-dddd" "e" (XX - fraction digits)
  char* out = start;
  const char* s = sci;
  int fractionDigits = 0;
  bool afterDot = false;
  for (; *s != 'e'; ++s) {
    if (*s == '.') {
      afterDot = true;
      continue;
    }
    *out++ = *s;
    fractionDigits += afterDot;
  }
  int exp = 0;
  std::from_chars(s + 2, sciEnd, exp);  // always "e+" here: |value| >= 1e18
  *out++ = 'e';
  out = std::to_chars(out, p, exp - fractionDigits).ptr;
  std::memset(out, ' ', p - out);
  changed = true;
  return p;
}

// Rewrites the input in place; returns true if anything changed.
bool repair(char* p, size_t len) {
  const char* end = p + len;
  bool changed = false;
  while (p < end) {
    if (*p == '"') {
      p = repairString(p, end, changed);
    } else if (*p == '-' || isDigit(*p)) {
      p = repairNumber(p, end, changed);
    } else {
      ++p;
    }
  }
  return changed;
}

// ---- DOM -> Lua ----

bool pushElement(lua_State* L, dom::element e);

bool pushArray(lua_State* L, dom::array a) {
  size_t size = a.size();
  lua_createtable(L, static_cast<int>(size < (1u << 24) ? size : 0), 0);
  int i = 0;
  for (dom::element child : a) {
    ++i;
    if (child.is_null()) continue;  // a hole: the other indices keep their place
    if (!pushElement(L, child)) return false;
    lua_rawseti(L, -2, i);
  }
  return true;
}

bool pushObject(lua_State* L, dom::object o) {
  size_t size = o.size();
  lua_createtable(L, 0, static_cast<int>(size < (1u << 24) ? size : 0));
  for (dom::key_value_pair member : o) {
    lua_pushlstring(L, member.key.data(), member.key.size());
    if (member.value.is_null()) {
      // Absent, but a null duplicate still replaces ("last wins").
      lua_pushvalue(L, -1);
      lua_rawget(L, -3);
      bool present = !lua_isnil(L, -1);
      lua_pop(L, 1);
      lua_pushnil(L);
      if (present) {
        lua_rawset(L, -3);
      } else {
        lua_pop(L, 2);
      }
      continue;
    }
    if (!pushElement(L, member.value)) return false;
    lua_rawset(L, -3);
  }
  return true;
}

bool pushElement(lua_State* L, dom::element e) {
  switch (e.type()) {
    case dom::element_type::ARRAY:
      return lua_checkstack(L, 3) && pushArray(L, e.get_array().value_unsafe());
    case dom::element_type::OBJECT:
      return lua_checkstack(L, 3) && pushObject(L, e.get_object().value_unsafe());
    case dom::element_type::INT64:
      lua_pushnumber(L, static_cast<lua_Number>(e.get_int64().value_unsafe()));
      return true;
    case dom::element_type::UINT64:
      lua_pushnumber(L, static_cast<lua_Number>(e.get_uint64().value_unsafe()));
      return true;
    case dom::element_type::DOUBLE:
      lua_pushnumber(L, e.get_double().value_unsafe());
      return true;
    case dom::element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      lua_pushlstring(L, s.data(), s.size());
      return true;
    }
    case dom::element_type::BOOL:
      lua_pushboolean(L, e.get_bool().value_unsafe());
      return true;
    case dom::element_type::NULL_VALUE:
      lua_pushnil(L);
      return true;
  }
  return false;
}

simdjson::simdjson_result<dom::element> parse(std::string_view text) {
  char* buf = nullptr;
  try {
    buf = tInput.assign(text);
  } catch (const std::bad_alloc&) {
    return simdjson::MEMALLOC;
  }
  auto result = tParser.parse(buf, text.size(), false);
  simdjson::error_code err = result.error();
  if ((err == simdjson::STRING_ERROR || err == simdjson::NUMBER_ERROR) &&
      repair(buf, text.size())) {
    result = tParser.parse(buf, text.size(), false);
  }
  return result;
}

}  // namespace

bool decode(lua_State* L, std::string_view text, std::string* detail) {
  simdjson::error_code err = ensureDepthLimit();
  dom::element root;
  if (!err) err = parse(text).get(root);
  if (err) {
    if (detail) *detail = describe(err);
    return false;
  }
  const int top = lua_gettop(L);
  if (!pushElement(L, root)) {
    lua_settop(L, top);
    if (detail) *detail = "nesting too deep for the Lua stack";
    return false;
  }
  return true;
}

}  // namespace rover::json
