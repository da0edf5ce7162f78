#include "router/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// Counts heap allocations so a test can check that match() makes none.
static std::atomic<size_t> g_allocations{0};
void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// noinline: otherwise GCC warns that free() meets memory from operator new.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace rover::router {
namespace {

constexpr MethodMask bit(Method m) { return static_cast<MethodMask>(1u << static_cast<int>(m)); }

// Matches and returns the handler id (-1 on a miss).
int lookup(const Router& r, Method m, std::string_view path, Match* out) {
  r.match(m, path, out);
  return out->handler;
}

int lookup(const Router& r, Method m, std::string_view path) {
  Match out;
  return lookup(r, m, path, &out);
}

TEST(Methods, ParseIsCaseSensitive) {
  EXPECT_EQ(parseMethod("GET"), Method::kGet);
  EXPECT_EQ(parseMethod("OPTIONS"), Method::kOptions);
  EXPECT_EQ(parseMethod("DELETE"), Method::kDelete);
  EXPECT_FALSE(parseMethod("get").has_value());
  EXPECT_FALSE(parseMethod("").has_value());
  EXPECT_FALSE(parseMethod("CONNECT").has_value());
  EXPECT_FALSE(parseMethod("GETX").has_value());
  for (int i = 0; i < kMethodCount; ++i) {
    Method m = static_cast<Method>(i);
    EXPECT_EQ(parseMethod(methodName(m)), m);
  }
}

TEST(Methods, AllowHeader) {
  EXPECT_EQ(allowHeader(bit(Method::kGet) | bit(Method::kPost)), "GET, HEAD, POST, OPTIONS");
  EXPECT_EQ(allowHeader(bit(Method::kDelete)), "DELETE, OPTIONS");
  EXPECT_EQ(allowHeader(0), "OPTIONS");
  EXPECT_EQ(allowHeader(0x7f), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(allowHeader(bit(Method::kHead)), "HEAD, OPTIONS");
}

TEST(Router, RootMatchesOnlySlash) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/", 1), "");
  Match m;
  EXPECT_EQ(lookup(r, Method::kGet, "/", &m), 1);
  EXPECT_EQ(m.pattern, "/");
  EXPECT_EQ(m.param_count, 0u);
  EXPECT_EQ(lookup(r, Method::kGet, "//"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, ""), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/x"), -1);
}

TEST(Router, StaticRoutes) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/books", 1), "");
  ASSERT_EQ(r.add(Method::kPost, "/books/archive", 2), "");
  ASSERT_EQ(r.add(Method::kGet, "/out_of_print", 3), "");
  EXPECT_EQ(lookup(r, Method::kGet, "/books"), 1);
  EXPECT_EQ(lookup(r, Method::kPost, "/books/archive"), 2);
  EXPECT_EQ(lookup(r, Method::kGet, "/out_of_print"), 3);
  EXPECT_EQ(lookup(r, Method::kGet, "/Books"), -1);  // case-sensitive
  EXPECT_EQ(lookup(r, Method::kGet, "/book"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/"), -1);
  EXPECT_EQ(r.size(), 3u);
}

TEST(Router, StaticSegmentsAreNotDecoded) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/a b", 1), "");
  ASSERT_EQ(r.add(Method::kGet, "/x/a+b", 2), "");
  EXPECT_EQ(lookup(r, Method::kGet, "/a b"), 1);
  EXPECT_EQ(lookup(r, Method::kGet, "/a%20b"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/x/a+b"), 2);
  EXPECT_EQ(lookup(r, Method::kGet, "/x/a%2Bb"), -1);
}

TEST(Router, TrailingSlashAndEmptySegments) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/books", 1), "");
  ASSERT_EQ(r.add(Method::kGet, "/books/{id}", 2), "");
  ASSERT_EQ(r.add(Method::kGet, "/{a}/{b}", 3), "");
  Match m;
  EXPECT_EQ(lookup(r, Method::kGet, "/books/", &m), -1);
  EXPECT_EQ(m.allowed, 0);
  EXPECT_EQ(lookup(r, Method::kGet, "//books"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/books//"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "//"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "///"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/x/"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/x/y"), 3);
}

TEST(Router, ParamsAreRawViewsInOrder) {
  Router r;
  ASSERT_EQ(r.add(Method::kDelete, "/shelves/{shelf}/books/{isbn}", 7), "");
  std::string path = "/shelves/a%2Fb/books/c+d";
  Match m;
  ASSERT_EQ(lookup(r, Method::kDelete, path, &m), 7);
  EXPECT_EQ(m.method, Method::kDelete);
  EXPECT_EQ(m.pattern, "/shelves/{shelf}/books/{isbn}");
  ASSERT_EQ(m.param_count, 2u);
  EXPECT_EQ(m.params[0].name, "shelf");
  EXPECT_EQ(m.params[0].raw, "a%2Fb");
  EXPECT_EQ(m.params[1].name, "isbn");
  EXPECT_EQ(m.params[1].raw, "c+d");
  EXPECT_EQ(m.params[1].raw.data(), path.data() + path.size() - 3);  // a view, not a copy
}

TEST(Router, ParamRejectsInvalidPercentEncoding) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/f/{name}", 1), "");
  EXPECT_EQ(lookup(r, Method::kGet, "/f/a%20b"), 1);
  EXPECT_EQ(lookup(r, Method::kGet, "/f/%aF"), 1);
  EXPECT_EQ(lookup(r, Method::kGet, "/f/%"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/f/a%4"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/f/%zz"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/f/%%41"), -1);
  Match m;
  EXPECT_EQ(lookup(r, Method::kPost, "/f/%", &m), -1);
  EXPECT_EQ(m.allowed, 0);  // no route matches: 404, not 405
}

TEST(Router, StaticBeatsParamPerMethod) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/users/me", 1), "");
  ASSERT_EQ(r.add(Method::kGet, "/users/{id}", 2), "");
  ASSERT_EQ(r.add(Method::kDelete, "/users/{id}", 3), "");
  Match m;
  EXPECT_EQ(lookup(r, Method::kGet, "/users/me", &m), 1);
  EXPECT_EQ(m.param_count, 0u);
  EXPECT_EQ(m.pattern, "/users/me");
  EXPECT_EQ(lookup(r, Method::kDelete, "/users/me", &m), 3);
  ASSERT_EQ(m.param_count, 1u);
  EXPECT_EQ(m.params[0].name, "id");
  EXPECT_EQ(m.params[0].raw, "me");
  EXPECT_EQ(m.pattern, "/users/{id}");
  EXPECT_EQ(lookup(r, Method::kGet, "/users/42"), 2);
}

TEST(Router, LeftmostDifferenceDecides) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/{a}/b/c", 1), "");
  ASSERT_EQ(r.add(Method::kGet, "/a/{b}/{c}", 2), "");
  ASSERT_EQ(r.add(Method::kGet, "/a/{b}/c", 3), "");
  ASSERT_EQ(r.add(Method::kPost, "/{a}/b/c", 4), "");
  EXPECT_EQ(lookup(r, Method::kGet, "/a/b/c"), 3);
  EXPECT_EQ(lookup(r, Method::kGet, "/a/b/d"), 2);
  EXPECT_EQ(lookup(r, Method::kGet, "/x/b/c"), 1);
  EXPECT_EQ(lookup(r, Method::kPost, "/a/b/c"), 4);  // backtracks to the only POST route
  EXPECT_EQ(lookup(r, Method::kGet, "/x/y/c"), -1);
}

TEST(Router, BacktrackingRestoresParams) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/{a}/x/{b}", 1), "");
  ASSERT_EQ(r.add(Method::kPut, "/{a}/{c}/y", 2), "");
  Match m;
  ASSERT_EQ(lookup(r, Method::kPut, "/p/x/y", &m), 2);
  ASSERT_EQ(m.param_count, 2u);
  EXPECT_EQ(m.params[0].name, "a");
  EXPECT_EQ(m.params[0].raw, "p");
  EXPECT_EQ(m.params[1].name, "c");
  EXPECT_EQ(m.params[1].raw, "x");
}

TEST(Router, ParamNamesPerMethodOnSameShape) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/a/{x}", 1), "");
  ASSERT_EQ(r.add(Method::kPost, "/a/{y}", 2), "");
  Match m;
  ASSERT_EQ(lookup(r, Method::kPost, "/a/1", &m), 2);
  EXPECT_EQ(m.params[0].name, "y");
  EXPECT_EQ(m.pattern, "/a/{y}");
  ASSERT_EQ(lookup(r, Method::kGet, "/a/1", &m), 1);
  EXPECT_EQ(m.params[0].name, "x");
}

TEST(Router, HeadUsesHeadElseGet) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/a", 1), "");
  ASSERT_EQ(r.add(Method::kGet, "/b", 2), "");
  ASSERT_EQ(r.add(Method::kHead, "/b", 3), "");
  ASSERT_EQ(r.add(Method::kPost, "/c", 4), "");
  Match m;
  EXPECT_EQ(lookup(r, Method::kHead, "/a", &m), 1);
  EXPECT_EQ(m.method, Method::kGet);
  EXPECT_EQ(lookup(r, Method::kHead, "/b", &m), 3);
  EXPECT_EQ(m.method, Method::kHead);
  EXPECT_EQ(lookup(r, Method::kHead, "/c", &m), -1);
  EXPECT_EQ(m.allowed, bit(Method::kPost));
}

TEST(Router, HeadByGetFollowsPrecedence) {
  Router r;
  ASSERT_EQ(r.add(Method::kPost, "/u/me", 1), "");
  ASSERT_EQ(r.add(Method::kGet, "/u/{id}", 2), "");
  Match m;
  EXPECT_EQ(lookup(r, Method::kHead, "/u/me", &m), 2);
  EXPECT_EQ(m.method, Method::kGet);
  EXPECT_EQ(m.params[0].raw, "me");
}

TEST(Router, AllowedIsUnionOfMatchingRoutes) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/users/me", 1), "");
  ASSERT_EQ(r.add(Method::kPatch, "/users/me", 2), "");
  ASSERT_EQ(r.add(Method::kDelete, "/users/{id}", 3), "");
  ASSERT_EQ(r.add(Method::kPost, "/users", 4), "");
  ASSERT_EQ(r.add(Method::kPut, "/{a}/{b}", 5), "");
  Match m;
  EXPECT_FALSE(r.match(Method::kOptions, "/users/me", &m));
  EXPECT_EQ(m.handler, -1);
  EXPECT_EQ(m.allowed,
            bit(Method::kGet) | bit(Method::kPatch) | bit(Method::kDelete) | bit(Method::kPut));
  EXPECT_EQ(allowHeader(m.allowed), "GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
  EXPECT_FALSE(r.match(Method::kGet, "/users/7", &m));
  EXPECT_EQ(m.allowed, bit(Method::kDelete) | bit(Method::kPut));
  EXPECT_FALSE(r.match(Method::kGet, "/users", &m));
  EXPECT_EQ(m.allowed, bit(Method::kPost));
  EXPECT_FALSE(r.match(Method::kGet, "/nothing/here/at/all", &m));
  EXPECT_EQ(m.allowed, 0);
}

TEST(Router, ConflictMessage) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/a/{x}", 1), "");
  EXPECT_EQ(r.add(Method::kGet, "/a/{y}", 2), "Conflicting routes: GET /a/{x} and GET /a/{y}");
  EXPECT_EQ(r.add(Method::kPost, "/a/{y}", 3), "");
  ASSERT_EQ(r.add(Method::kDelete, "/b/{p}/c", 4), "");
  EXPECT_EQ(r.add(Method::kDelete, "/b/{q}/c", 5),
            "Conflicting routes: DELETE /b/{p}/c and DELETE /b/{q}/c");
  ASSERT_EQ(r.add(Method::kGet, "/", 6), "");
  EXPECT_EQ(r.add(Method::kGet, "/", 7), "Conflicting routes: GET / and GET /");
  EXPECT_EQ(r.add(Method::kGet, "/a/b", 8), "");  // static vs param: no conflict
  EXPECT_EQ(r.size(), 5u);
  EXPECT_EQ(lookup(r, Method::kGet, "/a/1"), 1);  // the failed add changed nothing
}

