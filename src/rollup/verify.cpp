// `krayd verify` (see include/kray/rollup/verify.h).
#include "kray/rollup/verify.h"

#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "kray/core/progress.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/replay.h"
#include "kray/rollup/rollup.h"
#include "kray/state/conservation.h"
#include "kray/state/genesis.h"
#include "kray/state/leaves.h"
#include "kray/state/op_log.h"
#include "kray/state/redo.h"
#include "kray/store/database.h"

namespace kray::rollup {
namespace {

constexpr std::size_t kChunk = 10000;

Result<std::unique_ptr<store::Database>> OpenReadOnly(const std::string& file) {
  if (!std::filesystem::exists(file)) return Error::NotFound("store_not_found", "no store at " + file);
  store::OpenOptions ro;
  ro.read_only = true;
  return store::Database::Open(file, ro);
}

Result<std::vector<state::Operation>> LoadOperations(store::Database& db, std::int64_t first, std::int64_t last) {
  std::vector<state::Operation> out;
  for (std::int64_t from = first; from <= last;) {
    auto ops = state::OperationsInRange(db, static_cast<std::uint64_t>(from), static_cast<std::uint64_t>(last), kChunk);
    if (!ops.ok()) return std::move(ops).error();
    if (ops->empty()) break;
    from = static_cast<std::int64_t>(ops->back().seq) + 1;
    out.insert(out.end(), std::make_move_iterator(ops->begin()), std::make_move_iterator(ops->end()));
  }
  return out;
}

// After a state root mismatch: names the first leaf the index wrote in this
// batch that differs from the replayed state, and the first operation of the
// batch that changed it.
std::string ExplainStateMismatch(store::Database& index, ChainReplayer& replay, std::int64_t batch,
                                 const std::vector<state::Operation>& ops) {
  auto st = index.Prepare("SELECT key, data FROM rollup_leaf_versions WHERE version = ?1 ORDER BY key");
  if (!st.ok()) return "";
  st->Bind(1, batch);
  std::string out;
  Status s = store::ForEachRow(*st, [&](const store::Statement& row) -> Status {
    Bytes data = row.Blob(1);
    if (data.empty()) return Ok();
    auto leaf = state::DecodeLeaf(data);
    if (!leaf.ok() || leaf->type != state::kAccountLeaf) return Ok();
    const std::string& id = leaf->account.account_id;
    Bytes replayed = replay.LeafData(state::LeafId{state::kAccountLeaf, id});
    if (replayed == data) return Ok();
    out = "; first differing leaf: account " + id;
    auto got = state::DecodeLeaf(replayed);
    for (const auto& b : leaf->account.balances) {
      Amount r = got.ok() ? got->account.BalanceOf(b.asset).available : 0;
      if (r != b.available)
        out += " (" + b.asset + " available: published " + std::to_string(b.available) + ", replayed " +
               std::to_string(r) + ")";
    }
    state::LeafId target{state::kAccountLeaf, id};
    for (std::size_t i = 0; i < ops.size(); ++i)
      for (const auto& t : ops[i].touched)
        if (t == target) {
          out += "; first operation touching it: batch " + std::to_string(batch) + " operation " + std::to_string(i) +
                 " (seq " + std::to_string(ops[i].seq) + ", hash " + ops[i].hash + ")";
          return Error::Internal("stop");
        }
    out += "; no operation of this batch touches it (changed outside any operation)";
    return Error::Internal("stop");
  });
  (void)s;
  return out.empty() ? "; the differing leaf is not an account leaf (supply or a module's)" : out;
}

// Every leaf of every registered type, live vs replayed.
Result<std::int64_t> CompareHeads(store::Database& live, ChainReplayer& replay, const state::ModuleRegistry& registry) {
  // The live store's accounts with the rows its snapshot holds as records
  // only (kray/state/redo.h); the replayed store has none.
  auto redo = state::ReadRedo(live);
  if (!redo.ok()) return std::move(redo).error();
  auto live_leaves = [&] {
    state::RedoScope exact(&*redo);
    return AllLeaves(live, registry);
  }();
  if (!live_leaves.ok()) return std::move(live_leaves).error();
  auto replayed = AllLeaves(replay.db(), registry);
  if (!replayed.ok()) return std::move(replayed).error();
  std::map<Hash256, const state::LeafChange*> mine;
  for (const auto& c : *replayed) mine[c.key] = &c;
  for (const auto& c : *live_leaves) {
    auto it = mine.find(c.key);
    std::string name = std::to_string(c.id.type) + "/" + c.id.id;
    if (it == mine.end())
      return Error{
          ErrorKind::kConflict, "verify_head_mismatch",
          "leaf " + name + " exists in the store but not in the replayed log (changed behind the node's back)"};
    if (it->second->data != c.data)
      return Error{ErrorKind::kConflict, "verify_head_mismatch",
                   "leaf " + name + " differs between the store and the replayed log (changed behind the node's back)"};
    mine.erase(it);
  }
  if (!mine.empty()) {
    const auto& c = *mine.begin()->second;
    return Error{ErrorKind::kConflict, "verify_head_mismatch",
                 "leaf " + std::to_string(c.id.type) + "/" + c.id.id + " is missing from the store"};
  }
  KRAY_TRY(replay.CheckTreeCoversState());
  return static_cast<std::int64_t>(live_leaves->size());
}

// The live store's conservation, summed from its own tables, against the
// replayed store's. Leaves cover only rows some operation owns: a row no leaf
// enumerates (a balance row without its account, say) changes the sums but
// not the leaves, so the head comparison alone would pass it.
Status CompareConservation(store::Database& live, ChainReplayer& replay, const state::ModuleRegistry& registry) {
  auto mine = state::CheckConservation(live, registry);
  if (!mine.ok()) return std::move(mine).error();
  auto replayed = state::CheckConservation(replay.db(), registry);
  if (!replayed.ok()) return std::move(replayed).error();
  if (mine->ok && mine->ToString() == replayed->ToString()) return Ok();
  return Error{ErrorKind::kConflict, "verify_conservation_failed",
               "head: the store's sums differ from the replayed log's (changed behind the node's back); store: " +
                   mine->ToString() + "; replayed: " + replayed->ToString()};
}

}  // namespace

Result<VerifySummary> VerifyDatadir(const std::string& datadir, const VerifyOptions& options,
                                    const state::ModuleRegistry& registry, const VerifyProgress& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  auto live = OpenReadOnly(datadir + "/krayd.sqlite");
  if (!live.ok()) return std::move(live).error();
  auto index = OpenReadOnly(datadir + "/rollup.sqlite");
  if (!index.ok()) return std::move(index).error();
  // One snapshot of each store for the whole run: a live node keeps writing.
  store::ReadTransaction live_snapshot(**live);
  KRAY_TRY(live_snapshot.status());
  store::ReadTransaction index_snapshot(**index);
  KRAY_TRY(index_snapshot.status());

  auto status = GetRollupStatus(**index);
  if (!status.ok()) return std::move(status).error();
  auto genesis_file = state::ReadMeta(**live, "genesis_file");
  if (!genesis_file.ok()) return std::move(genesis_file).error();
  if (!genesis_file->has_value()) return Error::NotFound("genesis_not_found", "the store records no genesis file");
  auto replay = ChainReplayer::Create(options.params, registry, options.temp_dir);
  if (!replay.ok()) return std::move(replay).error();
  ChainReplayer& r = **replay;
  KRAY_TRY(r.Genesis(**genesis_file, status->genesis_root));
  say("genesis: root " + status->genesis_root + " OK");

  VerifySummary sum;
  auto total = CountBatches(**index);
  if (!total.ok()) return std::move(total).error();
  ProgressReporter meter("batches", "operations", *total);
  for (std::int64_t n = 1; n <= *total; ++n) {
    auto b = GetBatch(**index, n);
    if (!b.ok()) return Error{ErrorKind::kConflict, "verify_batch_gap", "batch " + std::to_string(n) + " is missing"};
    auto ops = LoadOperations(**live, b->first_seq, b->last_seq);
    if (!ops.ok()) return std::move(ops).error();
    Status s = r.Batch(*b, *ops);
    if (!s.ok()) {
      Error e = std::move(s).error();
      if (e.code == "verify_state_root_mismatch") e.message += ExplainStateMismatch(**index, r, n, *ops);
      return e;
    }
    sum.batches = n;
    sum.operations += static_cast<std::int64_t>(ops->size());
    if (options.progress_every > 0 && (n % options.progress_every == 0 || n == *total))
      say("batch " + std::to_string(n) + "/" + std::to_string(*total) + ": " + std::to_string(sum.operations) +
          " operations replayed, state root " + r.root() + " OK (" + meter.Format(n, sum.operations) + ")");
  }
  sum.final_root = r.root();
  auto last = state::LastSeq(**live);
  if (!last.ok()) return std::move(last).error();
  auto tail = LoadOperations(**live, r.last_seq() + 1, static_cast<std::int64_t>(*last));
  if (!tail.ok()) return std::move(tail).error();
  KRAY_TRY(r.Tail(*tail));
  sum.unbatched = static_cast<std::int64_t>(tail->size());
  sum.operations += sum.unbatched;
  auto compared = CompareHeads(**live, r, registry);
  if (!compared.ok()) return std::move(compared).error();
  sum.leaves_compared = *compared;
  KRAY_TRY(CompareConservation(**live, r, registry));
  say("head: " + std::to_string(sum.unbatched) + " operations after the last batch replayed; " +
      std::to_string(*compared) + " leaves identical to the store; conservation identical");
  return sum;
}

}  // namespace kray::rollup
