// The exposition of app/metrics.h: per-worker counters summed, cumulative
// buckets ending in +Inf = count, label values escaped, gauges per worker.
#include "app/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rover::app {
namespace {

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, SumsWorkersAndCumulatesBuckets) {
  std::vector<lua::RouteInfo> routes = {{router::Method::kGet, "/a", false},
                                        {router::Method::kGet, "/b/{id}", false}};
  Metrics m(routes, 2);
  m.worker(1)->record(0, 0, 200, 100'000);        // 0.1 ms
  m.worker(2)->record(0, 0, 204, 3'000'000);      // 3 ms
  m.worker(2)->record(0, 0, 503, 20'000'000'000);  // 20 s: only +Inf
  m.worker(1)->record(1, 2, 201, 1'000'000);      // exactly 1 ms: le="0.001"
  m.worker(1)->record(UINT32_MAX, 7, 404, 1);     // no route, an unknown method
  std::string t;
  m.render(t);
  EXPECT_TRUE(has(t, R"m(rover_http_requests_total{route="/a",method="GET",status="2xx"} 2)m")) << t;
  EXPECT_TRUE(has(t, R"m(rover_http_requests_total{route="/a",method="GET",status="5xx"} 1)m")) << t;
  EXPECT_TRUE(has(t, R"m(rover_http_requests_total{route="/b/{id}",method="POST",status="2xx"} 1)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_requests_total{route="(unmatched)",method="OTHER",status="4xx"} 1)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_bucket{route="/a",le="0.0005"} 1)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_bucket{route="/a",le="0.0025"} 1)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_bucket{route="/a",le="0.005"} 2)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_bucket{route="/a",le="10"} 2)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_bucket{route="/a",le="+Inf"} 3)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_count{route="/a"} 3)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_sum{route="/a"} 20.003100000)m")) << t;
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_bucket{route="/b/{id}",le="0.0005"} 0)m"));
  EXPECT_TRUE(has(t, R"m(rover_http_request_duration_seconds_bucket{route="/b/{id}",le="0.001"} 1)m"));
  // Nothing counted, nothing listed; no zero series for the other classes.
  EXPECT_EQ(t.find(R"m(status="3xx")m"), std::string::npos);
  EXPECT_TRUE(has(t, "# TYPE rover_http_requests_total counter"));
  EXPECT_TRUE(has(t, "# TYPE rover_http_request_duration_seconds histogram"));
  EXPECT_TRUE(has(t, R"m(rover_open_connections{worker="1"} 0)m"));
  EXPECT_TRUE(has(t, R"m(rover_open_connections{worker="2"} 0)m"));
  EXPECT_TRUE(has(t, "# TYPE rover_shared_entries gauge"));
}

TEST(MetricsTest, EscapesLabelValues) {
  std::vector<lua::RouteInfo> routes = {{router::Method::kGet, "/q\"\\\nx", false}};
  Metrics m(routes, 1);
  m.worker(1)->record(0, 0, 200, 1);
  std::string t;
  m.render(t);
  EXPECT_TRUE(has(t, R"m(rover_http_requests_total{route="/q\"\\\nx",method="GET",status="2xx"} 1)m"))
      << t;
}

}  // namespace
}  // namespace rover::app
