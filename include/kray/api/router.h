// Method + path routing for the REST API.
//
// Patterns are '/'-separated segments; a segment starting with ':' is a
// parameter matching any one non-empty segment. When several patterns match
// a path, the most specific wins: segments are compared left to right and the
// first segment that is a literal in one pattern and a parameter in the other
// decides (so "/api/transaction/pending" beats "/api/transaction/:hash", and
// "/api/validator/consensus/state" beats "/api/validator/:id/..."). This is
// independent of registration order.
//
// Unknown path: 404 {"error":"route not found: GET /x","code":"route_not_found","path":"/x"}.
// Known path, wrong method: 405 {"code":"method_not_allowed"} with an Allow header.
// A handler that throws gets a logged 500 (a bug, never bad input).
//
// Thread-safety: Add() before serving; Dispatch() is then safe from any thread.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kray/api/http.h"

namespace kray::api {

using Handler = std::function<void(const HttpRequest& req, Reply reply)>;

class Router {
 public:
  // Registers `handler` for `method` ("GET", "POST", ...) and `pattern`.
  // Registering the same method+pattern twice replaces the handler.
  void Add(std::string method, std::string_view pattern, Handler handler);

  // Routes `req` (fills req.params) and calls the handler, or replies with a
  // 404/405 error. Calls `reply` exactly once (possibly later, from another
  // thread, for asynchronous handlers).
  // `route_out` (optional) gets the route's index (Routes(); -1 for a 404)
  // before the handler runs, so a synchronous reply already knows it.
  void Dispatch(HttpRequest& req, Reply reply, int* route_out = nullptr) const;

  // Result of matching without calling anything (tests, diagnostics).
  struct Match {
    bool path_known = false;           // some pattern matches the path
    const Handler* handler = nullptr;  // the route for this method, if any
    int index = -1;                    // the matched route's index in Routes(), -1 if none
    KeyValues params;
    std::string allow;  // methods allowed on this path, "GET, POST"
  };
  Match Find(std::string_view method, std::string_view path) const;

  // Every registered route as (method, pattern), in registration order
  // (the OpenAPI document is checked against this list).
  struct RouteInfo {
    std::string method;
    std::string pattern;
  };
  std::vector<RouteInfo> Routes() const;

 private:
  struct Segment {
    std::string text;
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
  // Indices into routes_, each list in registration order, by segment count
  // and then by the second segment: a path is compared only with the
  // patterns that can match it (88 routes, most of them "/api/<area>/...",
  // and every request is routed).
  struct Candidates {
    std::map<std::string, std::vector<std::uint32_t>, std::less<>> by_second;  // its second segment a literal
    std::vector<std::uint32_t> any_second;  // its second segment a parameter, or none
  };
  std::vector<Candidates> by_length_;
};

// Splits a path into segments: "/a/b/" -> {"a","b"} (one trailing slash is
// ignored, like Express's non-strict routing). Empty inner segments are kept
// (so "//x" never matches a route).
using PathSegments = boost::container::small_vector<std::string_view, 8>;  // in place: one per request
PathSegments SplitPath(std::string_view path);

}  // namespace kray::api
