// The stages and filters of app/pipeline (server-features.md §0.1) through a
// real Processor, bytes in and bytes out, with the config read from an app
// exactly as startup reads it.
#include "app/pipeline.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "app/processor.h"
#include "core/log.h"

namespace rover::app {

// processor_test.cpp counts allocations (its operator new is this binary's).
long allocationCount();

namespace {

constexpr const char* kRoutes = R"lua(
function api.plain.get(ctx) return "plain" end
function api.framed.get(ctx)
  return api.json({ headers = { ["X-Frame-Options"] = " sameorigin ", ["Referrer-Policy"] = "unsafe-url",
                                Vary = "Accept", ["Access-Control-Allow-Origin"] = "https://forged" } })
end
function api.users.p_id.get(ctx) return { id = ctx:params().id } end
return api
)lua";

class PipelineTest : public ::testing::Test {
 protected:
  void start(const std::string& config) {
    core::setLogLevel(core::LogLevel::kNope);
    // one file per test: ctest runs the tests of this binary in parallel
    path_ = ::testing::TempDir() + "/pipeline_test_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".lua";
    std::ofstream(path_) << "local api = rover.server { log_level = 'nope', " << config << " }\n"
                         << kRoutes;
    std::string err;
    ASSERT_EQ(vm_.load({path_, {}}, &err), lua::LoadResult::kServer) << err;
    lua::ServerConfig cfg;
    ASSERT_TRUE(vm_.readConfig({}, &cfg, &err)) << err;
    ASSERT_TRUE(cfg.strict_errors.empty());
    ASSERT_TRUE(vm_.buildRoutes(router_, nullptr, &err)) << err;
    pipeline_ = Pipeline::create(cfg, &err);
    ASSERT_TRUE(pipeline_) << err;
    ProcessorSettings s;
    s.pipeline = pipeline_.get();
    proc_ = std::make_unique<Processor>(vm_, router_, s);
    proc_->open(&conn_);
  }

  std::string roundTrip(const std::string& bytes) {
    conn_.in.append(bytes);
    proc_->process(&conn_);
    std::string out(conn_.out.view());
    conn_.out.clear();
    conn_.out_sent = 0;
    return out;
  }

  static std::string get(const std::string& path, const std::string& headers = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n";
  }

  static size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
  }

  std::string path_;
  lua::Vm vm_{1, 1};
  router::Router router_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Processor> proc_;
  Connection conn_;
};

TEST_F(PipelineTest, SecurityHeadersOnEveryResponseByDefault) {
  start("");
  for (const std::string& path : {"/plain", "/nowhere", "/healthz"}) {
    std::string out = roundTrip(get(path));
    EXPECT_NE(out.find("\r\nX-Content-Type-Options: nosniff\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Frame-Options: DENY\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nReferrer-Policy: strict-origin-when-cross-origin\r\n"),
              std::string::npos)
        << out;
  }
  std::string out = roundTrip("GET / HTTP/1.1\r\nHost: x\r\n bad\r\n\r\n");  // transport error
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  EXPECT_NE(out.find("X-Frame-Options: DENY\r\n"), std::string::npos) << out;
}

TEST_F(PipelineTest, AppSecurityHeadersKeptWhenSafeReplacedOtherwise) {
  start("");
  std::string out = roundTrip(get("/framed"));
  EXPECT_NE(out.find("X-Frame-Options:  sameorigin \r\n"), std::string::npos) << out;
  EXPECT_EQ(count(out, "X-Frame-Options"), 1u) << out;
  EXPECT_NE(out.find("Referrer-Policy: strict-origin-when-cross-origin\r\n"), std::string::npos);
  EXPECT_EQ(out.find("unsafe-url"), std::string::npos) << out;
}

TEST_F(PipelineTest, InsecureOverridesKeptWhenAllowed) {
  start("allow_insecure_security_header_overrides = true");
  std::string out = roundTrip(get("/framed"));
  EXPECT_NE(out.find("Referrer-Policy: unsafe-url\r\n"), std::string::npos) << out;
  EXPECT_EQ(count(out, "Referrer-Policy"), 1u) << out;
}

