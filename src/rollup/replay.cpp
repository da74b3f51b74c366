// Replay engine (see include/kray/rollup/replay.h).
#include "kray/rollup/replay.h"

#include <unistd.h>

#include <filesystem>
#include <set>

#include "kray/rollup/leaves.h"
#include "kray/rollup/node_store.h"
#include "kray/rollup/rollup.h"
#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"

namespace kray::rollup {
namespace {

Error Diverge(const std::string& code, const std::string& msg) {
  return {ErrorKind::kConflict, code, msg};
}

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

}  // namespace

struct ChainReplayer::Impl {
  std::unique_ptr<TempDir> tmp;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<state::WriteContext> ctx;
  MemoryNodeStore nodes;
  ChainParams params;
};

ChainReplayer::~ChainReplayer() {
  if (impl_) {
    impl_->ctx.reset();
    impl_->db.reset();
  }
}

Result<std::unique_ptr<ChainReplayer>> ChainReplayer::Create(const ChainParams& params, const std::string& temp_dir) {
  std::unique_ptr<ChainReplayer> r(new ChainReplayer());
  r->impl_ = std::make_unique<Impl>();
  r->impl_->params = params;
  r->impl_->tmp = std::make_unique<TempDir>(temp_dir);
  if (r->impl_->tmp->path.empty()) return Error::Internal("verify: cannot create a temp directory");
  store::OpenOptions wo;
  wo.synchronous = store::Synchronous::kNormal;
  auto db = store::Database::Open(r->impl_->tmp->path + "/replay.sqlite", wo);
  if (!db.ok()) return std::move(db).error();
  r->impl_->db = std::move(*db);
  r->impl_->ctx = std::make_unique<state::WriteContext>(*r->impl_->db, params);
  return r;
}

Status ChainReplayer::Genesis(const std::vector<Bytes>& leaves, const std::string& genesis_root_hex,
                              std::int64_t base_seq) {
  store::Database& db = *impl_->db;
  store::Transaction tx(db);
  KRAY_TRY(tx.status());
  KRAY_TRY(LoadGenesis(db, leaves));
  auto root = ApplyDirtyToTree(db, impl_->nodes, 0, false);
  if (!root.ok()) return std::move(root).error();
  if (ToHex(*root) != genesis_root_hex)
    return Diverge("verify_genesis_mismatch", "genesis: snapshot root " + ToHex(*root) +
                                                  " differs from the published genesis root " + genesis_root_hex);
  KRAY_TRY(tx.Commit());
  prev_root_ = genesis_root_hex;
  prev_last_ = base_seq;
  return Ok();
}

Bytes ChainReplayer::AccountLeaf(const std::string& account_id) {
  auto a = LoadAccountState(*impl_->db, account_id);
  if (!a.ok()) return {};
  auto data = EncodeAccountLeaf(*a);
  return data.ok() ? *data : Bytes{};
}

Status ChainReplayer::Batch(const BatchHeader& b, const std::vector<state::TxRecord>& txs,
                            const std::vector<AccountEvent>& events) {
  const std::int64_t n = b.number;
  touched_.clear();
  if (n != batches_ + 1)
    return Diverge("verify_batch_gap", "batch " + std::to_string(n) + " follows batch " + std::to_string(batches_));
  if (b.first_seq != prev_last_ + 1 || b.last_seq < b.first_seq)
    return Diverge("verify_batch_gap", "batch " + std::to_string(n) + " covers seq " + std::to_string(b.first_seq) +
                                           ".." + std::to_string(b.last_seq) + ", expected to start at " +
                                           std::to_string(prev_last_ + 1));
  if (b.prev_state_root != prev_root_)
    return Diverge("verify_prev_root_mismatch", "batch " + std::to_string(n) + ": prev_state_root " +
                                                    b.prev_state_root + " is not the previous root " + prev_root_);
  if (static_cast<std::int64_t>(txs.size()) != b.tx_count ||
      static_cast<std::int64_t>(txs.size()) != b.last_seq - b.first_seq + 1)
    return Diverge("verify_batch_gap", "batch " + std::to_string(n) + ": tx_count " + std::to_string(b.tx_count) +
                                           " but " + std::to_string(txs.size()) + " txs");
  for (std::size_t i = 0; i < txs.size(); ++i)
    if (static_cast<std::int64_t>(txs[i].seq) != b.first_seq + static_cast<std::int64_t>(i))
      return Diverge("verify_batch_gap", TxWhere(n, i, txs[i]) + ": out of order");
  std::set<std::string> touched;
  state::WriteContext& ctx = *impl_->ctx;
  store::Transaction tx(*impl_->db);
  KRAY_TRY(tx.status());
  auto fail = [&](Error e) {
    ctx.ClearApplied();
    ctx.ClearCache();
    return e;
  };
  std::size_t ev = 0;
  std::vector<Hash256> hashes;
  auto apply_event = [&](const AccountEvent& e) -> Status {
    touched.insert(e.account_id);
    Status s = ApplyEvent(ctx, e);
    if (!s.ok())
      return Diverge("verify_tx_failed", "batch " + std::to_string(n) + " account event " + std::to_string(e.id) +
                                             ": " + s.error().message);
    return Ok();
  };
  for (std::size_t i = 0; i < txs.size(); ++i) {
    const auto& rec = txs[i];
    for (; ev < events.size() && events[ev].after_seq < static_cast<std::int64_t>(rec.seq); ++ev) {
      Status s = apply_event(events[ev]);
      if (!s.ok()) return fail(std::move(s).error());
    }
    Status s = ReplayTx(ctx, impl_->params, rec);
    if (!s.ok())
      return fail(Diverge("verify_tx_failed", TxWhere(n, i, rec) + ": " + s.error().code + ": " + s.error().message));
    touched.insert(rec.from_id);
    touched.insert(rec.to_id);
    hashes.push_back(TxHashBytes(rec.tx_hash));
  }
  for (; ev < events.size(); ++ev) {
    Status s = apply_event(events[ev]);
    if (!s.ok()) return fail(std::move(s).error());
  }
  Status flushed = ctx.Flush();
  if (!flushed.ok()) return fail(std::move(flushed).error());
  ctx.ClearApplied();
  touched_.assign(touched.begin(), touched.end());
  std::string tx_root = ToHex(TxRoot(hashes));
  if (tx_root != b.tx_root)
    return fail(Diverge("verify_tx_root_mismatch",
                        "batch " + std::to_string(n) + ": tx root " + tx_root + " recomputed, published " + b.tx_root));
  auto root = ApplyDirtyToTree(*impl_->db, impl_->nodes, n, false);
  if (!root.ok()) return fail(std::move(root).error());
  if (ToHex(*root) != b.state_root) {
    // Keep the replayed post-batch state so the caller can explain the
    // difference (AccountLeaf); the replay cannot continue past this batch.
    KRAY_TRY(tx.Commit());
    ctx.ClearCache();
    return Diverge("verify_state_root_mismatch", "batch " + std::to_string(n) + ": replayed state root " +
                                                     ToHex(*root) + ", published " + b.state_root);
  }
  auto cons = state::CheckConservation(*impl_->db, {});
  if (!cons.ok()) return fail(std::move(cons).error());
  if (!cons->ok)
    return fail(Diverge("verify_conservation_failed", "batch " + std::to_string(n) + ": " + cons->ToString()));
  KRAY_TRY(tx.Commit());
  ctx.ClearCache();
  prev_root_ = b.state_root;
  prev_last_ = b.last_seq;
  batches_ = n;
  return Ok();
}

}  // namespace kray::rollup
