// kray-loadgen: drives a real krayd with pre-signed transfers (one per request
// or batched) or balance reads over C keep-alive connections and reports
// accepted TPS and latency; --mode=floor measures this machine's latency floor.
//
// It starts krayd itself on an ephemeral port with a generated genesis that
// funds N fresh keys, so every run starts from the same state. Transfers are
// pre-signed (legacy KRAY message) before the clock starts; connection c owns
// the senders s with s % C == c and sends their transactions in nonce order,
// one request in flight per connection (closed loop), so nonces always arrive
// in order and every transfer should be accepted. One thread drives all the
// connections (epoll, non-blocking sockets). With more accounts than
// transfers most senders send one transfer or none.
//
//   kray-loadgen [--mode=transfer|batch|balance|floor] [--accounts=2000] [--txs=40000]
//                [--connections=50] [--duration=20] [--synchronous=FULL]
//                [--krayd=<path>] [--maxgroup=2048] [--batch=100] [--kill9]
//                [--iterations=200] [--keep] [--rate=R] [--maxbatchtxs=N] [--maxbatchleaves=N]
//                [--floorevery=MS] [--timeline=S] [--active=K] [--warmup=W]
//
// Modes:
//   transfer  POST /api/transaction/send, one transfer per request.
//   batch     POST /api/transaction/batch, the connection's next --batch=N
//             transfers per request (in nonce order). accepted and
//             accepted_per_second count confirmed items, latency_ms is per
//             request; item_errors and item_status_counts (by code) count the
//             items the node rejected, and errors includes them.
//   balance   GET /api/account/<random account>/balance.
//   floor     starts no krayd: the median of --iterations pwrite(4 KiB) +
//             fdatasync in the datadir's filesystem (under $TMPDIR; on a
//             pre-written file, so every write overwrites, as a WAL in steady
//             state does), and the median of one crypto::SchnorrVerify;
//             prints fsync_ms_p50, verify_ms_p50 and floor_ms (their sum):
//             issue 9's reference for the p50 of one connection. Also
//             fsync_append_ms_p50 (each write growing the file). Calls sync()
//             first; on a shared disk the figure still moves with what
//             others write (0.12 ms to 4 ms seen on the same VM).
//
// --rate=R: open loop instead of closed. Requests start at R per second
// across all connections (request k at k/R seconds), each on a connection
// that is free; latency_ms counts from a request's scheduled start, so time
// spent waiting for a free connection is in it (no coordinated omission).
// For measuring at a load the machine can carry, e.g. batch closes at a
// million accounts without the close's thread starved by the load itself.
// --maxbatchtxs=N: krayd's rollup batch size (its default, 10,000).
// --maxbatchleaves=N: krayd's bound on the leaves one batch changes (its
// default, 100,000; 0: none): with --maxbatchtxs past the run's transfers
// and 0 here, no batch closes.
// With --rate, krayd logs at info level, and latency_around_closes splits
// the latencies in two: requests that overlapped a batch close (from the
// close's start on the rollup thread to its root persisted, as krayd logged
// it) and the rest, each with requests, p50_ms, p99_ms and max_ms; `after`:
// those of the rest that started within 1 s after a close ended (the work a
// close leaves behind: leaf heads folded, pruning, the WAL checkpointed).
//
// --floorevery=MS (transfer, one connection, closed loop): the floor measured
// in the same run, between slices of MS ms of transfers. This machine's
// fsync moves 2-3 x from minute to minute, so a floor taken before or after
// the run can be far from the one the run saw. Between two slices, with no
// request in flight, krayd is stopped (SIGSTOP), the filesystem synced, and
// 50 pwrite(4 KiB) + fdatasync and 64 verifications are timed as in
// --mode=floor; then krayd continues (SIGCONT) and the next slice starts.
// Reports interleaved_floor: {slices, fsync_ms_p50, verify_ms_p50, floor_ms
// (over all slices), one_connection_p50_ms (the run's), p50_over_floor, and
// slice_p50_over_floor_median: per slice, its transfers' p50 over the floor
// measured right after it, the median over slices; seconds: the time spent
// in floor slices}. The floor slices count in the run's seconds, so
// accepted_per_second is a little lower than without, and their
// measurements in the load generator's CPU.
//
// --active=K (transfer, batch): the transfers move between the first K of
// the --accounts funded keys only (K >= 2), as if the other accounts were
// idle: with K fixed and --accounts growing, what grows is a cost of the
// accounts stored, not of the accounts a run touches (a million accounts
// touched once each in a run are a million cold rows and tree paths).
//
// --warmup=W (transfer, closed loop): the first W answers are not measured;
// the clock (--duration) starts at the W-th answer, the CPU figures within a
// poll of it (~0.2 ms), the sequencer's counters a few ms later (read over
// HTTP); requests in flight then count in the run. With W = --accounts
// every account but the last few of the slower connections has sent one
// transfer before the clock: the run measures a node whose accounts are all
// in use (a second pass over them), not one reading each for the first
// time, as after a restart. Reports warmup: {transfers (W), answered, errors (answers other
// than 200), io_errors (connections lost in it, not in the run's
// io_errors), connections_open (at the clock), seconds}; the warm-up may
// last up to an hour.
//
// --timeline=S: the run cut into windows of S seconds by when each answer
// arrived. Reports timeline: {window_seconds, windows: [{from_s, seconds,
// ok (requests answered 200), ok_per_second, p50_ms, p99_ms}], and
// last_over_first: the last full window's ok_per_second over the first's}.
// Issue 9 counts a cost that grows with the transactions stored as a
// defect: a long run shows whether the rate holds as the node stores more,
// which a 10-s run from an empty datadir does not.
//
// --kill9 (transfer and batch): SIGKILLs krayd once 70% of --duration has
// passed (or 70% of the transfers were sent, if earlier) with requests in
// flight, restarts it on the same datadir with the same arguments, and asks
// GET /api/transaction/<hash> (4 connections) for every transfer answered
// "confirmed" before the kill. Reports kill9: {acknowledged, found, lost,
// check_errors, node_total_after_restart, restart_seconds, ...}; conservation
// and node_total_transactions are then those of the restarted node; errors
// includes the requests cut off by the kill. Exit code 2 if an acknowledged
// transfer is missing or could not be checked, or the node holds fewer
// transactions than were acknowledged.
//
// Every mode but floor also reports what happens before the clock:
// keys_seconds (key derivation, one thread per core), genesis_seconds and
// genesis_bytes (writing the genesis), presign_seconds, startup_seconds
// (spawn to port file written and first /health answered; port_file_seconds
// to the port file alone), and krayd_rss_mib (VmHWM of krayd just before it is
// stopped; with --kill9 the larger of the killed and the restarted process)
// and krayd_huge_pages_mib (how much of its resident memory is on transparent
// huge pages then, AnonHugePages; with --kill9 the restarted process's; null
// where the kernel does not say; pages of a hugetlbfs pool not included).
// Without --kill9 it also reports sequencer: {groups_per_second,
// operations_per_group, commit_ms_mean (a group's COMMIT: WAL write and
// fsync), group_ms_mean (execute and commit), busy_fraction (the groups' time
// over the run's)} and history_index: {operations_from_groups,
// operations_from_log} (where the history index took the run's operations
// from), from krayd's /metrics before and after the run; and
// krayd_written_bytes_per_request (the bytes krayd passed to write calls
// during the measured phase, /proc/<pid>/io's wchar) and
// krayd_storage_written_bytes_per_request (write_bytes: the file pages it
// dirtied, 4 KiB each); per item in batch mode; null without the kernel's
// I/O accounting.
// Exit code 1 if krayd does not start (the JSON then has "error"). krayd runs
// with -maxconnectionsperip raised to fit --connections (its default, 64,
// would close the connections past it).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "close_windows.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"
#include "kray/net/http_client.h"
#include "kray/state/tx_message.h"
#include "thread_cpu.h"

