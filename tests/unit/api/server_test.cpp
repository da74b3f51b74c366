// The Beast server over real loopback sockets: keep-alive, CORS preflight,
// 404/413/400, HEAD, rate limiting, and graceful Stop() with a request still
// waiting for an asynchronous (other-thread) reply.
#include "kray/api/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "kray/api/rate_limiter.h"
#include "kray/api/router.h"

namespace kray::api {
namespace {

class Conn {
 public:
  explicit Conn(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Conn() { ::close(fd_); }
  bool ok() const { return ok_; }
  void Send(const std::string& s) { ASSERT_EQ(::write(fd_, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  // Reads one response (headers + Content-Length body); "" on EOF/timeout.
  std::string Read(bool head = false) {
    while (true) {
      auto h = buf_.find("\r\n\r\n");
      if (h != std::string::npos) {
        std::size_t len = 0;
        auto cl = buf_.find("Content-Length: ");
        if (cl != std::string::npos && cl < h && !head) len = std::stoul(buf_.substr(cl + 16));
        if (buf_.size() >= h + 4 + len) {
          std::string out = buf_.substr(0, h + 4 + len);
          buf_.erase(0, h + 4 + len);
          return out;
        }
      }
      char tmp[4096];
      auto n = ::read(fd_, tmp, sizeof tmp);
      if (n <= 0) return {};
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(RateLimiter* limiter = nullptr) {
    router_.Add("GET", "/sync", [](const HttpRequest& req, Reply reply) {
      HttpResponse r;
      r.body = "{\"ip\":\"" + req.client_ip + "\"}";
      reply(std::move(r));
    });
    router_.Add("POST", "/echo", [](const HttpRequest& req, Reply reply) {
      HttpResponse r;
      r.body = req.body;
      reply(std::move(r));
    });
    // Replies later from another thread, like a Ledger callback.
    router_.Add("GET", "/slow", [](const HttpRequest&, Reply reply) {
      std::thread([reply] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        HttpResponse r;
        r.body = "{\"slow\":true}";
        reply(std::move(r));
      }).detach();
    });
    ServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.handle_signals = false;
    server_ = std::make_unique<HttpServer>(o, router_, limiter);
    auto port = server_->Listen();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, KeepAliveAndErrors) {
  Start();
  Conn c(port_);
  ASSERT_TRUE(c.ok());
  c.Send(Get("/sync"));
  auto r1 = c.Read();
  EXPECT_NE(r1.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(r1.find("Access-Control-Allow-Origin: *"), std::string::npos);
  EXPECT_NE(r1.find("{\"ip\":\"127.0.0.1\"}"), std::string::npos);
  c.Send(Get("/nope"));  // same connection
  auto r2 = c.Read();
  EXPECT_NE(r2.find("HTTP/1.1 404"), std::string::npos);
  EXPECT_NE(r2.find("\"route_not_found\""), std::string::npos);
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
  EXPECT_NE(c.Read().find("\r\n\r\n{\"a\":1}"), std::string::npos);
  c.Send("HEAD /sync HTTP/1.1\r\nHost: x\r\n\r\n");
  auto h = c.Read(/*head=*/true);
  EXPECT_NE(h.find("HTTP/1.1 200"), std::string::npos);
  c.Send(Get("/sync"));  // the HEAD response carried no body
  EXPECT_NE(c.Read().find("127.0.0.1"), std::string::npos);
}

TEST_F(ServerTest, CorsPreflight) {
  Start();
  Conn c(port_);
  c.Send(
      "OPTIONS /api/transaction/send HTTP/1.1\r\nHost: x\r\nOrigin: chrome-extension://abc\r\n"
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type,authorization\r\n\r\n");
  auto r = c.Read();
  EXPECT_NE(r.find("HTTP/1.1 204"), std::string::npos) << r;
  EXPECT_NE(r.find("Access-Control-Allow-Origin: *"), std::string::npos);
  EXPECT_NE(r.find("Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE"), std::string::npos);
  EXPECT_NE(r.find("Access-Control-Allow-Headers: content-type,authorization"), std::string::npos);
}

TEST_F(ServerTest, OversizedBodyIs413AndMalformedIs400) {
  Start();
  {
    Conn c(port_);
    c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
    auto r = c.Read();
    EXPECT_NE(r.find("HTTP/1.1 413"), std::string::npos) << r;
    EXPECT_NE(r.find("\"body_too_large\""), std::string::npos);
  }
  {
    Conn c(port_);
    c.Send("THIS IS NOT HTTP\r\n\r\n");
    auto r = c.Read();
    EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;
  }
}

TEST_F(ServerTest, RateLimitedWith429AndRetryAfter) {
  auto now = std::chrono::steady_clock::now();
  RateLimiter limiter(1, 2, 100, [&now] { return now; });
  Start(&limiter);
  Conn c(port_);
  c.Send(Get("/sync"));
  EXPECT_NE(c.Read().find("HTTP/1.1 200"), std::string::npos);
  c.Send(Get("/sync"));
  EXPECT_NE(c.Read().find("HTTP/1.1 200"), std::string::npos);
  c.Send(Get("/sync"));
  auto r = c.Read();
  EXPECT_NE(r.find("HTTP/1.1 429"), std::string::npos) << r;
  EXPECT_NE(r.find("Retry-After: 1"), std::string::npos);
  EXPECT_NE(r.find("\"rate_limited\""), std::string::npos);
}

TEST_F(ServerTest, StopAnswersInFlightRequestsThenRunReturns) {
  Start();
  Conn busy(port_), idle(port_);
  idle.Send(Get("/sync"));
  ASSERT_NE(idle.Read().find("200"), std::string::npos);
  busy.Send(Get("/slow"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // request is now in flight
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  auto r = busy.Read();
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_NE(r.find("{\"slow\":true}"), std::string::npos);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  thread_.join();  // Run() returns once the in-flight request is answered
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(idle.Read(), "");  // idle keep-alive connection was closed
  Conn late(port_);
  EXPECT_FALSE(late.ok());  // no longer accepting
}

}  // namespace
}  // namespace kray::api
