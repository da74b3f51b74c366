// HTTP server on Boost.Beast (after Beast's advanced server example): an
// io_context per worker thread, each connection on one of them, a timeout on
// every read, keep-alive, graceful shutdown. One thread per io_context makes
// each context an implicit strand: a connection's handlers never race, and a
// request is read, handled and answered without waking another thread (with
// one io_context shared by all threads, asio hands events between them; at
// one connection that cost more CPU per request than the request itself). Beast stays in src/api (this file and
// request_parser.cpp); requests are converted to kray::api::HttpRequest
// (beast_request.h) and handed to the Router.
//
// Resource bounds: connections are capped in total and per client IP, the
// request bodies being received are capped in bytes across all connections
// (connection_limits.h), and a failing accept() (out of file descriptors)
// pauses accepting with a growing delay instead of spinning.
#include "kray/api/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "beast_request.h"
#include "feed_session.h"
#include "idle_poll.h"
#include "kray/api/connection_limits.h"
#include "kray/api/http.h"
#include "kray/api/json_util.h"
#include "kray/api/metrics.h"
#include "kray/api/rate_limiter.h"
#include "kray/api/request_parser.h"
#include "kray/api/router.h"
#include "response_head.h"

namespace kray::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using namespace std::chrono_literals;

// accept() backoff: from the first to the last delay, doubling (Go's
// net/http server does the same on temporary accept errors).
constexpr std::chrono::milliseconds kAcceptDelayMin = 5ms;
constexpr std::chrono::milliseconds kAcceptDelayMax = 1000ms;
// At most one log line per interval for each recurring condition.
constexpr std::chrono::seconds kLogInterval = 1s;

// Express cors() defaults (wallet extensions call the node cross-origin).
constexpr const char* kCorsMethods = "GET,HEAD,PUT,PATCH,POST,DELETE";
constexpr const char* kCorsDefaultHeaders = "Content-Type, Authorization";

std::string ErrorJson(std::string_view message, std::string_view code) {
  Json j = {{"error", message}, {"code", code}};
  return j.dump();
}

}  // namespace

class Session;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(ServerOptions o, const Router& r, RateLimiter* l)
      : options(std::move(o)),
        router(r),
        limiter(l),
        limits(
            ConnectionCaps{options.max_connections, options.max_connections_per_ip, options.max_buffered_body_bytes}),
        workers(MakeWorkers(options.threads)),
        control(net::make_strand(*workers.front())),
        acceptor(control),
        accept_timer(control),
        signals(control) {}

  ServerOptions options;
  const Router& router;
  RateLimiter* limiter;
  ConnectionLimits limits;
  // One io_context per worker thread, run by that thread only (concurrency
  // hint 1). Connections are spread over them round robin.
  std::vector<std::unique_ptr<net::io_context>> workers;
  std::size_t next_worker = 0;  // control strand
  // The acceptor, its backoff timer and the signal set are used only on this
  // strand (none of them is thread-safe, and Stop() comes from any thread).
  net::strand<net::io_context::executor_type> control;
  tcp::acceptor acceptor;
  net::steady_timer accept_timer;
  net::signal_set signals;
  std::chrono::milliseconds accept_delay{0};  // current backoff, 0 when accepting normally (control strand)
  std::uint64_t accept_failures = 0;          // failed accepts since the last success (control strand)
  LogThrottle accept_log{kLogInterval};
  LogThrottle refuse_total_log{kLogInterval};   // maxconnections
  LogThrottle refuse_per_ip_log{kLogInterval};  // maxconnectionsperip
  LogThrottle busy_log{kLogInterval};
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;  // one per worker
  std::atomic<bool> stopping{false};

  std::mutex sessions_mu;
  std::unordered_set<Session*> sessions;   // live sessions (for shutdown); guarded by sessions_mu
  std::unordered_set<FeedSession*> feeds;  // live feed connections (for shutdown); guarded by sessions_mu
  EventFeed* feed = nullptr;               // set before Run(); null: no /ws
  HttpMetrics* metrics = nullptr;          // set before Run(); null: not measured

  static std::vector<std::unique_ptr<net::io_context>> MakeWorkers(int threads) {
    std::vector<std::unique_ptr<net::io_context>> w;
    for (int i = 0; i < std::max(1, threads); ++i) w.push_back(std::make_unique<net::io_context>(1));
    return w;
  }
  // Runs worker `i` until its io_context stops. While the server has one
  // connection, the worker polls after a handler before it sleeps
  // (idle_poll.h): one connection p50 -30 µs (11 pairs); with two
  // connections polling cost CPU for nothing, with more the cores have other
  // work (docs/BENCHMARKS.md, thirty-third round).
  void RunWorker(std::size_t i) {
    net::io_context& io = *workers[i];
    IdlePollPolicy policy;
    while (io.run_one() > 0) {
      if (options.idle_poll.count() <= 0 || limits.open_connections() > 1 || !policy.AfterHandler()) continue;
      policy.Polled(PollUntilIdle(io, options.idle_poll));
    }
  }
  net::io_context& NextWorker() {
    net::io_context& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    return w;
  }

  void StartFeed(tcp::socket socket, BeastRequest request, std::string client_ip);

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void OnAcceptError(const beast::error_code& ec);
  void Admit(tcp::socket socket);
  void StopOnIoThread();
};

