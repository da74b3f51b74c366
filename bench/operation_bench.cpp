// The write path of one signed transfer, piece by piece, without HTTP:
// request -> canonical operation, validation, signature check, and execution
// + group write in the executor (in-memory store). Compare with
// schnorr_bench (the verification ceiling) to see what the node adds.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <new>

#include "alloc_count.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/executor.h"
#include "kray/state/genesis.h"
#include "kray/state/module.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"

namespace {

using namespace kray;

struct Key {
  crypto::SecretKey sk;
  crypto::XOnlyPubKey pub;
  std::string address, id;
};
Key MakeKey(const std::string& seed) {
  Key k;
  k.sk = crypto::Sha256(AsBytes(seed));
  k.pub = *crypto::XOnlyFromSecret(k.sk);
  k.address = bitcoin::P2trAddress("bcrt", bitcoin::TaprootOutputKey(k.pub, std::nullopt)->key);
  k.id = state::AccountIdFromAddress(k.address);
  return k;
}

struct Fixture {
  ChainParams params;
  state::ModuleRegistry registry;
  Key a = MakeKey("krayd-dev-account-1"), b = MakeKey("krayd-dev-account-2");
  state::OperationRequest Request(std::uint64_t nonce) const {
    state::OperationRequest r;
    r.type = "transfer";
    r.signer = a.address;  // the legacy wallet sends addresses
    r.nonce = nonce;
    r.fields = {{"to_account", b.address}, {"amount", "1000"}};
    r.signature_hex = std::string(128, '0');
    return r;
  }
};
const Fixture& F() {
  static Fixture f;
  return f;
}

void BM_BuildOperation(benchmark::State& state) {
  const auto& f = F();
  auto req = f.Request(0);
  for (auto _ : state) benchmark::DoNotOptimize(state::BuildOperation(f.params, f.registry, req));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildOperation);

void BM_ValidateOperation(benchmark::State& state) {
  const auto& f = F();
  auto op = *state::BuildOperation(f.params, f.registry, f.Request(0));
  for (auto _ : state) {
    auto copy = op;
    benchmark::DoNotOptimize(state::ValidateOperation(f.params, f.registry, copy));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateOperation);

void BM_CanonicalP2trAddress(benchmark::State& state) {
  const auto& f = F();
  for (auto _ : state) benchmark::DoNotOptimize(state::CanonicalP2trAddress(f.params, f.b.address));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CanonicalP2trAddress);

// An applied transfer as the rollup index receives it: every operation's
// record hash is computed once on its way into a batch (the tx root), and
// every group's submitted operations are encoded into the input log.
state::Operation AppliedTransfer() {
  const auto& f = F();
  auto op = *state::BuildOperation(f.params, f.registry, f.Request(7));
  op.signature = Bytes(64, 0x5a);
  op.seq = 123456;
  op.timestamp = 1700000000;
  op.hash = std::string(64, 'a');
  op.gas_fee = 1000;
  op.touched = {{1, f.a.id}, {1, f.b.id}};
  return op;
}

void BM_OperationRecordHash(benchmark::State& state) {
  const auto op = AppliedTransfer();
  for (auto _ : state) benchmark::DoNotOptimize(state::OperationRecordHash(op));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OperationRecordHash);

void BM_EncodeSubmittedOperation(benchmark::State& state) {
  const auto op = AppliedTransfer();
  for (auto _ : state) benchmark::DoNotOptimize(state::EncodeSubmittedOperation(op));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeSubmittedOperation);

// The store of the BM_ExecuteGroup* benchmarks: the core tables and the
// regtest-like genesis (account a funded, b named).
void ApplyBenchGenesis(store::Database& db) {
  const auto& f = F();
  (void)f.registry.Migrate(db);
  std::string genesis = "{\"chain_id\":\"kray-regtest-1\",\"timestamp\":1,\"accounts\":[{\"l1_address\":\"" +
                        f.a.address + "\",\"pubkey\":\"" + ToHex(f.a.pub) +
                        "\",\"balances\":{\"KRAY\":\"1000000000000\"}},{\"l1_address\":\"" + f.b.address + "\"}]}";
  auto g = state::ParseGenesis(f.params, f.registry, genesis);
  (void)state::ApplyGenesis(db, f.params, f.registry, *g);
}

// The timed loop: groups of `group` transfers from a, the one with nonce n
// to `to(n)`, each group executed, written and committed. Counter
// `allocs_per_transfer`: operator new calls in Execute() and FinishGroup(),
// per transfer.
template <class To>
void ExecuteGroups(benchmark::State& state, store::Database& db, int group, const To& to) {
  const auto& f = F();
  state::Executor exec(db, f.params, f.registry);
  std::uint64_t nonce = 0, allocations = 0;
  for (auto _ : state) {
    store::Transaction tx(db);
    for (int i = 0; i < group; ++i) {
      auto req = f.Request(nonce);
      req.fields[0].second = to(nonce++);  // to_account
      auto op = *state::BuildOperation(f.params, f.registry, req);
      const std::uint64_t before = bench::Allocations();
      benchmark::DoNotOptimize(exec.Execute(std::move(op), 2));
      allocations += bench::Allocations() - before;
    }
    const std::uint64_t before = bench::Allocations();
    benchmark::DoNotOptimize(exec.FinishGroup());
    allocations += bench::Allocations() - before;
    if (!tx.Commit().ok()) state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(state.iterations() * group);
  state.counters["allocs_per_transfer"] =
      static_cast<double>(allocations) / static_cast<double>(state.iterations() * static_cast<std::uint64_t>(group));
}

// Execution and the group write of `range(0)` transfers per group from a to
// b, on an in-memory store.
void BM_ExecuteGroup(benchmark::State& state) {
  auto db = *store::Database::Open(":memory:");
  ApplyBenchGenesis(*db);
  ExecuteGroups(state, *db, static_cast<int>(state.range(0)), [](std::uint64_t) { return F().b.address; });
}
BENCHMARK(BM_ExecuteGroup)->Arg(1)->Arg(64)->Arg(512);

// Groups of 64 transfers from one account to 64 of 1,024 recipients, as in
// a node with many active accounts: each group changes 65 account leaves,
// which FinishGroup encodes for the rollup (in-memory store).
void BM_ExecuteGroupManyAccounts(benchmark::State& state) {
  static const std::vector<std::string> recipients = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 1024; ++i) out.push_back(MakeKey("bench-recipient-" + std::to_string(i)).address);
    return out;
  }();
  auto db = *store::Database::Open(":memory:");
  ApplyBenchGenesis(*db);
  ExecuteGroups(state, *db, 64, [](std::uint64_t n) { return recipients[n % recipients.size()]; });
}
BENCHMARK(BM_ExecuteGroupManyAccounts)->MinTime(2.0);

// The same group write on a file with synchronous=FULL, as krayd runs it:
// execution, the group's rows, and the commit with its fsync. Arguments:
// operations per group, and whether the WAL frames go out batched
// (OpenOptions::batch_wal_writes, src/store/wal_vfs.h) or as SQLite writes
// them (two writes per frame). Wall time: the fsync is the point.
void BM_ExecuteGroupOnDisk(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "kray-bench-XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    store::OpenOptions oo;
    oo.batch_wal_writes = state.range(1) != 0;
    auto db = *store::Database::Open(dir + "/state.sqlite", oo);
    ApplyBenchGenesis(*db);
    ExecuteGroups(state, *db, static_cast<int>(state.range(0)), [](std::uint64_t) { return F().b.address; });
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ExecuteGroupOnDisk)
    ->ArgsProduct({{23, 500}, {0, 1}})
    ->ArgNames({"group", "batched"})
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
