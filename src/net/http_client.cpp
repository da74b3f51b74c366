// HttpClient over Boost.Beast. Every operation is asynchronous on a private
// io_context and driven with run(), so beast::tcp_stream's expiry gives real
// connect/request timeouts for a synchronous API.
#include "kray/net/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace kray::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < k.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return v;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port;
  ClientOptions options;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the io_context until the posted operation completed.
  void Drive() {
    ioc.restart();
    ioc.run();
  }

  Status Connect() {
    stream.reset();
    buffer.clear();
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return Error::Unavailable("connect_failed", "cannot resolve " + host + ": " + ec.message());
    stream.emplace(ioc);
    stream->expires_after(options.connect_timeout);
    beast::error_code cec;
    stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { cec = e; });
    Drive();
    if (cec) {
      stream.reset();
      if (cec == beast::error::timeout)
        return Error::Unavailable("timeout", "connect to " + host + ":" + std::to_string(port) + " timed out");
      return Error::Unavailable("connect_failed",
                                "cannot connect to " + host + ":" + std::to_string(port) + ": " + cec.message());
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    return Ok();
  }

  // One exchange on the open stream. `received_any` tells the caller whether
  // the server answered anything (a retry is only safe when it did not).
  Result<HttpResponse> Exchange(http::request<http::string_body>& req, bool& received_any) {
    received_any = false;
    stream->expires_after(options.request_timeout);
    beast::error_code wec;
    http::async_write(*stream, req, [&](beast::error_code e, std::size_t) { wec = e; });
    Drive();
    if (wec) return IoError(wec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.header_limit(64 * 1024);
    beast::error_code rec;
    std::size_t nread = 0;
    http::async_read(*stream, buffer, parser, [&](beast::error_code e, std::size_t n) {
      rec = e;
      nread = n;
    });
    Drive();
    if (rec) {
      received_any = nread > 0;
      return IoError(rec);
    }
    received_any = true;
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) Close();
    return out;
  }

  Error IoError(const beast::error_code& ec) {
    Close();
    if (ec == beast::error::timeout) return Error::Unavailable("timeout", "request to " + host + " timed out");
    return Error::Unavailable("io_error",
                              "connection to " + host + ":" + std::to_string(port) + " failed: " + ec.message());
  }

  void Close() {
    if (stream) {
      beast::error_code ec;
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->socket().close(ec);
      stream.reset();
    }
    buffer.clear();
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port, ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->options = options;
}

HttpClient::~HttpClient() {
  impl_->Close();
}

void HttpClient::Close() {
  impl_->Close();
}
bool HttpClient::connected() const {
  return impl_->stream.has_value();
}

Result<HttpResponse> HttpClient::Request(std::string_view method, std::string_view target, std::string_view body,
                                         const Headers& headers) {
  http::request<http::string_body> req;
  http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) return Error::Invalid("bad_method", "unknown HTTP method " + std::string(method));
  req.method(verb);
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
  req.set(http::field::user_agent, "kray-client/0.1");
  req.keep_alive(true);
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req.set(beast::string_view(k.data(), k.size()), beast::string_view(v.data(), v.size()));
    HttpResponse probe;
    probe.headers.emplace_back(k, v);
    if (probe.Header("content-type")) has_ct = true;
  }
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put) {
    if (!has_ct) req.set(http::field::content_type, "application/json");
    req.body().assign(body.data(), body.size());
    req.prepare_payload();
  }

  // A reused keep-alive connection may have been closed by the server while
  // idle; retry once on a fresh connection if nothing at all was received.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = impl_->stream.has_value();
    if (!reused) KRAY_TRY(impl_->Connect());
    bool received_any = false;
    auto res = impl_->Exchange(req, received_any);
    if (res.ok() || !reused || received_any || res.error().code == "timeout") return res;
  }
  return Error::Unavailable("io_error", "connection closed by server");
}

}  // namespace kray::net