// One connection. All of its handlers run on its worker's one thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // `client_ip` was admitted by server->limits.Open(); the destructor closes it.
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server, std::string client_ip)
      : server_(std::move(server)), stream_(std::move(socket)), client_ip_(std::move(client_ip)) {}

  ~Session() {
    ReleaseBody();
    if (!upgraded_) server_->limits.Close(client_ip_);  // else the feed session holds the slot
    std::lock_guard lock(server_->sessions_mu);
    server_->sessions.erase(this);
  }

  void Start() {
    {
      std::lock_guard lock(server_->sessions_mu);
      server_->sessions.insert(this);
    }
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // Called (via the strand) on shutdown: an idle connection is closed now;
  // a busy one closes after its response is written.
  void Shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  // The header read's deadline covers the whole header, not each read: a
  // client trickling one byte at a time (slowloris) is closed when
  // rpctimeout runs out, and so is an idle keep-alive connection.
  void ReadHeader() {
    if (server_->stopping) return DoClose();
    ++request_no_;
    answered_ = false;
    parser_.emplace();
    request_started_ = std::chrono::steady_clock::now();  // for a header that fails; reset when it arrives
    parser_->header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    parser_->body_limit(server_->options.body_limit);
    reading_ = true;
    stream_.expires_after(std::chrono::seconds(server_->options.read_timeout_seconds));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    request_started_ = std::chrono::steady_clock::now();
    route_ = -1;
    if (auto framing = FramingFailure(parser_->get()))  // closes the connection: the body's end is unknown
      return WriteError(framing->status, framing->message, framing->code);
    if (!ReserveBody()) return RefuseBusy();
    // Fast path: a small body usually arrives in the same segment as the
    // header; parse it from the buffer without another async operation.
    while (!parser_->is_done() && buffer_.size() > 0) {
      beast::error_code pec;
      auto n = parser_->put(buffer_.data(), pec);
      buffer_.consume(n);
      if (pec == http::error::need_more) break;
      if (pec) return OnReadError(pec);
      if (n == 0) break;
    }
    if (parser_->is_done()) return OnRead({}, 0);
    // curl and others send "Expect: 100-continue" for bodies over 1 KiB and
    // wait up to a second for it (RFC 9110 10.1.1); answer at once.
    auto expect = parser_->get().find(http::field::expect);
    if (expect != parser_->get().end() && beast::iequals(expect->value(), "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      return http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec, std::size_t) {
        if (ec) return self->DoClose();
        self->ReadBody();
      });
    }
    ReadBody();
  }

  // Reserves the body's worst case in the server-wide budget before any of
  // it is buffered: the declared Content-Length (Beast's string body
  // allocates that much up front), or the body limit for a chunked body,
  // whose size is known only at its end. Larger declared lengths never get
  // here: the header read already failed with body_limit (413).
  bool ReserveBody() {
    std::size_t want = 0;
    if (auto len = parser_->content_length()) {
      want = static_cast<std::size_t>(*len);
    } else if (parser_->chunked()) {
      want = server_->options.body_limit;
    }
    if (!server_->limits.ReserveBody(want)) return false;
    body_reserved_ = want;
    return true;
  }

  void ReleaseBody() {
    server_->limits.ReleaseBody(body_reserved_);
    body_reserved_ = 0;
  }

  // maxbufferedbodybytes reached: 503 and close (the unread body is drained
  // by LingerClose, within its own bounds).
  void RefuseBusy() {
    if (auto n = server_->busy_log.Record(std::chrono::steady_clock::now())) {
      spdlog::warn(
          "refused {} request(s) with 503 server_busy: request bodies being received reached "
          "maxbufferedbodybytes={} (last from {})",
          n, server_->options.max_buffered_body_bytes, client_ip_);
    }
    if (server_->metrics) server_->metrics->server_busy.Inc();
    WriteError(Error::Unavailable("server_busy", "too many request bodies are being received; retry later"),
               {{"Retry-After", "1"}});
  }

  void ReadBody() {
    // The body gets its own timeout, covering the whole body, so a body sent
    // slowly cannot hold the connection (and its reserved bytes) for long.
    stream_.expires_after(std::chrono::seconds(server_->options.read_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnReadError(beast::error_code ec) {
    reading_ = false;
    ReleaseBody();
    auto failure = ResponseForReadError(ec);
    if (!failure) return DoClose();
    WriteError(failure->status, failure->message, failure->code);
  }

  void WriteError(int status, std::string_view message, std::string_view code, KeyValues headers = {}) {
    reading_ = false;
    head_ = false;
    HttpResponse r;
    r.status = status;
    r.body = ErrorJson(message, code);
    r.headers = std::move(headers);
    keep_alive_ = false;
    version_ = 11;
    Write(std::move(r));
  }
  void WriteError(const Error& e, KeyValues headers = {}) {
    WriteError(HttpStatusFor(e.kind), e.message, e.code, std::move(headers));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    reading_ = false;
    stream_.expires_never();
    HandleRequest(parser_->get());
    // The body (moved into the request) is freed by now, or parsed by an
    // asynchronous handler: its bytes are back (if Write did not already).
    ReleaseBody();
  }

  // Request policy in one place (as Beast's handle_request): logging, rate
  // limit, CORS preflight, then the router.
  void HandleRequest(BeastRequest& msg) {
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    HttpRequest req = ToHttpRequest(msg, client_ip_, &head_);

    // Per-request log line (debug only): remembered here, written with the status.
    debug_ = spdlog::should_log(spdlog::level::debug);
    if (debug_) {
      log_line_ = req.client_ip + " " + std::string(msg.method_string()) + " " + req.target + " (" +
                  std::to_string(req.body.size()) + " bytes)";
      started_ = std::chrono::steady_clock::now();
    }

    if (server_->limiter && server_->limiter->enabled()) {
      auto d = server_->limiter->Allow(req.client_ip);
      if (!d.allowed) {
        HttpResponse r;
        r.status = 429;
        r.body = ErrorJson("rate limit exceeded, retry later", "rate_limited");
        r.headers.emplace_back("Retry-After", std::to_string(d.retry_after_seconds));
        return Write(std::move(r));
      }
    }

    if (server_->feed && req.method == "GET" && (req.path == "/ws" || req.path == "/ws/")) return UpgradeToFeed(msg);

    if (req.method == "OPTIONS") {  // CORS preflight (cors() answers 204 for any path)
      HttpResponse r;
      r.status = 204;
      r.content_type.clear();
      r.headers.emplace_back("Access-Control-Allow-Methods", kCorsMethods);
      auto it = msg.find("Access-Control-Request-Headers");
      r.headers.emplace_back("Access-Control-Allow-Headers",
                             it != msg.end() ? std::string(it->value()) : std::string(kCorsDefaultHeaders));
      r.headers.emplace_back("Vary", "Access-Control-Request-Headers");
      return Write(std::move(r));
    }

    // The reply may come from another thread (the sequencer); re-enter the
    // connection's worker. The tracked executor keeps its io_context::run()
    // alive until the answer is written, so shutdown waits for in-flight
    // requests.
    auto work = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    server_->router.Dispatch(
        req,
        [self = shared_from_this(), work = std::move(work), request = request_no_](HttpResponse resp) mutable {
          net::dispatch(self->stream_.get_executor(),
                        [self, request, resp = std::move(resp)]() mutable { self->Answer(request, std::move(resp)); });
        },
        &route_);
  }

  void Measure(int status) {
    if (!server_->metrics) return;
    if (status == 429) server_->metrics->rate_limited.Inc();
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - request_started_;
    server_->metrics->RecordRequest(route_, status, took.count());
    route_ = -1;
  }

  // GET /ws: the connection (and its connection-cap slot) becomes an event
  // feed session; this HTTP session ends here.
  void UpgradeToFeed(BeastRequest& msg) {
    route_ = server_->metrics ? server_->metrics->feed_route() : -1;
    if (!boost::beast::websocket::is_upgrade(msg)) {
      HttpResponse r;
      r.status = 426;
      r.body = ErrorJson("GET /ws is the event feed: upgrade to a WebSocket (Upgrade: websocket)", "upgrade_required");
      r.headers.emplace_back("Upgrade", "websocket");
      return Write(std::move(r));
    }
    upgraded_ = true;
    reading_ = false;
    Measure(101);
    server_->StartFeed(stream_.release_socket(), std::move(msg), client_ip_);
  }

  void Write(HttpResponse r) { Answer(request_no_, std::move(r)); }

  // One answer per request. A second (a handler that threw after handing
  // its reply on, whose late answer then follows the router's error) would
  // rewrite the buffers a write in flight is sending, or answer the next
  // request: it is dropped.
  void Answer(std::uint64_t request, HttpResponse r) {
    if (request != request_no_ || answered_) {
      spdlog::error("http: a second answer to one request (status {}) dropped", r.status);
      return;
    }
    answered_ = true;
    r = Built(std::move(r));  // a reply from the sequencer is formatted here, on the connection's thread
    // Before the response can reach the client: a client that sends its next
    // body on seeing this response must find the budget back.
    ReleaseBody();
    Measure(r.status);
    if (debug_) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_);
      spdlog::debug("http {} -> {} in {} us", log_line_, r.status, us.count());
      debug_ = false;
    }
    Send(std::move(r));
  }

  // Writes the response's head and body in one gathered write. out_head_,
  // out_text_ and out_shared_ stay alive, unchanged, until it completes: the
  // next request is read only after that.
  void Send(HttpResponse r) {
    const bool keep = keep_alive_ && !server_->stopping;
    out_shared_ = std::move(r.shared_body);
    out_text_ = std::move(r.body);
    std::string_view body = out_shared_ ? std::string_view(*out_shared_) : std::string_view(out_text_);
    if (r.status == 204 || r.status == 304) body = {};  // never a body (RFC 9110 6.4.1)
    out_head_.clear();
    AppendResponseHead(out_head_, {.status = r.status,
                                   .version = version_,
                                   .keep_alive = keep,
                                   .content_type = r.content_type,
                                   .headers = &r.headers,
                                   .content_length = body.size()});
    if (head_) body = {};
    stream_.expires_after(std::chrono::seconds(server_->options.read_timeout_seconds));
    std::array<net::const_buffer, 2> parts{net::buffer(out_head_), net::buffer(body.data(), body.size())};
    net::async_write(stream_, parts, [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
      self->ReleaseOutput();
      self->OnWrite(ec, keep);
    });
  }

  // The body is freed once sent; the head's buffer is reused.
  void ReleaseOutput() {
    out_shared_.reset();
    std::string().swap(out_text_);
  }

  void OnWrite(beast::error_code ec, bool keep) {
    if (ec) return DoClose();
    if (!keep) return LingerClose();
    ReadHeader();
  }

  // Closing a socket whose receive buffer still holds unread request bytes
  // (a 413 is answered before the body is read) makes the kernel send a RST,
  // which can destroy our response before the client reads it. So, as
  // nginx's lingering_close does: stop sending, then read and discard what
  // the client still sends, for a bounded time and size, before closing.
  void LingerClose() {
    reading_ = false;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return DoClose();
    linger_left_ = kLingerMaxBytes;
    stream_.expires_after(std::chrono::seconds(kLingerSeconds));
    DiscardInput();
  }

  void DiscardInput() {
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec || n >= self->linger_left_) return self->DoClose();
      self->linger_left_ -= n;
      self->DiscardInput();
    });
  }

  void DoClose() {
    reading_ = false;
    ReleaseBody();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  // Declared first, so destroyed last: the session may hold the last
  // reference to the server, whose io_context the stream belongs to (a
  // session can be released last off its worker, e.g. by an answer's
  // callback on the sequencer's thread after the server stopped).
  std::shared_ptr<HttpServer::Impl> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string out_head_;                           // the head of the response being written
  std::string out_text_;                           // its body, unless it is shared
  std::shared_ptr<const std::string> out_shared_;  // its body when shared
  std::uint64_t request_no_ = 0;                   // the request being read or handled, counted from 1
  bool answered_ = false;                          // it has its answer
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string client_ip_;
  std::size_t body_reserved_ = 0;  // bytes of limits' body budget held by the request being read
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool reading_ = false;
  bool head_ = false;      // the current request is a HEAD
  bool upgraded_ = false;  // handed to a FeedSession (with the connection slot)
  int route_ = -1;         // the current request's route (HttpMetrics), -1 until routed
  std::chrono::steady_clock::time_point request_started_ = std::chrono::steady_clock::now();
  static constexpr std::size_t kLingerMaxBytes = 8 << 20;
  static constexpr int kLingerSeconds = 2;
  std::size_t linger_left_ = 0;
  std::array<char, 16384> discard_{};
  bool debug_ = false;  // log this request at debug level
  std::string log_line_;
  std::chrono::steady_clock::time_point started_;
};

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept(NextWorker(), beast::bind_front_handler(&Impl::OnAccept, shared_from_this()));
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == net::error::operation_aborted) return;
  if (ec) return OnAcceptError(ec);
  if (accept_failures > 0) {
    spdlog::info("accepting connections again after {} failed accept(s)", accept_failures);
    accept_failures = 0;
  }
  accept_delay = std::chrono::milliseconds(0);
  Admit(std::move(socket));
  DoAccept();
}

