#include <gtest/gtest.h>

#include "kray/api/metrics.h"
#include "kray/api/router.h"

namespace kray::api {
namespace {

TEST(HttpMetrics, CountsByRouteAndStatusWithOtherForTheRest) {
  Router router;
  router.Add("GET", "/a/:id", [](const HttpRequest&, Reply r) { r({}); });
  router.Add("POST", "/b", [](const HttpRequest&, Reply r) { r({}); });
  HttpMetrics m(router);

  HttpRequest req;
  req.method = "GET";
  req.path = "/a/7";
  int route = -2;
  router.Dispatch(
      req, [](HttpResponse) {}, &route);
  EXPECT_EQ(route, 0);
  m.RecordRequest(route, 200, 0.002);
  m.RecordRequest(route, 200, 0.004);
  m.RecordRequest(route, 418, 0.001);  // not a counted status: "other"
  m.RecordRequest(-1, 404, 0.0001);    // not routed
  m.RecordRequest(m.feed_route(), 101, 0.0001);
  m.RecordRequest(99, 500, 0.0001);  // out of range: "other"

  auto rows = m.Read();
  ASSERT_EQ(rows.size(), 3u);  // /b served nothing: not listed
  EXPECT_EQ(rows[0].route, "/a/:id");
  EXPECT_EQ(rows[0].method, "GET");
  EXPECT_EQ(rows[0].by_status, (std::vector<std::pair<std::string, std::uint64_t>>{{"200", 2}, {"other", 1}}));
  EXPECT_EQ(rows[0].latency.count(), 3u);
  EXPECT_NEAR(rows[0].latency.sum, 0.007, 1e-12);
  EXPECT_EQ(rows[1].route, "/ws");
  EXPECT_EQ(rows[2].route, "other");
  EXPECT_EQ(rows[2].by_status, (std::vector<std::pair<std::string, std::uint64_t>>{{"404", 1}, {"500", 1}}));

  req.path = "/nowhere";
  router.Dispatch(
      req, [](HttpResponse) {}, &route);
  EXPECT_EQ(route, -1);
}

}  // namespace
}  // namespace kray::api
