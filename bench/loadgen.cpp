// kray-loadgen: drives a real krayd with pre-signed transfers (or balance
// reads) over C keep-alive connections and reports accepted TPS and latency.
//
// It starts krayd itself on an ephemeral port with a generated genesis that
// funds N fresh keys, so every run starts from the same state. Transfers are
// pre-signed (legacy KRAY message) before the clock starts; connection c owns
// the senders s with s % C == c and sends their transactions in nonce order,
// one request in flight per connection (closed loop), so nonces always arrive
// in order and every transfer should be accepted.
//
//   kray-loadgen [--mode=transfer|balance] [--accounts=2000] [--txs=40000]
//                [--connections=50] [--duration=20] [--synchronous=FULL]
//                [--krayd=<path>] [--maxgroup=2048] [--keep]
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kray/net/http_client.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/tx_message.h"

namespace {

using namespace kray;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Opts {
  std::string mode = "transfer";
  int accounts = 2000;
  int txs = 40000;
  int connections = 50;
  int duration = 20;  // seconds, hard cap of the measured phase
  std::string synchronous = "FULL";
  std::string krayd = KRAYD_PATH;
  int maxgroup = 2048;
  bool keep = false;
};

struct Key {
  crypto::SecretKey sk;
  std::string pub_hex, address, id;
};

bool ParseArgs(int argc, char** argv, Opts& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    std::string k = a.substr(0, eq), v = eq == std::string::npos ? "" : a.substr(eq + 1);
    auto num = [&](int& out) {
      out = std::atoi(v.c_str());
      return out > 0;
    };
    bool ok = true;
    if (k == "--mode")
      o.mode = v, ok = v == "transfer" || v == "balance";
    else if (k == "--accounts")
      ok = num(o.accounts) && o.accounts >= 2;
    else if (k == "--txs")
      ok = num(o.txs);
    else if (k == "--connections")
      ok = num(o.connections);
    else if (k == "--duration")
      ok = num(o.duration);
    else if (k == "--synchronous")
      o.synchronous = v;
    else if (k == "--krayd")
      o.krayd = v;
    else if (k == "--maxgroup")
      ok = num(o.maxgroup);
    else if (k == "--keep")
      o.keep = true;
    else
      ok = false;
    if (!ok) {
      std::cerr << "error: bad argument '" << a << "' (see the header of bench/loadgen.cpp)\n";
      return false;
    }
  }
  return true;
}

std::vector<Key> MakeKeys(int n) {
  std::vector<Key> keys(n);
  auto work = [&](int from, int step) {
    for (int i = from; i < n; i += step) {
      Key& k = keys[i];
      k.sk = crypto::Sha256(AsBytes("kray-loadgen-" + std::to_string(i)));
      auto pub = crypto::XOnlyFromSecret(k.sk).value();
      k.pub_hex = ToHex(pub);
      k.address = bitcoin::P2trAddress("bcrt", bitcoin::TaprootOutputKey(pub, std::nullopt)->key);
      k.id = state::AccountIdFromAddress(k.address);
    }
  };
  std::thread t(work, 1, 2);
  work(0, 2);
  t.join();
  return keys;
}

