// Lock-free instruments for /metrics (Prometheus' counter and histogram
// semantics): domain code records, the api module renders the text format.
// Recording is a few relaxed atomic adds, cheap enough for the sequencer
// and request paths; reading gives a snapshot in which every bucket count,
// the count and the sum are each exact but not taken at one instant (as
// with any Prometheus client library).
//
// Thread-safety: every method may be called concurrently from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

namespace kray::metrics {

// A monotonic count.
class Counter {
 public:
  void Inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Observations counted into buckets with fixed upper bounds (`le`, sorted
// ascending; +Inf is implicit), with their sum.
class Histogram {
 public:
  explicit Histogram(std::initializer_list<double> upper_bounds);
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;       // without +Inf
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    std::uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  Snapshot Read() const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (the last is +Inf)
  std::atomic<double> sum_{0};
};

// Bucket bounds: `count` bounds from `start`, each `factor` times the last.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

}  // namespace kray::metrics
