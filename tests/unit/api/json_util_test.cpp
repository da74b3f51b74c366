// Amount and field parsing from JSON bodies, error mapping.
#include "kray/api/json_util.h"

#include <gtest/gtest.h>

namespace kray::api {
namespace {

Result<Amount> AmountFrom(const std::string& json_value) {
  auto obj = ParseJsonObject("{\"amount\": " + json_value + "}");
  EXPECT_TRUE(obj.ok()) << json_value;
  return RequireAmount(*obj, "amount");
}

TEST(JsonAmount, AcceptsDecimalStringsAndIntegers) {
  EXPECT_EQ(*AmountFrom("\"100000\""), 100000u);
  EXPECT_EQ(*AmountFrom("100000"), 100000u);
  EXPECT_EQ(*AmountFrom("0"), 0u);
  EXPECT_EQ(*AmountFrom("\"0\""), 0u);
  EXPECT_EQ(*AmountFrom("9223372036854775807"), 9223372036854775807u);
  EXPECT_EQ(*AmountFrom("\"9223372036854775807\""), 9223372036854775807u);
}

TEST(JsonAmount, RejectsEverythingElseWith400) {
  for (const char* bad : {"-1",
                          "\"-1\"",
                          "1.5",
                          "\"1.5\"",
                          "1e3",
                          "\"1e3\"",
                          "1.0",
                          "\"\"",
                          "\" 1\"",
                          "\"+1\"",
                          "9223372036854775808",
                          "\"9223372036854775808\"",
                          "18446744073709551615",
                          "18446744073709551616",
                          "\"99999999999999999999999\"",
                          "-9223372036854775808",
                          "\"0x10\"",
                          "\"007\"",
                          "\"00\"",
                          "\"01\"",
                          "\"-0\"",
                          "-0",
                          "-0.0",
                          "0e0"}) {
    auto r = AmountFrom(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_amount") << bad;
    EXPECT_EQ(HttpStatusFor(r.error().kind), 400) << bad;
  }
  for (const char* wrong_type : {"true", "[1]", "{}"}) {
    auto r = AmountFrom(wrong_type);
    ASSERT_FALSE(r.ok()) << wrong_type;
    EXPECT_EQ(r.error().code, "invalid_type") << wrong_type;
  }
}

// JSON forbids leading zeros in numbers, so a number literal "01" is not JSON.
TEST(JsonAmount, LeadingZeroNumberIsInvalidJson) {
  auto r = ParseJsonObject(R"({"amount": 01})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_json");
}

TEST(JsonAmount, MissingOrNullIsMissingField) {
  auto obj = ParseJsonObject(R"({"amount": null})");
  auto r = RequireAmount(*obj, "amount");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "missing_field");
  EXPECT_NE(r.error().message.find("amount"), std::string::npos);
  auto r2 = RequireAmount(*obj, "other");
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("'other'"), std::string::npos);
}

TEST(JsonBody, InvalidJsonAndNonObjects) {
  for (const char* body : {"", "{", "{bad}", "[1,2]", "\"str\"", "12", "{\"a\":1}}", "\xff\xfe"}) {
    auto r = ParseJsonObject(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_EQ(HttpStatusFor(r.error().kind), 400);
  }
  EXPECT_TRUE(ParseJsonObject("  {\"a\": [1, {\"b\": null}]}  ").ok());
  // A NUL byte anywhere: nlohmann would stop at it and accept what came before.
  for (const std::string body : {std::string("{\"a\":\"1\"}\0{\"a\":\"9\"}", 20), std::string("{\"a\":\"1\"}\0", 10),
                                 std::string("{\"a\":\"1\0\"}", 10), std::string("\0{\"a\":\"1\"}", 10)}) {
    auto r = ParseJsonObject(body);
    ASSERT_FALSE(r.ok()) << body.size();
    EXPECT_EQ(r.error().code, "invalid_json");
  }
}

TEST(JsonBody, DeepNestingDoesNotCrash) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  EXPECT_FALSE(ParseJsonObject(deep).ok());  // valid JSON but not an object
  std::string obj = "{\"a\":" + deep + "}";
  EXPECT_TRUE(ParseJsonObject(obj).ok());
  // Deeply nested objects, with a duplicate at the bottom.
  std::string objs;
  for (int i = 0; i < 100000; ++i) objs += "{\"a\":";
  std::string tail = "{\"d\":1,\"d\":2}" + std::string(100000, '}');
  auto r = ParseJsonObject(objs + tail);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("duplicate key 'd'"), std::string::npos);
  EXPECT_TRUE(ParseJsonObject(objs + "1" + std::string(100000, '}')).ok());
}

