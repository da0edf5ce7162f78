// libFuzzer target: router::Router::match on arbitrary paths with every
// method, checked against a slow reference matcher written from lua-api.md §5,
// plus the percent-decoding of path params and queries (http/query.h).
// Input: a request target; the part before the first '?' is the path.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/query.h"
#include "router/router.h"

namespace {

using namespace rover;
using router::Method;

struct Route {
  Method method;
  const char* pattern;
};

// Static routes, params, static-over-param precedence at every depth, and
// routes that only some methods have (for 405 / Allow).
constexpr Route kRoutes[] = {
    {Method::kGet, "/"},
    {Method::kGet, "/books"},
    {Method::kPost, "/books/archive"},
    {Method::kGet, "/books/{isbn}"},
    {Method::kDelete, "/shelves/{shelf}/books/{isbn}"},
    {Method::kGet, "/users/me"},
    {Method::kGet, "/users/{id}"},
    {Method::kDelete, "/users/{id}"},
    {Method::kPut, "/users/{id}/posts/{post}"},
    {Method::kGet, "/prec/{x}/c"},
    {Method::kGet, "/prec/b/{y}"},
    {Method::kPatch, "/a-b.c~d!$&'()*+,;=:@"},
    {Method::kOptions, "/opt"},
    {Method::kHead, "/head/{h}"},
    {Method::kGet, "/deep/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}"},
};

router::Router* table = nullptr;  // process lifetime

void die(const char* what, std::string_view path) {
  std::fprintf(stderr, "fuzz_router: %s for path '%.*s'\n", what, int(path.size()), path.data());
  std::abort();
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // after the leading '/'
  for (size_t slash; (slash = path.find('/', start)) != path.npos; start = slash + 1) {
    out.push_back(path.substr(start, slash - start));
  }
  out.push_back(path.substr(start));
  return out;
}

// lua-api.md §5 read literally: same segment count, static segments equal,
// parameter segments non-empty with valid escapes; among the routes with a
// handler for the method (HEAD: or GET), the first static-over-parameter
// difference from the left decides. Returns the route index or -1 and sets
// *allowed to the methods of every matching route.
int referenceMatch(Method method, std::string_view path, router::MethodMask* allowed) {
  *allowed = 0;
  if (path.empty() || path[0] != '/') return -1;
  std::vector<std::string_view> segs = segments(path);
  int best = -1;
  std::vector<bool> best_kinds;
  for (size_t r = 0; r < std::size(kRoutes); ++r) {
    std::vector<std::string_view> pat = segments(kRoutes[r].pattern);
    if (pat.size() != segs.size()) continue;
    std::vector<bool> kinds;  // true: parameter segment
    bool match = true;
    for (size_t i = 0; i < pat.size() && match; ++i) {
      kinds.push_back(pat[i].size() > 1 && pat[i].front() == '{');
      match =
          kinds[i] ? !segs[i].empty() && http::isValidPercentEncoding(segs[i]) : pat[i] == segs[i];
    }
    if (!match) continue;
    *allowed |= router::MethodMask(1 << int(kRoutes[r].method));
    bool has_method = kRoutes[r].method == method ||
                      (method == Method::kHead && kRoutes[r].method == Method::kGet);
    if (has_method && (best < 0 || kinds < best_kinds)) best = int(r), best_kinds = kinds;
  }
  return best;
}

void checkMatch(Method method, std::string_view path) {
  router::Match m;
  bool found = table->match(method, path, &m);
  router::MethodMask allowed;
  int expected = referenceMatch(method, path, &allowed);
  if (found != (m.handler >= 0)) die("found disagrees with handler", path);
  if (m.handler != expected) die("router and reference choose different routes", path);
  if (!found) {
    if (m.allowed != allowed) die("allowed methods differ from the reference", path);
    return;
  }
  if (m.pattern != kRoutes[m.handler].pattern) die("pattern is not the handler's", path);
  // The pattern with each parameter replaced by its raw value is the path.
  std::string rebuilt;
  size_t next = 0;
  for (std::string_view seg : segments(m.pattern)) {
    bool param = seg.size() > 1 && seg.front() == '{';
    if (param && next == m.param_count) die("fewer params than the pattern has", path);
    rebuilt.append("/").append(param ? m.params[next++].raw : seg);
  }
  if (next != m.param_count || rebuilt != path) die("params do not rebuild the path", path);
  std::string decoded;
  for (size_t i = 0; i < m.param_count; ++i) {
    if (!http::decodePathParam(m.params[i].raw, &decoded)) die("param does not decode", path);
  }
}

// Decoders never grow their input, and the two path-param checks agree.
void checkDecoding(std::string_view path, std::string_view query) {
  std::string out;
  bool valid = http::isValidPercentEncoding(path);
  if (http::decodePathParam(path, &out) != valid) die("decodePathParam vs isValid", path);
  if (valid && out.size() > path.size()) die("decoded param grew", path);
  http::forEachQueryPair(query, [&](std::string_view name, std::string_view value) {
    if (name.empty() || name.size() + value.size() > query.size()) die("bad query pair", query);
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  table = new router::Router;
  for (size_t i = 0; i < std::size(kRoutes); ++i) {
    std::string error = table->add(kRoutes[i].method, kRoutes[i].pattern, int(i));
    if (!error.empty()) die(error.c_str(), kRoutes[i].pattern);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  for (int i = 0; i < router::kMethodCount; ++i) checkMatch(Method(i), path);
  checkDecoding(path, query);
  return 0;
}
