// A small synchronous HTTP/1.1 client for krayd's REST API (kray-cli, the
// integration tests, the load generator). One HttpClient owns one keep-alive
// TCP connection to host:port, opened lazily and re-opened once if the server
// closed it between requests. Boost.Beast stays in src/api/client/client.cpp.
//
// Thread-safety: an HttpClient is NOT thread-safe; use one per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kray/core/result.h"

namespace kray::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
  Headers headers;  // response header fields, names as sent by the server

  // First header named `name` (case-insensitive); nullopt if absent.
  std::optional<std::string> Header(std::string_view name) const;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Whole request: write + read of the response.
  std::chrono::milliseconds request_timeout{30000};
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port, ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole response. Any HTTP status is a
  // successful Result (check response.status). Errors ("connect_failed",
  // "timeout", "io_error") are kUnavailable and leave the connection closed.
  // `body` is sent with Content-Type application/json unless `headers` sets
  // Content-Type itself.
  Result<HttpResponse> Request(std::string_view method, std::string_view target, std::string_view body = {},
                               const Headers& headers = {});

  Result<HttpResponse> Get(std::string_view target, const Headers& headers = {}) {
    return Request("GET", target, {}, headers);
  }
  Result<HttpResponse> Post(std::string_view target, std::string_view body, const Headers& headers = {}) {
    return Request("POST", target, body, headers);
  }

  // Closes the connection (the next Request reconnects).
  void Close();
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kray::net
