// Flat bodies (src/api/flat_json.h) against nlohmann's tree: what the flat
// path reads must be exactly what the tree path gives (requests, values and
// errors), and everything else must be declined, so the tree decides.
#include "../../../src/api/flat_json.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

#include "../../../src/api/op_json.h"
#include "kray/api/json_util.h"
#include "kray/state/module.h"

namespace kray::api {
namespace {

std::string Describe(const Result<state::OperationRequest>& r) {
  if (!r.ok())
    return "error " + r.error().code + " (" + std::to_string(static_cast<int>(r.error().kind)) +
           "): " + r.error().message;
  std::string s = "type=" + r->type + " auth=" + std::string(state::AuthName(r->auth)) + " signer=" + r->signer +
                  " nonce=" + (r->nonce ? std::to_string(*r->nonce) : "-") + " scheme=" + r->sig_scheme +
                  " sig=" + r->signature_hex;
  for (const auto& [k, v] : r->fields) s += " [" + k + "=" + v + "]";
  return s;
}

template <class T>
std::string Describe(const Result<T>& r) {
  if (!r.ok()) return "error " + r.error().code + ": " + r.error().message;
  if constexpr (std::is_same_v<T, std::string>)
    return "ok " + *r;
  else
    return "ok " + std::to_string(*r);
}

// Every operation type of the core module, every helper, on both paths.
void ExpectSameOnBothPaths(const std::string& body, const FlatObject& flat, const Json& tree) {
  static const state::ModuleRegistry registry;
  for (const auto* type : registry.operations()) {
    EXPECT_EQ(Describe(RequestFromBody(flat, *type)), Describe(RequestFromBody(tree, *type)))
        << type->name() << " " << body;
    EXPECT_EQ(Describe(RequestFromBody(flat, *type, {"tx_type"})), Describe(RequestFromBody(tree, *type, {"tx_type"})))
        << type->name() << " " << body;
  }
  for (const char* key :
       {"from_account", "to_account", "amount", "nonce", "signature", "sig_scheme", "tx_type", "k", "a", "data", ""}) {
    EXPECT_EQ(Describe(RequireString(flat, key)), Describe(RequireString(tree, key))) << key << " " << body;
    EXPECT_EQ(Describe(OptionalString(flat, key, "fb")), Describe(OptionalString(tree, key, "fb")))
        << key << " " << body;
    EXPECT_EQ(Describe(RequireU64(flat, key)), Describe(RequireU64(tree, key))) << key << " " << body;
  }
  std::vector<std::string> flat_keys, tree_keys;
  for (const auto& m : flat.members()) flat_keys.emplace_back(m.key);
  for (const auto& [k, v] : tree.items()) tree_keys.push_back(k);
  EXPECT_EQ(flat_keys, tree_keys) << body;
}

// Returns whether the flat path read it; if so, checks it against the tree.
bool CheckObject(const std::string& body) {
  FlatBody flat;
  const bool read = flat.ParseObject(body);
  if (!read) return false;
  auto tree = ParseJsonObject(body);
  EXPECT_TRUE(tree.ok()) << "the flat path read a body the tree refuses: " << body;
  if (tree.ok()) ExpectSameOnBothPaths(body, flat.object(), *tree);
  return true;
}

const std::string kSig(128, 'a');

// Runs `fn` once with each of simdjson's kernels this CPU runs (its first
// pass and string copies are chosen at run time: krayd uses the best one,
// another machine another), then restores the active one.
template <class Fn>
void ForEachKernel(Fn fn) {
  const simdjson::implementation* active = simdjson::get_active_implementation();
  int ran = 0;
  for (const simdjson::implementation* impl : simdjson::get_available_implementations()) {
    if (!impl->supported_by_runtime_system()) continue;
    SCOPED_TRACE(impl->name());
    simdjson::get_active_implementation() = impl;
    fn();
    ++ran;
  }
  simdjson::get_active_implementation() = active;
  EXPECT_GE(ran, 2);  // at least the scalar fallback and one SIMD kernel
}

TEST(FlatJson, ReadsAFlatObjectLikeTheTree) {
  ForEachKernel([] {
    const std::string transfer = R"({"from_account":"kray_aa","to_account":"bcrt1qxyz","amount":"5","nonce":3,)"
                                 R"("signature":")" +
                                 kSig + R"(","tx_type":"transfer","data":null})";
    EXPECT_TRUE(CheckObject(transfer));
    EXPECT_TRUE(CheckObject("{}"));
    EXPECT_TRUE(CheckObject(" \n{ \"k\" : \"v\" } \t"));
    EXPECT_TRUE(CheckObject(R"({"amount":18446744073709551615,"nonce":"01","k":""})"));
    // UTF-8 keys sort after ASCII ones, bytewise, as std::string compares.
    EXPECT_TRUE(CheckObject("{\"k\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\",\"\xE2\x82\xAC\":1,\"z\":\"\x7F\",\"\":\"e\"}"));
    EXPECT_TRUE(CheckObject(R"({"ab":"1","a":"2","b":"3","A":"4"})"));
    EXPECT_TRUE(CheckObject(R"({"signature":null,"nonce":null,"from_account":null})"));
    EXPECT_TRUE(CheckObject(R"({"a":10000000000000000000,"b":18446744073709551615,"c":9223372036854775808})"));
  });
}

