// libFuzzer target: router::Router::match on arbitrary paths with every
// method, plus the percent-decoding of path params and queries (http/query.h).
// Input: a request target; the part before the first '?' is the path.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

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
router::MethodMask all_methods = 0;

void die(const char* what, std::string_view path) {
  std::fprintf(stderr, "fuzz_router: %s for path '%.*s'\n", what, int(path.size()), path.data());
  std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void checkMatch(Method method, std::string_view path) {
  router::Match m;
  bool found = table->match(method, path, &m);
  if (found != (m.handler >= 0)) die("found disagrees with handler", path);
  if (!found) {
    if (m.allowed & ~all_methods) die("allowed has a method no route has", path);
    return;
  }
  if (m.handler >= int(std::size(kRoutes)) || m.param_count > router::kMaxParams) {
    die("bad match", path);
  }
  if (m.pattern != kRoutes[m.handler].pattern) die("pattern is not the handler's", path);
  std::string decoded;
  for (size_t i = 0; i < m.param_count; ++i) {
    std::string_view raw = m.params[i].raw;
    if (raw.empty() || !inside(raw, path)) die("param not a non-empty part of the path", path);
    if (!http::decodePathParam(raw, &decoded)) die("matched param does not decode", path);
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
    all_methods |= router::MethodMask(1 << int(kRoutes[i].method));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  for (int i = 0; i < router::kMethodCount; ++i) checkMatch(Method(i), path);
  router::Match get, head;
  if (table->match(Method::kGet, path, &get) && !table->match(Method::kHead, path, &head)) {
    die("GET route not served for HEAD", path);
  }
  checkDecoding(path, query);
  return 0;
}