TEST_F(PipelineTest, NoSecurityHeadersWhenOff) {
  start("security_headers = false, allow_insecure_security_header_overrides = true");
  std::string out = roundTrip(get("/plain"));
  EXPECT_EQ(out.find("X-Content-Type-Options"), std::string::npos) << out;
}

TEST_F(PipelineTest, CorsReflectsOnlyConfiguredOriginsAndMergesVary) {
  start("cors_origin = { 'https://a.example', 'https://B.example' }, cors_credentials = true");
  std::string out = roundTrip(get("/framed", "Origin: https://b.EXAMPLE\r\n"));
  EXPECT_NE(out.find("Access-Control-Allow-Origin: https://B.example\r\n"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("forged"), std::string::npos) << out;
  EXPECT_NE(out.find("Access-Control-Allow-Credentials: true\r\n"), std::string::npos);
  EXPECT_NE(out.find("Vary: Accept, Origin, Accept-Encoding\r\n"), std::string::npos) << out;
  out = roundTrip(get("/plain", "Origin: https://evil.example\r\n"));
  EXPECT_EQ(out.find("Access-Control"), std::string::npos) << out;
  out = roundTrip(get("/nowhere", "Origin: https://a.example\r\n"));
  EXPECT_EQ(out.rfind("HTTP/1.1 404", 0), 0u) << out;
  EXPECT_NE(out.find("Access-Control-Allow-Origin: https://a.example\r\n"), std::string::npos);
  EXPECT_NE(out.find("Vary: Origin, Accept-Encoding\r\n"), std::string::npos) << out;
}

TEST_F(PipelineTest, PreflightForAllowedOriginOnly) {
  start("cors_origin = '*', cors_methods = 'GET, PUT'");
  std::string pre = "OPTIONS /anything HTTP/1.1\r\nHost: x\r\nOrigin: https://z.example\r\n"
                    "Access-Control-Request-Method: PUT\r\n\r\n";
  std::string out = roundTrip(pre);
  EXPECT_EQ(out.rfind("HTTP/1.1 204", 0), 0u) << out;
  EXPECT_NE(out.find("Access-Control-Allow-Methods: GET, PUT\r\n"), std::string::npos);
  EXPECT_NE(out.find("Access-Control-Allow-Headers: Content-Type, Authorization\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Vary"), std::string::npos) << out;
  // without Access-Control-Request-Method: an ordinary OPTIONS (404: no such path)
  out = roundTrip("OPTIONS /anything HTTP/1.1\r\nHost: x\r\nOrigin: https://z.example\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 404", 0), 0u) << out;
}

TEST_F(PipelineTest, ProbesAnswerBeforeRouting) {
  start("readiness = { dependencies = { zeta = false, alpha = false, ok = true } }");
  std::string out = roundTrip(get("/healthz?x=1"));
  EXPECT_NE(out.find("\r\n\r\n{\"status\":\"ok\"}"), std::string::npos) << out;
  out = roundTrip(get("/readyz"));
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
  EXPECT_NE(out.find("{\"status\":\"not_ready\",\"reasons\":[{\"code\":\"dependency_unavailable\","
                     "\"dependency\":\"alpha\"},{\"code\":\"dependency_unavailable\","
                     "\"dependency\":\"zeta\"}]}"),
            std::string::npos)
      << out;
  out = roundTrip("DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 405", 0), 0u) << out;
  EXPECT_NE(out.find("Allow: GET, HEAD\r\n"), std::string::npos);
  proc_->setDraining(true);
  out = roundTrip(get("/readyz"));
  EXPECT_NE(out.find("\r\n\r\n{\"status\":\"not_ready\"}"), std::string::npos) << out;
}