namespace {

using namespace kray;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kKillAt = 0.7;  // --kill9: fraction of the duration (or of the transfers sent)
constexpr int kCheckConnections = 4;

struct Opts {
  std::string mode = "transfer";
  int accounts = 2000;
  int txs = 40000;
  int connections = 50;
  int duration = 20;  // seconds, hard cap of the measured phase
  std::string synchronous = "FULL";
  std::string krayd = KRAYD_PATH;
  int maxgroup = 2048;
  int batch = 100;  // transfers per request in batch mode
  bool kill9 = false;
  int iterations = 200;  // floor mode
  bool keep = false;
  int rate = 0;             // requests per second across all connections; 0: closed loop
  int maxbatchtxs = 0;      // krayd -maxbatchtxs; 0: krayd's default
  int maxbatchleaves = -1;  // krayd -maxbatchleaves; -1: krayd's default
  int floor_every_ms = 0;   // --floorevery: transfer slices between floor slices; 0: off
  int timeline_s = 0;       // --timeline: windows of this many seconds; 0: off
  int active = 0;           // --active: transfers among the first K accounts; 0: all
  int warmup = 0;           // --warmup: transfers answered before the measured phase; 0: none
};

struct Key {
  crypto::SecretKey sk;
  std::string pub_hex, address, id;
};

bool SendsTransfers(const Opts& o) {
  return o.mode == "transfer" || o.mode == "batch";
}

bool ParseArgs(int argc, char** argv, Opts& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    std::string k = a.substr(0, eq), v = eq == std::string::npos ? "" : a.substr(eq + 1);
    auto num = [&](int& out) {
      out = std::atoi(v.c_str());
      return out > 0;
    };
    auto count = [&](int& out) {  // 0 allowed
      out = std::atoi(v.c_str());
      return !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos;
    };
    bool ok = true;
    if (k == "--mode")
      o.mode = v, ok = v == "transfer" || v == "batch" || v == "balance" || v == "floor";
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
    else if (k == "--batch")
      ok = num(o.batch);
    else if (k == "--kill9")
      o.kill9 = true;
    else if (k == "--iterations")
      ok = num(o.iterations);
    else if (k == "--keep")
      o.keep = true;
    else if (k == "--rate")
      ok = num(o.rate);
    else if (k == "--maxbatchtxs")
      ok = num(o.maxbatchtxs);
    else if (k == "--maxbatchleaves")
      ok = count(o.maxbatchleaves);
    else if (k == "--floorevery")
      ok = num(o.floor_every_ms);
    else if (k == "--timeline")
      ok = num(o.timeline_s);
    else if (k == "--active")
      ok = num(o.active) && o.active >= 2;
    else if (k == "--warmup")
      ok = num(o.warmup);
    else
      ok = false;
    if (!ok) {
      std::cerr << "error: bad argument '" << a << "' (see the header of bench/loadgen.cpp)\n";
      return false;
    }
  }
  if (o.active > 0 && (!SendsTransfers(o) || o.active > o.accounts)) {
    std::cerr << "error: --active needs --mode=transfer or --mode=batch and at most --accounts\n";
    return false;
  }
  if (o.kill9 && !SendsTransfers(o)) {
    std::cerr << "error: --kill9 needs --mode=transfer or --mode=batch\n";
    return false;
  }
  if (o.floor_every_ms > 0 && (o.mode != "transfer" || o.connections != 1 || o.rate > 0 || o.kill9)) {
    std::cerr << "error: --floorevery needs --mode=transfer --connections=1, without --rate or --kill9\n";
    return false;
  }
  if (o.warmup > 0 && (o.mode != "transfer" || o.rate > 0 || o.kill9 || o.floor_every_ms > 0 || o.warmup >= o.txs)) {
    std::cerr << "error: --warmup needs --mode=transfer, fewer than --txs, without --rate, --kill9 or --floorevery\n";
    return false;
  }
  return true;
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs fn(i) for every i in [0, n), one thread per core, each on its own
// contiguous range.
template <class Fn>
void ParallelFor(std::size_t n, const Fn& fn) {
  const std::size_t k = std::max(1u, std::thread::hardware_concurrency());
  auto range = [&](std::size_t t) {
    for (std::size_t i = n * t / k; i < n * (t + 1) / k; ++i) fn(i);
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < k; ++t) threads.emplace_back(range, t);
  range(0);
  for (auto& t : threads) t.join();
}

std::vector<Key> MakeKeys(int n) {
  std::vector<Key> keys(static_cast<std::size_t>(n));
  ParallelFor(keys.size(), [&](std::size_t i) {
    Key& k = keys[i];
    k.sk = crypto::Sha256(AsBytes("kray-loadgen-" + std::to_string(i)));
    auto pub = crypto::XOnlyFromSecret(k.sk).value();
    k.pub_hex = ToHex(pub);
    k.address = bitcoin::P2trAddress("bcrt", bitcoin::TaprootOutputKey(pub, std::nullopt)->key);
    k.id = state::AccountIdFromAddress(k.address);
  });
  return keys;
}

// The genesis (format of config/genesis.regtest.json), every account funded
// with 10^9 KRAY credits, built as one string: no JSON tree of a million
// accounts.
std::string GenesisJson(const std::vector<Key>& keys) {
  std::string s;
  s.reserve(128 + keys.size() * 192);
  s += R"({"chain_id":"kray-regtest-1","timestamp":1764000000,"accounts":[)";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) s += ',';
    s += R"({"l1_address":")";
    s += keys[i].address;
    s += R"(","pubkey":")";
    s += keys[i].pub_hex;
    s += R"(","balances":{"KRAY":"1000000000"}})";
  }
  s += "]}";
  return s;
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(out);
}

std::string ReadFile(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Tx j: sender j % N with nonce j / N, 1 credit to another account.
std::string SignedTransfer(const std::vector<Key>& keys, std::size_t j) {
  const std::size_t n = keys.size();
  const std::size_t s = j % n;
  const std::uint64_t nonce = j / n;
  const Key& to = keys[(s + 1 + nonce % (n - 1)) % n];
  auto sig = crypto::SchnorrSign(keys[s].sk, state::LegacyTransferMessage(keys[s].id, to.id, 1, nonce));
  return json{{"from_account", keys[s].id},
              {"to_account", to.id},
              {"amount", "1"},
              {"nonce", nonce},
              {"signature", ToHex(*sig)}}
      .dump();
}

// One HTTP request body and the number of transfers in it.
struct Request {
  std::string body;
  int items = 1;
};
using Work = std::vector<std::vector<Request>>;  // per connection, in send order

std::string BatchBody(const std::vector<std::string>& transfers, std::size_t from, std::size_t to) {
  std::string body = R"({"transactions":[)";
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) body += ',';
    body += transfers[i];
  }
  return body + "]}";
}

// Pre-signs every transfer and groups them by connection (sender % C) in
// nonce order; batch mode joins each connection's next --batch of them into
// one request.
Work PlanRequests(const Opts& o, const std::vector<Key>& funded) {
  const std::vector<Key> keys = o.active > 0 ? std::vector<Key>(funded.begin(), funded.begin() + o.active) : funded;
  std::vector<std::string> signed_txs(static_cast<std::size_t>(o.txs));
  ParallelFor(signed_txs.size(), [&](std::size_t j) { signed_txs[j] = SignedTransfer(keys, j); });
  std::vector<std::vector<std::string>> per_conn(static_cast<std::size_t>(o.connections));
  for (std::size_t j = 0; j < signed_txs.size(); ++j)
    per_conn[(j % keys.size()) % per_conn.size()].push_back(std::move(signed_txs[j]));
  Work work(per_conn.size());
  for (std::size_t c = 0; c < per_conn.size(); ++c) {
    auto& txs = per_conn[c];
    if (o.mode != "batch") {
      for (auto& t : txs) work[c].push_back({std::move(t), 1});
      continue;
    }
    for (std::size_t i = 0; i < txs.size(); i += static_cast<std::size_t>(o.batch)) {
      std::size_t end = std::min(txs.size(), i + static_cast<std::size_t>(o.batch));
      work[c].push_back({BatchBody(txs, i, end), static_cast<int>(end - i)});
    }
  }
  return work;
}

// Keys, genesis and pre-signed requests, with what each took.
struct Prepared {
  std::vector<Key> keys;
  Work work;
  std::uint64_t items = 0;  // transfers in `work`
  json timings;
};

