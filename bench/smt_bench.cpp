// Sparse Merkle tree benchmark (docs/ROLLUP.md, "Benchmark"): root update for
// a batch of 10,000 changed leaves over a state of N accounts.
//
//   BM_SmtBatchUpdate_Memory/N   tree in a MemoryNodeStore (pure hashing and
//                                node bookkeeping: the O(k log N) cost)
//   BM_SmtBatchUpdate_Cached/N   what the rollup thread does with each group
//                                of leaf changes (rollup.cpp, Apply): the
//                                whole tree held by the write-back cache,
//                                unchanged leaves told apart, the root updated
//                                (no backing-store I/O: the node cache's cost)
//   BM_SmtCrowdedBuild/N         N keys ground to share their first 16 bits
//                                (one NodeMap bucket, node_map.h), the tree
//                                built then every leaf changed: what such
//                                keys cost against hashed ones (Memory)
//   BM_SmtBatchUpdate_Sqlite/N   what the node does at batch time: the tree
//                                behind the write-back cache, every dirty
//                                node flushed to rollup_smt_nodes inside one
//                                SQLite transaction (synchronous=FULL, WAL)
//
// The state is built once per N (static fixture) and reused by iterations.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "kray/crypto/hash.h"
#include "kray/rollup/node_store.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/smt.h"
#include "kray/store/database.h"

namespace {

using kray::Hash256;
using namespace kray::rollup;

constexpr int kBatch = 10000;

Hash256 KeyOf(std::uint64_t i) {
  std::uint8_t buf[8];
  for (int b = 0; b < 8; ++b) buf[b] = static_cast<std::uint8_t>(i >> (8 * b));
  return kray::crypto::TaggedHash("bench/key", kray::ByteSpan(buf, 8));
}

std::vector<SmtUpdate> RandomBatch(std::uint64_t n, std::mt19937_64& rng) {
  std::vector<SmtUpdate> ups;
  ups.reserve(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    std::uint64_t r = rng();
    Hash256 v = KeyOf(r);
    ups.push_back({KeyOf(r % n), v});
  }
  return ups;
}

std::vector<SmtUpdate> AllLeaves(std::uint64_t n) {
  std::vector<SmtUpdate> ups;
  ups.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) ups.push_back({KeyOf(i), KeyOf(i + (1ULL << 40))});
  return ups;
}

// The state of N leaves for a kind of store (State::Build), built on first
// use and kept for the process.
template <class State>
State& Fixture(std::uint64_t n) {
  static std::map<std::uint64_t, std::unique_ptr<State>> states;
  auto& s = states[n];
  if (!s) {
    s = std::make_unique<State>();
    s->Build(n);
  }
  return *s;
}

struct MemState {
  MemoryNodeStore store;
  std::unique_ptr<SparseMerkleTree> tree;
  void Build(std::uint64_t n) {
    tree = std::make_unique<SparseMerkleTree>(store);
    if (!tree->ApplyUpdates(AllLeaves(n)).ok()) std::abort();
  }
};

