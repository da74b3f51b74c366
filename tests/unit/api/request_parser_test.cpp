// ParseHttpRequest: the server's Beast parser and HttpRequest conversion on
// a complete buffer (the fuzzer's entry point).
#include "kray/api/request_parser.h"

#include <gtest/gtest.h>

namespace kray::api {
namespace {

TEST(ParseHttpRequest, ConvertsTheRequest) {
  std::string raw =
      "POST /api/transaction/send?limit=5&x=a%20b HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n"
      "Content-Length: 7\r\n\r\n{\"a\":1}GET /next HTTP/1.1\r\n\r\n";
  auto r = ParseHttpRequest(raw);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const HttpRequest& req = r->request;
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/api/transaction/send?limit=5&x=a%20b");
  EXPECT_EQ(req.path, "/api/transaction/send");
  ASSERT_EQ(req.query.size(), 2u);
  EXPECT_EQ(*req.Query("x"), "a b");
  EXPECT_EQ(req.authorization, "Bearer t");
  EXPECT_EQ(req.body, "{\"a\":1}");
  EXPECT_FALSE(r->head);
  EXPECT_TRUE(r->keep_alive);
  EXPECT_EQ(raw.substr(r->consumed), "GET /next HTTP/1.1\r\n\r\n");  // the pipelined request is left alone
}

TEST(ParseHttpRequest, HeadIsServedAsGetAndChunkedBodiesAreJoined) {
  auto h = ParseHttpRequest("HEAD /health HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->request.method, "GET");
  EXPECT_TRUE(h->head);
  EXPECT_FALSE(h->keep_alive);  // HTTP/1.0 without keep-alive
  auto c = ParseHttpRequest("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->request.body, "abcde");
}

// A Transfer-Encoding krayd does not read would let the body's bytes be
// taken for a next request (Beast reads such a body as empty): refused.
TEST(ParseHttpRequest, TransferCodingsOtherThanOneChunkedAreRefused) {
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string te : {"gzip", "xchunked", "chunked, chunked", "chunked, gzip", "identity", ""}) {
    auto r = ParseHttpRequest("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n" + smuggled);
    ASSERT_FALSE(r.ok()) << te;
    EXPECT_EQ(r.error().code, "bad_transfer_encoding") << te;
  }
  auto two_lines =
      ParseHttpRequest("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ASSERT_FALSE(two_lines.ok());  // Beast's parser refuses a repeated chunked itself (bad_request)
  auto gzip_then_chunked =
      ParseHttpRequest("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  ASSERT_FALSE(gzip_then_chunked.ok());
  EXPECT_EQ(gzip_then_chunked.error().code, "unsupported_transfer_encoding");
  auto chunked = ParseHttpRequest("POST /x HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.ok()) << chunked.error().message;
  EXPECT_EQ(chunked->request.body, "abc");
}

TEST(ParseHttpRequest, ErrorsAsTheServerAnswersThem) {
  auto code = [](std::string_view raw, RequestLimits limits = {}) {
    auto r = ParseHttpRequest(raw, limits);
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code(""), "incomplete_request");
  EXPECT_EQ(code("GET / HTTP/1.1\r\nHost: x\r\n"), "incomplete_request");
  EXPECT_EQ(code("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), "incomplete_request");
  EXPECT_EQ(code("THIS IS NOT HTTP\r\n\r\n"), "bad_request");
  EXPECT_EQ(code("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"), "bad_request");
  EXPECT_EQ(code("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), "bad_request");
  EXPECT_EQ(code("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"), "body_too_large");
  EXPECT_EQ(code("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n0123456789a", {kHeaderLimit, 10}), "body_too_large");
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(kHeaderLimit, 'a') + "\r\n\r\n";
  auto r = ParseHttpRequest(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "headers_too_large");
  EXPECT_EQ(r.error().kind, ErrorKind::kTooLarge);
  EXPECT_EQ(HttpStatusFor(ParseHttpRequest("x\r\n\r\n").error().kind), 400);
}

}  // namespace
}  // namespace kray::api