bool Prepare(const Opts& o, const std::string& dir, Prepared& p) {
  auto t0 = Clock::now();
  p.keys = MakeKeys(o.accounts);
  p.timings["keys_seconds"] = SecondsSince(t0);
  auto t1 = Clock::now();
  std::string genesis = GenesisJson(p.keys);
  bool written = WriteFile(dir + "/genesis.json", genesis);
  p.timings["genesis_seconds"] = SecondsSince(t1);
  p.timings["genesis_bytes"] = genesis.size();
  auto t2 = Clock::now();
  if (SendsTransfers(o)) p.work = PlanRequests(o, p.keys);
  for (const auto& reqs : p.work)
    for (const auto& r : reqs) p.items += static_cast<std::uint64_t>(r.items);
  p.timings["presign_seconds"] = SecondsSince(t2);
  p.timings["presign_and_keys_seconds"] = SecondsSince(t0);
  return written;
}

// utime+stime of a process in seconds.
double CpuSeconds(pid_t pid) {
  return bench::StatCpuSeconds(ReadFile("/proc/" + std::to_string(pid) + "/stat"));
}

// The number after `key` on the line of a /proc file's text that starts
// with it ("VmHWM:   123 kB" → 123); -1 without such a line.
double ProcNumber(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::atof(line.c_str() + key.size());
  return -1;
}

// What a process wrote so far, from /proc/<pid>/io: `wchar`, the bytes it
// passed to write calls (its stores' WAL frames and checkpoint copies, its
// log), and `write_bytes`, 4 KiB for each file page it turned from clean to
// dirty, charged then, not at writeback (a page dirtied again before its
// flush counts once; the mmap'd -shm index's pages count with no write
// call). -1 where the kernel keeps no I/O accounting.
struct WrittenBytes {
  double to_write_calls = -1;
  double to_storage = -1;
};
WrittenBytes ReadWrittenBytes(pid_t pid) {
  const std::string io = ReadFile("/proc/" + std::to_string(pid) + "/io");
  return WrittenBytes{ProcNumber(io, "wchar:"), ProcNumber(io, "write_bytes:")};
}

// Peak resident set (VmHWM) of a process in MiB, from /proc/<pid>/status.
double PeakRssMiB(pid_t pid) {
  const double kib = ProcNumber(ReadFile("/proc/" + std::to_string(pid) + "/status"), "VmHWM:");
  return kib < 0 ? 0 : kib / 1024.0;
}

// The part of a process's resident memory on transparent huge pages
// (AnonHugePages of /proc/<pid>/smaps_rollup) in MiB; -1 where the kernel
// does not say.
double HugePagesMiB(pid_t pid) {
  const double kib = ProcNumber(ReadFile("/proc/" + std::to_string(pid) + "/smaps_rollup"), "AnonHugePages:");
  return kib < 0 ? -1 : kib / 1024.0;
}

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

// ---------------------------------------------------------------------------
// krayd

struct Node {
  pid_t pid = -1;
  std::uint16_t port = 0;
  double port_file_seconds = 0;  // spawn -> port file written
  double startup_seconds = 0;    // spawn -> first /health answered 200
};

std::vector<std::string> KraydArgs(const Opts& o, const std::string& dir) {
  // Every load connection, the checkers and the main thread's own.
  const int conns = o.connections + kCheckConnections + 4;
  std::vector<std::string> args{o.krayd,
                                "-datadir=" + dir + "/data",
                                "-genesis=" + dir + "/genesis.json",
                                "-port=0",
                                "-portfile=" + dir + "/port",
                                "-rpctoken=bench",
                                o.rate > 0 ? "-loglevel=info" : "-loglevel=warn",  // info: batch closes
                                "-synchronous=" + o.synchronous,
                                "-maxgroup=" + std::to_string(o.maxgroup),
                                "-maxconnectionsperip=" + std::to_string(conns),
                                "-maxconnections=" + std::to_string(std::max(512, conns))};
  if (o.maxbatchtxs > 0) args.push_back("-maxbatchtxs=" + std::to_string(o.maxbatchtxs));
  if (o.maxbatchleaves >= 0) args.push_back("-maxbatchleaves=" + std::to_string(o.maxbatchleaves));
  return args;
}

pid_t Spawn(std::vector<std::string> args, const std::string& log) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!freopen(log.c_str(), "a", stdout) || !freopen(log.c_str(), "a", stderr)) _exit(126);
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  execv(av[0], av.data());
  _exit(127);
}

std::string LogTail(const std::string& dir) {
  std::string log = ReadFile(dir + "/krayd.log");
  return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
}

// The port krayd wrote (atomically, once ready to answer), or 0.
std::uint16_t ReadPort(const std::string& dir) {
  std::string p = ReadFile(dir + "/port");
  if (p.empty() || p.find_first_not_of("0123456789\n") != std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::atoi(p.c_str()));
}

