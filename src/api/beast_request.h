// Private to src/api: the Beast side of reading a request, shared by the
// server (server.cpp) and ParseHttpRequest (request_parser.cpp), so the fuzzer
// exercises the very conversion the server runs.
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kray/api/http.h"

namespace kray::api {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Moves a parsed request into the plain HttpRequest the router and handlers
// see: method (HEAD becomes GET, reported in *is_head), raw target, path
// (target up to '?'), decoded query, Authorization and If-None-Match headers, body (moved out of
// `msg`), client_ip.
HttpRequest ToHttpRequest(BeastRequest& msg, std::string client_ip, bool* is_head);

// What the server answers when reading a request fails.
struct ReadFailure {
  int status;
  std::string_view code;
  std::string_view message;
};

// The answer for a request whose header frames its body in a way krayd does
// not read, or nullopt. A Transfer-Encoding other than one "chunked" coding:
// Beast's parser reads a body whose final coding is not chunked as empty, so
// its bytes would be taken for the next request (request smuggling behind a
// proxy that honours the header). RFC 9112 6.1: 400 when chunked is not the
// final coding (or comes twice), 501 for a coding before it; the connection
// is closed after either.
std::optional<ReadFailure> FramingFailure(const BeastRequest& msg);

// The answer for a read error, or nullopt when there is nobody to answer
// (end of stream, reset, timeout, cancelled) and the connection just closes.
std::optional<ReadFailure> ResponseForReadError(const boost::system::error_code& ec);

}  // namespace kray::api
