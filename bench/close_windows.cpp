// See close_windows.h.
#include "close_windows.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace kray::bench {
namespace {

// "2026-12-02T08:33:48.464Z ..." -> that instant; false if the line does not start so.
bool LogTime(const std::string& line, std::chrono::system_clock::time_point& at) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(line.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) != 7)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  at = std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
  return true;
}

}  // namespace

std::vector<CloseWindow> CloseWindowsFromLog(const std::string& log, std::chrono::system_clock::time_point sys_ref,
                                             Clock::time_point steady_ref) {
  std::vector<CloseWindow> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("] rollup: batch ") == std::string::npos || line.find(" closed: ") == std::string::npos) continue;
    std::chrono::system_clock::time_point ended;
    auto open = line.rfind('(');
    if (!LogTime(line, ended) || open == std::string::npos) continue;
    double took = std::atof(line.c_str() + open + 1);
    auto stamp = steady_ref + std::chrono::duration_cast<Clock::duration>(ended - sys_ref);
    auto length = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(took));
    // The stamp is truncated to the millisecond: the close ended up to 1 ms after it.
    out.push_back({stamp - length, stamp + std::chrono::milliseconds(1)});
  }
  return out;
}

LatencySplit SplitAroundCloses(const std::vector<CloseWindow>& windows, const std::vector<Clock::time_point>& started,
                               const std::vector<double>& lat_ms) {
  LatencySplit out;
  for (std::size_t i = 0; i < started.size() && i < lat_ms.size(); ++i) {
    auto end =
        started[i] + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(lat_ms[i]));
    bool met = std::any_of(windows.begin(), windows.end(),
                           [&](const CloseWindow& w) { return started[i] <= w.end && end >= w.start; });
    (met ? out.during : out.outside).push_back(lat_ms[i]);
    bool after = !met && std::any_of(windows.begin(), windows.end(), [&](const CloseWindow& w) {
      return started[i] > w.end && started[i] - w.end <= kAfterClose;
    });
    if (after) out.after.push_back(lat_ms[i]);
  }
  return out;
}

}  // namespace kray::bench