void BM_SmtBatchUpdate_Memory(benchmark::State& state) {
  std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  MemState& s = Fixture<MemState>(n);
  std::mt19937_64 rng(n);
  for (auto _ : state) {
    state.PauseTiming();
    auto ups = RandomBatch(n, rng);
    state.ResumeTiming();
    if (!s.tree->ApplyUpdates(std::move(ups)).ok()) state.SkipWithError("apply failed");
    auto root = s.tree->Root();
    benchmark::DoNotOptimize(root);
  }
  state.counters["nodes"] = static_cast<double>(s.store.size());
  state.counters["leaves_per_s"] = benchmark::Counter(kBatch, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SmtBatchUpdate_Memory)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

struct CachedState {
  MemoryNodeStore backing;
  std::unique_ptr<CachedNodeStore> cache;
  void Build(std::uint64_t n) {
    cache = std::make_unique<CachedNodeStore>(&backing);
    SparseMerkleTree tree(*cache);
    if (!tree.ApplyUpdates(AllLeaves(n)).ok() || !cache->Flush().ok()) std::abort();
  }
};

void BM_SmtBatchUpdate_Cached(benchmark::State& state) {
  std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  CachedState& s = Fixture<CachedState>(n);
  std::mt19937_64 rng(n + 2);
  std::size_t changed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto ups = RandomBatch(n, rng);
    state.ResumeTiming();
    SparseMerkleTree tree(*s.cache);
    std::vector<Hash256> real;
    if (!tree.ApplyUpdates(std::move(ups), &real).ok()) state.SkipWithError("apply failed");
    changed += real.size();
    auto root = tree.Root();
    benchmark::DoNotOptimize(root);
    state.PauseTiming();
    if (!s.cache->Flush().ok()) state.SkipWithError("flush failed");
    state.ResumeTiming();
  }
  state.counters["cached_nodes"] = static_cast<double>(s.cache->size());
  state.counters["changed"] = static_cast<double>(changed);
  state.counters["leaves_per_s"] = benchmark::Counter(kBatch, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SmtBatchUpdate_Cached)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(20);

void BM_SmtCrowdedBuild(benchmark::State& state) {
  std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  std::vector<SmtUpdate> keys = AllLeaves(n);
  for (auto& u : keys) u.key[0] = u.key[1] = 0xab;
  for (auto _ : state) {
    MemoryNodeStore store;
    SparseMerkleTree tree(store);
    auto ups = keys;
    if (!tree.ApplyUpdates(ups).ok()) state.SkipWithError("build failed");
    for (auto& u : ups) u.value_hash = u.key;
    if (!tree.ApplyUpdates(std::move(ups)).ok()) state.SkipWithError("update failed");
    auto root = tree.Root();
    benchmark::DoNotOptimize(root);
  }
}
BENCHMARK(BM_SmtCrowdedBuild)->Arg(50000)->Unit(benchmark::kMillisecond)->Iterations(3);

struct SqlState {
  std::string path;
  std::unique_ptr<kray::store::Database> db;
  std::unique_ptr<SqliteNodeStore> sql;
  std::unique_ptr<CachedNodeStore> cache;
  std::int64_t version = 0;
  ~SqlState() {  // static fixture: runs at exit and removes the temp store
    cache.reset();
    sql.reset();
    db.reset();
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path + ext);
  }
  void Build(std::uint64_t n) {
    path = (std::filesystem::temp_directory_path() / ("kray_smt_bench_" + std::to_string(n) + ".sqlite")).string();
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path + ext);
    auto opened = kray::store::Database::Open(path);
    if (!opened.ok()) std::abort();
    db = std::move(*opened);
    if (!MigrateRollupIndex(*db).ok()) std::abort();
    sql = std::make_unique<SqliteNodeStore>(*db, 0, 0);
    cache = std::make_unique<CachedNodeStore>(sql.get());
    kray::store::Transaction tx(*db);
    SparseMerkleTree tree(*cache);
    if (!tx.ok() || !tree.ApplyUpdates(AllLeaves(n)).ok() || !cache->Flush().ok() || !tx.Commit().ok()) std::abort();
  }
};

void BM_SmtBatchUpdate_Sqlite(benchmark::State& state) {
  std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  SqlState& s = Fixture<SqlState>(n);
  std::mt19937_64 rng(n + 1);
  for (auto _ : state) {
    state.PauseTiming();
    auto ups = RandomBatch(n, rng);
    ++s.version;
    s.sql->Reset(*s.db, s.version, s.version);
    state.ResumeTiming();
    kray::store::Transaction tx(*s.db);
    SparseMerkleTree tree(*s.cache);
    if (!tx.ok() || !tree.ApplyUpdates(std::move(ups)).ok() || !s.cache->Flush().ok() || !tx.Commit().ok())
      state.SkipWithError("apply failed");
    auto root = tree.Root();
    benchmark::DoNotOptimize(root);
  }
  state.counters["cached_nodes"] = static_cast<double>(s.cache->size());
}
BENCHMARK(BM_SmtBatchUpdate_Sqlite)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

// Proof generation (read path of GET /api/account/:address/proof).
void BM_SmtProve_Memory(benchmark::State& state) {
  std::uint64_t n = static_cast<std::uint64_t>(state.range(0));
  MemState& s = Fixture<MemState>(n);
  std::uint64_t i = 0;
  for (auto _ : state) {
    auto p = s.tree->Prove(KeyOf(i++ % n));
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_SmtProve_Memory)->Arg(1000000);

}  // namespace

BENCHMARK_MAIN();
