// Route table: a hash of fully static paths, then a radix tree over path
// segments for routes with parameters (lua-api.md §4, §5). Built once per
// worker at startup, read-only afterwards; lookups never allocate.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rover::router {

// Order matters: it is the order of the `Allow` header (lua-api.md §5).
enum class Method : uint8_t { kGet = 0, kHead, kPost, kPut, kPatch, kDelete, kOptions };
inline constexpr int kMethodCount = 7;
using MethodMask = uint8_t;  // bit (1 << int(Method))

// "GET" -> kGet ...; case-sensitive; nullopt for anything else.
std::optional<Method> parseMethod(std::string_view text);
std::string_view methodName(Method m);  // "GET"
// "GET, HEAD, POST, OPTIONS" per lua-api.md §5: the methods in the mask, plus
// HEAD when GET is present, plus OPTIONS always, in enum order.
std::string allowHeader(MethodMask mask);

inline constexpr size_t kMaxParams = 32;

struct Param {
  std::string_view name;  // owned by the Router
  std::string_view raw;   // view into the looked-up path, not percent-decoded
};

struct Match {
  int handler = -1;              // handler id given to add(), or -1
  Method method = Method::kGet;  // method of the chosen handler (kGet for HEAD-by-GET)
  std::string_view pattern;      // route pattern, e.g. "/users/{id}" (owned by the Router)
  size_t param_count = 0;
  Param params[kMaxParams];
  MethodMask allowed = 0;  // when handler == -1: methods of all routes matching the path
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Adds a route. `pattern` is "/" or "/seg/{param}/..." (segments already
  // validated by the caller). Returns "" on success, else the startup error
  // message "Conflicting routes: GET /a/{x} and GET /a/{y}" (the earlier route first).
  std::string add(Method method, std::string_view pattern, int handler_id);

  // Finds the best route for `path` (no query) that has a handler for
  // `method` (HEAD: a head handler, else a get handler), per the precedence of
  // lua-api.md §5. Param segments must be non-empty with valid %XX escapes.
  // Returns true when a handler was found. Otherwise out->allowed holds the
  // union of the methods of every route matching the path (0: no route matches).
  bool match(Method method, std::string_view path, Match* out) const;
  // match() for lookups off the request path (WebSocket endpoints).
  [[gnu::noinline]] bool matchCold(Method method, std::string_view path, Match* out) const;

  size_t size() const;  // number of (method, route) entries

 private:
  [[gnu::always_inline]] inline bool matchImpl(Method method, std::string_view path,
                                               Match* out) const;
  struct Impl;
  Impl* impl_;
};

}  // namespace rover::router