// Spawns krayd and waits (up to 30 min: a big genesis takes a while) until it
// answers /health. On failure `err` says why and no krayd is left running.
bool StartKrayd(const std::vector<std::string>& args, const std::string& dir, Node& node, std::string& err) {
  std::filesystem::remove(dir + "/port");  // a restart must not read the old one
  auto t0 = Clock::now();
  node = Node{};
  node.pid = Spawn(args, dir + "/krayd.log");
  while (SecondsSince(t0) < 1800) {
    int st = 0;
    if (waitpid(node.pid, &st, WNOHANG) == node.pid) {
      err = "krayd exited after " + std::to_string(SecondsSince(t0)) + " s: " + LogTail(dir);
      node.pid = -1;
      return false;
    }
    if (std::uint16_t port = ReadPort(dir)) {
      if (node.port_file_seconds == 0) node.port_file_seconds = SecondsSince(t0);
      net::HttpClient c("127.0.0.1", port);
      auto r = c.Get("/health");
      if (r.ok() && r->status == 200) {
        node.port = port;
        node.startup_seconds = SecondsSince(t0);
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  err = "krayd did not come up in 30 min: " + LogTail(dir);
  kill(node.pid, SIGKILL);
  waitpid(node.pid, nullptr, 0);
  node.pid = -1;
  return false;
}

// SIGTERM, then the exit code (-1 if killed by a signal).
int StopKrayd(Node& node) {
  kill(node.pid, SIGTERM);
  int st = 0;
  waitpid(node.pid, &st, 0);
  node.pid = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// ---------------------------------------------------------------------------
// The measured phase

// What one connection saw.
struct ConnStats {
  std::vector<double> lat_ms;
  std::vector<Clock::time_point> started;  // each request's (scheduled) start, as lat_ms
  std::vector<bool> ok;                    // --timeline: each request's answer was a 200, as lat_ms
  std::map<int, std::uint64_t> status;     // HTTP status -> requests
  std::uint64_t io_errors = 0;
  std::uint64_t items_ok = 0;                       // batch: items confirmed
  std::map<std::string, std::uint64_t> item_codes;  // batch: rejected items by code
  std::uint64_t items_answered = 0;                 // transfers in requests that got an answer
  std::vector<std::string> acked;                   // --kill9: tx_hash of every confirmed transfer
};

// Shared by the connection threads and the main thread. `deadline` is set
// before `go`, and read only after it (and re-set by the connections' thread
// when a --warmup ends).
struct Phase {
  std::atomic<bool> go{false}, killed{false};
  // --warmup: set by the connections' thread once the warm-up's last answer
  // arrived, after `measure_from`; from then that thread owns `deadline`.
  std::atomic<bool> measuring{false};
  Clock::time_point measure_from;
  std::atomic<std::uint64_t> warmup_answered{0}, warmup_errors{0};  // answers; those other than 200
  std::atomic<std::uint64_t> warmup_io_errors{0};                   // connections lost in it
  std::atomic<int> ready{0}, done{0};
  std::atomic<std::uint64_t> sent{0};  // transfers sent
  Clock::time_point deadline;
};

// The leading {"accepted":A,"rejected":R of a batch answer (the node's JSON
// has sorted keys), read without parsing its results.
std::optional<std::pair<std::uint64_t, std::uint64_t>> BatchCounts(const std::string& body) {
  static const std::string kA = R"({"accepted":)", kR = R"(,"rejected":)";
  std::pair<std::uint64_t, std::uint64_t> n;
  if (body.compare(0, kA.size(), kA) != 0) return std::nullopt;
  const char* end = body.data() + body.size();
  auto a = std::from_chars(body.data() + kA.size(), end, n.first);
  if (a.ec != std::errc() || std::string_view(a.ptr, static_cast<std::size_t>(end - a.ptr)).substr(0, kR.size()) != kR)
    return std::nullopt;
  auto r = std::from_chars(a.ptr + kR.size(), end, n.second);
  if (r.ec != std::errc()) return std::nullopt;
  return n;
}

void CountTransferAnswer(const Opts& o, const std::string& body, ConnStats& cs) {
  if (!o.kill9) return;
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.value("status", "") == "confirmed") cs.acked.push_back(j.value("tx_hash", ""));
}

void CountBatchAnswer(const Opts& o, const std::string& body, ConnStats& cs) {
  auto counts = BatchCounts(body);
  if (counts && counts->second == 0 && !o.kill9) {
    cs.items_ok += counts->first;
    return;
  }
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array()) {
    cs.item_codes["unparsable_answer"]++;
    return;
  }
  for (const auto& item : j["results"]) {
    if (!item.is_object() || !item.value("ok", false)) {
      cs.item_codes[item.is_object() ? item.value("code", "unknown") : "unknown"]++;
      continue;
    }
    cs.items_ok++;
    if (o.kill9 && item.value("status", "") == "confirmed") cs.acked.push_back(item.value("tx_hash", ""));
  }
}

// The connections, driven by one thread with epoll: each is a closed loop
// (one request in flight) over its own requests in order (transfer, batch) or
// random balance reads, until the deadline, the end of its work or a kill.
// One thread and non-blocking sockets instead of a blocking thread per
// connection: the generator shares the node's two cores, and a thread per
// connection cost ~39 us of CPU per request, mostly in wake-ups.
class EventedConnections {
 public:
  EventedConnections(const Opts& o, std::uint16_t port, const Work& work, const std::vector<Key>& keys, Phase& ph,
                     std::vector<ConnStats>& stats)
      : o_(o), port_(port), work_(work), keys_(keys), ph_(ph), stats_(stats) {}

  // --floorevery: called between two requests, none in flight, once every
  // `every` of requests; the next request's clock starts after it returns.
  void BetweenSlices(std::chrono::milliseconds every, std::function<void()> fn) {
    slice_ = every;
    between_slices_ = std::move(fn);
  }

  void Run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    conns_.resize(static_cast<std::size_t>(o_.connections));
    for (std::size_t c = 0; c < conns_.size(); ++c) Connect(c);
    ph_.ready = o_.connections;
    while (!ph_.go.load()) std::this_thread::yield();
    t0_ = Clock::now();
    next_slice_end_ = t0_ + slice_;
    for (std::size_t c = 0; c < conns_.size(); ++c) StartNext(c);
    std::vector<epoll_event> events(256);
    while (open_ > 0) {
      const timespec wait = WaitTime();
      int n = epoll_pwait2(ep_, events.data(), static_cast<int>(events.size()), &wait, nullptr);
      for (int i = 0; i < n; ++i) {
        const std::size_t c = events[static_cast<std::size_t>(i)].data.u64;
        if (conns_[c].fd < 0) continue;
        if (events[static_cast<std::size_t>(i)].events & EPOLLOUT) SendMore(c);
        if (conns_[c].fd >= 0 && events[static_cast<std::size_t>(i)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
          Receive(c);
      }
      StartDue();
    }
    close(ep_);
  }

 private:
  struct Conn {
    int fd = -1;
    std::size_t next = 0;  // index of the next request in its work
    std::string out;       // the request being sent
    std::size_t sent = 0;
    bool want_out = false;
    std::string in;  // the response so far
    std::size_t header_end = 0, content_length = 0;
    int status = 0, items = 0;
    Clock::time_point started;
    std::uint64_t rng = 0;
  };

  // --rate: when the next request is due.
  Clock::time_point NextDue() const {
    return t0_ + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(scheduled_) / static_cast<double>(o_.rate)));
  }

  // Until the next due request (--rate), at most 100 ms; with a nanosecond
  // timeout (epoll_pwait2), as a millisecond one would start requests up to
  // 1 ms late and count that as the node's latency.
  timespec WaitTime() const {
    std::int64_t ns = 100'000'000;
    if (!idle_.empty())
      ns = std::clamp<std::int64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(NextDue() - Clock::now()).count(), 0, ns);
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  }

  // --rate: free connections take the requests now due (and end at the
  // deadline).
  void StartDue() {
    while (!idle_.empty() && (NextDue() <= Clock::now() || Clock::now() >= ph_.deadline || ph_.killed.load())) {
      const std::size_t c = idle_.front();
      idle_.pop_front();
      StartNext(c);
    }
  }

  void Connect(std::size_t c) {
    Conn& k = conns_[c];
    k.rng = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(c + 1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (fd >= 0) close(fd);
      stats_[c].io_errors++;
      ph_.done++;
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    k.fd = fd;
    ++open_;
  }

  void Finish(std::size_t c) {
    Conn& k = conns_[c];
    close(k.fd);  // also leaves the epoll set
    k.fd = -1;
    --open_;
    ph_.done++;
  }

  void Fail(std::size_t c) {
    if (warming_ < static_cast<std::uint64_t>(o_.warmup))
      ph_.warmup_io_errors++;  // not the measured phase's
    else
      stats_[c].io_errors++;
    Finish(c);
  }

  void StartNext(std::size_t c) {
    Conn& k = conns_[c];
    if (k.fd < 0) return;
    auto now = Clock::now();
    if (now >= ph_.deadline || ph_.killed.load()) return Finish(c);
    if (between_slices_ && now >= next_slice_end_) {
      between_slices_();
      now = Clock::now();
      next_slice_end_ = now + slice_;
    }
    Clock::time_point started = now;
    if (o_.rate > 0) {
      if (SendsTransfers(o_) && k.next >= work_[c].size()) return Finish(c);
      started = NextDue();
      if (started > now) return idle_.push_back(c);
      ++scheduled_;
    }
    k.items = 0;
    if (SendsTransfers(o_)) {
      const auto& reqs = work_[c];
      if (k.next >= reqs.size()) return Finish(c);
      const Request& r = reqs[k.next++];
      k.items = r.items;
      ph_.sent += static_cast<std::uint64_t>(r.items);
      const char* target = o_.mode == "batch" ? "/api/transaction/batch" : "/api/transaction/send";
      k.out = std::string("POST ") + target +
              " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
    } else {
      k.rng ^= k.rng << 13, k.rng ^= k.rng >> 7, k.rng ^= k.rng << 17;
      k.out = "GET /api/account/" + keys_[k.rng % keys_.size()].id + "/balance HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    }
    k.sent = 0;
    k.in.clear();
    k.header_end = 0;
    k.started = started;
    SendMore(c);
  }

  void SendMore(std::size_t c) {
    Conn& k = conns_[c];
    while (k.sent < k.out.size()) {
      ssize_t w = send(k.fd, k.out.data() + k.sent, k.out.size() - k.sent, MSG_NOSIGNAL);
      if (w > 0) {
        k.sent += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return WatchOutput(c, true);
      return Fail(c);
    }
    if (k.want_out) WatchOutput(c, false);
  }

  void WatchOutput(std::size_t c, bool on) {
    Conn& k = conns_[c];
    k.want_out = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u64 = c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, k.fd, &ev);
  }

  void Receive(std::size_t c) {
    Conn& k = conns_[c];
    char buf[16384];
    for (;;) {
      ssize_t n = recv(k.fd, buf, sizeof buf, 0);
      if (n > 0) {
        k.in.append(buf, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buf) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return Fail(c);  // closed or reset (a killed node), mid-request or idle
    }
    if (k.header_end == 0 && !ParseHeader(k)) return Fail(c);
    if (k.header_end == 0 || k.in.size() < k.header_end + k.content_length) return;
    Complete(c);
  }

  // False on a malformed header; header_end stays 0 until it is complete.
  static bool ParseHeader(Conn& k) {
    const std::size_t end = k.in.find("\r\n\r\n");
    if (end == std::string::npos) return k.in.size() < 65536;
    if (k.in.compare(0, 9, "HTTP/1.1 ") != 0 || k.in.size() < 12) return false;
    k.status = std::atoi(k.in.c_str() + 9);
    std::string head = k.in.substr(0, end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
    const std::size_t cl = head.find("\r\ncontent-length:");
    if (cl == std::string::npos) return false;
    k.content_length = static_cast<std::size_t>(std::strtoull(head.c_str() + cl + 17, nullptr, 10));
    k.header_end = end + 4;
    return true;
  }

  void Complete(std::size_t c) {
    Conn& k = conns_[c];
    if (warming_ < static_cast<std::uint64_t>(o_.warmup)) return WarmUp(c);
    ConnStats& cs = stats_[c];
    cs.lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - k.started).count());
    cs.started.push_back(k.started);
    if (o_.timeline_s > 0) cs.ok.push_back(k.status == 200);
    cs.status[k.status]++;
    cs.items_answered += static_cast<std::uint64_t>(k.items);
    if (k.status == 200 && o_.mode != "balance") {
      const std::string body = k.in.substr(k.header_end, k.content_length);
      if (o_.mode == "transfer") CountTransferAnswer(o_, body, cs);
      if (o_.mode == "batch") CountBatchAnswer(o_, body, cs);
    }
    StartNext(c);
  }

  // --warmup: an answer before the measured phase, counted and dropped. At
  // the last one the phase starts: requests in flight then count in it.
  void WarmUp(std::size_t c) {
    if (conns_[c].status != 200) ph_.warmup_errors++;
    ph_.warmup_answered++;
    if (++warming_ == static_cast<std::uint64_t>(o_.warmup)) {
      const auto now = Clock::now();
      ph_.measure_from = now;
      ph_.deadline = now + std::chrono::seconds(o_.duration);
      ph_.measuring = true;
    }
    StartNext(c);
  }

  const Opts& o_;
  const std::uint16_t port_;
  const Work& work_;
  const std::vector<Key>& keys_;
  Phase& ph_;
  std::vector<ConnStats>& stats_;
  std::vector<Conn> conns_;
  int ep_ = -1, open_ = 0;
  Clock::time_point t0_;                // the phase's start (with --warmup, the warm-up's)
  std::uint64_t scheduled_ = 0;         // --rate: requests started so far
  std::uint64_t warming_ = 0;           // --warmup: answers so far, up to the warm-up's
  std::deque<std::size_t> idle_;        // --rate: connections waiting for a due request
  std::chrono::milliseconds slice_{0};  // --floorevery
  Clock::time_point next_slice_end_;
  std::function<void()> between_slices_;
};

// What --kill9 saw at the moment of the kill.
struct KillPoint {
  double at_seconds = 0;
  double rss_mib = 0, cpu_seconds = 0;  // of the killed krayd
};

// Waits until kKillAt of the duration has passed, kKillAt of the transfers
// were sent or every connection is done, then SIGKILLs krayd mid-flight.
KillPoint KillMidFlight(const Opts& o, Node& node, Phase& ph, std::uint64_t items, Clock::time_point start) {
  const auto at =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kKillAt * o.duration));
  while (Clock::now() < at && ph.sent.load() < static_cast<std::uint64_t>(kKillAt * static_cast<double>(items)) &&
         ph.done.load() < o.connections)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  KillPoint k;
  k.rss_mib = PeakRssMiB(node.pid);
  k.cpu_seconds = CpuSeconds(node.pid);
  ph.killed = true;  // before the signal: an I/O error after it ends the connection
  kill(node.pid, SIGKILL);
  k.at_seconds = SecondsSince(start);
  waitpid(node.pid, nullptr, 0);
  node.pid = -1;
  return k;
}

