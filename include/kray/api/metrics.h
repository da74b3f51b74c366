// The HTTP server's measurements for GET /metrics (docs/API.md, "Metrics"):
// requests by route and status with latency histograms, connections
// accepted/open/refused, rate-limited and busy refusals. Recording is
// lock-free (kray/core/metrics.h): one counter and one histogram per request,
// found by index.
//
// Thread-safety: Record*/counters from any thread once constructed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kray/core/metrics.h"

namespace kray::api {

class Router;

class HttpMetrics {
 public:
  // One slot per route of `router` (its routes must all be added), plus the
  // event feed's upgrade (GET /ws) and "other" (requests no route answered:
  // malformed, rate limited, preflight, unknown paths).
  explicit HttpMetrics(const Router& router);
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  int feed_route() const { return feed_route_; }
  // A request answered with `status` after `seconds`; `route` from
  // HttpRequest::route, feed_route(), or -1 (other).
  void RecordRequest(int route, int status, double seconds);

  metrics::Counter connections_accepted;
  metrics::Counter refused_max_connections;  // maxconnections reached
  metrics::Counter refused_per_ip;           // maxconnectionsperip reached
  metrics::Counter rate_limited;             // 429s and rate-limited feed messages
  metrics::Counter server_busy;              // 503 server_busy (maxbufferedbodybytes)

  // The statuses counted separately; any other is counted as "other".
  static const std::vector<int>& CountedStatuses();

  struct RouteSample {
    std::string method, route;
    std::vector<std::pair<std::string, std::uint64_t>> by_status;  // status label -> count (non-zero only)
    metrics::Histogram::Snapshot latency;
  };
  std::vector<RouteSample> Read() const;  // routes that served at least one request

 private:
  struct Slot {
    std::string method, route;
    std::unique_ptr<metrics::Counter[]> by_status;  // CountedStatuses().size() + 1 (other)
    std::unique_ptr<metrics::Histogram> latency;
  };
  std::vector<Slot> slots_;  // routes, then /ws, then other
  int feed_route_ = 0;
};

}  // namespace kray::api