TEST(Router, InvalidPatternsAreRejected) {
  Router r;
  EXPECT_NE(r.add(Method::kGet, "", 1), "");
  EXPECT_NE(r.add(Method::kGet, "a", 1), "");
  EXPECT_NE(r.add(Method::kGet, "/a//b", 1), "");
  EXPECT_NE(r.add(Method::kGet, "/a/", 1), "");
  EXPECT_NE(r.add(Method::kGet, "/{}", 1), "");
  EXPECT_NE(r.add(Method::kGet, "/{x", 1), "");
  std::string many;
  for (size_t i = 0; i <= kMaxParams; ++i) many += "/{p" + std::to_string(i) + "}";
  EXPECT_NE(r.add(Method::kGet, many, 1), "");
  EXPECT_EQ(r.size(), 0u);
}

TEST(Router, DeepRouteWithMaxParams) {
  Router r;
  std::string pattern, path;
  for (size_t i = 0; i < kMaxParams; ++i) {
    pattern += "/s" + std::to_string(i) + "/{p" + std::to_string(i) + "}";
    path += "/s" + std::to_string(i) + "/v" + std::to_string(i);
  }
  ASSERT_EQ(r.add(Method::kGet, pattern, 1), "");
  Match m;
  ASSERT_EQ(lookup(r, Method::kGet, path, &m), 1);
  ASSERT_EQ(m.param_count, kMaxParams);
  EXPECT_EQ(m.params[31].name, "p31");
  EXPECT_EQ(m.params[31].raw, "v31");
  EXPECT_EQ(lookup(r, Method::kGet, path + "/extra"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, path.substr(0, path.rfind('/'))), -1);
}