// ---------------------------------------------------------------------------
// --kill9: after the restart, is every acknowledged transfer there?

enum class Found { kConfirmed, kMissing, kCheckError };

Found CheckTransfer(net::HttpClient& http, const std::string& hash) {
  auto r = http.Get("/api/transaction/" + hash);
  if (!r.ok()) r = http.Get("/api/transaction/" + hash);  // one retry on I/O errors
  if (!r.ok()) return Found::kCheckError;
  if (r->status == 404) return Found::kMissing;
  if (r->status != 200) return Found::kCheckError;
  json j = json::parse(r->body, nullptr, false);
  bool ok = j.is_object() && j.value("status", "") == "confirmed" && j.value("tx_hash", "") == hash;
  return ok ? Found::kConfirmed : Found::kMissing;
}

struct CheckResult {
  std::uint64_t found = 0, check_errors = 0;
  std::vector<std::string> missing;
};

CheckResult CheckAcknowledged(std::uint16_t port, const std::vector<std::string>& hashes) {
  std::vector<CheckResult> part(kCheckConnections);
  std::vector<std::thread> threads;
  for (int t = 0; t < kCheckConnections; ++t) {
    threads.emplace_back([&, t] {
      net::HttpClient http("127.0.0.1", port);
      for (std::size_t i = static_cast<std::size_t>(t); i < hashes.size(); i += kCheckConnections) {
        Found f = CheckTransfer(http, hashes[i]);
        if (f == Found::kConfirmed) part[t].found++;
        if (f == Found::kCheckError) part[t].check_errors++;
        if (f == Found::kMissing) part[t].missing.push_back(hashes[i]);
      }
    });
  }
  for (auto& t : threads) t.join();
  CheckResult all;
  for (auto& p : part) {
    all.found += p.found;
    all.check_errors += p.check_errors;
    all.missing.insert(all.missing.end(), p.missing.begin(), p.missing.end());
  }
  return all;
}

// ---------------------------------------------------------------------------
// Reporting

struct Totals {
  std::vector<double> lat;
  std::vector<Clock::time_point> started;
  std::vector<bool> ok;
  std::map<int, std::uint64_t> status;
  std::map<std::string, std::uint64_t> item_codes;
  std::uint64_t io_errors = 0, items_ok = 0, items_answered = 0;
  std::vector<std::string> acked;
};

Totals Sum(std::vector<ConnStats>& stats) {
  Totals t;
  for (auto& cs : stats) {
    t.lat.insert(t.lat.end(), cs.lat_ms.begin(), cs.lat_ms.end());
    t.started.insert(t.started.end(), cs.started.begin(), cs.started.end());
    t.ok.insert(t.ok.end(), cs.ok.begin(), cs.ok.end());
    for (auto [k, v] : cs.status) t.status[k] += v;
    for (const auto& [k, v] : cs.item_codes) t.item_codes[k] += v;
    t.io_errors += cs.io_errors;
    t.items_ok += cs.items_ok;
    t.items_answered += cs.items_answered;
    t.acked.insert(t.acked.end(), std::make_move_iterator(cs.acked.begin()), std::make_move_iterator(cs.acked.end()));
  }
  return t;
}

// --timeline: the requests by the window their answer arrived in (request i
// answered at started[i] + lat_ms[i]; `lat_ms` unsorted, as `t.started`).
json Timeline(const Totals& t, const std::vector<double>& lat_ms, Clock::time_point start, double secs, int window_s) {
  const auto count = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(secs / window_s)));
  std::vector<std::vector<double>> lat(count);
  std::vector<std::uint64_t> ok(count, 0);
  for (std::size_t i = 0; i < lat_ms.size(); ++i) {
    const double answered = std::chrono::duration<double>(t.started[i] - start).count() + lat_ms[i] / 1000.0;
    const auto w = std::min(count - 1, static_cast<std::size_t>(std::max(0.0, answered) / window_s));
    lat[w].push_back(lat_ms[i]);
    ok[w] += t.ok[i] ? 1 : 0;
  }
  json windows = json::array();
  std::optional<double> first, last;  // ok per second of the first and last full windows
  for (std::size_t w = 0; w < count; ++w) {
    const double from = static_cast<double>(w * static_cast<std::size_t>(window_s));
    const double len = std::min<double>(window_s, secs - from);
    const double rate = len > 0 ? static_cast<double>(ok[w]) / len : 0.0;
    windows.push_back({{"from_s", from},
                       {"seconds", len},
                       {"ok", ok[w]},
                       {"ok_per_second", rate},
                       {"p50_ms", Pct(lat[w], 0.50)},
                       {"p99_ms", Pct(lat[w], 0.99)}});
    if (len < window_s) continue;
    if (!first) first = rate;
    last = rate;
  }
  json out{{"window_seconds", window_s}, {"windows", windows}};
  out["last_over_first"] = first && *first > 0 ? json(*last / *first) : json(nullptr);
  return out;
}

