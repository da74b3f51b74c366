// Rate and ETA for long jobs: `krayd verify` replaying every rollup batch
// today, the L1 scanner catching up on blocks later. A job is counted in
// units (batches, blocks), optionally out of a known total, and also
// processes items (transactions); the reporter turns "done so far" into
//
//   12.5 batches/s, 640 txs/s, elapsed 8s, ETA 1m12s
//
// to append to the job's own progress line. Rates are averages since the
// reporter was created. The clock is injected so tests control time.
// Not thread-safe: one job, one reporter, one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace kray {

class ProgressReporter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `unit` and `item` are plural nouns used in the text ("batches", "txs").
  // `total` is the number of units the job expects, <= 0 if unknown (then no
  // ETA is given). The elapsed time starts now (clock()).
  ProgressReporter(std::string unit, std::string item, std::int64_t total,
                   Clock clock = &std::chrono::steady_clock::now);

  // For jobs whose goal moves (a scanner chasing the chain tip).
  void set_total(std::int64_t total) { total_ = total; }

  struct Snapshot {
    std::chrono::milliseconds elapsed{0};
    double units_per_second = 0;  // 0 until time has passed
    double items_per_second = 0;
    // Time left at the average rate so far: nullopt if the total is unknown
    // or no unit is done yet; 0 once `done` >= total.
    std::optional<std::chrono::seconds> eta;
  };

  // The rates with `done` units and `items` items completed since creation.
  Snapshot Measure(std::int64_t done, std::int64_t items) const;

  // Measure() as text: "<u> <unit>/s, <i> <item>/s, elapsed <d>, ETA <d>";
  // "ETA unknown" before the first unit, no ETA part if the total is unknown.
  std::string Format(std::int64_t done, std::int64_t items) const;

 private:
  std::string unit_, item_;
  std::int64_t total_;
  Clock clock_;
  std::chrono::steady_clock::time_point start_;
};

// A duration for humans, two fields at most: "0s", "59s", "1m05s", "2h03m",
// "3d04h". Negative durations print as "0s".
std::string FormatDuration(std::chrono::seconds d);

// A rate for humans: one decimal below 100 ("0.5", "12.5"), whole numbers
// from 100 on ("640").
std::string FormatRate(double per_second);

}  // namespace kray
