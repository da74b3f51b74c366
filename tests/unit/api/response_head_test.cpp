// AppendResponseHead: the head Beast's serializer would write, byte for byte,
// for every kind of response the server sends.
#include "../../../src/api/response_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <sstream>
#include <vector>

namespace kray::api {
namespace {

namespace http = boost::beast::http;

struct Case {
  int status;
  unsigned version;
  bool keep_alive;
  std::string content_type;
  KeyValues headers;
  std::string body;
  bool head_request = false;  // HEAD: the body's length is announced, the body not sent
};

// What the server sent before it wrote heads itself (server.cpp, until the
// seventeenth round of issue 9): Beast's message, then its serializer.
std::string BeastWrites(const Case& c) {
  http::response<http::string_body> res(static_cast<http::status>(c.status), c.version);
  res.body() = c.body;
  res.set(http::field::server, "krayd");
  if (!c.content_type.empty()) res.set(http::field::content_type, c.content_type);
  res.set(http::field::access_control_allow_origin, "*");
  for (const auto& [k, v] : c.headers) res.set(k, v);
  res.keep_alive(c.keep_alive);
  if (c.head_request) {
    res.content_length(res.payload_size());
    res.body() = {};
  } else {
    res.prepare_payload();
  }
  std::ostringstream os;
  os << res;
  return os.str();
}

std::string WeWrite(const Case& c) {
  std::string out;
  AppendResponseHead(out, {.status = c.status,
                           .version = c.version,
                           .keep_alive = c.keep_alive,
                           .content_type = c.content_type,
                           .headers = &c.headers,
                           .content_length = c.body.size()});
  if (!c.head_request) out += c.body;
  return out;
}

std::vector<Case> Cases() {
  const std::vector<KeyValues> header_sets = {
      {},
      {{"Retry-After", "3"}},
      {{"Access-Control-Allow-Methods", "GET, POST"}, {"Access-Control-Allow-Headers", "content-type"}, {"Vary", "x"}},
      {{"Server", "other"}},                                // replaces a fixed field, moves it last
      {{"content-type", "text/html"}, {"ETag", "\"e1\""}},  // names compare case-insensitively
      {{"X-A", "1"}, {"Y", "2"}, {"x-a", "3"}},             // the last of a name wins, in its place
  };
  std::vector<Case> cases;
  for (int status : {200, 201, 202, 400, 401, 404, 405, 409, 413, 426, 429, 500, 503})
    for (unsigned version : {10u, 11u})
      for (bool keep : {true, false})
        for (const auto& headers : header_sets)
          for (std::string body : {"", "{\"ok\":true}"})
            for (std::string type : {"application/json", ""})
              for (bool head : {false, true}) cases.push_back({status, version, keep, type, headers, body, head});
  for (int status : {204, 304})  // never a body
    for (unsigned version : {10u, 11u})
      for (bool keep : {true, false})
        for (const auto& headers : header_sets) cases.push_back({status, version, keep, "", headers, ""});
  return cases;
}

TEST(ResponseHead, IsWhatBeastsSerializerWrites) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(::testing::Message() << "status " << c.status << " HTTP/" << c.version / 10 << "." << c.version % 10
                                      << " keep " << c.keep_alive << " headers " << c.headers.size() << " body "
                                      << c.body.size() << " head " << c.head_request);
    std::string beast = BeastWrites(c);
    if (c.status == 204 || c.status == 304) {  // RFC 9110 8.6: none there, where Beast 1.74 writes one
      auto at = beast.find("Content-Length: 0\r\n");
      ASSERT_NE(at, std::string::npos);
      beast.erase(at, std::string("Content-Length: 0\r\n").size());
    }
    EXPECT_EQ(WeWrite(c), beast);
  }
}

// Beast 1.74's parser refuses other versions, but should one come: below 1.1
// is answered as 1.0, above as 1.1, each with its keep-alive rule.
TEST(ResponseHead, OtherVersionsAreAnsweredAs10Or11) {
  KeyValues none;
  auto head = [&](unsigned version, bool keep) {
    std::string out;
    AppendResponseHead(out, {.status = 200,
                             .version = version,
                             .keep_alive = keep,
                             .content_type = "",
                             .headers = &none,
                             .content_length = 0});
    return out;
  };
  EXPECT_EQ(head(9, true), head(10, true));
  EXPECT_EQ(head(9, false), head(10, false));
  EXPECT_EQ(head(12, true), head(11, true));
  EXPECT_EQ(head(20, false), head(11, false));
  EXPECT_NE(head(12, false).find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(head(12, false).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST(ResponseHead, LargeLengthsAndAppendingAfterExistingText) {
  std::string out = "left alone";
  KeyValues none;
  AppendResponseHead(out, {.status = 200,
                           .version = 11,
                           .keep_alive = true,
                           .content_type = "application/json",
                           .headers = &none,
                           .content_length = 205'000'000});
  EXPECT_EQ(out,
            "left aloneHTTP/1.1 200 OK\r\nServer: krayd\r\nContent-Type: application/json\r\n"
            "Access-Control-Allow-Origin: *\r\nContent-Length: 205000000\r\n\r\n");
}

}  // namespace
}  // namespace kray::api
