// `krayd verify` (see include/kray/rollup/verify.h).
#include "kray/rollup/verify.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "kray/rollup/batch.h"
#include "kray/rollup/leaves.h"
#include "kray/rollup/node_store.h"
#include "kray/rollup/rollup.h"
#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"

namespace kray::rollup {
namespace {

Error Diverge(const std::string& code, const std::string& msg) { return {ErrorKind::kConflict, code, msg}; }

std::string TxWhere(std::int64_t batch, std::size_t index, const state::TxRecord& r) {
  return "batch " + std::to_string(batch) + " tx " + std::to_string(index) + " (seq " + std::to_string(r.seq) +
         ", hash " + r.tx_hash + ")";
}

// A temp directory removed on scope exit.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& base) {
    std::string tmpl = (std::filesystem::path(base.empty() ? std::filesystem::temp_directory_path().string() : base) /
                        "krayd_verify_XXXXXX")
                           .string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// Loads the genesis snapshot into the empty replay store.
Status LoadGenesis(store::Database& dst, const std::vector<Bytes>& leaves) {
  for (const auto& data : leaves) {
    auto leaf = DecodeLeaf(data);
    if (!leaf.ok()) return std::move(leaf).error();
    if (leaf->type == LeafType::kAccount) {
      const auto& a = leaf->account;
      auto st = dst.Prepare(
          "INSERT INTO accounts (account_id, l1_address, pubkey, nonce, created_at) VALUES (?1, ?2, ?3, ?4, 0)");
      if (!st.ok()) return std::move(st).error();
      st->Bind(1, a.account_id).Bind(2, a.l1_address);
      if (a.pubkey_hex.empty()) {
        st->BindNull(3);
      } else {
        st->Bind(3, a.pubkey_hex);
      }
      st->Bind(4, static_cast<std::int64_t>(a.nonce));
      KRAY_TRY(st->Run());
      for (const auto& b : a.balances) {
        auto bs = dst.Prepare(
            "INSERT INTO balances (account_id, asset, available, staked, locked) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!bs.ok()) return std::move(bs).error();
        bs->Bind(1, a.account_id).Bind(2, b.asset).Bind(3, static_cast<std::int64_t>(b.available));
        bs->Bind(4, static_cast<std::int64_t>(b.staked)).Bind(5, static_cast<std::int64_t>(b.locked));
        KRAY_TRY(bs->Run());
      }
    } else {
      const auto& s = leaf->supply;
      auto st = dst.Prepare(
          "INSERT INTO supply (asset, genesis_total, minted, burned, fee_pool) VALUES (?1, ?2, ?3, ?4, ?5)");
      if (!st.ok()) return std::move(st).error();
      st->Bind(1, s.asset).Bind(2, static_cast<std::int64_t>(s.genesis_total));
      st->Bind(3, static_cast<std::int64_t>(s.minted)).Bind(4, static_cast<std::int64_t>(s.burned));
      st->Bind(5, static_cast<std::int64_t>(s.fee_pool));
      KRAY_TRY(st->Run());
    }
  }
  return Ok();
}

Status ApplyEvent(state::WriteContext& ctx, const AccountEvent& e) {
  ctx.Begin();
  Status s = Ok();
  if (!ctx.AccountExists(e.account_id)) {
    s = ctx.CreateAccount(e.l1_address, e.pubkey, 0);
  } else if (!e.pubkey.empty()) {
    s = ctx.BindPubkey(e.account_id, e.pubkey);
  }
  if (s.ok()) s = ctx.Commit();
  if (!s.ok()) ctx.Rollback();
  return s;
}

// Re-verifies and re-applies one stored tx inside its own unit.
Status ReplayTx(state::WriteContext& ctx, const ChainParams& params, const state::TxRecord& rec) {
  auto rt = state::TransferFromRecord(params, rec);
  if (!rt.ok()) return std::move(rt).error();
  auto sender = ctx.GetAccount(rt->from_id);
  if (!sender.ok()) return std::move(sender).error();
  auto key = FromHexFixed<32>(sender->pubkey_hex);
  if (!key) return Error::Unauthorized("pubkey_not_bound", "sender has no key bound in the replayed state");
  Status sig = state::VerifyTransfer(params, *rt, *key);
  if (!sig.ok() && rt->tx.scheme == state::SigScheme::kLegacy) {
    // The legacy message covers `from` exactly as sent, which may have been
    // the sender's L1 address rather than its id.
    state::ResolvedTransfer alt = *rt;
    alt.tx.from = sender->l1_address;
    sig = state::VerifyTransfer(params, alt, *key);
  }
  if (!sig.ok()) return sig;
  ctx.Begin();
  auto applied = state::ApplyTransfer(ctx, *rt, rec.confirmed_at);
  if (!applied.ok()) {
    ctx.Rollback();
    return std::move(applied).error();
  }
  if (applied->tx_hash != rec.tx_hash || applied->gas_fee != rec.gas_fee) {
    ctx.Rollback();
    return Error::Invalid("replay_mismatch", "re-executed tx differs from the stored record");
  }
  return ctx.Commit();
}

// After a state root mismatch: names the first leaf that differs between the
// source's leaves written in this batch and the replayed state.
std::string ExplainStateMismatch(store::Database& src, store::Database& dst, std::int64_t batch,
                                 const std::vector<state::TxRecord>& txs) {
  auto st = src.Prepare("SELECT key, data FROM rollup_leaf_data WHERE version = ?1 ORDER BY key");
  if (!st.ok()) return "";
  st->Bind(1, batch);
  while (true) {
    auto more = st->Step();
    if (!more.ok() || !*more) break;
    Bytes data = st->IsNull(1) ? Bytes{} : st->Blob(1);
    auto leaf = DecodeLeaf(data);
    if (!leaf.ok()) continue;
    Bytes replayed;
    std::string what;
    if (leaf->type == LeafType::kAccount) {
      what = "account " + leaf->account.account_id;
      auto a = LoadAccountState(dst, leaf->account.account_id);
      if (a.ok()) replayed = EncodeAccountLeaf(*a).value();
    } else {
      what = "supply of " + leaf->supply.asset;
      auto sup = LoadSupply(dst);
      if (sup.ok())
        for (auto& s : *sup)
          if (s.asset == leaf->supply.asset) replayed = EncodeSupplyLeaf(s);
    }
    if (replayed == data) continue;
    std::string msg = "; first differing leaf: " + what;
    if (leaf->type == LeafType::kAccount) {
      auto got = DecodeLeaf(replayed);
      const state::Account* mine = got.ok() ? &got->account : nullptr;
      for (const auto& b : leaf->account.balances) {
        Amount r = mine ? mine->BalanceOf(b.asset).available : 0;
        if (r != b.available)
          msg += " (" + b.asset + " available: published " + std::to_string(b.available) + ", replayed " +
                 std::to_string(r) + ")";
      }
      for (std::size_t i = 0; i < txs.size(); ++i)
        if (txs[i].from_id == leaf->account.account_id || txs[i].to_id == leaf->account.account_id)
          return msg + "; first tx touching it: " + TxWhere(batch, i, txs[i]);
      return msg + "; no tx of this batch touches it (changed outside any transaction)";
    }
    return msg;
  }
  return "";
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

  TempDir tmp(options.temp_dir);
  if (tmp.path.empty()) return Error::Internal("verify: cannot create a temp directory");
  store::OpenOptions wo;
  wo.synchronous = store::Synchronous::kNormal;
  auto dst = store::Database::Open(tmp.path + "/replay.sqlite", wo);
  if (!dst.ok()) return std::move(dst).error();

  // Genesis.
  auto genesis = GenesisLeaves(**src);
  if (!genesis.ok()) return std::move(genesis).error();
  MemoryNodeStore nodes;
  {
    store::Transaction tx(**dst);
    KRAY_TRY(tx.status());
    KRAY_TRY(LoadGenesis(**dst, *genesis));
    auto root = ApplyDirtyToTree(**dst, nodes, 0, false);
    if (!root.ok()) return std::move(root).error();
    if (ToHex(*root) != status->genesis_root)
      return Diverge("verify_genesis_mismatch", "genesis: snapshot root " + ToHex(*root) +
                                                    " differs from the recorded genesis root " + status->genesis_root);
    KRAY_TRY(tx.Commit());
  }
  say("genesis: " + std::to_string(genesis->size()) + " leaves, root " + status->genesis_root + " OK");

  VerifySummary sum;
  std::string prev_root = status->genesis_root;
  std::int64_t prev_last = status->base_seq;
  state::WriteContext ctx(**dst, options.params);
  auto total = CountBatches(**src);
  if (!total.ok()) return std::move(total).error();
  for (std::int64_t n = 1; n <= *total; ++n) {
    auto b = GetBatch(**src, n);
    if (!b.ok()) return Diverge("verify_batch_gap", "batch " + std::to_string(n) + " is missing");
    if (b->first_seq != prev_last + 1 || b->last_seq < b->first_seq)
      return Diverge("verify_batch_gap", "batch " + std::to_string(n) + " covers seq " + std::to_string(b->first_seq) +
                                             ".." + std::to_string(b->last_seq) + ", expected to start at " +
                                             std::to_string(prev_last + 1));
    if (b->prev_state_root != prev_root)
      return Diverge("verify_prev_root_mismatch", "batch " + std::to_string(n) + ": prev_state_root " +
                                                      b->prev_state_root + " is not the previous root " + prev_root);
    auto txs = BatchTransactions(**src, *b);
    if (!txs.ok()) return std::move(txs).error();
    if (static_cast<std::int64_t>(txs->size()) != b->tx_count ||
        static_cast<std::int64_t>(txs->size()) != b->last_seq - b->first_seq + 1)
      return Diverge("verify_batch_gap", "batch " + std::to_string(n) + ": tx_count " + std::to_string(b->tx_count) +
                                             " but " + std::to_string(txs->size()) + " stored txs");
    auto events = BatchAccountEvents(**src, n);
    if (!events.ok()) return std::move(events).error();

    store::Transaction tx(**dst);
    KRAY_TRY(tx.status());
    std::size_t ev = 0;
    std::vector<Hash256> hashes;
    for (std::size_t i = 0; i < txs->size(); ++i) {
      const auto& rec = (*txs)[i];
      for (; ev < events->size() && (*events)[ev].after_seq < static_cast<std::int64_t>(rec.seq); ++ev) {
        Status s = ApplyEvent(ctx, (*events)[ev]);
        if (!s.ok())
          return Diverge("verify_tx_failed", "batch " + std::to_string(n) + " account event " +
                                                 std::to_string((*events)[ev].id) + ": " + s.error().message);
      }
      Status s = ReplayTx(ctx, options.params, rec);
      if (!s.ok()) return Diverge("verify_tx_failed", TxWhere(n, i, rec) + ": " + s.error().code + ": " + s.error().message);
      hashes.push_back(TxHashBytes(rec.tx_hash));
    }
    for (; ev < events->size(); ++ev) {
      Status s = ApplyEvent(ctx, (*events)[ev]);
      if (!s.ok())
        return Diverge("verify_tx_failed", "batch " + std::to_string(n) + " account event " +
                                               std::to_string((*events)[ev].id) + ": " + s.error().message);
    }
    KRAY_TRY(ctx.Flush());
    ctx.ClearApplied();
    std::string tx_root = ToHex(TxRoot(hashes));
    if (tx_root != b->tx_root)
      return Diverge("verify_tx_root_mismatch", "batch " + std::to_string(n) + ": tx root " + tx_root +
                                                    " recomputed, published " + b->tx_root);
    auto root = ApplyDirtyToTree(**dst, nodes, n, false);
    if (!root.ok()) return std::move(root).error();
    if (ToHex(*root) != b->state_root)
      return Diverge("verify_state_root_mismatch", "batch " + std::to_string(n) + ": replayed state root " +
                                                       ToHex(*root) + ", published " + b->state_root +
                                                       ExplainStateMismatch(**src, **dst, n, *txs));
    auto cons = state::CheckConservation(**dst, {});
    if (!cons.ok()) return std::move(cons).error();
    if (!cons->ok)
      return Diverge("verify_conservation_failed", "batch " + std::to_string(n) + ": " + cons->ToString());
    KRAY_TRY(tx.Commit());
    ctx.ClearCache();
    sum.batches = n;
    sum.transactions += static_cast<std::int64_t>(txs->size());
    sum.events += static_cast<std::int64_t>(events->size());
    prev_root = b->state_root;
    prev_last = b->last_seq;
    if (options.progress_every > 0 && (n % options.progress_every == 0 || n == *total))
      say("batch " + std::to_string(n) + "/" + std::to_string(*total) + ": " + std::to_string(sum.transactions) +
          " txs replayed, state root " + prev_root + " OK");
  }
  auto rest = TransactionsInRange(**src, prev_last + 1, INT64_MAX);
  if (rest.ok()) sum.unbatched_txs = static_cast<std::int64_t>(rest->size());
  sum.final_root = prev_root;
  return sum;
}

}  // namespace kray::rollup
