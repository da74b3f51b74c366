// Raw request bytes -> HttpRequest, exactly as the server reads a request:
// Beast's HTTP/1.1 request parser with the server's header and body limits,
// then the conversion every handler sees (method, target, path, decoded
// query, Authorization, body, HEAD served as GET). The server and this
// function share that code (src/api/beast_request.h); this entry point takes
// a complete buffer, for the fuzzer (fuzz/http_request_fuzz.cpp) and tests.
//
// Beast stays inside src/api: this header is plain C++.
#pragma once

#include <cstddef>
#include <string_view>

#include "kray/api/http.h"
#include "kray/core/result.h"

namespace kray::api {

// Request headers over this size: 431 headers_too_large.
inline constexpr std::size_t kHeaderLimit = 16 * 1024;
// Request bodies over this size: 413 body_too_large.
inline constexpr std::size_t kBodyLimit = 1 << 20;

struct RequestLimits {
  std::size_t header_limit = kHeaderLimit;
  std::size_t body_limit = kBodyLimit;
};

// A request parsed from a complete buffer.
struct ParsedRequest {
  HttpRequest request;       // client_ip empty
  bool head = false;         // the method was HEAD (request.method says GET)
  bool keep_alive = true;    // HTTP/1.1 default, or what the Connection header says
  std::size_t consumed = 0;  // bytes of `raw` that made up the request
};

// Parses the first HTTP/1.x request in `raw`; bytes after it (a pipelined
// request) are left alone. Errors (codes as the server answers them):
//   "incomplete_request" (400)  `raw` ends before the request does
//   "bad_request" (400)         malformed request line, header or chunk
//   "headers_too_large" (kTooLarge; the server answers 431)
//   "body_too_large" (413)      body over limits.body_limit
// Never throws; memory is bounded by the limits. Thread-safe.
Result<ParsedRequest> ParseHttpRequest(std::string_view raw, const RequestLimits& limits = {});

}  // namespace kray::api
