// The Beast server over real loopback sockets: keep-alive, CORS preflight,
// 404/413/400, HEAD, rate limiting, graceful Stop() with a request still
// waiting for an asynchronous (other-thread) reply, the connection and
// body-byte caps, and the read timeouts against slow clients.
#include "kray/api/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "kray/api/rate_limiter.h"
#include "kray/api/router.h"

namespace kray::api {
namespace {

class Conn {
 public:
  // Connects from `source_ip` (any 127.0.0.0/8 address) when given.
  explicit Conn(std::uint16_t port, const char* source_ip = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source_ip) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source_ip, &src.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return;
    }
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
  // Writes without asserting (the server may have closed); false on error.
  bool TrySend(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // True once the server has closed the connection (EOF or reset), waiting
  // up to `wait`. Unread response bytes are consumed.
  bool ClosedWithin(std::chrono::milliseconds wait) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        char tmp[4096];
        auto n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n <= 0) return true;
        buf_.append(tmp, static_cast<std::size_t>(n));
      }
    }
    return false;
  }
  const std::string& received() const { return buf_; }
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
  void Start(RateLimiter* limiter = nullptr, const std::function<void(ServerOptions&)>& tweak = {}) {
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
    if (tweak) tweak(o);
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

// A handler that answers twice (a bug: one that threw after handing its
// reply on is answered by the router, then by its late reply): the first
// answer is the request's and the second is dropped, whether it comes while
// the first is being written or after, while the connection waits for its
// next request, which then gets its own answer.
TEST_F(ServerTest, ASecondAnswerToOneRequestIsDropped) {
  router_.Add("GET", "/twice", [](const HttpRequest&, Reply reply) {
    HttpResponse first;
    first.body = "{\"first\":true}";
    HttpResponse second;
    second.body = std::string(1 << 20, 'x');  // large: it would still be in flight
    reply(std::move(first));
    reply(std::move(second));
  });
  router_.Add("GET", "/late", [](const HttpRequest&, Reply reply) {
    HttpResponse r;
    r.body = "{\"late\":1}";
    reply(std::move(r));
    std::thread([reply] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      HttpResponse again;
      again.body = "{\"late\":2}";
      reply(std::move(again));
    }).detach();
  });
  Start();
  Conn c(port_);
  ASSERT_TRUE(c.ok());
  c.Send(Get("/twice"));
  auto r1 = c.Read();
  EXPECT_NE(r1.find("Content-Length: 14\r\n"), std::string::npos) << r1.substr(0, 300);
  EXPECT_NE(r1.find("{\"first\":true}"), std::string::npos) << r1.substr(0, 300);
  c.Send(Get("/late"));
  auto r2 = c.Read();
  EXPECT_NE(r2.find("{\"late\":1}"), std::string::npos) << r2.substr(0, 300);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the late answer comes and goes meanwhile
  c.Send(Get("/sync"));
  auto r3 = c.Read();
  EXPECT_NE(r3.find("{\"ip\":\"127.0.0.1\"}"), std::string::npos) << r3.substr(0, 300);
}

// Request smuggling: with a Transfer-Encoding whose final coding is not
// chunked, Beast reads the body as empty, and its bytes were answered as a
// second request. Now one 400 answers, and the connection closes.
TEST_F(ServerTest, ATransferEncodingItCannotReadIsRefusedAndTheConnectionClosed) {
  Start();
  for (std::string te : {"gzip", "xchunked", "chunked, chunked", "gzip, chunked"}) {
    Conn c(port_);
    ASSERT_TRUE(c.ok());
    c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n" + Get("/sync"));
    auto r = c.Read();
    const std::string status = te == "gzip, chunked" ? "HTTP/1.1 501" : "HTTP/1.1 400";
    EXPECT_EQ(r.rfind(status, 0), 0u) << te << ": " << r;
    EXPECT_NE(r.find("transfer_encoding"), std::string::npos) << r;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
    EXPECT_TRUE(c.ClosedWithin(std::chrono::seconds(3))) << te;
    EXPECT_EQ(c.received().find("127.0.0.1"), std::string::npos) << te << ": the smuggled GET /sync was answered";
  }
}

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