TEST(JsonFields, StringsAndNonces) {
  auto obj = *ParseJsonObject(R"({"s": "x", "n": 5, "ns": "6", "bad": 1.5, "num": 3})");
  EXPECT_EQ(*RequireString(obj, "s"), "x");
  EXPECT_EQ(RequireString(obj, "num").error().code, "invalid_type");
  EXPECT_EQ(RequireString(obj, "none").error().code, "missing_field");
  EXPECT_EQ(*OptionalString(obj, "none", "dflt"), "dflt");
  EXPECT_EQ(OptionalString(obj, "num", "d").error().code, "invalid_type");
  EXPECT_EQ(*RequireU64(obj, "n"), 5u);
  EXPECT_EQ(*RequireU64(obj, "ns"), 6u);
  EXPECT_EQ(RequireU64(obj, "bad").error().code, "invalid_field");
  // Nonces follow the amount rules: canonical decimal only.
  auto lz = *ParseJsonObject(R"({"a": "01", "b": "00", "c": -0, "d": "0"})");
  EXPECT_EQ(RequireU64(lz, "a").error().code, "invalid_field");
  EXPECT_EQ(RequireU64(lz, "b").error().code, "invalid_field");
  EXPECT_EQ(RequireU64(lz, "c").error().code, "invalid_field");
  EXPECT_EQ(*RequireU64(lz, "d"), 0u);
}

// nlohmann keeps the last of duplicate keys; other parsers keep the first. A
// body whose meaning depends on the parser is rejected, at every depth.
TEST(JsonBody, DuplicateKeysAreInvalidJsonAtAnyDepth) {
  for (const char* body : {
           R"({"amount":"1","amount":"1000"})", R"({"a":1,"b":2,"a":1})", R"({"transactions":[{"nonce":1,"nonce":2}]})",
           R"({"x":{"y":{"z":[1,[{"k":0,"k":0}]]}}})", R"({"a":{},"a":{}})",
           R"({"a":1,"a":2})",  // the same key after unescaping
       }) {
    auto r = ParseJsonObject(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, "invalid_json") << body;
    EXPECT_EQ(HttpStatusFor(r.error().kind), 400);
    EXPECT_NE(r.error().message.find("duplicate key"), std::string::npos) << r.error().message;
  }
  // The same key in sibling or nested objects is fine; so are equal values in arrays.
  for (const char* body : {R"({"a":{"k":1},"b":{"k":1}})", R"({"k":{"k":{"k":1}}})", R"({"t":[{"n":1},{"n":1}]})",
                           R"({"A":1,"a":2})", R"({"":1,"x":{"":2}})"}) {
    auto r = ParseJsonObject(body);
    ASSERT_TRUE(r.ok()) << body << ": " << r.error().message;
  }
  auto j = *ParseJsonObject(R"({"t":[{"n":1},{"m":[true,null,"s",-2,2.5]}],"o":{}})");
  EXPECT_EQ(j.dump(), R"({"o":{},"t":[{"n":1},{"m":[true,null,"s",-2,2.5]}]})");
}

// A long duplicate key is echoed truncated, and a huge body of distinct keys
// still parses.
TEST(JsonBody, DuplicateKeyMessageIsBoundedAndManyKeysParse) {
  std::string key(100000, 'k');
  auto r = ParseJsonObject("{\"" + key + "\":1,\"" + key + "\":2}");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 200u);
  std::string many = "{";
  for (int i = 0; i < 50000; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\":" + std::to_string(i);
  many += "}";
  auto m = ParseJsonObject(many);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 50000u);
  auto dup = ParseJsonObject(many.substr(0, many.size() - 1) + ",\"49999\":0}");
  EXPECT_FALSE(dup.ok());
}

TEST(JsonQuery, BoundedInts) {
  HttpRequest req;
  req.query = ParseQuery("limit=10&offset=-1&x=abc&big=99999999999");
  EXPECT_EQ(*QueryInt(req, "limit", 50, 1, 100), 10);
  EXPECT_EQ(*QueryInt(req, "absent", 50, 1, 100), 50);
  EXPECT_EQ(QueryInt(req, "offset", 0, 0, 100).error().code, "invalid_field");
  EXPECT_EQ(QueryInt(req, "x", 0, 0, 100).error().code, "invalid_field");
  EXPECT_FALSE(QueryInt(req, "big", 0, 0, 100).ok());
  EXPECT_FALSE(QueryInt(req, "limit", 50, 1, 5).ok());
}

TEST(ErrorMapping, StatusAndBodyPerKind) {
  struct Case {
    Error e;
    int status;
  } cases[] = {
      {Error::Invalid("invalid_amount", "m"), 400},
      {Error::Unauthorized("invalid_signature", "m"), 401},
      {Error::NotFound("account_not_found", "m"), 404},
      {Error::Conflict("nonce_mismatch", "m"), 409},
      {Error::Unavailable("operator_disabled", "m"), 503},
      {Error::Internal("m"), 500},
      {Error{ErrorKind::kTooLarge, "body_too_large", "m"}, 413},
      {Error{ErrorKind::kRateLimited, "rate_limited", "m"}, 429},
  };
  for (const auto& c : cases) {
    auto r = ErrorResponse(c.e);
    EXPECT_EQ(r.status, c.status) << c.e.code;
    auto j = Json::parse(r.body);
    EXPECT_EQ(j["code"], c.e.code);
    EXPECT_EQ(j["error"], "m");
    EXPECT_EQ(j.size(), 2u);
    EXPECT_EQ(r.content_type.rfind("application/json", 0), 0u);
  }
  // Invalid UTF-8 echoed in a message must not throw.
  auto r = ErrorResponse(Error::Invalid("x", std::string("bad \xff byte")));
  EXPECT_EQ(r.status, 400);
  EXPECT_NO_THROW(Json::parse(r.body));
}

}  // namespace
}  // namespace kray::api
