// The sequencer's state cache alone (src/state/state_cache.h), one legacy
// transfer's work at a time, over 1k / 100k / 1M funded accounts: what a
// transfer costs the sequencer apart from HTTP, signatures and the fsync.
// Issue 9's curve bends with every account touched; with the store's reads
// and writes taken out (docs/BENCHMARKS.md, fifty-first round) what is left
// of the bend is this cache's tables. This measures them in seconds, not
// in a kray-loadgen run of minutes at a million accounts (runs still
// spread ~10 %: compare binaries interleaved).
//
// Per transfer, the rows TransferOp changes through UnitOfWork (its gas
// charge left out): the sender's row (nonce + 1) and balance, the
// recipient's balance, in a child cache merged into the root. Every 16
// transfers a group: both accounts' states (what the leaves encode),
// Stage, Flush and COMMIT (write-back on, a 10-s sweep, as krayd runs),
// Committed. Transfer j: sender j mod N, recipient
// j + 1 mod N, so at 1M every sender is one the run has not touched yet.
//
// Held: the root cache already holds every account (as after the funding
// group); Cold: a fresh root cache over the funded store, so an account is
// read from the store the first time a transfer touches it (krayd after a
// start). ":memory:" store: no fsync, no file pages.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../src/state/state_cache.h"
#include "../src/state/unwritten_rows.h"
#include "kray/state/module.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

constexpr int kGroup = 16;                   // transfers per group (the loadgen's at 50 connections)
constexpr double kSweepSeconds = 10;         // krayd's default `writeback`
constexpr std::int64_t kTransfers = 200000;  // per run: at 1M, each sender untouched before

// "kray_" + 32 hex digits, spread over the key space as real ids are.
std::string Id(std::uint64_t i) {
  std::uint64_t a = (i + 1) * 0x9E3779B97F4A7C15ull, b = a ^ (a >> 29) ^ (i << 17);
  char buf[40];
  std::snprintf(buf, sizeof buf, "kray_%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

void Commit(store::Database& db, StateCache& root, std::uint64_t last_seq) {
  root.Stage(last_seq);
  store::Transaction tx(db);
  if (!root.Flush().ok() || !tx.Commit().ok()) std::abort();
  root.Committed();
}

// A funded store of `n` accounts of 10^9 KRAY (l1 address and key of real
// lengths), and a root cache over it.
struct Node {
  ModuleRegistry registry;
  std::unique_ptr<store::Database> db;
  UnwrittenRows rows;
  std::unique_ptr<StateCache> root;
  std::vector<std::string> ids;
  std::uint64_t next = 0;  // the next transfer's number

  Node(std::size_t n, bool held) {
    db = std::move(store::Database::Open(":memory:").value());
    if (!registry.Migrate(*db).ok()) std::abort();
    root = std::make_unique<StateCache>(*db);
    root->Reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      ids.push_back(Id(i));
      root->PutAccount(ids.back(), AccountRow{"bcrt1p" + std::string(56, 'q') + ids.back().substr(5, 6),
                                              std::string(64, 'a'), 0, 1, 0});
      root->PutBalance(ids.back(), "KRAY", BalanceRow{1000000000, 0, 0});
    }
    root->PutSupply("KRAY", SupplyRow{static_cast<Amount>(n) * 1000000000, 0, 0, 0});
    Commit(*db, *root, 0);
    if (!held) {
      root = std::make_unique<StateCache>(*db);
      root->Reserve(n);
    }
    root->EnableWriteBack(rows, kSweepSeconds);
  }

  void Transfer() {
    const std::string& from = ids[next % ids.size()];
    const std::string& to = ids[(next + 1) % ids.size()];
    ++next;
    StateCache op(*root);
    ++op.MutableAccount(from).value()->nonce;
    BalanceRow debit = op.GetBalance(from, "KRAY").value();
    debit[0] -= 1;
    op.PutBalance(from, "KRAY", debit);
    BalanceRow credit = op.GetBalance(to, "KRAY").value();
    credit[0] += 1;
    op.PutBalance(to, "KRAY", credit);
    op.MergeIntoParent();
  }

  void Group() {
    for (const auto& id : root->DirtyAccountIds()) benchmark::DoNotOptimize(root->AccountState(id).value());
    Commit(*db, *root, next);
  }
};

void Run(benchmark::State& state, bool held) {
  // One node per size and mode, kept across the framework's repetitions;
  // the previous one freed first (a million accounts hold ~1 GiB).
  static std::unique_ptr<Node> node;
  static std::pair<std::int64_t, bool> key{-1, false};
  if (key != std::pair{state.range(0), held}) {
    node.reset();
    node = std::make_unique<Node>(static_cast<std::size_t>(state.range(0)), held);
    key = {state.range(0), held};
  }
  int in_group = 0;
  for (auto _ : state) {
    node->Transfer();
    if (++in_group == kGroup) {
      node->Group();
      in_group = 0;
    }
  }
  if (in_group > 0) node->Group();
  state.SetItemsProcessed(state.iterations());
}

void BM_TransferHeld(benchmark::State& state) {
  Run(state, true);
}
void BM_TransferCold(benchmark::State& state) {
  Run(state, false);
}

// Resident bytes of this process (/proc/self/statm), 0 if unreadable.
double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * 4096;
}

// What the cache holds per account of one asset (two entries: its own row
// and its balance row), every account read from the store into a fresh
// root: the estimate behind config key accountcache
// (state::kCachedAccountEntryBytes, include/kray/state/ledger.h). The
// store is funded by SQL alone, in key order and one transaction, so that
// no memory is freed before the measurement that the cache could reuse
// unseen by the resident size (a cache funded and dropped first made it
// read two fifths low: 289 bytes against 485).
void BM_HeldBytesPerAccount(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto db = std::move(store::Database::Open(":memory:").value());
  ModuleRegistry registry;
  if (!registry.Migrate(*db).ok()) std::abort();
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(Id(i));
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  {
    store::Transaction tx(*db);
    for (const auto& id : sorted) {
      auto own = db->Use(
          "INSERT INTO account_rows (account_id, asset, l1_address, pubkey, nonce, created_at, gas_spent) "
          "VALUES (?1, '', ?2, ?3, 0, 1, 0)");
      if (!own.ok() || !(*own)
                            ->Bind(1, id)
                            .Bind(2, "bcrt1p" + std::string(56, 'q') + id.substr(5, 6))
                            .Bind(3, std::string(64, 'a'))
                            .Run()
                            .ok())
        std::abort();
      auto balance = db->Use(
          "INSERT INTO account_rows (account_id, asset, available, staked, locked) VALUES (?1, 'KRAY', 1000000000, 0, "
          "0)");
      if (!balance.ok() || !(*balance)->Bind(1, id).Run().ok()) std::abort();
    }
    if (!tx.Commit().ok()) std::abort();
  }
  StateCache root(*db);
  root.Reserve(n);
  double before = 0, after = 0;
  for (auto _ : state) {
    before = ResidentBytes();
    for (const auto& id : ids) benchmark::DoNotOptimize(root.FindAccount(id).value());
    after = ResidentBytes();
  }
  state.counters["entries"] = static_cast<double>(root.size());
  state.counters["bytes_per_account"] = (after - before) / static_cast<double>(n);
}

BENCHMARK(BM_HeldBytesPerAccount)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TransferHeld)->Arg(1000)->Arg(100000)->Arg(1000000)->Iterations(kTransfers)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TransferCold)->Arg(1000)->Arg(100000)->Arg(1000000)->Iterations(kTransfers)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kray::state