// A shared body is sent as it is, HEAD gets its length, and the server lets
// go of it once written: the genesis is held once, not once per response.
TEST_F(ServerTest, SharedBodyIsSentWithoutACopyAndReleased) {
  auto big = std::make_shared<const std::string>(std::string(1 << 20, 'x') + "end");
  router_.Add("GET", "/shared", [big](const HttpRequest&, Reply reply) {
    HttpResponse r;
    r.content_type = "text/plain";
    r.shared_body = big;
    reply(std::move(r));
  });
  Start();
  Conn c(port_);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 2; ++i) {
    c.Send(Get("/shared"));
    auto r = c.Read();
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r.substr(0, 200);
    EXPECT_NE(r.find("Content-Length: " + std::to_string(big->size())), std::string::npos);
    EXPECT_NE(r.find("Content-Type: text/plain"), std::string::npos);
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), *big);
  }
  c.Send("HEAD /shared HTTP/1.1\r\nHost: x\r\n\r\n");
  auto h = c.Read(/*head=*/true);
  EXPECT_NE(h.find("Content-Length: " + std::to_string(big->size())), std::string::npos) << h;
  c.Send(Get("/sync"));  // the HEAD response carried no body
  EXPECT_NE(c.Read().find("127.0.0.1"), std::string::npos);
  // Held by the test and the route only.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (big.use_count() > 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(big.use_count(), 2);
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

// With one connection a worker polls after each handler instead of sleeping
// (ServerOptions::idle_poll). Polling must serve what arrives meanwhile (the
// next request, its reply from another thread, a second connection) and end
// at Stop(): with a 10-s window, either failing would take seconds.
TEST_F(ServerTest, AWorkerPollingForOneConnectionServesEverythingAndStops) {
  Start(nullptr, [](ServerOptions& o) { o.idle_poll = std::chrono::seconds(10); });
  const auto quick = std::chrono::seconds(2);
  Conn one(port_);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    one.Send(Get("/sync"));
    ASSERT_NE(one.Read().find("200"), std::string::npos);
  }
  one.Send(Get("/slow"));  // answered from another thread
  ASSERT_NE(one.Read().find("{\"slow\":true}"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, quick);

  t0 = std::chrono::steady_clock::now();
  Conn two(port_);  // accepted while a worker polls
  two.Send(Get("/sync"));
  ASSERT_NE(two.Read().find("200"), std::string::npos);
  one.Send(Get("/sync"));
  ASSERT_NE(one.Read().find("200"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, quick);

  t0 = std::chrono::steady_clock::now();
  server_->Stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, quick);
}

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Past max_connections a new connection is closed without a response, and
// a slot that frees up is usable again.
TEST_F(ServerTest, TotalConnectionCap) {
  Start(nullptr, [](ServerOptions& o) { o.max_connections = 2; });
  auto a = std::make_unique<Conn>(port_);
  Conn b(port_);
  for (Conn* c : {a.get(), &b}) {
    c->Send(Get("/sync"));
    ASSERT_NE(c->Read().find("HTTP/1.1 200"), std::string::npos);  // admitted
  }
  Conn over(port_);
  ASSERT_TRUE(over.ok());  // the kernel completes the handshake; the server then closes
  over.TrySend(Get("/sync"));
  EXPECT_TRUE(over.ClosedWithin(std::chrono::seconds(3)));
  EXPECT_EQ(over.received(), "");
  a.reset();  // frees a slot once the server sees the close
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    Conn again(port_);
    again.TrySend(Get("/sync"));
    served = again.Read().find("HTTP/1.1 200") != std::string::npos;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(served);
}

// Past max_connections_per_ip only that address is refused.
TEST_F(ServerTest, PerClientConnectionCap) {
  Start(nullptr, [](ServerOptions& o) {
    o.max_connections = 100;
    o.max_connections_per_ip = 2;
  });
  Conn a(port_, "127.0.0.1"), b(port_, "127.0.0.1");
  for (Conn* c : {&a, &b}) {
    c->Send(Get("/sync"));
    ASSERT_NE(c->Read().find("HTTP/1.1 200"), std::string::npos);
  }
  Conn over(port_, "127.0.0.1");
  ASSERT_TRUE(over.ok());
  over.TrySend(Get("/sync"));
  EXPECT_TRUE(over.ClosedWithin(std::chrono::seconds(3)));
  Conn other(port_, "127.0.0.2");
  ASSERT_TRUE(other.ok());
  other.Send(Get("/sync"));
  auto r = other.Read();
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_NE(r.find("127.0.0.2"), std::string::npos) << r;
  a.Send(Get("/sync"));  // the admitted connections keep working
  EXPECT_NE(a.Read().find("HTTP/1.1 200"), std::string::npos);
}