// The keys the load generator always printed, plus the batch mode's items.
void ReportPhase(const Opts& o, Totals& t, double secs, json& report) {
  std::uint64_t total = t.lat.size(), ok200 = t.status[200];
  std::uint64_t item_errors = 0;
  for (const auto& [k, v] : t.item_codes) item_errors += v;
  std::uint64_t accepted = o.mode == "batch" ? t.items_ok : ok200;
  double mean = 0;
  for (double x : t.lat) mean += x;
  mean = t.lat.empty() ? 0 : mean / static_cast<double>(t.lat.size());
  report["seconds"] = secs;
  report["requests"] = total;
  report["accepted"] = accepted;
  report["errors"] = total - ok200 + t.io_errors + item_errors;
  report["io_errors"] = t.io_errors;
  report["accepted_per_second"] = static_cast<double>(accepted) / secs;
  report["latency_ms"] = {
      {"mean", mean}, {"p50", Pct(t.lat, 0.50)}, {"p99", Pct(t.lat, 0.99)}, {"max", Pct(t.lat, 1.0)}};
  json codes = json::object();
  for (auto [k, v] : t.status) codes[std::to_string(k)] = v;
  report["status_counts"] = codes;
  if (o.mode != "batch") return;
  report["batch"] = o.batch;
  report["items"] = t.items_answered;
  report["item_errors"] = item_errors;
  json items = {{"confirmed", t.items_ok}};
  for (const auto& [k, v] : t.item_codes) items[k] = v;
  report["item_status_counts"] = items;
}

// CPU actually consumed during the measured phase: on a shared machine this
// says what one request costs, independent of what others were running.
// `node_threads`: krayd's CPU by thread name at the start and the end of the
// phase (empty when krayd was killed in it).
void ReportCpu(const Opts& o, double node_cpu, double gen_cpu,
               const std::pair<bench::ThreadCpus, bench::ThreadCpus>& node_threads, json& report) {
  auto per = [](double cpu, std::uint64_t n) { return n ? cpu * 1e6 / static_cast<double>(n) : 0.0; };
  std::uint64_t requests = report["requests"], items = o.mode == "batch" ? report["items"].get<std::uint64_t>() : 0;
  report["krayd_cpu_seconds"] = node_cpu;
  report["loadgen_cpu_seconds"] = gen_cpu;
  report["krayd_cpu_us_per_request"] = per(node_cpu, requests);
  report["loadgen_cpu_us_per_request"] = per(gen_cpu, requests);
  if (!node_threads.second.empty())
    report["krayd_cpu_us_per_request_by_thread"] =
        bench::MicrosPerRequest(node_threads.first, node_threads.second, node_cpu, requests);
  if (o.mode != "batch") return;
  report["krayd_cpu_us_per_item"] = per(node_cpu, items);
  report["loadgen_cpu_us_per_item"] = per(gen_cpu, items);
}

// What krayd wrote during the measured phase, in bytes per request (per
// item in batch mode): issue 9's measure of what storing a transfer costs,
// apart from the CPU (docs/BENCHMARKS.md, sixty-first round).
void ReportWrites(const Opts& o, const WrittenBytes& before, const WrittenBytes& after, json& report) {
  const std::uint64_t requests = report["requests"];
  const std::uint64_t n = o.mode == "batch" ? report["items"].get<std::uint64_t>() : requests;
  auto per = [&](double b, double a) -> json {
    if (b < 0 || a < 0 || n == 0) return nullptr;
    return (a - b) / static_cast<double>(n);
  };
  const std::string unit = o.mode == "batch" ? "item" : "request";
  report["krayd_written_bytes_per_" + unit] = per(before.to_write_calls, after.to_write_calls);
  report["krayd_storage_written_bytes_per_" + unit] = per(before.to_storage, after.to_storage);
}

// krayd's /metrics as (series, value) pairs: a series is the line up to its
// last space (name and labels), the value what follows. Empty if unavailable.
std::vector<std::pair<std::string, double>> MetricSamples(net::HttpClient& http) {
  std::vector<std::pair<std::string, double>> out;
  auto m = http.Get("/metrics", {{"Authorization", "Bearer bench"}});
  if (!m.ok() || m->status != 200) return out;
  std::istringstream lines(m->body);
  for (std::string line; std::getline(lines, line);) {
    auto space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
    out.emplace_back(line.substr(0, space), std::atof(line.c_str() + space + 1));
  }
  return out;
}

// The rollup's batch closes during the run (/metrics): how many, their mean
// and the upper bound of the slowest one's histogram bucket. A close runs on
// the rollup thread; it ends with the batch's state root persisted.
void ReportBatchCloses(net::HttpClient& http, json& report) {
  const auto samples = MetricSamples(http);
  if (samples.empty()) return;
  const std::string name = "krayd_rollup_batch_close_duration_seconds";
  double sum = 0, count = 0, max_le = 0, below = 0;
  for (const auto& [series, v] : samples) {
    if (series.rfind(name, 0) != 0) continue;
    if (series == name + "_sum") sum = v;
    if (series == name + "_count") count = v;
    auto le = series.find("le=\"");
    if (le == std::string::npos || series.find("+Inf") != std::string::npos) continue;
    double bound = std::atof(series.c_str() + le + 4);
    if (v > below) max_le = bound;  // the first bucket holding all closes so far
    below = std::max(below, v);
  }
  report["batch_closes"] = {
      {"count", count}, {"mean_seconds", count > 0 ? sum / count : 0.0}, {"slowest_at_most_seconds", max_le}};
  // Slower than the last finite bound: no upper bound to report.
  if (count > below) report["batch_closes"]["slowest_at_most_seconds"] = nullptr;
}

// The sequencer's histograms (/metrics) as sums and counts, read before and
// after the run: their difference says where the run's groups spent their
// time (commit = WAL write + fsync; group = execute + commit).
struct SequencerCounters {
  bool ok = false;
  double groups = 0, operations = 0, commit_seconds = 0, group_seconds = 0;
  double history_from_groups = 0, history_from_log = 0;  // the history index's sources
};

SequencerCounters ReadSequencerCounters(std::uint16_t port) {
  net::HttpClient http("127.0.0.1", port);
  const auto samples = MetricSamples(http);
  SequencerCounters c;
  if (samples.empty()) return c;
  for (const auto& [series, v] : samples) {
    if (series == "krayd_sequencer_group_operations_count") c.groups = v;
    if (series == "krayd_sequencer_group_operations_sum") c.operations = v;
    if (series == "krayd_sequencer_commit_duration_seconds_sum") c.commit_seconds = v;
    if (series == "krayd_sequencer_group_duration_seconds_sum") c.group_seconds = v;
    if (series == "krayd_history_index_operations_total{source=\"groups\"}") c.history_from_groups = v;
    if (series == "krayd_history_index_operations_total{source=\"log\"}") c.history_from_log = v;
  }
  c.ok = true;
  return c;
}

void ReportSequencer(const SequencerCounters& before, const SequencerCounters& after, double secs, json& report) {
  if (!before.ok || !after.ok || secs <= 0) return;
  const double groups = after.groups - before.groups;
  auto per_group = [&](double total) { return groups > 0 ? total / groups : 0.0; };
  report["sequencer"] = {{"groups_per_second", groups / secs},
                         {"operations_per_group", per_group(after.operations - before.operations)},
                         {"commit_ms_mean", 1e3 * per_group(after.commit_seconds - before.commit_seconds)},
                         {"group_ms_mean", 1e3 * per_group(after.group_seconds - before.group_seconds)},
                         {"busy_fraction", (after.group_seconds - before.group_seconds) / secs}};
  report["history_index"] = {{"operations_from_groups", after.history_from_groups - before.history_from_groups},
                             {"operations_from_log", after.history_from_log - before.history_from_log}};
}

