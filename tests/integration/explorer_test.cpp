// The explorer's static assets and the OpenAPI document as the real krayd
// serves them: content types, the security headers on every answer,
// revalidation (ETag / If-None-Match -> 304), and names that try to reach
// the file system (traversal, encoded slashes, NUL, huge names) answered
// 404 asset_not_found without touching it. The page itself runs in
// chromium in tests/js/explorer.test.mjs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

using nlohmann::json;

class ExplorerServeTest : public NodeTest {
 protected:
  net::HttpResponse GetWith(const std::string& target, const net::Headers& headers) {
    auto r = http_->Get(target, headers);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : net::HttpResponse{};
  }

  static void ExpectSecurityHeaders(const net::HttpResponse& r, const std::string& what) {
    auto csp = r.Header("Content-Security-Policy");
    ASSERT_TRUE(csp) << what;
    EXPECT_NE(csp->find("default-src 'none'"), std::string::npos) << what;
    EXPECT_NE(csp->find("script-src 'self'"), std::string::npos) << what;
    EXPECT_EQ(csp->find("unsafe-inline"), std::string::npos) << what;
    EXPECT_EQ(csp->find("unsafe-eval"), std::string::npos) << what;
    EXPECT_EQ(r.Header("X-Content-Type-Options").value_or(""), "nosniff") << what;
    EXPECT_EQ(r.Header("X-Frame-Options").value_or(""), "DENY") << what;
  }
};

TEST_F(ExplorerServeTest, PageAndAssetsWithTheirTypesAndHeaders) {
  const std::pair<const char*, const char*> assets[] = {
      {"/", "text/html; charset=utf-8"},
      {"/explorer/app.js", "text/javascript; charset=utf-8"},
      {"/explorer/proof.js", "text/javascript; charset=utf-8"},
      {"/explorer/live.js", "text/javascript; charset=utf-8"},
      {"/explorer/style.css", "text/css; charset=utf-8"},
      {"/explorer/favicon.svg", "image/svg+xml"},
  };
  for (const auto& [path, type] : assets) {
    auto r = Get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.Header("Content-Type").value_or(""), type) << path;
    EXPECT_EQ(r.Header("Cache-Control").value_or(""), "no-cache") << path;
    EXPECT_TRUE(r.Header("ETag")) << path;
    EXPECT_FALSE(r.body.empty()) << path;
    ExpectSecurityHeaders(r, path);
  }
  // The page loads its code from files (the CSP allows no inline script).
  auto page = Get("/");
  EXPECT_NE(page.body.find("<script type=\"module\" src=\"/explorer/app.js\"></script>"), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(page.body.find("onclick"), std::string::npos);
}

TEST_F(ExplorerServeTest, RevalidationAnswers304ForTheCurrentEtagOnly) {
  auto first = Get("/explorer/app.js");
  auto etag = first.Header("ETag");
  ASSERT_TRUE(etag);
  auto again = GetWith("/explorer/app.js", {{"If-None-Match", *etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.Header("ETag").value_or(""), *etag);
  auto stale = GetWith("/explorer/app.js", {{"If-None-Match", "\"0000\""}});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, first.body);
  // Another asset's tag does not revalidate this one.
  auto css_tag = Get("/explorer/style.css").Header("ETag");
  ASSERT_TRUE(css_tag);
  EXPECT_EQ(GetWith("/explorer/app.js", {{"If-None-Match", *css_tag}}).status, 200);
  // A list with our tag (weak or not) matches; a tag run into another or
  // wrapped in junk is not a list element and does not.
  EXPECT_EQ(GetWith("/explorer/app.js", {{"If-None-Match", "\"x\", W/" + *etag}}).status, 304);
  EXPECT_EQ(GetWith("/explorer/app.js", {{"If-None-Match", " * "}}).status, 304);
  EXPECT_EQ(GetWith("/explorer/app.js", {{"If-None-Match", *etag + *etag}}).status, 200);
  EXPECT_EQ(GetWith("/explorer/app.js", {{"If-None-Match", "x" + *etag}}).status, 200);
  EXPECT_EQ(GetWith("/explorer/app.js", {{"If-None-Match", *etag + "x"}}).status, 200);
}

// An attacker's asset names: none reaches the file system or another file.
TEST_F(ExplorerServeTest, NamesOutsideTheCompiledInFilesAre404) {
  const std::string names[] = {
      "..%2F..%2F..%2Fetc%2Fpasswd",
      "..%2Fsrc%2Fapi%2Fexplorer.cpp",
      "%2Fetc%2Fpasswd",
      "app.js%00.png",
      "APP.JS",
      "app.js.map",
      "index.html%2F..",
      ".",
      "%2e%2e",
      std::string(8000, 'a') + ".js",
  };
  for (const auto& name : names) {
    auto r = Get("/explorer/" + name);
    EXPECT_EQ(r.status, 404) << name.substr(0, 60);
    json j = json::parse(r.body, nullptr, false);
    EXPECT_EQ(j.value("code", ""), "asset_not_found") << name.substr(0, 60);
    EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/json") << name.substr(0, 60);
    ExpectSecurityHeaders(r, name.substr(0, 60));
  }
  // Raw dot segments and extra segments are other paths, not assets.
  EXPECT_EQ(Get("/explorer/../../etc/passwd").status, 404);
  EXPECT_EQ(Get("/explorer/a/b").status, 404);
  EXPECT_EQ(Get("/explorer").status, 404);
}

TEST_F(ExplorerServeTest, WritesToThePageAreRefused) {
  auto r = Post("/", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow").value_or(""), "GET");
}

// GET /api/operations: the explorer's "latest operations", newest first,
// paged with next_before until the first operation; bad paging is a 400.
TEST_F(ExplorerServeTest, RecentOperationsPageNewestFirst) {
  EXPECT_EQ(GetJson("/api/operations")["operations"], json::array());
  std::vector<std::string> hashes;
  for (std::uint64_t n = 0; n < 5; ++n) {
    auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 10 + n, n).dump());
    ASSERT_EQ(r.status, 200) << r.body;
    hashes.push_back(json::parse(r.body)["tx_hash"]);
  }
  std::vector<std::string> seen;
  std::string target = "/api/operations?limit=2";
  for (int page = 0; page < 5; ++page) {
    json j = GetJson(target);
    for (const auto& op : j["operations"]) seen.push_back(op["tx_hash"]);
    if (j["next_before"].is_null()) break;
    target = "/api/operations?limit=2&before=" + std::to_string(j["next_before"].get<std::uint64_t>());
  }
  EXPECT_EQ(seen, std::vector<std::string>(hashes.rbegin(), hashes.rend()));
  json one = GetJson("/api/operations?limit=1");
  EXPECT_EQ(one["operations"][0]["type"], "transfer");
  EXPECT_EQ(one["operations"][0]["status"], "confirmed");
  for (const char* bad :
       {"limit=0", "limit=501", "limit=x", "before=-1", "before=1e3", "before=99999999999999999999"}) {
    auto r = Get(std::string("/api/operations?") + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false).value("code", ""), "invalid_field") << bad;
  }
}

TEST_F(ExplorerServeTest, OpenApiDocumentIsServedWithTheNodeVersion) {
  json doc = GetJson("/api/openapi.json");
  EXPECT_EQ(doc.value("openapi", ""), "3.1.0");
  EXPECT_EQ(doc["info"].value("version", ""), GetJson("/health").value("version", "?"));
  for (const char* path : {"/health", "/api/transaction/send", "/api/account/{address}/proof", "/", "/api/operations"})
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
}

}  // namespace
}  // namespace kray::test