TEST(FlatJson, DeclinesEverythingElse) {
  ForEachKernel([] {
    for (const char* body : {
             R"({"a":true})",
             R"({"a":false})",
             R"({"a":-1})",
             R"({"a":-0})",
             R"({"a":1.5})",
             R"({"a":1e3})",
             R"({"a":18446744073709551616})",
             R"({"a":{}})",
             R"({"a":[]})",
             R"({"a":"1","a":"2"})",
             R"({"a":"1","b":"2","a":"1"})",
             R"(["a"])",
             R"("a")",
             "5",
             "null",
             "",
             "{",
             R"({"a":"1"} x)",
             R"({"a":"1"}{})",
             R"({"a":"1",})",
             R"({'a':'1'})",
             "{\"a\":\"\xC3\"}",          // truncated UTF-8
             "{\"a\":\"\xED\xA0\x80\"}",  // a surrogate in UTF-8
             R"({"a":"\ud800"})",         // a lone surrogate escape
             "{\"a\":\"\x01\"}",          // a control character
             R"({"a":01})",
             R"({"a":"\u0041"})",  // escapes: JSON parsers differ on some (lone surrogates)
             R"({"k":"caf\u00e9 \"q\" \\ \/ \n"})",
             R"({"a\u0000b":"1"})",
             "{\"a\":\"\t\"}",  // a raw tab in a string
             "{\"a\":\"x\ny\"}",
             "{\"a\x01\":\"1\"}",
             "\xEF\xBB\xBF{\"a\":\"1\"}",  // a byte order mark
             R"({"a":1,})",
             R"({"a" "1"})",
             R"({"a":nul})",
             R"({"a":5x})",
             R"({"a":"1"}})",
             "{\"a\":1\f}",
             "{\"a\":\"1\"\x1a}",
             R"({"a":19999999999999999999})",
             R"({"a":1.})",
             R"({"a":.5})",
             R"({"a":NaN})",
             R"({"a":1E2})",
         }) {
      FlatBody flat;
      EXPECT_FALSE(flat.ParseObject(body)) << body;
    }
    FlatBody flat;
    EXPECT_FALSE(flat.ParseObject(std::string("{\"a\":\"1\"}\0", 10)));  // a NUL after the object
    EXPECT_FALSE(flat.ParseObject(std::string("{\"a\":\"1\0\"}", 10)));  // a NUL in a string
    EXPECT_FALSE(flat.ParseObject(std::string("{\"a\":1\0}", 8)));
    // nlohmann alone takes a NUL for the end of the text; ParseJsonObject
    // refuses a NUL anywhere (json_util_test), and so does the flat path.
    EXPECT_FALSE(flat.ParseObject(std::string("{\"a\":\"1\"}\0junk", 14)));
  });
}