// Conservation and the node's transaction count (operator and stats endpoints).
void ReportNodeChecks(std::uint16_t port, json& report) {
  net::HttpClient http("127.0.0.1", port);
  auto cons = http.Get("/api/node/conservation", {{"Authorization", "Bearer bench"}});
  if (cons.ok()) report["conservation_ok"] = json::parse(cons->body, nullptr, false).value("ok", false);
  auto stats = http.Get("/api/transaction/stats");
  if (stats.ok()) report["node_total_transactions"] = json::parse(stats->body, nullptr, false)["total_transactions"];
  ReportBatchCloses(http, report);
}

// After the kill: restart on the same datadir, then look every acknowledged
// transfer up. False if one is missing or could not be checked.
bool RestartAndCheck(const std::vector<std::string>& args, const std::string& dir, const KillPoint& k,
                     std::uint64_t sent, const Totals& t, Node& node, json& report) {
  json kr = {{"killed_at_seconds", k.at_seconds},
             {"transfers_sent", sent},
             {"transfers_unanswered", sent - std::min(sent, t.items_answered)},
             {"acknowledged", t.acked.size()}};
  std::string err;
  if (!StartKrayd(args, dir, node, err)) {
    kr["error"] = "restart failed: " + err;
    report["kill9"] = kr;
    return false;
  }
  kr["restart_seconds"] = node.startup_seconds;
  auto t0 = Clock::now();
  CheckResult c = CheckAcknowledged(node.port, t.acked);
  kr["check_seconds"] = SecondsSince(t0);
  kr["found"] = c.found;
  kr["lost"] = c.missing.size();
  kr["check_errors"] = c.check_errors;
  c.missing.resize(std::min<std::size_t>(c.missing.size(), 5));
  kr["lost_examples"] = c.missing;
  ReportNodeChecks(node.port, report);
  std::uint64_t node_total = report.value("node_total_transactions", std::uint64_t{0});
  kr["node_total_after_restart"] = node_total;
  kr["node_total_ge_acknowledged"] = node_total >= t.acked.size();
  report["kill9"] = kr;
  return c.missing.empty() && c.check_errors == 0 && node_total >= t.acked.size();
}

// ---------------------------------------------------------------------------
// The floor: what one fsync and one verification take on this machine

// Wall times (ms) of pwrite(4 KiB) + fdatasync in `dir`: each overwriting a
// block of a pre-written, synced 1 MiB file (as a WAL in steady state), or
// with `append`, each growing the file (a WAL before its first checkpoint).
std::vector<double> FsyncLatencies(const std::string& dir, int iterations, bool append) {
  constexpr std::size_t kBlock = 4096, kBlocks = 256;
  std::string path = dir + "/floor.dat";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return {};
  std::vector<char> block(kBlock, 'k');
  bool ok = true;
  for (std::size_t b = 0; !append && b < kBlocks; ++b)
    ok = ok && pwrite(fd, block.data(), kBlock, static_cast<off_t>(b * kBlock)) == static_cast<ssize_t>(kBlock);
  ok = ok && fsync(fd) == 0;
  std::vector<double> ms;
  for (int i = 0; ok && i < iterations; ++i) {
    block[0] = static_cast<char>(i);
    auto s = Clock::now();
    std::size_t b = append ? static_cast<std::size_t>(i) : static_cast<std::size_t>(i) % kBlocks;
    off_t at = static_cast<off_t>(b * kBlock);
    ok = pwrite(fd, block.data(), kBlock, at) == static_cast<ssize_t>(kBlock) && fdatasync(fd) == 0;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
  }
  close(fd);
  std::filesystem::remove(path);
  return ok ? ms : std::vector<double>{};
}

// Milliseconds per crypto::SchnorrVerify (which parses the key, as krayd
// does), one figure per round of kSigs different keys and messages.
std::vector<double> VerifyLatencies(int iterations) {
  constexpr int kSigs = 64;
  struct Signed {
    crypto::XOnlyPubKey pk;
    Hash256 msg;
    crypto::SchnorrSig sig;
  };
  std::vector<Signed> sigs(kSigs);
  for (int i = 0; i < kSigs; ++i) {
    auto sk = crypto::Sha256(AsBytes("kray-loadgen-floor-" + std::to_string(i)));
    sigs[i].pk = crypto::XOnlyFromSecret(sk).value();
    sigs[i].msg = state::LegacyTransferMessage("kray_a", "kray_b", 1, static_cast<std::uint64_t>(i));
    sigs[i].sig = crypto::SchnorrSign(sk, sigs[i].msg).value();
  }
  std::vector<double> ms;
  int valid = 0;
  for (int r = 0; r < iterations; ++r) {
    auto s = Clock::now();
    for (const auto& x : sigs) valid += crypto::SchnorrVerify(x.pk, x.msg, x.sig) ? 1 : 0;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count() / kSigs);
  }
  return valid == iterations * kSigs ? ms : std::vector<double>{};
}

// --floorevery: the floor measured between the run's slices (see the header).
constexpr int kSliceFsyncs = 50;
struct FloorSlices {
  std::vector<double> fsync_ms, verify_ms;  // every slice's samples
  std::vector<double> floor_ms;             // per slice: its fsync p50 + verify p50
  std::vector<std::size_t> answered;        // per slice: requests answered before it
  std::uint64_t failed = 0;                 // slices whose measurement failed
  double seconds = 0;                       // spent in floor slices (krayd stopped)
  bool krayd_exited = false;                // it exited (and was reaped) instead of stopping
};

// Stops krayd (no request is in flight), measures, lets it go on. A krayd
// that has exited is reaped here: then its pid is cleared (nothing is sent
// to a pid that may be reused) and no slice is measured any more.
void MeasureFloorSlice(Node& node, const std::string& dir, const ConnStats& cs, FloorSlices& f) {
  if (f.krayd_exited) return;
  const pid_t krayd = node.pid;
  const auto t0 = Clock::now();
  int st = 0;
  const bool stopped = kill(krayd, SIGSTOP) == 0 && waitpid(krayd, &st, WUNTRACED) == krayd && WIFSTOPPED(st);
  if (!stopped) {
    f.krayd_exited = !WIFSTOPPED(st);  // reaped: it had exited
    node.pid = -1;
    f.failed++;
    return;
  }
  sync();  // not to time the write-back of krayd's writes
  std::vector<double> fs = FsyncLatencies(dir, kSliceFsyncs, false);
  std::vector<double> vs = VerifyLatencies(1);
  kill(krayd, SIGCONT);
  f.seconds += SecondsSince(t0);
  if (fs.empty() || vs.empty()) {
    f.failed++;
    return;
  }
  f.answered.push_back(cs.lat_ms.size());
  f.floor_ms.push_back(Pct(fs, 0.5) + Pct(vs, 0.5));
  f.fsync_ms.insert(f.fsync_ms.end(), fs.begin(), fs.end());
  f.verify_ms.insert(f.verify_ms.end(), vs.begin(), vs.end());
}

// `lat`: the one connection's latencies in the order answered.
void ReportFloorSlices(FloorSlices& f, const std::vector<double>& lat, double run_p50, json& report) {
  std::vector<double> ratios;
  for (std::size_t i = 0; i < f.answered.size(); ++i) {
    std::size_t from = i == 0 ? 0 : f.answered[i - 1];
    std::vector<double> slice(lat.begin() + static_cast<long>(from), lat.begin() + static_cast<long>(f.answered[i]));
    if (!slice.empty()) ratios.push_back(Pct(slice, 0.5) / f.floor_ms[i]);
  }
  const double floor = Pct(f.fsync_ms, 0.5) + Pct(f.verify_ms, 0.5);
  report["interleaved_floor"] = {{"slices", f.answered.size()},
                                 {"failed_slices", f.failed},
                                 {"seconds", f.seconds},
                                 {"krayd_exited", f.krayd_exited},
                                 {"fsync_ms_p50", Pct(f.fsync_ms, 0.5)},
                                 {"fsync_ms_p99", Pct(f.fsync_ms, 0.99)},
                                 {"verify_ms_p50", Pct(f.verify_ms, 0.5)},
                                 {"floor_ms", floor},
                                 {"one_connection_p50_ms", run_p50},
                                 {"p50_over_floor", floor > 0 ? run_p50 / floor : 0.0},
                                 {"slice_p50_over_floor_median", Pct(ratios, 0.5)}};
}

// ---------------------------------------------------------------------------
// Modes

int Fail(json report, const std::string& err) {
  report["error"] = err;
  std::cout << report.dump(2) << "\n";
  return 1;
}