void HttpServer::Impl::OnAcceptError(const beast::error_code& ec) {
  // The client gave up before we accepted: nothing is exhausted, go on
  // (and do not count it: it is not a failure to recover from).
  if (ec == net::error::connection_aborted) return DoAccept();
  ++accept_failures;
  // EMFILE/ENFILE (out of file descriptors), ENOBUFS/ENOMEM: the pending
  // connection stays in the listen backlog, so accepting again at once fails
  // again at once, a busy loop that starves every other handler and floods
  // the log. Stop accepting for a while instead, doubling the pause up to a
  // second; connections that close meanwhile free descriptors, and the
  // backlog is served once accept() succeeds again.
  accept_delay = accept_delay.count() == 0 ? kAcceptDelayMin : std::min(accept_delay * 2, kAcceptDelayMax);
  if (auto n = accept_log.Record(std::chrono::steady_clock::now())) {
    spdlog::warn("accept failed: {} ({} failure(s) since the last report); pausing accepts for {} ms", ec.message(), n,
                 accept_delay.count());
  }
  accept_timer.expires_after(accept_delay);
  accept_timer.async_wait([self = shared_from_this()](beast::error_code wec) {
    if (wec || self->stopping) return;
    self->DoAccept();
  });
}

// Past maxconnections or maxconnectionsperip the connection is closed at once,
// without reading or answering: answering needs the request read first, which
// costs the descriptor, memory and time the caps exist to bound (bitcoind's P2P
// listener and libevent's evhttp also just close). The client sees the
// connection closed; the log says why, at most once a second.
void HttpServer::Impl::Admit(tcp::socket socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return;  // the peer is already gone; the socket closes here
  // Every per-client limit counts the client's key (an IPv6 client by its /64).
  std::string ip = ClientKey(endpoint.address().to_string());
  Admission admission = limits.Open(ip);
  if (metrics) {
    if (admission == Admission::kAdmitted) metrics->connections_accepted.Inc();
    if (admission == Admission::kTooManyConnections) metrics->refused_max_connections.Inc();
    if (admission == Admission::kTooManyFromClient) metrics->refused_per_ip.Inc();
  }
  if (admission == Admission::kAdmitted) {
    std::make_shared<Session>(std::move(socket), shared_from_this(), std::move(ip))->Start();
    return;
  }
  LogThrottle& log = admission == Admission::kTooManyConnections ? refuse_total_log : refuse_per_ip_log;
  if (auto n = log.Record(std::chrono::steady_clock::now())) {
    spdlog::warn("refused {} connection(s): {} reached ({} open; last from {})", n, AdmissionCapName(admission),
                 limits.open_connections(), ip);
  }
  socket.close(ec);
}

