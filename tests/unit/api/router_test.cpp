// Router: literal-over-parameter priority, 404/405 bodies, parameters.
#include "kray/api/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "kray/api/json_util.h"

namespace kray::api {
namespace {

Handler Tag(std::string tag) {
  return [tag](const HttpRequest& req, Reply reply) {
    HttpResponse r;
    r.body = tag;
    for (auto& [k, v] : req.params) r.body += "|" + k + "=" + v;
    reply(std::move(r));
  };
}

HttpResponse Call(const Router& router, std::string method, std::string path) {
  HttpRequest req;
  req.method = std::move(method);
  req.path = std::move(path);
  HttpResponse out;
  int calls = 0;
  router.Dispatch(req, [&](HttpResponse r) {
    out = std::move(r);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  return out;
}

TEST(Router, LiteralBeatsParameterRegardlessOfOrder) {
  Router r;
  // Parameterised routes registered FIRST: the original's bug was order-based matching.
  r.Add("GET", "/api/transaction/:hash", Tag("hash"));
  r.Add("GET", "/api/validator/:id", Tag("validator"));
  r.Add("GET", "/api/validator/:id/rewards", Tag("rewards"));
  r.Add("GET", "/api/transaction/pending", Tag("pending"));
  r.Add("GET", "/api/transaction/stats", Tag("stats"));
  r.Add("GET", "/api/validator/stats", Tag("vstats"));
  r.Add("GET", "/api/validator/consensus/state", Tag("consensus"));
  r.Add("GET", "/api/account/list", Tag("list"));
  r.Add("GET", "/api/account/:address/balance", Tag("balance"));

  EXPECT_EQ(Call(r, "GET", "/api/transaction/pending").body, "pending");
  EXPECT_EQ(Call(r, "GET", "/api/transaction/stats").body, "stats");
  EXPECT_EQ(Call(r, "GET", "/api/transaction/abcd").body, "hash|hash=abcd");
  EXPECT_EQ(Call(r, "GET", "/api/validator/stats").body, "vstats");
  EXPECT_EQ(Call(r, "GET", "/api/validator/v1").body, "validator|id=v1");
  EXPECT_EQ(Call(r, "GET", "/api/validator/consensus/state").body, "consensus");
  EXPECT_EQ(Call(r, "GET", "/api/validator/consensus/rewards").body, "rewards|id=consensus");
  EXPECT_EQ(Call(r, "GET", "/api/account/list").body, "list");
  EXPECT_EQ(Call(r, "GET", "/api/account/kray_ab/balance").body, "balance|address=kray_ab");
}

TEST(Router, LeftmostLiteralDecides) {
  Router r;
  r.Add("GET", "/a/:x/c", Tag("xc"));
  r.Add("GET", "/a/b/:y", Tag("by"));
  EXPECT_EQ(Call(r, "GET", "/a/b/c").body, "by|y=c");
  EXPECT_EQ(Call(r, "GET", "/a/z/c").body, "xc|x=z");
}

TEST(Router, UnknownRouteIs404JsonWithPath) {
  Router r;
  r.Add("GET", "/health", Tag("h"));
  auto resp = Call(r, "GET", "/x");
  EXPECT_EQ(resp.status, 404);
  auto j = Json::parse(resp.body);
  EXPECT_EQ(j["error"], "route not found: GET /x");
  EXPECT_EQ(j["code"], "route_not_found");
  EXPECT_EQ(j["path"], "/x");
  EXPECT_EQ(Call(r, "GET", "/health/more").status, 404);
  EXPECT_EQ(Call(r, "GET", "//health").status, 404);
  EXPECT_EQ(Call(r, "GET", "").status, 404);
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router r;
  r.Add("POST", "/api/transaction/estimate-gas", Tag("gas"));
  r.Add("GET", "/api/transaction/:hash", Tag("hash"));
  auto resp = Call(r, "GET", "/api/transaction/estimate-gas");
  // A literal path must not fall through to the parameterised GET route.
  EXPECT_EQ(resp.status, 405);
  EXPECT_EQ(Json::parse(resp.body)["code"], "method_not_allowed");
  ASSERT_EQ(resp.headers.size(), 1u);
  EXPECT_EQ(resp.headers[0].first, "Allow");
  EXPECT_EQ(resp.headers[0].second, "POST");
  EXPECT_EQ(Call(r, "POST", "/api/transaction/estimate-gas").body, "gas");
  EXPECT_EQ(Call(r, "DELETE", "/api/transaction/ff").status, 405);
}

TEST(Router, TrailingSlashAndDecodedParams) {
  Router r;
  r.Add("GET", "/api/account/:address/balance", Tag("b"));
  EXPECT_EQ(Call(r, "GET", "/api/account/abc/balance/").body, "b|address=abc");
  EXPECT_EQ(Call(r, "GET", "/api/account/a%20b/balance").body, "b|address=a b");
  EXPECT_EQ(Call(r, "GET", "/api/account//balance").status, 404);
}

TEST(Router, APathIsMatchedAgainstThePatternsOfItsLength) {
  // Routes are looked up by segment count: each length finds its own, a
  // length no route has (longer than any, or none at all) is a 404.
  Router r;
  r.Add("GET", "/", Tag("root"));
  r.Add("GET", "/a/:x/c", Tag("three"));
  r.Add("GET", "/a", Tag("one"));
  r.Add("POST", "/a/b/c/d", Tag("four"));
  r.Add("GET", "/a/:x", Tag("two"));
  EXPECT_EQ(Call(r, "GET", "/").body, "root");
  EXPECT_EQ(Call(r, "GET", "/a").body, "one");
  EXPECT_EQ(Call(r, "GET", "/a/b").body, "two|x=b");
  EXPECT_EQ(Call(r, "GET", "/a/b/c").body, "three|x=b");
  EXPECT_EQ(Call(r, "POST", "/a/b/c/d").body, "four");
  EXPECT_EQ(Call(r, "GET", "/a/b/c/d").status, 405);
  EXPECT_EQ(Call(r, "GET", "/a/b/c/d/e").status, 404);
  EXPECT_EQ(Call(r, "GET", "/a/b/c/d/e/f/g/h/i/j/k").status, 404);
  EXPECT_EQ(Call(r, "GET", "/b/c").status, 404);
  EXPECT_EQ(r.Find("GET", "/a/b/c").index, 1);  // Routes()' index, not the length's
  // Then by the second segment: a literal there and a parameter there are
  // both candidates; of equals the first registered wins, Allow in order.
  r.Add("GET", "/m/:p/z", Tag("p"));
  r.Add("POST", "/m/k/z", Tag("k"));
  r.Add("PUT", "/m/:q/z", Tag("q"));
  r.Add("GET", "/m/:r/z", Tag("r"));
  EXPECT_EQ(Call(r, "POST", "/m/k/z").body, "k");
  EXPECT_EQ(Call(r, "GET", "/m/k/z").status, 405);
  EXPECT_EQ(r.Find("DELETE", "/m/k/z").allow, "POST");
  EXPECT_EQ(Call(r, "GET", "/m/j/z").body, "p|p=j");
  EXPECT_EQ(Call(r, "PUT", "/m/j/z").body, "q|q=j");
  EXPECT_EQ(r.Find("DELETE", "/m/j/z").allow, "GET, PUT");
  EXPECT_EQ(Call(r, "GET", "/a/m/z").status, 404);
  // A second segment some route has as a literal, answered by a parameter.
  EXPECT_EQ(Call(r, "GET", "/a/k/c").body, "three|x=k");
  Router empty;
  EXPECT_EQ(Call(empty, "GET", "/").status, 404);
  EXPECT_EQ(Call(empty, "GET", "/a").status, 404);
}

TEST(Router, ThrowingHandlerGives500NotCrash) {
  Router r;
  r.Add("GET", "/boom", [](const HttpRequest&, Reply) { throw std::runtime_error("bug"); });
  auto resp = Call(r, "GET", "/boom");
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(Json::parse(resp.body)["code"], "internal_error");
}

TEST(Router, ReRegisteringReplaces) {
  Router r;
  r.Add("GET", "/x", Tag("one"));
  r.Add("GET", "/x", Tag("two"));
  EXPECT_EQ(Call(r, "GET", "/x").body, "two");
}

TEST(Http, ParseQueryDecodes) {
  auto q = ParseQuery("limit=5&offset=10&name=a%2Bb+c&flag&&bad=%zz");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"limit", "5"}));
  EXPECT_EQ(q[2].second, "a+b c");
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q[4].second, "%zz");
  HttpRequest req;
  req.query = q;
  EXPECT_EQ(req.Query("offset").value(), "10");
  EXPECT_FALSE(req.Query("nope").has_value());
  EXPECT_EQ(PercentDecode("%4", false), "%4");
  EXPECT_EQ(PercentDecode("%41%", false), "A%");
}

}  // namespace
}  // namespace kray::api
