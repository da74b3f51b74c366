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

std::map<std::string, double> CpuSecondsByThread(pid_t pid) {
  std::map<std::string, double> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string name = ReadAll(task.path() / "comm");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    if (name.empty()) continue;  // exited meanwhile
    out[name] += StatCpuSeconds(ReadAll(task.path() / "stat"));
  }
  return out;
}

std::map<std::string, double> MicrosPerRequest(const std::map<std::string, double>& before,
                                               const std::map<std::string, double>& after, std::uint64_t n) {
  std::map<std::string, double> out;
  if (n == 0) return out;
  for (const auto& [name, secs] : after) {
    auto b = before.find(name);
    const double us = (secs - (b == before.end() ? 0.0 : b->second)) * 1e6 / static_cast<double>(n);
    if (us >= 1.0) out[name] = us;
  }
  return out;
}

}  // namespace kray::bench