TEST_F(PipelineTest, RateLimitRefusesPastTheBucketAndScopesByPattern) {
  start("rate_limit = { global = { requests_per_window = 3, window_secs = 60 }, "
        "scoped = { { path_pattern = '/users/{id}', requests_per_window = 1, window_secs = 60 } } }");
  std::string out = roundTrip(get("/plain"));
  EXPECT_NE(out.find("RateLimit-Limit: 3\r\nRateLimit-Remaining: 2\r\nRateLimit-Reset: 20\r\n"),
            std::string::npos)
      << out;
  out = roundTrip(get("/users/7"));  // the scoped bucket (1 per 60 s) is the tighter
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("RateLimit-Limit: 1\r\nRateLimit-Remaining: 0\r\n"), std::string::npos)
      << out;
  out = roundTrip(get("/users/8"));
  EXPECT_EQ(out.rfind("HTTP/1.1 429", 0), 0u) << out;
  EXPECT_NE(out.find("Retry-After: 60\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("{\"error\":\"Too Many Requests\"}"), std::string::npos);
  out = roundTrip(get("/healthz"));  // probes are not limited
  EXPECT_EQ(out.find("RateLimit"), std::string::npos) << out;
  roundTrip(get("/plain"));  // the global bucket's last token (429s took none)
  out = roundTrip(get("/plain"));
  EXPECT_EQ(out.rfind("HTTP/1.1 429", 0), 0u) << out;
  EXPECT_NE(out.find("Retry-After: 20\r\n"), std::string::npos) << out;
}

// a body that compresses well in every coding (headers of gzip: 18 bytes)
const std::string kLongUser = "/users/" + std::string(300, 'w');

TEST_F(PipelineTest, CompressesWhatQualifiesInTheNegotiatedCoding) {
  start("compress = { algorithms = { 'gzip', 'br' }, min_size = 10 }");
  std::string out = roundTrip(get(kLongUser,
                                  "Accept-Encoding: br;q=0.9, gzip;q=0.8\r\n"));
  EXPECT_NE(out.find("Content-Encoding: br\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Vary: Accept-Encoding\r\n"), std::string::npos) << out;
  out = roundTrip(get(kLongUser,
                      "Accept-Encoding: br;q=0.5, gzip\r\n"));
  EXPECT_NE(out.find("Content-Encoding: gzip\r\n"), std::string::npos) << out;
  out = roundTrip(get(kLongUser,
                      "Accept-Encoding: deflate\r\n"));  // not allowed by the config
  EXPECT_EQ(out.find("Content-Encoding"), std::string::npos) << out;
  EXPECT_NE(out.find("Vary: Accept-Encoding\r\n"), std::string::npos) << out;
  out = roundTrip(get("/users/1", "Accept-Encoding: gzip\r\n"));  // below min_size
  EXPECT_EQ(out.find("Content-Encoding"), std::string::npos) << out;
}

TEST_F(PipelineTest, NoCompressionWhenOff) {
  start("compress = false");
  std::string out = roundTrip(get(kLongUser,
                                  "Accept-Encoding: gzip\r\n"));
  EXPECT_EQ(out.find("Content-Encoding"), std::string::npos) << out;
  EXPECT_EQ(out.find("Vary"), std::string::npos) << out;
}

TEST_F(PipelineTest, HttpsRedirectForPlainRequestsWithHost) {
  start("https_redirect = true");
  std::string out = roundTrip("GET /a/b?c=1 HTTP/1.1\r\nHost: shop.example\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 308", 0), 0u) << out;
  EXPECT_NE(out.find("Location: https://shop.example/a/b?c=1\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 0\r\n"), std::string::npos);
  out = roundTrip(get("/healthz"));
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
}

TEST_F(PipelineTest, FiltersAllocateNothingInSteadyState) {
  start("cors_origin = { 'https://a.example' }, rate_limit = true");
  const std::string batch = get("/framed", "Origin: https://a.example\r\n") + get("/plain") +
                            get("/users/1") + get("/healthz");
  for (int i = 0; i < 500; ++i) roundTrip(batch);  // also past the bucket: 429s
  long before = allocationCount();
  for (int i = 0; i < 2'000; ++i) {
    conn_.in.append(batch);
    proc_->process(&conn_);
    conn_.out.clear();
  }
  EXPECT_EQ(allocationCount() - before, 0);
}

}  // namespace
}  // namespace rover::app