void HttpServer::Impl::StartFeed(tcp::socket socket, BeastRequest request, std::string client_ip) {
  auto self = shared_from_this();
  auto session = std::make_shared<FeedSession>(std::move(socket), *feed, limiter, client_ip,
                                               [self, client_ip](FeedSession* ended) {
                                                 self->limits.Close(client_ip);
                                                 std::lock_guard lock(self->sessions_mu);
                                                 self->feeds.erase(ended);
                                               });
  {
    std::lock_guard lock(sessions_mu);
    feeds.insert(session.get());
  }
  if (stopping) return;  // the socket closes with the session
  session->Start(std::move(request));
}

void HttpServer::Impl::StopOnIoThread() {
  beast::error_code ec;
  acceptor.close(ec);
  accept_timer.cancel();
  signals.cancel(ec);
  std::vector<std::shared_ptr<Session>> live;
  std::vector<std::shared_ptr<FeedSession>> live_feeds;
  {
    std::lock_guard lock(sessions_mu);
    for (Session* s : sessions) {
      // weak_from_this fails for a session already being destroyed; skip it.
      if (auto sp = s->weak_from_this().lock()) live.push_back(std::move(sp));
    }
    for (FeedSession* f : feeds) {
      if (auto sp = f->weak_from_this().lock()) live_feeds.push_back(std::move(sp));
    }
  }
  for (auto& s : live) s->Shutdown();
  for (auto& f : live_feeds) f->Shutdown();
  guards.clear();
}

