// `krayd verify` (see include/kray/rollup/verify.h).
#include "kray/rollup/verify.h"

#include <filesystem>

#include "kray/core/progress.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/leaves.h"
#include "kray/rollup/replay.h"
#include "kray/store/database.h"

namespace kray::rollup {
namespace {

// After a state root mismatch: names the first leaf written by the source in
// this batch that differs from the replayed state, and the first tx of the
// batch touching it.
std::string ExplainStateMismatch(store::Database& src, ChainReplayer& replay, std::int64_t batch,
                                 const std::vector<state::TxRecord>& txs) {
  auto st = src.Prepare("SELECT key, data FROM rollup_leaf_data WHERE version = ?1 ORDER BY key");
  if (!st.ok()) return "";
  st->Bind(1, batch);
  while (true) {
    auto more = st->Step();
    if (!more.ok() || !*more) break;
    Bytes data = st->IsNull(1) ? Bytes{} : st->Blob(1);
    auto leaf = DecodeLeaf(data);
    if (!leaf.ok() || leaf->type != LeafType::kAccount) continue;
    const std::string& id = leaf->account.account_id;
    Bytes replayed = replay.AccountLeaf(id);
    if (replayed == data) continue;
    std::string msg = "; first differing leaf: account " + id;
    auto got = DecodeLeaf(replayed);
    for (const auto& b : leaf->account.balances) {
      Amount r = got.ok() ? got->account.BalanceOf(b.asset).available : 0;
      if (r != b.available)
        msg += " (" + b.asset + " available: published " + std::to_string(b.available) + ", replayed " +
               std::to_string(r) + ")";
    }
    for (std::size_t i = 0; i < txs.size(); ++i)
      if (txs[i].from_id == id || txs[i].to_id == id)
        return msg + "; first tx touching it: batch " + std::to_string(batch) + " tx " + std::to_string(i) + " (seq " +
               std::to_string(txs[i].seq) + ", hash " + txs[i].tx_hash + ")";
    return msg + "; no tx of this batch touches it (changed outside any transaction)";
  }
  return "; the differing leaf is a supply leaf (fee pool / burned / minted)";
}

}  // namespace

Result<VerifySummary> VerifyDatadir(const std::string& datadir, const VerifyOptions& options,
                                    const VerifyProgress& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  std::string file = options.store_file.empty() ? datadir + "/krayd.sqlite" : options.store_file;
  if (!std::filesystem::exists(file)) return Error::NotFound("store_not_found", "no store at " + file);
  store::OpenOptions ro;
  ro.read_only = true;
  ro.migrate = false;
  auto src = store::Database::Open(file, ro);
  if (!src.ok()) return std::move(src).error();
  auto status = GetRollupStatus(**src);
  if (!status.ok()) return std::move(status).error();
  auto replay = ChainReplayer::Create(options.params, options.temp_dir);
  if (!replay.ok()) return std::move(replay).error();
  ChainReplayer& r = **replay;

  auto genesis = GenesisLeaves(**src);
  if (!genesis.ok()) return std::move(genesis).error();
  KRAY_TRY(r.Genesis(*genesis, status->genesis_root, status->base_seq));
  say("genesis: " + std::to_string(genesis->size()) + " leaves, root " + status->genesis_root + " OK");

  VerifySummary sum;
  auto total = CountBatches(**src);
  if (!total.ok()) return std::move(total).error();
  ProgressReporter meter("batches", "txs", *total);
  for (std::int64_t n = 1; n <= *total; ++n) {
    auto b = GetBatch(**src, n);
    if (!b.ok()) return Error{ErrorKind::kConflict, "verify_batch_gap", "batch " + std::to_string(n) + " is missing"};
    auto txs = BatchTransactions(**src, *b);
    if (!txs.ok()) return std::move(txs).error();
    auto events = BatchAccountEvents(**src, n);
    if (!events.ok()) return std::move(events).error();
    Status s = r.Batch(*b, *txs, *events);
    if (!s.ok()) {
      Error e = std::move(s).error();
      if (e.code == "verify_state_root_mismatch") e.message += ExplainStateMismatch(**src, r, n, *txs);
      return e;
    }
    sum.batches = n;
    sum.transactions += static_cast<std::int64_t>(txs->size());
    sum.events += static_cast<std::int64_t>(events->size());
    if (options.progress_every > 0 && (n % options.progress_every == 0 || n == *total))
      say("batch " + std::to_string(n) + "/" + std::to_string(*total) + ": " + std::to_string(sum.transactions) +
          " txs replayed, state root " + r.root() + " OK (" + meter.Format(n, sum.transactions) + ")");
  }
  auto rest = TransactionsInRange(**src, r.last_seq() + 1, INT64_MAX);
  if (rest.ok()) sum.unbatched_txs = static_cast<std::int64_t>(rest->size());
  sum.final_root = r.root();
  return sum;
}

}  // namespace kray::rollup
