// Progress rates and ETA (see kray/core/progress.h).
#include "kray/core/progress.h"

#include <cmath>
#include <cstdio>

namespace kray {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

ProgressReporter::ProgressReporter(std::string unit, std::string item, std::int64_t total, Clock clock)
    : unit_(std::move(unit)), item_(std::move(item)), total_(total), clock_(std::move(clock)), start_(clock_()) {}

ProgressReporter::Snapshot ProgressReporter::Measure(std::int64_t done, std::int64_t items) const {
  Snapshot s;
  s.elapsed = duration_cast<milliseconds>(clock_() - start_);
  const double secs = static_cast<double>(s.elapsed.count()) / 1000.0;
  if (secs > 0) {
    s.units_per_second = static_cast<double>(done) / secs;
    s.items_per_second = static_cast<double>(items) / secs;
  }
  if (total_ <= 0) return s;
  if (done >= total_) {
    s.eta = seconds(0);
  } else if (done > 0 && s.units_per_second > 0) {
    // Rounded up: "ETA 0s" only when the job is really done.
    s.eta = seconds(static_cast<std::int64_t>(std::ceil(static_cast<double>(total_ - done) / s.units_per_second)));
  }
  return s;
}

std::string ProgressReporter::Format(std::int64_t done, std::int64_t items) const {
  Snapshot s = Measure(done, items);
  std::string text = FormatRate(s.units_per_second) + " " + unit_ + "/s, " + FormatRate(s.items_per_second) + " " +
                     item_ + "/s, elapsed " + FormatDuration(duration_cast<seconds>(s.elapsed));
  if (total_ <= 0) return text;
  return text + ", ETA " + (s.eta ? FormatDuration(*s.eta) : std::string("unknown"));
}

std::string FormatDuration(seconds d) {
  const std::int64_t t = d.count() < 0 ? 0 : d.count();
  char buf[48];
  if (t < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(t));
  } else if (t < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  } else if (t < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>(t % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(t / 86400),
                  static_cast<long long>(t % 86400 / 3600));
  }
  return buf;
}

std::string FormatRate(double per_second) {
  char buf[48];
  if (!(per_second >= 0)) per_second = 0;  // also NaN
  if (per_second < 100)
    std::snprintf(buf, sizeof buf, "%.1f", per_second);
  else
    std::snprintf(buf, sizeof buf, "%.0f", per_second);
  return buf;
}

}  // namespace kray