// --warmup: lets the connections go, then waits until the warm-up's last
// answer (the measured phase's start) or its time limit. False if the
// warm-up did not end.
constexpr int kWarmupLimitS = 3600;
bool WarmUp(const Opts& o, Phase& ph, json& report) {
  const auto t0 = Clock::now(), limit = t0 + std::chrono::seconds(kWarmupLimitS);
  ph.deadline = limit;
  ph.go = true;
  bool measuring = false;
  while (!(measuring = ph.measuring.load()) && ph.done.load() < o.connections && Clock::now() < limit)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  report["warmup"] = {
      {"transfers", o.warmup},
      {"answered", ph.warmup_answered.load()},
      {"errors", ph.warmup_errors.load()},
      {"io_errors", ph.warmup_io_errors.load()},
      {"connections_open", o.connections - ph.done.load()},  // at the clock: fewer if some were lost
      {"seconds", measuring ? std::chrono::duration<double>(ph.measure_from - t0).count() : SecondsSince(t0)}};
  return measuring;
}

int RunNodeMode(const Opts& o, const std::string& dir) {
  json report{
      {"mode", o.mode}, {"connections", o.connections}, {"accounts", o.accounts}, {"synchronous", o.synchronous}};
  if (o.rate > 0) report["rate_per_second"] = o.rate;  // latency_ms from each request's scheduled start
  if (o.maxbatchtxs > 0) report["maxbatchtxs"] = o.maxbatchtxs;
  if (o.maxbatchleaves >= 0) report["maxbatchleaves"] = o.maxbatchleaves;
  if (o.active > 0) report["active_accounts"] = o.active;
  Prepared p;
  if (!Prepare(o, dir, p)) return Fail(report, "cannot write " + dir + "/genesis.json");
  report.update(p.timings);
  if (SendsTransfers(o)) report["kill9_requested"] = o.kill9;

  std::vector<std::string> args = KraydArgs(o, dir);
  Node node;
  std::string err;
  if (!StartKrayd(args, dir, node, err)) return Fail(report, err);
  report["startup_seconds"] = node.startup_seconds;
  report["port_file_seconds"] = node.port_file_seconds;

  Phase ph;
  ph.deadline = Clock::now() + std::chrono::hours(1);  // re-set at start
  std::vector<ConnStats> stats(static_cast<std::size_t>(o.connections));
  EventedConnections driver(o, node.port, p.work, p.keys, ph, stats);
  FloorSlices floor_slices;
  if (o.floor_every_ms > 0)
    driver.BetweenSlices(std::chrono::milliseconds(o.floor_every_ms),
                         [&] { MeasureFloorSlice(node, dir, stats[0], floor_slices); });
  std::thread generator([&] { driver.Run(); });
  while (ph.ready.load() < o.connections) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (o.warmup > 0 && !WarmUp(o, ph, report)) {
    // A node that stopped answering may not stop on SIGTERM either; killed
    // first, so a connection waiting for an answer ends with it.
    kill(node.pid, SIGKILL);
    waitpid(node.pid, nullptr, 0);
    node.pid = -1;
    generator.join();
    return Fail(report, "the warm-up ended before its last answer (connections closed, or " +
                            std::to_string(kWarmupLimitS) + " s passed)");
  }
  double node_cpu0 = CpuSeconds(node.pid), gen_cpu0 = CpuSeconds(getpid());
  const WrittenBytes written0 = ReadWrittenBytes(node.pid);
  std::pair<bench::ThreadCpus, bench::ThreadCpus> node_threads;
  node_threads.first = bench::CpuSecondsByThread(node.pid);
  const SequencerCounters seq0 = ReadSequencerCounters(node.port);
  auto start = o.warmup > 0 ? ph.measure_from : Clock::now();
  const auto start_utc = std::chrono::system_clock::now();
  if (o.warmup == 0) {
    ph.deadline = start + std::chrono::seconds(o.duration);
    ph.go = true;
  }
  std::optional<KillPoint> killed;
  if (o.kill9) killed = KillMidFlight(o, node, ph, p.items, start);
  generator.join();
  double secs = SecondsSince(start);
  if (!killed) ReportSequencer(seq0, ReadSequencerCounters(node.port), secs, report);
  if (!killed) node_threads.second = bench::CpuSecondsByThread(node.pid);
  const WrittenBytes written1 = killed ? WrittenBytes{} : ReadWrittenBytes(node.pid);
  double node_cpu = (killed ? killed->cpu_seconds : CpuSeconds(node.pid)) - node_cpu0;
  double gen_cpu = CpuSeconds(getpid()) - gen_cpu0;

  Totals totals = Sum(stats);
  // Before ReportPhase, which sorts the latencies.
  std::vector<double> unsorted_lat = o.rate > 0 || o.timeline_s > 0 ? totals.lat : std::vector<double>();
  if (o.timeline_s > 0) report["timeline"] = Timeline(totals, unsorted_lat, start, secs, o.timeline_s);
  ReportPhase(o, totals, secs, report);
  ReportCpu(o, node_cpu, gen_cpu, node_threads, report);
  if (!killed) ReportWrites(o, written0, written1, report);
  if (o.floor_every_ms > 0) ReportFloorSlices(floor_slices, stats[0].lat_ms, report["latency_ms"]["p50"], report);
  bool durable = true;
  if (killed)
    durable = RestartAndCheck(args, dir, *killed, ph.sent.load(), totals, node, report);
  else
    ReportNodeChecks(node.port, report);
  if (node.pid > 0) {
    report["krayd_rss_mib"] = std::max(PeakRssMiB(node.pid), killed ? killed->rss_mib : 0.0);
    const double huge = HugePagesMiB(node.pid);
    report["krayd_huge_pages_mib"] = huge < 0 ? json(nullptr) : json(huge);
    report["krayd_exit_code"] = StopKrayd(node);
  }
  if (o.rate > 0 && !killed) {  // the log is complete once krayd has exited
    auto windows = bench::CloseWindowsFromLog(ReadFile(dir + "/krayd.log"), start_utc, start);
    auto split = bench::SplitAroundCloses(windows, totals.started, unsorted_lat);
    auto summary = [](std::vector<double>& lat) {
      return json{
          {"requests", lat.size()}, {"p50_ms", Pct(lat, 0.50)}, {"p99_ms", Pct(lat, 0.99)}, {"max_ms", Pct(lat, 1.0)}};
    };
    report["latency_around_closes"] = {{"closes", windows.size()},
                                       {"during", summary(split.during)},
                                       {"outside", summary(split.outside)},
                                       {"after", summary(split.after)}};
  }
  std::cout << report.dump(2) << "\n";
  return durable ? 0 : 2;
}

int RunFloorMode(const Opts& o, const std::string& dir) {
  json report{{"mode", "floor"}, {"iterations", o.iterations}, {"dir", dir}};
  sync();  // not to time the write-back of what ran before (a previous run's datadir)
  std::vector<double> fsync_ms = FsyncLatencies(dir, o.iterations, false);
  std::vector<double> append_ms = FsyncLatencies(dir, o.iterations, true);
  if (fsync_ms.empty() || append_ms.empty()) return Fail(report, "pwrite/fdatasync failed in " + dir);
  std::vector<double> verify_ms = VerifyLatencies(o.iterations);
  if (verify_ms.empty()) return Fail(report, "a signature did not verify");
  double fsync_p50 = Pct(fsync_ms, 0.5), verify_p50 = Pct(verify_ms, 0.5);
  report["fsync_ms_p50"] = fsync_p50;
  report["fsync_ms_p99"] = Pct(fsync_ms, 0.99);
  report["fsync_append_ms_p50"] = Pct(append_ms, 0.5);
  report["verify_ms_p50"] = verify_p50;
  report["floor_ms"] = fsync_p50 + verify_p50;
  report["one_connection_p50_target_ms"] = 1.5 * (fsync_p50 + verify_p50);
  std::cout << report.dump(2) << "\n";
  return 0;
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
  int rc = o.mode == "floor" ? RunFloorMode(o, dir) : RunNodeMode(o, dir);
  if (!o.keep)
    std::filesystem::remove_all(dir);
  else
    std::cerr << "kept " << dir << "\n";
  return rc;
}