std::string ReadFile(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// utime+stime of a process in seconds (/proc/<pid>/stat fields 14 and 15).
double CpuSeconds(pid_t pid) {
  std::string s = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(s.substr(rp + 2));
  std::string f;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> f; ++i) {
    if (i == 14) ut = std::atof(f.c_str());
    if (i == 15) st = std::atof(f.c_str());
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  if (!ParseArgs(argc, argv, o)) return 1;
  std::string dir = (std::filesystem::temp_directory_path() / "kray-loadgen-XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    std::cerr << "error: mkdtemp failed\n";
    return 1;
  }

  // 1. Keys and genesis: every account gets 10^9 KRAY credits.
  auto t0 = Clock::now();
  std::vector<Key> keys = MakeKeys(o.accounts);
  json accts = json::array();
  for (const auto& k : keys)
    accts.push_back({{"l1_address", k.address}, {"pubkey", k.pub_hex}, {"balances", {{"KRAY", "1000000000"}}}});
  std::ofstream(dir + "/genesis.json") << json{
      {"chain_id", "kray-regtest-1"},
      {"timestamp", 1764000000},
      {"accounts", accts}}.dump();

  // 2. Pre-sign: tx j is sent by j % N with nonce j / N to a different account.
  // Bodies are grouped by connection (sender % C), in nonce order.
  std::vector<std::vector<std::string>> work(o.connections);
  if (o.mode == "transfer") {
    std::vector<std::string> bodies(o.txs);
    auto sign = [&](int from, int step) {
      for (int j = from; j < o.txs; j += step) {
        int s = j % o.accounts;
        std::uint64_t nonce = static_cast<std::uint64_t>(j / o.accounts);
        int r = (s + 1 + (j / o.accounts) % (o.accounts - 1)) % o.accounts;
        const std::string& to = keys[r].id;
        auto sig = crypto::SchnorrSign(keys[s].sk, state::LegacyTransferMessage(keys[s].id, to, 1, nonce));
        bodies[j] = json{{"from_account", keys[s].id},
                         {"to_account", to},
                         {"amount", "1"},
                         {"nonce", nonce},
                         {"signature", ToHex(*sig)}}
                        .dump();
      }
    };
    std::thread t(sign, 1, 2);
    sign(0, 2);
    t.join();
    for (int j = 0; j < o.txs; ++j) work[(j % o.accounts) % o.connections].push_back(std::move(bodies[j]));
  }
  double prep_s = std::chrono::duration<double>(Clock::now() - t0).count();

  // 3. Start krayd.
  std::string portfile = dir + "/port", log = dir + "/krayd.log";
  std::vector<std::string> args = {
      o.krayd,          "-datadir=" + dir + "/data",     "-genesis=" + dir + "/genesis.json",
      "-port=0",        "-portfile=" + portfile,         "-rpctoken=bench",
      "-loglevel=warn", "-synchronous=" + o.synchronous, "-maxgroup=" + std::to_string(o.maxgroup)};
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    freopen(log.c_str(), "a", stdout);
    freopen(log.c_str(), "a", stderr);
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    av.push_back(nullptr);
    execv(av[0], av.data());
    _exit(127);
  }
  std::uint16_t port = 0;
  for (int i = 0; i < 600 && port == 0; ++i) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      std::cerr << "error: krayd exited: " << ReadFile(log) << "\n";
      return 1;
    }
    std::string p = ReadFile(portfile);
    if (!p.empty() && p.find_first_not_of("0123456789\n") == std::string::npos) {
      net::HttpClient c("127.0.0.1", static_cast<std::uint16_t>(std::atoi(p.c_str())));
      auto r = c.Get("/health");
      if (r.ok() && r->status == 200) port = static_cast<std::uint16_t>(std::atoi(p.c_str()));
    }
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port == 0) {
    std::cerr << "error: krayd did not come up: " << ReadFile(log) << "\n";
    kill(pid, SIGKILL);
    return 1;
  }

  // 4. Drive: one thread per connection, closed loop.
  std::atomic<bool> go{false};
  auto deadline = Clock::now() + std::chrono::seconds(o.duration + 5);  // re-set at start
  std::vector<std::vector<double>> lat(o.connections);
  std::vector<std::map<int, std::uint64_t>> status(o.connections);
  std::vector<std::uint64_t> io_errors(o.connections, 0);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      net::HttpClient http("127.0.0.1", port);
      (void)http.Get("/health");
      std::uint64_t rng = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(c + 1);
      ready++;
      while (!go.load()) std::this_thread::yield();
      std::size_t i = 0;
      while (Clock::now() < deadline) {
        auto s = Clock::now();
        Result<net::HttpResponse> r = Error::Internal("unset");
        if (o.mode == "transfer") {
          if (i >= work[c].size()) break;
          r = http.Post("/api/transaction/send", work[c][i++]);
        } else {
          rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
          r = http.Get("/api/account/" + keys[rng % keys.size()].id + "/balance");
        }
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
        if (!r.ok()) {
          io_errors[c]++;
          continue;
        }
        lat[c].push_back(ms);
        status[c][r->status]++;
      }
    });
  }
  while (ready.load() < o.connections) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double node_cpu0 = CpuSeconds(pid), gen_cpu0 = CpuSeconds(getpid());
  auto start = Clock::now();
  deadline = start + std::chrono::seconds(o.duration);
  go = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double node_cpu = CpuSeconds(pid) - node_cpu0, gen_cpu = CpuSeconds(getpid()) - gen_cpu0;

  // 5. Report, then check the node's view: conservation and tx count.
  std::vector<double> all;
  std::map<int, std::uint64_t> st;
  std::uint64_t ioe = 0;
  for (int c = 0; c < o.connections; ++c) {
    all.insert(all.end(), lat[c].begin(), lat[c].end());
    for (auto [k, v] : status[c]) st[k] += v;
    ioe += io_errors[c];
  }
  std::uint64_t ok = st[200];
  std::uint64_t total = all.size();
  double mean = 0;
  for (double x : all) mean += x;
  mean = all.empty() ? 0 : mean / all.size();
  json report{
      {"mode", o.mode},
      {"connections", o.connections},
      {"accounts", o.accounts},
      {"synchronous", o.synchronous},
      {"presign_and_keys_seconds", prep_s},
      {"seconds", secs},
      {"requests", total},
      {"accepted", ok},
      {"errors", total - ok + ioe},
      {"io_errors", ioe},
      {"accepted_per_second", ok / secs},
      {"latency_ms", {{"mean", mean}, {"p50", Pct(all, 0.50)}, {"p99", Pct(all, 0.99)}, {"max", Pct(all, 1.0)}}}};
  json codes = json::object();
  for (auto [k, v] : st) codes[std::to_string(k)] = v;
  report["status_counts"] = codes;
  // CPU actually consumed during the measured phase: on a shared machine this
  // says what one request costs, independent of what others were running.
  report["krayd_cpu_seconds"] = node_cpu;
  report["loadgen_cpu_seconds"] = gen_cpu;
  report["krayd_cpu_us_per_request"] = total ? node_cpu * 1e6 / static_cast<double>(total) : 0;
  report["loadgen_cpu_us_per_request"] = total ? gen_cpu * 1e6 / static_cast<double>(total) : 0;

  net::HttpClient http("127.0.0.1", port);
  auto cons = http.Get("/api/node/conservation", {{"Authorization", "Bearer bench"}});
  if (cons.ok()) report["conservation_ok"] = json::parse(cons->body, nullptr, false).value("ok", false);
  auto stats = http.Get("/api/transaction/stats");
  if (stats.ok()) report["node_total_transactions"] = json::parse(stats->body, nullptr, false)["total_transactions"];

  kill(pid, SIGTERM);
  int wst = 0;
  waitpid(pid, &wst, 0);
  report["krayd_exit_code"] = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
  std::cout << report.dump(2) << "\n";
  if (!o.keep)
    std::filesystem::remove_all(dir);
  else
    std::cerr << "kept " << dir << "\n";
  return 0;
}
