// kray-loadgen, private: the latency of the requests that overlapped a batch
// close against that of the rest, for issue 9's "a close adds < 5 ms to any
// request" (measured in one run, so the machine's drift between runs is out
// of the comparison).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace kray::bench {

using Clock = std::chrono::steady_clock;

// One close on the rollup thread, from its start to its root persisted.
struct CloseWindow {
  Clock::time_point start, end;
};

// The closes krayd logged at info level ("rollup: batch N closed: ... (S s)",
// stamped with the UTC millisecond the close ended), placed on the steady
// clock through `sys_ref` and `steady_ref`, read at the same moment.
std::vector<CloseWindow> CloseWindowsFromLog(const std::string& log, std::chrono::system_clock::time_point sys_ref,
                                             Clock::time_point steady_ref);

// The latencies of the requests whose time (request i: from started[i], for
// lat_ms[i]) met a window, and of the rest; `after`: those of the rest that
// started within kAfterClose of a close's end, while the work a close leaves
// behind runs (leaf heads folded, pruning, the index's WAL checkpointed):
// what a close costs requests outside its own window.
struct LatencySplit {
  std::vector<double> during, outside, after;
};
inline constexpr std::chrono::seconds kAfterClose{1};
LatencySplit SplitAroundCloses(const std::vector<CloseWindow>& windows, const std::vector<Clock::time_point>& started,
                               const std::vector<double>& lat_ms);

}  // namespace kray::bench
