// The HTTP/1.1 server (Boost.Beast, advanced-server style): `threads` worker
// threads, each running its own io_context, every connection on one of them;
// keep-alive, 1 MiB body limit (413), header/body read timeouts, CORS as
// Express's cors() default, optional per-IP rate limiting (429 +
// Retry-After), TCP_NODELAY.
//
// Resource bounds (kray/api/connection_limits.h):
// - past max_connections open connections, or max_connections_per_ip from one
//   client IP, a new connection is closed at once without a response;
// - request bodies being received are reserved against
//   max_buffered_body_bytes (declared Content-Length, or body_limit for a
//   chunked body) before they are read; past it the request is answered
//   503 {"code":"server_busy"} with Retry-After: 1 and the connection closed;
// - the whole header, and then the whole body, must arrive within
//   read_timeout_seconds each, or the connection is closed (slowloris);
// - when accept() fails (EMFILE/ENFILE: out of file descriptors) accepting
//   pauses 5 ms, doubling to 1 s, and resumes by itself; one log line per
//   second at most, with the failure count.
//
// Shutdown (Stop(), or SIGINT/SIGTERM after Run()): stops accepting, closes
// idle connections and event feed connections (1001), lets in-flight
// requests finish (including ones waiting for the sequencer), then Run()
// returns.
//
// Beast lives only in server.cpp; this header is plain C++.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "kray/core/result.h"

namespace kray::api {

class Router;
class RateLimiter;
class EventFeed;
class HttpMetrics;

struct ServerOptions {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5000;  // 0: ephemeral
  int threads = 1;
  int read_timeout_seconds = 30;  // per header read (incl. keep-alive idle) and per body read
  std::size_t body_limit = 1 << 20;
  std::size_t max_connections = 512;
  std::size_t max_connections_per_ip = 64;
  std::size_t max_buffered_body_bytes = std::size_t{64} << 20;
  bool handle_signals = true;  // SIGINT/SIGTERM trigger Stop()
  // While the server has one open connection, a worker that ran a handler
  // polls for this long before it sleeps in epoll: a client sending its next
  // request right after an answer is then served without a wake-up
  // (docs/BENCHMARKS.md, thirty-third round). 0: never.
  std::chrono::microseconds idle_poll{100};
};

class HttpServer {
 public:
  // `router` and `limiter` (nullable) are not owned and must outlive the server.
  HttpServer(ServerOptions options, const Router& router, RateLimiter* limiter);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. Errors: "bind_failed" (port in use, bad address).
  // Returns the bound port (the chosen one when options.port == 0).
  Result<std::uint16_t> Listen();

  // Serves the event feed at GET /ws (WebSocket upgrade; docs/API.md "Event
  // feed"). Feed connections count against the connection caps and are
  // closed with 1001 at shutdown. `feed` is not owned and must outlive the
  // server. Call before Run(); without it /ws is an unknown route.
  void SetFeed(EventFeed* feed);

  // Records requests and connections into `metrics` (not owned; must
  // outlive the server). Call before Run().
  void SetMetrics(HttpMetrics* metrics);

  // Serves on options.threads threads (the caller's thread is one of them)
  // until Stop() or a signal; returns after in-flight requests are answered.
  void Run();

  // Thread-safe; idempotent.
  void Stop();

  struct Impl;  // defined in server.cpp (public so its session class can name it)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kray::api