TEST(Router, ManyRoutes) {
  Router r;
  for (int i = 0; i < 1000; ++i) {
    std::string s = "/static/" + std::to_string(i);
    ASSERT_EQ(r.add(Method::kGet, s, i), "");
    ASSERT_EQ(r.add(Method::kGet, "/p" + std::to_string(i) + "/{id}/x", 1000 + i), "");
  }
  ASSERT_EQ(r.add(Method::kPost, "/static/{n}", 5000), "");
  EXPECT_EQ(r.size(), 2001u);
  for (int i = 0; i < 1000; ++i) {
    std::string n = std::to_string(i);
    ASSERT_EQ(lookup(r, Method::kGet, "/static/" + n), i);
    Match m;
    std::string path = "/p" + n + "/abc/x";  // outlives the raw views in `m`
    ASSERT_EQ(lookup(r, Method::kGet, path, &m), 1000 + i);
    ASSERT_EQ(m.params[0].raw, "abc");
    ASSERT_EQ(lookup(r, Method::kPost, "/static/" + n), 5000);
  }
  EXPECT_EQ(lookup(r, Method::kGet, "/static/1000"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, "/p1000/abc/x"), -1);
}

TEST(Router, OddInputNeverCrashes) {
  Router r;
  ASSERT_EQ(r.add(Method::kGet, "/", 1), "");
  ASSERT_EQ(r.add(Method::kGet, "/{a}", 2), "");
  ASSERT_EQ(r.add(Method::kGet, "/{a}/{b}", 3), "");
  const std::vector<std::string> odd = {"",
                                        "x",
                                        "?",
                                        "*",
                                        std::string("/\0", 2),
                                        std::string(1, '\xff'),
                                        "/%",
                                        "/\xff",
                                        "/a/",
                                        std::string(5000, '/'),
                                        "/" + std::string(20000, 'a')};
  for (const auto& p : odd) {
    Match m;
    r.match(Method::kGet, p, &m);
  }
  EXPECT_EQ(lookup(r, Method::kGet, "x"), -1);
  EXPECT_EQ(lookup(r, Method::kGet, std::string("/\0", 2)), 2);
  EXPECT_EQ(lookup(r, Method::kGet, "/\xff"), 2);
}

TEST(Router, MatchDoesNotAllocate) {
  Router r;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(r.add(Method::kGet, "/s/" + std::to_string(i), i), "");
  }
  ASSERT_EQ(r.add(Method::kGet, "/users/me", 200), "");
  ASSERT_EQ(r.add(Method::kDelete, "/users/{id}/posts/{post}", 201), "");
  const std::string paths[] = {"/s/42", "/users/me", "/users/7/posts/9", "/nope/x"};
  Match m;
  size_t before = g_allocations.load();
  for (const auto& p : paths) {
    r.match(Method::kGet, p, &m);
    r.match(Method::kDelete, p, &m);
    r.match(Method::kHead, p, &m);
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
}

TEST(Router, EmptyRouter) {
  Router r;
  Match m;
  EXPECT_FALSE(r.match(Method::kGet, "/", &m));
  EXPECT_EQ(m.allowed, 0);
  EXPECT_FALSE(r.match(Method::kGet, "/a/b", &m));
}

}  // namespace
}  // namespace rover::router
