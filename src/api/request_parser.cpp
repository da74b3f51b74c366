// Beast request -> HttpRequest (beast_request.h) and the buffer entry point
// ParseHttpRequest (kray/api/request_parser.h).
#include "kray/api/request_parser.h"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <utility>

#include "beast_request.h"

namespace kray::api {

namespace beast = boost::beast;
namespace http = beast::http;

HttpRequest ToHttpRequest(BeastRequest& msg, std::string client_ip, bool* is_head) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  // HEAD is served as GET without the body (as Express does).
  *is_head = req.method == "HEAD";
  if (*is_head) req.method = "GET";
  req.target = std::string(msg.target());
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = ParseQuery(std::string_view(req.target).substr(q + 1));
  if (auto it = msg.find(http::field::authorization); it != msg.end()) req.authorization = std::string(it->value());
  if (auto it = msg.find(http::field::if_none_match); it != msg.end()) req.if_none_match = std::string(it->value());
  req.client_ip = std::move(client_ip);
  req.body = std::move(msg.body());
  return req;
}

std::optional<ReadFailure> ResponseForReadError(const boost::system::error_code& ec) {
  namespace asio_error = boost::asio::error;
  if (ec == http::error::end_of_stream || ec == asio_error::operation_aborted || ec == asio_error::eof ||
      ec == asio_error::connection_reset || ec == beast::error::timeout) {
    return std::nullopt;
  }
  if (ec == http::error::body_limit) return ReadFailure{413, "body_too_large", "request body exceeds the 1 MiB limit"};
  if (ec == http::error::header_limit) return ReadFailure{431, "headers_too_large", "request headers too large"};
  if (&ec.category() == &http::make_error_code(http::error::bad_target).category()) {
    return ReadFailure{400, "bad_request", "malformed HTTP request"};
  }
  return std::nullopt;  // a socket error: nobody left to answer
}

Result<ParsedRequest> ParseHttpRequest(std::string_view raw, const RequestLimits& limits) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
  parser.body_limit(limits.body_limit);
  parser.eager(true);  // parse the body too, as the server's read loop does
  std::size_t used = 0;
  while (!parser.is_done()) {
    beast::error_code ec;
    std::size_t n = parser.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
    used += n;
    // need_more with every byte offered, or no progress: the bytes end
    // first. (A request body is never delimited by the end of the stream,
    // RFC 9112 6.3, so there is nothing to finish with eof.)
    if (ec == http::error::need_more || (!ec && n == 0)) {
      return Error::Invalid("incomplete_request", "request ends before its end");
    }
    if (ec) {
      auto failure = ResponseForReadError(ec);
      std::string message(failure ? failure->message : std::string_view("malformed HTTP request"));
      if (failure && failure->status == 413) return Error{ErrorKind::kTooLarge, "body_too_large", message};
      if (failure && failure->status == 431) return Error{ErrorKind::kTooLarge, "headers_too_large", message};
      return Error::Invalid("bad_request", message);
    }
  }
  ParsedRequest out;
  BeastRequest msg = parser.release();
  out.keep_alive = msg.keep_alive();
  out.request = ToHttpRequest(msg, "", &out.head);
  out.consumed = used;
  return out;
}

}  // namespace kray::api