// Random bodies from pieces that each path treats specially: whatever the
// flat path reads, the tree must read the same way.
TEST(FlatJson, RandomBodiesMeanTheSameOnBothPaths) {
  ForEachKernel([] {
    const std::vector<std::string> keys = {"from_account", "to_account", "amount", "nonce",   "signature", "sig_scheme",
                                           "tx_type",      "data",       "asset",  "k",       "a",         "",
                                           "\\u0061",      "l1_address", "pubkey", "\\u00e9", "\xC3\xA9",  "Z"};
    const std::vector<std::string> values = {"\"kray_0123\"",
                                             "\"5\"",
                                             "5",
                                             "0",
                                             "\"0\"",
                                             "\"01\"",
                                             "\"-1\"",
                                             "null",
                                             "\"\"",
                                             "\"v1\"",
                                             "\"legacy\"",
                                             "\"transfer\"",
                                             "\"swap\"",
                                             "\"" + kSig + "\"",
                                             "18446744073709551615",
                                             "9223372036854775807",
                                             "9223372036854775808",
                                             "\"9223372036854775808\"",
                                             "\"a\\\"b\"",
                                             "\"\\u00e9\"",
                                             "true",
                                             "-3",
                                             "-0",
                                             "1.0",
                                             "{}",
                                             "[1]",
                                             "\"1e3\"",
                                             "\" 1\"",
                                             "\"\xC3\xA9\"",
                                             "\"\xC3\"",
                                             "\"\xED\xA0\x80\"",
                                             "\"\t\"",
                                             "\"\x7F\"",
                                             "\"\xF4\x90\x80\x80\"",
                                             "\"\xC0\xAF\""};
    std::mt19937 rng(20261207);
    const std::vector<std::string> spaces = {"", " ", "\n", "\t ", "\r\n"};
    int read = 0, mutated_read = 0;
    for (int n = 0; n < 4000; ++n) {
      auto space = [&] { return spaces[rng() % spaces.size()]; };
      std::string body = space() + "{";
      const int members = static_cast<int>(rng() % 7);
      for (int i = 0; i < members; ++i) {
        if (i) body += ',';
        body +=
            space() + "\"" + keys[rng() % keys.size()] + "\"" + space() + ":" + space() + values[rng() % values.size()];
      }
      body += space() + "}" + space();
      read += CheckObject(body) ? 1 : 0;
      // The same body with one byte changed, inserted or removed.
      if (body.empty()) continue;
      const std::size_t at = rng() % body.size();
      const char byte = static_cast<char>(rng() % 256);
      switch (rng() % 3) {
        case 0:
          body[at] = byte;
          break;
        case 1:
          body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), byte);
          break;
        default:
          body.erase(at, 1);
      }
      mutated_read += CheckObject(body) ? 1 : 0;
    }
    // Both paths were exercised.
    EXPECT_GT(read, 500);
    EXPECT_LT(read, 3800);
    EXPECT_GT(mutated_read, 100);
  });
}

TEST(FlatJson, ReadsABatchOfFlatObjectsLikeTheTree) {
  const std::string body = R"({"transactions":[{"b":"1","a":2},{},{"nonce":"7","signature":null}]})";
  FlatBody flat;
  ASSERT_TRUE(flat.ParseArrayOf(body, "transactions"));
  auto tree = ParseJsonObject(body);
  ASSERT_TRUE(tree.ok());
  const Json& items = (*tree)["transactions"];
  ASSERT_EQ(flat.items().size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) ExpectSameOnBothPaths(body, flat.items()[i], items[i]);
  EXPECT_EQ(flat.items()[0].members().front().key, "a");
}

TEST(FlatJson, DeclinesOtherBatchShapes) {
  for (const char* body : {
           R"({"transactions":[]})",
           R"({"transactions":null})",
           R"({"transactions":{}})",
           R"({"transactions":"x"})",
           R"({"transactions":[{"a":"1"}],"x":1})",
           R"({"x":1,"transactions":[{"a":"1"}]})",
           R"({"transactions":[{"a":"1"}],"transactions":[{"a":"1"}]})",
           R"({"transactions":[{"a":"1"},"x"]})",
           R"({"transactions":[{"a":"1"},[]]})",
           R"({"transactions":[{"a":{"b":"1"}}]})",
           R"({"transactions":[{"a":"1","a":"1"}]})",
           R"({"transactions":[{"a":"1"}]} x)",
           R"([{"a":"1"}])",
           R"({})",
       }) {
    FlatBody flat;
    EXPECT_FALSE(flat.ParseArrayOf(body, "transactions")) << body;
  }
  FlatBody flat;
  EXPECT_FALSE(flat.ParseArrayOf(R"({"a":"1"})", ""));
  EXPECT_FALSE(flat.ParseObject(R"({"transactions":[{"a":"1"}]})"));
}

// A FlatBody parsed again holds only the new body's members, whatever the
// sizes before (krayd reuses one per thread).
TEST(FlatJson, ReusedBodyHoldsOnlyTheLastParse) {
  FlatBody flat;
  ASSERT_TRUE(flat.ParseObject(R"({"a":"1","b":"2"})"));
  EXPECT_FALSE(flat.ParseObject(R"({"a":true})"));
  ASSERT_TRUE(flat.ParseObject(R"({"c":"3"})"));
  ASSERT_EQ(flat.object().members().size(), 1u);
  EXPECT_EQ(flat.object().Find("c")->text, "3");
  EXPECT_EQ(flat.object().Find("a"), nullptr);

  std::string large = R"({"transactions":[)";
  for (int i = 0; i < 2000; ++i) large += (i ? "," : "") + std::string(R"({"k":")") + std::to_string(i) + R"("})";
  large += "]}";
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(flat.ParseArrayOf(large, "transactions"));
    ASSERT_EQ(flat.items().size(), 2000u);
    EXPECT_EQ(flat.items()[1999].Find("k")->text, "1999");
    ASSERT_TRUE(flat.ParseObject(R"({"small":"x"})"));
    ASSERT_EQ(flat.items().size(), 1u);
    EXPECT_EQ(flat.object().Find("small")->text, "x");
  }
}

}  // namespace
}  // namespace kray::api
