// Bytes in, bytes out through one worker's processor (no sockets), and the
// proof that steady-state requests allocate nothing on the C++ heap
// (ARCHITECTURE.md decision 5; LuaJIT's own allocator is not malloc).
#include "app/processor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>

#include "core/log.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace rover::app {

long allocationCount() { return g_allocations.load(); }

namespace {

constexpr const char* kApp = R"lua(
local api = rover.server { log_level = "nope" }
function api.echo.get(ctx) return api.json { message = "Echo GET", method = ctx.method } end
function api.users.p_id.get(ctx) return { id = ctx:params().id } end
function api.items.p_a.parts.p_b.get(ctx)
  local h = ctx:headers()
  return { a = ctx:params().a, b = ctx:params().b, ua = h["user-agent"], q = ctx:query().q }
end
function api.echo.post(ctx) return { got = ctx:body():json() } end
return api
)lua";

class ProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::setLogLevel(core::LogLevel::kNope);
    // one file per test: ctest runs the tests of this binary in parallel
    path_ = ::testing::TempDir() + "/processor_test_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".lua";
    std::ofstream(path_) << kApp;
    std::string err;
    ASSERT_EQ(vm_.load({path_, {}}, &err), lua::LoadResult::kServer) << err;
    lua::ServerConfig cfg;
    ASSERT_TRUE(vm_.readConfig({}, &cfg, &err)) << err;
    ASSERT_TRUE(vm_.buildRoutes(router_, &routes_, &err)) << err;
    proc_.open(&conn_);
  }

  std::string roundTrip(const std::string& bytes) {
    conn_.in.append(bytes);
    proc_.process(&conn_);
    std::string out(conn_.out.view());
    conn_.out.clear();
    conn_.out_sent = 0;
    return out;
  }

  std::string path_;
  std::vector<lua::RouteInfo> routes_;
  lua::Vm vm_{1, 1};
  router::Router router_;
  Processor proc_{vm_, router_, ProcessorSettings{}};
  Connection conn_;
};

const std::string kGetEcho =
    "GET /echo HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n";
const std::string kGetItem =
    "GET /items/a%20b/parts/42?q=lua+jit&long_name_beyond_sso=a+value+longer+than+sso HTTP/1.1\r\n"
    "Host: x\r\nUser-Agent: bench\r\n\r\n";
const std::string kGetLongParam =
    "GET /users/a-user-id-longer-than-the-small-string-buffer HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kPost =
    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n"
    "{\"name\":\"bench\",\"value\":42}";

TEST_F(ProcessorTest, AnswersPipelinedRequestsInOrder) {
  std::string out = roundTrip(kGetEcho + kGetItem + kPost);
  size_t a = out.find("{\"message\":\"Echo GET\"");
  if (a == std::string::npos) a = out.find("\"method\":\"GET\"");
  size_t b = out.find("\"ua\":\"bench\"");
  size_t c = out.find("\"value\":42");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(out.find("\"a\":\"a b\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"q\":\"lua jit\""), std::string::npos) << out;
  EXPECT_TRUE(conn_.in.empty());
}

TEST_F(ProcessorTest, TransportErrorClosesAndAnswers400) {
  std::string out = roundTrip("GET / HTTP/1.1\r\nHost: x\r\n bad\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(conn_.state, ConnState::kClosing);
}

TEST_F(ProcessorTest, SteadyStateRequestsDoNotAllocate) {
  const std::string batch = kGetEcho + kGetItem + kPost + kGetLongParam;
  for (int i = 0; i < 1000; ++i) roundTrip(batch);  // warm-up: buffers and pools grow
  long before = g_allocations.load();
  for (int i = 0; i < 100'000 / 4; ++i) {
    conn_.in.append(batch);
    proc_.process(&conn_);
    conn_.out.clear();
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// metrics = true (app/metrics.h): every request counted by route, method and
// status class, and still nothing allocated.
TEST_F(ProcessorTest, CountedRequestsDoNotAllocate) {
  Metrics metrics(routes_, 1);
  proc_.setMetrics(metrics.worker(1), &metrics);
  const std::string batch = kGetEcho + kGetItem + kPost + kGetLongParam +
                            "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 1000; ++i) roundTrip(batch);
  long before = g_allocations.load();
  for (int i = 0; i < 9000; ++i) {
    conn_.in.append(batch);
    proc_.process(&conn_);
    conn_.out.clear();
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  std::string text;
  metrics.render(text);
  for (const char* line : {
           "rover_http_requests_total{route=\"/echo\",method=\"GET\",status=\"2xx\"} 10000\n",
           "rover_http_requests_total{route=\"/echo\",method=\"POST\",status=\"2xx\"} 10000\n",
           "rover_http_requests_total{route=\"/users/{id}\",method=\"GET\",status=\"2xx\"} 10000\n",
           "rover_http_requests_total{route=\"(unmatched)\",method=\"GET\",status=\"4xx\"} 10000\n",
           // GET and POST /echo, two handlers: one series per pattern
           "rover_http_request_duration_seconds_count{route=\"/echo\"} 20000\n",
           "rover_http_request_duration_seconds_bucket{route=\"/echo\",le=\"+Inf\"} 20000\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  EXPECT_EQ(text.find("_count{route=\"/echo\"} 10000"), std::string::npos) << text;
}

}  // namespace
}  // namespace rover::app
