// Beast request -> HttpRequest (beast_request.h) and the buffer entry point
// ParseHttpRequest (kray/api/request_parser.h).
#include "kray/api/request_parser.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <utility>
#include <vector>

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

std::optional<ReadFailure> FramingFailure(const BeastRequest& msg) {
  std::vector<std::string_view> codings;
  auto [first, last] = msg.equal_range(http::field::transfer_encoding);
  for (auto field = first; field != last; ++field) {
    std::string_view list = field->value();
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view coding = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
      if (!coding.empty()) codings.push_back(coding);
    }
  }
  if (codings.empty() && msg.count(http::field::transfer_encoding) == 0) return std::nullopt;
  auto is_chunked = [](std::string_view c) { return beast::iequals(c, "chunked"); };
  const auto chunked = std::count_if(codings.begin(), codings.end(), is_chunked);
  if (codings.empty() || !is_chunked(codings.back()) || chunked > 1)
    return ReadFailure{400, "bad_transfer_encoding",
                       "the request's Transfer-Encoding does not end with one chunked coding (RFC 9112 6.1)"};
  if (codings.size() > 1)
    return ReadFailure{501, "unsupported_transfer_encoding",
                       "only the chunked transfer coding is supported in requests"};
  return std::nullopt;
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
  if (auto framing = FramingFailure(msg))
    return Error::Invalid(std::string(framing->code), std::string(framing->message));
  out.keep_alive = msg.keep_alive();
  out.request = ToHttpRequest(msg, "", &out.head);
  out.consumed = used;
  return out;
}

}  // namespace kray::api
