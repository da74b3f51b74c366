// The HTTP server's measurements (see kray/api/metrics.h).
#include <algorithm>

#include "kray/api/metrics.h"
#include "kray/api/router.h"

namespace kray::api {
namespace {

std::unique_ptr<metrics::Histogram> LatencyHistogram() {
  return std::make_unique<metrics::Histogram>(std::initializer_list<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                            0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
}

}  // namespace

const std::vector<int>& HttpMetrics::CountedStatuses() {
  static const std::vector<int> kStatuses = {101, 200, 201, 204, 400, 401, 403, 404,
                                             405, 409, 413, 426, 429, 431, 500, 503};
  return kStatuses;
}

HttpMetrics::HttpMetrics(const Router& router) {
  auto add = [&](std::string method, std::string route) {
    Slot s;
    s.method = std::move(method);
    s.route = std::move(route);
    s.by_status.reset(new metrics::Counter[CountedStatuses().size() + 1]);
    s.latency = LatencyHistogram();
    slots_.push_back(std::move(s));
  };
  for (auto& [method, pattern] : router.Routes()) add(method, pattern);
  feed_route_ = static_cast<int>(slots_.size());
  add("GET", "/ws");
  add("", "other");
}

void HttpMetrics::RecordRequest(int route, int status, double seconds) {
  if (route < 0 || static_cast<std::size_t>(route) >= slots_.size()) route = static_cast<int>(slots_.size()) - 1;
  const auto& statuses = CountedStatuses();
  auto it = std::find(statuses.begin(), statuses.end(), status);
  Slot& slot = slots_[static_cast<std::size_t>(route)];
  slot.by_status[static_cast<std::size_t>(it - statuses.begin())].Inc();
  slot.latency->Observe(seconds);
}

std::vector<HttpMetrics::RouteSample> HttpMetrics::Read() const {
  std::vector<RouteSample> out;
  const auto& statuses = CountedStatuses();
  for (const auto& slot : slots_) {
    RouteSample r;
    for (std::size_t i = 0; i <= statuses.size(); ++i) {
      auto n = slot.by_status[i].value();
      if (n > 0) r.by_status.emplace_back(i < statuses.size() ? std::to_string(statuses[i]) : "other", n);
    }
    if (r.by_status.empty()) continue;
    r.method = slot.method;
    r.route = slot.route;
    r.latency = slot.latency->Read();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace kray::api
