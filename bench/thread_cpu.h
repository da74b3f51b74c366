// kray-loadgen, private: CPU time from /proc, for the whole process and by
// thread name. Which of krayd's threads a change moved is read from one run:
// a thread's CPU per request does not drift with the machine the way the rate
// does (docs/BENCHMARKS.md, round 25, where the rate could not tell a change
// apart and the rollup thread's CPU per transfer showed -27 %).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace kray::bench {

// utime + stime in seconds from the text of a /proc/<pid>[/task/<tid>]/stat
// (fields 14 and 15, counted after the command name's closing parenthesis).
double StatCpuSeconds(const std::string& stat);

// The CPU seconds of each live thread of `pid`, summed by thread name
// (/proc/<pid>/task/*/comm: krayd names its own, e.g. "kray-sequencer"; the
// others carry the executable's name). A thread that exits takes its time
// with it.
std::map<std::string, double> CpuSecondsByThread(pid_t pid);

// (after - before) per name, in microseconds per one of `n`; names with
// less than 1 µs per request are left out.
std::map<std::string, double> MicrosPerRequest(const std::map<std::string, double>& before,
                                               const std::map<std::string, double>& after, std::uint64_t n);

}  // namespace kray::bench
