// See thread_cpu.h.
#include "thread_cpu.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kray::bench {
namespace {

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

double StatCpuSeconds(const std::string& stat) {
  auto rp = stat.rfind(')');
  if (rp == std::string::npos || rp + 2 > stat.size()) return 0;
  std::istringstream in(stat.substr(rp + 2));
  std::string f;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> f; ++i) {
    if (i == 14) ut = std::atof(f.c_str());
    if (i == 15) st = std::atof(f.c_str());
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

ThreadCpus CpuSecondsByThread(pid_t pid) {
  ThreadCpus out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string name = ReadAll(task.path() / "comm");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    const std::string stat = ReadAll(task.path() / "stat");
    if (name.empty() || stat.empty()) continue;  // exited meanwhile
    out[std::atol(task.path().filename().c_str())] = {name, StatCpuSeconds(stat)};
  }
  return out;
}

std::map<std::string, double> MicrosPerRequest(const ThreadCpus& before, const ThreadCpus& after,
                                               double process_seconds, std::uint64_t n) {
  std::map<std::string, double> seconds;
  double live = 0;
  for (const auto& [tid, t] : after) {
    auto b = before.find(tid);
    const double used = t.seconds - (b == before.end() ? 0.0 : b->second.seconds);
    seconds[t.name] += used;
    live += used;
  }
  // Clock ticks: a few of them apart is rounding, not a thread.
  if (process_seconds - live > 0.1) seconds["(exited threads)"] = process_seconds - live;
  std::map<std::string, double> out;
  if (n == 0) return out;
  for (const auto& [name, secs] : seconds) {
    const double us = secs * 1e6 / static_cast<double>(n);
    if (us >= 1.0) out[name] = us;
  }
  return out;
}

}  // namespace kray::bench