// Declared body sizes are reserved against max_buffered_body_bytes before the
// body is read; past it: 503 server_busy and close. Requests without a body
// are not affected, and the budget comes back when a body is done.
TEST_F(ServerTest, BufferedBodyBytesCap) {
  Start(nullptr, [](ServerOptions& o) {
    o.max_buffered_body_bytes = 1000;
    o.body_limit = 1000;
  });
  Conn slow(port_);
  std::string body600(600, 'x');
  slow.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 600\r\n\r\n" + body600.substr(0, 100));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its header is read and 600 bytes reserved

  Conn busy(port_);
  busy.Send(Post("/echo", std::string(401, 'y')));  // 600 + 401 > 1000
  auto r = busy.Read();
  EXPECT_NE(r.find("HTTP/1.1 503"), std::string::npos) << r;
  EXPECT_NE(r.find("\"code\":\"server_busy\""), std::string::npos) << r;
  EXPECT_NE(r.find("Retry-After: 1"), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  EXPECT_TRUE(busy.ClosedWithin(std::chrono::seconds(3)));

  Conn chunked(port_);  // size unknown: the whole body limit is reserved
  chunked.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n");
  EXPECT_NE(chunked.Read().find("HTTP/1.1 503"), std::string::npos);

  Conn fits(port_);
  fits.Send(Post("/echo", std::string(400, 'z')));  // 600 + 400 == 1000
  EXPECT_NE(fits.Read().find("HTTP/1.1 200"), std::string::npos);
  Conn nobody(port_);
  nobody.Send(Get("/sync"));
  EXPECT_NE(nobody.Read().find("HTTP/1.1 200"), std::string::npos);

  slow.Send(body600.substr(100));
  auto done = slow.Read();
  EXPECT_NE(done.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(done.find(body600), std::string::npos);
  Conn after(port_);
  after.Send(Post("/echo", std::string(1000, 'w')));  // the whole budget is free again
  auto a = after.Read();
  EXPECT_NE(a.find("HTTP/1.1 200"), std::string::npos) << a;
}

// Sends `prefix`, then `trickle` one byte every 100 ms until the server
// closes; returns the seconds from the first byte to the close (or 99).
double SecondsUntilClosed(Conn& c, const std::string& prefix, const std::string& trickle) {
  auto t0 = std::chrono::steady_clock::now();
  if (!prefix.empty() && !c.TrySend(prefix)) return 0;
  for (std::size_t i = 0; i < trickle.size() && i < 100; ++i) {
    if (!c.TrySend(trickle.substr(i, 1)) || c.ClosedWithin(std::chrono::milliseconds(100))) {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  return 99;
}

// Slowloris: the whole header must arrive within the read timeout, and then
// the whole body, however steadily a client trickles bytes.
TEST_F(ServerTest, SlowHeaderAndSlowBodyAreClosedAtTheTimeout) {
  Start(nullptr, [](ServerOptions& o) { o.read_timeout_seconds = 1; });
  std::string header = "GET /sync HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(200, 'p') + "\r\n\r\n";
  Conn h(port_);
  double th = SecondsUntilClosed(h, "", header);
  EXPECT_GE(th, 0.8);
  EXPECT_LE(th, 2.5);
  EXPECT_EQ(h.received(), "");  // closed, not answered

  Conn b(port_);
  double tb =
      SecondsUntilClosed(b, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n", std::string(300, 'b'));
  EXPECT_GE(tb, 0.8);
  EXPECT_LE(tb, 2.5);

  Conn ok(port_);  // the server is fine
  ok.Send(Get("/sync"));
  EXPECT_NE(ok.Read().find("HTTP/1.1 200"), std::string::npos);
}

}  // namespace
}  // namespace kray::api
