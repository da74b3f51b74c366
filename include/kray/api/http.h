// Plain HTTP request/response types shared by the server, the router and the
// handlers. The server (src/api/server.cpp) is the only code that knows
// Boost.Beast; everything past it sees only these structs.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kray::api {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// One parsed request. Owned by the connection; a handler that answers
// asynchronously must copy what it needs before returning.
struct HttpRequest {
  std::string method;         // upper case: "GET", "POST", ...
  std::string target;         // raw request target, e.g. "/x?limit=5"
  std::string path;           // target without the query string, not decoded
  KeyValues query;            // decoded query parameters, in order
  KeyValues params;           // path parameters filled by the Router (":hash" -> value)
  int route = -1;             // index of the route the Router chose (Router::Routes()), -1 if none
  std::string authorization;  // the Authorization header, "" if absent
  std::string if_none_match;  // the If-None-Match header, "" if absent (static assets answer 304)
  std::string body;
  std::string client_ip;

  // First value of query parameter `key`, nullopt if absent.
  std::optional<std::string_view> Query(std::string_view key) const;
  // Value of path parameter `name` (without ':'); "" if absent.
  std::string_view Param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  KeyValues headers;  // extra headers (Retry-After, Allow, ...)
  // When set, sent instead of `body` and not copied: a large body that never
  // changes (the genesis) is held once, however many responses carry it.
  std::shared_ptr<const std::string> shared_body;
  // When set, the response is whatever this returns, built by the
  // connection's own thread (Later() in json_util.h); the fields above are then unused.
  std::function<HttpResponse()> build;
};

// Sends the response for a request. Must be called exactly once; may be
// called from any thread (the server re-enters the connection's strand).
using Reply = std::function<void(HttpResponse)>;

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space). Malformed
// escapes are kept literally; never fails.
KeyValues ParseQuery(std::string_view query);

// Percent-decodes `s` ("%41" -> "A"); malformed escapes are kept literally.
std::string PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace kray::api