HttpServer::HttpServer(ServerOptions options, const Router& router, RateLimiter* limiter)
    : impl_(std::make_shared<Impl>(std::move(options), router, limiter)) {}

HttpServer::~HttpServer() {
  Stop();
}

Result<std::uint16_t> HttpServer::Listen() {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.bind, ec);
  if (ec) return Error::Invalid("bad_bind_address", "invalid bind address '" + impl_->options.bind + "'");
  tcp::endpoint ep(address, impl_->options.port);
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::Unavailable("bind_failed", "cannot listen on " + impl_->options.bind + ":" +
                                                 std::to_string(impl_->options.port) + ": " + ec.message());
  }
  return acc.local_endpoint().port();
}

void HttpServer::SetMetrics(HttpMetrics* metrics) {
  impl_->metrics = metrics;
}

void HttpServer::SetFeed(EventFeed* feed) {
  impl_->feed = feed;
}

void HttpServer::Run() {
  auto impl = impl_;
  for (auto& w : impl->workers) impl->guards.push_back(net::make_work_guard(*w));
  if (impl->options.handle_signals) {
    impl->signals.add(SIGINT);
    impl->signals.add(SIGTERM);
    impl->signals.async_wait([impl](beast::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("received signal {}, shutting down", sig);
      impl->stopping = true;
      impl->StopOnIoThread();  // already on the control strand
    });
  }
  net::post(impl->control, [impl] { impl->DoAccept(); });
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl->workers.size(); ++i) threads.emplace_back([impl, i] { impl->RunWorker(i); });
  impl->RunWorker(0);
  for (auto& t : threads) t.join();
}

void HttpServer::Stop() {
  auto impl = impl_;
  if (impl->stopping.exchange(true)) return;
  net::post(impl->control, [impl] { impl->StopOnIoThread(); });
}

}  // namespace kray::api
