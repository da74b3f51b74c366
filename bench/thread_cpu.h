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

struct ThreadCpu {
  std::string name;  // /proc/<pid>/task/<tid>/comm
  double seconds = 0;
};
using ThreadCpus = std::map<long, ThreadCpu>;  // by thread id

// The CPU seconds of each live thread of `pid`, with its name (krayd names
// its own, e.g. "kray-sequencer"; the others carry the executable's name).
ThreadCpus CpuSecondsByThread(pid_t pid);

// By each thread's name at the end (`after`), the CPU its threads used since
// `before` (a thread started since: all of its time), in microseconds per
// one of `n`. Keyed by thread id, not by name: a thread renamed in between
// (krayd's rollup watch takes the index over and becomes "kray-rollup"
// while the thread that had the name exits) is counted once, under its new
// name. A thread that exited in between took its time with it: what the
// process used (`process_seconds`, from /proc/<pid>/stat, which keeps the
// exited threads' time) beyond the live threads' is "(exited threads)".
// Names with less than 1 µs per request are left out.
std::map<std::string, double> MicrosPerRequest(const ThreadCpus& before, const ThreadCpus& after,
                                               double process_seconds, std::uint64_t n);

}  // namespace kray::bench
