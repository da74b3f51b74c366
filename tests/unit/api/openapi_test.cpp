// The OpenAPI document (docs/openapi/*.json, kray/api/openapi.h) against the
// router: every route of every module is documented and nothing else is, every
// operation is complete, every $ref resolves. Run this after adding a route.
#include "kray/api/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "kray/api/handlers.h"
#include "kray/api/router.h"

namespace kray::api {
namespace {

const Json& Document() {
  static const Json doc = [] {
    auto d = AssembleOpenApi(OpenApiParts());
    EXPECT_TRUE(d.ok()) << d.error().message;
    return d.ok() ? *d : Json::object();
  }();
  return doc;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Every (METHOD path) the router serves, in OpenAPI form. The handlers are
// never called, so an empty context is enough to register them.
std::set<std::string> RouterRoutes() {
  static ApiContext ctx;
  static Router router;
  static bool registered = false;
  if (!registered) RegisterAllRoutes(router, ctx), registered = true;
  std::set<std::string> out;
  for (const auto& r : router.Routes()) out.insert(r.method + " " + OpenApiPath(r.pattern));
  return out;
}

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::set<std::string> DocumentRoutes() {
  std::set<std::string> out;
  for (const auto& [path, item] : Document()["paths"].items()) {
    for (const char* m : kMethods) {
      if (item.contains(m)) {
        std::string upper = m;
        std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
        out.insert(upper + " " + path);
      }
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s;
}

TEST(OpenApi, DocumentAssemblesAsOpenApi31) {
  const Json& doc = Document();
  EXPECT_EQ(doc.value("openapi", ""), "3.1.0");
  EXPECT_TRUE(doc["info"].contains("title"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("Error"));
  EXPECT_GT(doc["paths"].size(), 50u);
}

// The point of the document: a route added to the router without being
// documented (or removed without being undocumented) fails here, naming it.
// To fix: add the path to docs/openapi/<module>.json (docs/ARCHITECTURE.md,
// "The OpenAPI document").
TEST(OpenApi, DocumentMatchesRouter) {
  auto served = RouterRoutes();
  auto documented = DocumentRoutes();
  std::vector<std::string> undocumented, unknown;
  std::set_difference(served.begin(), served.end(), documented.begin(), documented.end(),
                      std::back_inserter(undocumented));
  std::set_difference(documented.begin(), documented.end(), served.begin(), served.end(), std::back_inserter(unknown));
  EXPECT_TRUE(undocumented.empty()) << "routes missing from docs/openapi/*.json:" << Join(undocumented);
  EXPECT_TRUE(unknown.empty()) << "documented routes the router does not serve:" << Join(unknown);
}

// A $ref like "#/components/schemas/Error" must name something that exists.
void CollectDanglingRefs(const Json& doc, const Json& node, const std::string& where, std::vector<std::string>& bad) {
  if (node.is_object()) {
    for (const auto& [k, v] : node.items()) {
      if (k == "$ref" && v.is_string()) {
        std::string ref = v.get<std::string>();
        bool ok = ref.rfind("#/", 0) == 0;
        if (ok) {
          try {
            ok = !doc.at(Json::json_pointer(ref.substr(1))).is_null();
          } catch (const std::exception&) {
            ok = false;
          }
        }
        if (!ok) bad.push_back(where + ": " + ref);
      } else {
        CollectDanglingRefs(doc, v, where + "/" + k, bad);
      }
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      CollectDanglingRefs(doc, node[i], where + "/" + std::to_string(i), bad);
  }
}

TEST(OpenApi, EveryRefResolves) {
  std::vector<std::string> bad;
  CollectDanglingRefs(Document(), Document(), "", bad);
  EXPECT_TRUE(bad.empty()) << "dangling $ref:" << Join(bad);
}

const Json& Resolve(const Json& node) {
  if (node.is_object() && node.contains("$ref"))
    return Document().at(Json::json_pointer(node["$ref"].get<std::string>().substr(1)));
  return node;
}

// Each operation: a unique operationId, a summary, a 200 (or 2xx) response
// with content, every {param} of the path declared as a path parameter, and
// every error response described by the Error schema.
TEST(OpenApi, EveryOperationIsComplete) {
  std::set<std::string> ids;
  std::vector<std::string> problems;
  for (const auto& [path, item] : Document()["paths"].items()) {
    for (const char* m : kMethods) {
      if (!item.contains(m)) continue;
      const Json& op = item[m];
      std::string name = Lower(m) + " " + path;
      std::string id = op.value("operationId", "");
      if (id.empty() || !ids.insert(id).second) problems.push_back(name + ": missing or duplicate operationId");
      if (op.value("summary", "").empty()) problems.push_back(name + ": no summary");
      if (!op.contains("responses") || !op["responses"].contains("200")) problems.push_back(name + ": no 200 response");
      std::set<std::string> declared;
      for (const auto& p : op.value("parameters", Json::array())) {
        const Json& param = Resolve(p);
        if (param.value("in", "") == "path") declared.insert(param.value("name", ""));
      }
      for (std::size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
        std::string param = path.substr(open + 1, path.find('}', open) - open - 1);
        if (!declared.count(param)) problems.push_back(name + ": path parameter {" + param + "} not declared");
      }
      for (const auto& [status, response] : op["responses"].items()) {
        if (status[0] != '4' && status[0] != '5') continue;
        const Json& r = Resolve(response);
        if (r.value("x-kray-error-model", true) == false) continue;  // documented as not an Error (GET /health's 503)
        auto schema = r["content"]["application/json"]["schema"];
        if (schema.value("$ref", "") != "#/components/schemas/Error")
          problems.push_back(name + ": response " + status + " is not the Error model");
      }
    }
  }
  EXPECT_TRUE(problems.empty()) << Join(problems);
}

TEST(OpenApi, PathFormOfRouterPatterns) {
  EXPECT_EQ(OpenApiPath("/api/account/:address/balance"), "/api/account/{address}/balance");
  EXPECT_EQ(OpenApiPath("/api/bridge/deposit/:txid/:vout/status"), "/api/bridge/deposit/{txid}/{vout}/status");
  EXPECT_EQ(OpenApiPath("/health"), "/health");
  EXPECT_EQ(OpenApiPath("/"), "/");
}

TEST(OpenApi, AssemblyRefusesTwoPartsDescribingOnePath) {
  const EmbeddedFile parts[] = {
      {"base.json", R"({"openapi":"3.1.0","paths":{},"components":{"schemas":{"Error":{}}}})"},
      {"a.json", R"({"paths":{"/x":{"get":{}}}})"},
      {"b.json", R"({"paths":{"/x":{"post":{}}}})"},
  };
  auto doc = AssembleOpenApi(parts);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "openapi_invalid");
  EXPECT_NE(doc.error().message.find("b.json"), std::string::npos) << doc.error().message;
  EXPECT_NE(doc.error().message.find("/x"), std::string::npos) << doc.error().message;
}

TEST(OpenApi, AssemblyRefusesDuplicateComponentsUnknownKeysAndBadJson) {
  const EmbeddedFile dup[] = {{"base.json", R"({"openapi":"3.1.0","components":{"schemas":{"Error":{}}}})"},
                              {"a.json", R"({"components":{"schemas":{"Error":{}}}})"}};
  EXPECT_FALSE(AssembleOpenApi(dup).ok());
  const EmbeddedFile unknown[] = {{"base.json", R"({"openapi":"3.1.0"})"}, {"a.json", R"({"info":{}})"}};
  EXPECT_FALSE(AssembleOpenApi(unknown).ok());
  const EmbeddedFile broken[] = {{"base.json", R"({"openapi":"3.1.0"})"}, {"a.json", R"({"paths":)"}};
  auto doc = AssembleOpenApi(broken);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("a.json"), std::string::npos);
}

}  // namespace
}  // namespace kray::api
