// The spend coordinator's steps that move a spend on (see
// include/kray/bridge/spends.h): sign as this member, finalize, test and
// broadcast, replace by fee, re-publish, adopt a version signed elsewhere,
// settle; and co-signers' PSBTs. Building is in spend_build.cpp. Every
// function here runs under Impl::work_mu.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "kray/bridge/withdrawals.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/rollup.h"
#include "spend_coordinator.h"

namespace kray::bridge {
namespace {

constexpr std::int64_t kIncrementalRelayFee = 1000;  // sat/kvB: Bitcoin Core's -incrementalrelayfee default
bool Has(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

// --- signing, broadcasting, replacing, settling -----------------------------

// The transaction must be exactly what L2 says the spend pays.
Status SpendCoordinator::Impl::CheckContent(const Spend& spend, const std::vector<Withdrawal>& withdrawals,
                                            const bitcoin::Psbt& psbt) {
  std::vector<bitcoin::TxOut> spent;
  for (std::size_t i = 0; i < psbt.tx.vin.size(); ++i) {
    auto o = bitcoin::PsbtSpentOutput(psbt, i);
    if (!o) return Error::Invalid("psbt_missing_utxo", "input " + std::to_string(i) + " has no UTXO");
    spent.push_back(std::move(*o));
  }
  std::vector<Payment> payments;
  std::optional<Bytes> anchor;
  if (spend.kind == "withdrawals") {
    auto p = PaymentsOf(withdrawals);
    if (!p.ok()) return std::move(p).error();
    payments = std::move(*p);
  } else {
    if (!rollup) return Error::Unavailable("rollup_not_initialized", "no rollup index to check an anchor against");
    std::optional<Bytes> script;
    Status s = rollup->WithReader([&](store::Database& rdb) -> Status {
      auto header = rollup::GetBatch(rdb, spend.batch);
      if (!header.ok()) return std::move(header).error();
      auto sr = FromHexFixed<32>(header->state_root);
      auto tr = FromHexFixed<32>(header->tx_root);
      if (!sr || !tr) return Error::Internal("rollup: malformed roots");
      script = rollup::AnchorScript(static_cast<std::uint64_t>(spend.batch), *sr, *tr);
      return Ok();
    });
    if (!s.ok()) return s;
    anchor = std::move(script);
  }
  return CheckSpendTransaction(psbt.tx, spent, change_script, payments, anchor,
                               static_cast<std::int64_t>(spend.fee_reserve));
}

Status SpendCoordinator::Impl::SignOwn(const Spend& spend, const local::LocalSpend& l, local::SpendVersion& v) {
  if (!member || Has(v.signers, member_number)) return Ok();
  auto ws = ledger.Read<std::vector<Withdrawal>>([&](store::Database& sdb) { return SpendWithdrawals(sdb, spend.id); });
  if (!ws.ok()) return std::move(ws).error();
  // The signing code itself refuses a withdrawal in its challenge window or
  // challenged, whatever the caller checked.
  KRAY_TRY(CheckSignable(spend, *ws, ledger.Now()));
  auto psbt = bitcoin::ParsePsbt(v.psbt);
  if (!psbt.ok()) return std::move(psbt).error();
  KRAY_TRY(CheckContent(spend, *ws, *psbt));
  std::vector<std::uint32_t> indexes;
  for (const auto& in : l.inputs) indexes.push_back(in.address_index);
  KRAY_TRY(SignSpendAsMember(*psbt, *member, federation, indexes));
  v.psbt = bitcoin::SerializePsbt(*psbt);
  v.signers = FullSigners(*psbt, l);
  KRAY_TRY(local::PutVersion(*db, v));
  spdlog::info("bridge: spend {} version {} signed by member {} (signers {})", spend.id, v.version, member_number,
               local::FormatSigners(v.signers));
  return Ok();
}

Status SpendCoordinator::Impl::FinalizeAndBroadcast(const Spend& spend, local::LocalSpend& l, local::SpendVersion& v,
                                                    SubmitResult* result) {
  if (v.signers.size() < kFederationThreshold || !v.final_tx.empty()) return Ok();
  auto ws = ledger.Read<std::vector<Withdrawal>>([&](store::Database& sdb) { return SpendWithdrawals(sdb, spend.id); });
  if (!ws.ok()) return std::move(ws).error();
  KRAY_TRY(CheckSignable(spend, *ws, ledger.Now()));
  auto psbt = bitcoin::ParsePsbt(v.psbt);
  if (!psbt.ok()) return std::move(psbt).error();
  KRAY_TRY(CheckContent(spend, *ws, *psbt));
  KRAY_TRY(bitcoin::FinalizePsbt(*psbt));
  auto final_tx = bitcoin::ExtractTransaction(*psbt);
  if (!final_tx.ok()) return std::move(final_tx).error();
  v.final_tx = bitcoin::SerializeTransaction(*final_tx);
  auto accepted = rpc.TestMempoolAccept({*final_tx});
  if (!accepted.ok()) return std::move(accepted).error();  // L1 unreachable: retried next step
  if (accepted->empty() || !accepted->front().allowed) {
    v.reject_reason = accepted->empty() ? "no answer" : accepted->front().reject_reason;
    KRAY_TRY(local::PutVersion(*db, v));
    l.detail = "Bitcoin Core rejects version " + std::to_string(v.version) + " (" + v.txid + "): " + v.reject_reason;
    KRAY_TRY(local::SetSpendDetail(*db, l.id, l.detail));
    spdlog::warn("bridge: spend {}: {}", l.id, l.detail);
    if (result) result->rejected = v.reject_reason;
    return Ok();
  }
  auto sent = rpc.SendRawTransaction(*final_tx);
  if (!sent.ok()) {
    v.reject_reason = sent.error().message;
    KRAY_TRY(local::PutVersion(*db, v));
    if (result) result->rejected = v.reject_reason;
    return Ok();
  }
  v.broadcast_at = ledger.Now();
  v.reject_reason.clear();
  v.l1_seen = "mempool";
  KRAY_TRY(local::PutVersion(*db, v));
  l.detail.clear();
  KRAY_TRY(local::SetSpendDetail(*db, l.id, ""));
  spdlog::info("bridge: spend {} version {} broadcast: txid {}, fee {} sats ({} sat/kvB)", l.id, v.version, v.txid,
               v.fee, v.feerate);
  if (result) result->broadcast_txid = v.txid;
  return Ok();
}

Status SpendCoordinator::Impl::Replace(const Spend& spend, const local::LocalSpend& l, const local::SpendVersion& base,
                                       std::int64_t now) {
  auto psbt = bitcoin::ParsePsbt(base.psbt);
  if (!psbt.ok()) return std::move(psbt).error();
  const std::int64_t rate = std::min(
      opts.max_feerate, std::max({CurrentFeerate(), base.feerate * 3 / 2, base.feerate + kIncrementalRelayFee}));
  // BIP-125 rule 4: the replacement pays for its own relay on top of the old fee.
  std::int64_t fee = std::max(FeeFor(base.vsize, rate), base.fee + FeeFor(base.vsize, kIncrementalRelayFee));
  fee = std::min<std::int64_t>(fee, static_cast<std::int64_t>(spend.fee_reserve));
  std::string why;
  if (fee <= base.fee) why = "the fee reserve (" + std::to_string(spend.fee_reserve) + " sats) is reached";
  auto tx = why.empty() ? WithFee(psbt->tx, l.inputs, fee) : Result<bitcoin::Transaction>(Error::Internal(why));
  if (!tx.ok()) {
    const std::string detail = "cannot replace version " + std::to_string(base.version) + ": " + tx.error().message;
    if (l.detail != detail) {
      spdlog::warn("bridge: spend {}: {}", l.id, detail);
      KRAY_TRY(local::SetSpendDetail(*db, l.id, detail));
    }
    return Ok();
  }
  auto next = MakeSpendPsbt(*tx, WithScripts(l.inputs), federation);
  if (!next.ok()) return std::move(next).error();
  local::SpendVersion v;
  v.spend_id = l.id;
  v.version = base.version + 1;
  v.txid = bitcoin::HashToDisplayHex(bitcoin::Txid(*tx));
  v.fee = fee;
  v.vsize = base.vsize;
  v.feerate = base.vsize ? fee * 1000 / static_cast<std::int64_t>(base.vsize) : 0;
  v.psbt = bitcoin::SerializePsbt(*next);
  v.created_at = now;
  KRAY_TRY(local::PutVersion(*db, v));
  spdlog::info(
      "bridge: spend {} version {} (txid {}) replaces version {}: fee {} -> {} sats; needs {} signatures again", l.id,
      v.version, v.txid, base.version, base.fee, fee, kFederationThreshold);
  return Ok();
}

Status SpendCoordinator::Impl::Settle(const local::LocalSpend& l, const local::SpendVersion& v,
                                      const scan::MinedTx& mined) {
  state::Operation op;
  op.type = std::string(kSpendConfirmedOp);
  op.auth = state::Auth::kSystem;
  op.fields = {{"spend", l.id}, {"txid", v.txid}};
  op.evidence = {
      {"block_hash", mined.block_hash}, {"fee", std::to_string(v.fee)}, {"height", std::to_string(mined.height)}};
  auto r = ledger.SubmitSync(std::move(op));
  if (!r.ok() && r.error().code != "spend_already_confirmed") return std::move(r).error();
  KRAY_TRY(local::SetSpendState(*db, l.id, "done"));
  if (r.ok())
    spdlog::info("bridge: {} spend {} settled by operation {}: txid {} at height {}", l.kind, l.id, r->op->hash, v.txid,
                 mined.height);
  return Ok();
}

// A settled spend whose block a reorg took back: its L2 operation stands
// (the withdrawals are completed, the value left L2) and its inputs stay
// reserved, so nothing else is ever built on them; the same transaction
// must confirm again. Bitcoin Core normally puts it back in its mempool; if
// it did not (restarted without it, evicted), this node publishes it again.
// Only the latest settled spends are looked at: an older one is below any
// reorg the scanner follows.
Status SpendCoordinator::Impl::RepublishReorged(std::uint32_t tip) {
  auto st = db->Use(
      "SELECT l.id FROM spend_local l WHERE l.state='done' AND NOT EXISTS (SELECT 1 FROM spend_versions v JOIN "
      "scan_bridge_txs b ON b.txid=v.txid WHERE v.spend_id=l.id) ORDER BY l.created_at DESC LIMIT 20");
  if (!st.ok()) return std::move(st).error();
  auto ids = store::CollectRows<std::string>(**st, [](const store::Statement& r) { return r.Text(0); });
  if (!ids.ok()) return std::move(ids).error();
  for (const auto& id : *ids) {
    auto l2 = ledger.Read<std::optional<Spend>>([&](store::Database& sdb) { return FindSpend(sdb, id); });
    if (!l2.ok()) return std::move(l2).error();
    if (!l2->has_value() || (*l2)->status != "confirmed") continue;
    const Spend& spend = **l2;
    // Is the block L2 recorded still the scanner's block at that height?
    // (No block there while the tip is above it: before the scanner's start,
    // nothing to say.)
    auto blk = db->Use("SELECT hash FROM scan_blocks WHERE height=?1");
    if (!blk.ok()) return std::move(blk).error();
    (*blk)->Bind(1, static_cast<std::int64_t>(spend.height));
    auto hash = store::FirstRow<Bytes>(**blk, [](const store::Statement& r) { return r.Blob(0); });
    if (!hash.ok()) return std::move(hash).error();
    if (*hash) {
      Hash256 h{};
      if ((*hash)->size() == h.size()) std::copy((*hash)->begin(), (*hash)->end(), h.begin());
      if (bitcoin::HashToDisplayHex(h) == spend.block_hash) continue;
    } else if (spend.height <= tip) {
      continue;
    }
    auto note = [&](const std::string& what, bool error) {
      if (reorg_noted[id] == what) return;
      reorg_noted[id] = what;
      if (error)
        spdlog::error("bridge: settled spend {} (txid {}, block {} at height {}): {}", id, spend.txid, spend.block_hash,
                      spend.height, what);
      else
        spdlog::warn("bridge: settled spend {} (txid {}, block {} at height {}): {}", id, spend.txid, spend.block_hash,
                     spend.height, what);
    };
    auto versions = local::Versions(*db, id);
    if (!versions.ok()) return std::move(versions).error();
    const local::SpendVersion* settled = nullptr;
    for (const auto& v : *versions)
      if (v.txid == spend.txid && !v.final_tx.empty()) settled = &v;
    if (!settled) {
      note("a reorg took its block back and this node has no signed copy of it to publish: investigate", true);
      continue;
    }
    auto txid = bitcoin::HashFromDisplayHex(spend.txid);
    if (!txid.ok()) return std::move(txid).error();
    auto seen = rpc.GetRawTransaction(*txid);
    if (!seen.ok()) continue;  // L1 unreachable: the next step looks again
    if (*seen && (*seen)->InMempoolOrActiveChain()) {
      note("a reorg took its block back; Bitcoin Core has it again", false);
      continue;
    }
    auto tx = bitcoin::ParseTransaction(settled->final_tx);
    if (!tx.ok()) return std::move(tx).error();
    auto sent = rpc.SendRawTransaction(*tx);
    if (sent.ok())
      note("a reorg took its block back and Bitcoin Core had lost it: published again", false);
    else
      note("a reorg took its block back and publishing it again failed (" + sent.error().message + "): investigate",
           true);
  }
  return Ok();
}

Status SpendCoordinator::Impl::Advance(const local::LocalSpend& spend_row, std::uint32_t tip, std::int64_t now) {
  local::LocalSpend l = spend_row;
  auto l2 = ledger.Read<std::optional<Spend>>([&](store::Database& sdb) { return FindSpend(sdb, l.id); });
  if (!l2.ok()) return std::move(l2).error();
  if (!l2->has_value()) return Ok();  // not in L2 (Reconcile handles it)
  const Spend& spend = **l2;
  if (spend.status == "confirmed") return local::SetSpendState(*db, l.id, "done");
  auto versions = local::Versions(*db, l.id);
  if (!versions.ok()) return std::move(versions).error();
  if (versions->empty()) return Ok();
  // Mined: settle at N confirmations.
  for (auto& v : *versions) {
    auto mined = scan::FindBridgeTx(*db, v.txid);
    if (!mined.ok()) return std::move(mined).error();
    if (!*mined) continue;
    if (v.l1_seen != "block") {
      v.l1_seen = "block";
      KRAY_TRY(local::PutVersion(*db, v));
    }
    if (tip >= (*mined)->height && tip - (*mined)->height + 1 >= opts.confirmations) return Settle(l, v, **mined);
    return Ok();
  }
  // A block spent the reserved inputs with a transaction this node does not
  // know (signed elsewhere, or its record was lost): adopted if it pays
  // exactly this spend; settled from the next step on.
  auto adopted = AdoptMinedVersion(spend, l, *versions);
  if (!adopted.ok()) return std::move(adopted).error();
  if (*adopted) return Ok();
  local::SpendVersion& latest = versions->back();
  if (latest.final_tx.empty()) {
    Status signed_ok = SignOwn(spend, l, latest);
    if (!signed_ok.ok()) {
      if (l.detail != signed_ok.error().message) {
        spdlog::warn("bridge: spend {} not signed: {}", l.id, signed_ok.error().message);
        KRAY_TRY(local::SetSpendDetail(*db, l.id, signed_ok.error().message));
      }
      return Ok();
    }
    KRAY_TRY(FinalizeAndBroadcast(spend, l, latest, nullptr));
  }
  // Broadcast: still in the mempool? A version that left it (a reorg that
  // Core did not put back, an eviction) is broadcast again.
  const local::SpendVersion* last_broadcast = nullptr;
  for (auto& v : *versions)
    if (v.broadcast_at) last_broadcast = &v;
  if (last_broadcast) {
    local::SpendVersion v = *last_broadcast;
    auto seen = rpc.GetRawTransaction(*bitcoin::HashFromDisplayHex(v.txid));
    if (!seen.ok()) return std::move(seen).error();
    const bool there = *seen && (*seen)->InMempoolOrActiveChain();
    std::string l1 = there ? "mempool" : "missing";
    if (!there) {
      auto tx = bitcoin::ParseTransaction(v.final_tx);
      if (tx.ok() && rpc.SendRawTransaction(*tx).ok()) {
        l1 = "mempool";
        spdlog::warn("bridge: spend {} version {} ({}) was not in the mempool: published again", l.id, v.version,
                     v.txid);
      }
    }
    if (v.l1_seen != l1) {
      v.l1_seen = l1;
      KRAY_TRY(local::PutVersion(*db, v));
    }
  }
  // Unconfirmed (or rejected) for too long: a replacement with a higher fee,
  // once the latest version has been finalized (it needs new signatures).
  if (!latest.final_tx.empty()) {
    const std::int64_t since = latest.broadcast_at.value_or(latest.created_at);
    if (now - since >= opts.fee_bump_after.count()) KRAY_TRY(Replace(spend, l, latest, now));
  }
  return Ok();
}

Result<bool> SpendCoordinator::Impl::AdoptMinedVersion(const Spend& spend, const local::LocalSpend& l,
                                                       const std::vector<local::SpendVersion>& versions) {
  if (l.inputs.empty()) return false;
  auto st = db->Use("SELECT spent_txid FROM scan_utxos WHERE txid=?1 AND vout=?2 AND spent_txid IS NOT NULL");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, bitcoin::HashToDisplayHex(l.inputs[0].outpoint.txid));
  (*st)->Bind(2, static_cast<std::int64_t>(l.inputs[0].outpoint.n));
  auto spender = store::FirstRow<std::string>(**st, [](const store::Statement& r) { return r.Text(0); });
  if (!spender.ok()) return std::move(spender).error();
  if (!*spender) return false;
  for (const auto& v : versions)
    if (v.txid == **spender) return false;
  auto mined = scan::FindBridgeTx(*db, **spender);
  if (!mined.ok()) return std::move(mined).error();
  if (!*mined) return false;
  auto txid = bitcoin::HashFromDisplayHex(**spender);
  auto block = bitcoin::HashFromDisplayHex((*mined)->block_hash);
  if (!txid.ok() || !block.ok()) return Error::Internal("bridge: malformed scanner record of " + **spender);
  auto info = rpc.GetRawTransaction(*txid, &*block);
  if (!info.ok()) return std::move(info).error();
  if (!*info) return false;
  const bitcoin::Transaction& tx = (*info)->tx;
  // Same inputs, paying exactly what L2 says, within the reserve.
  const auto inputs = WithScripts(l.inputs);
  bool same_inputs = tx.vin.size() == inputs.size();
  for (std::size_t i = 0; same_inputs && i < inputs.size(); ++i) same_inputs = tx.vin[i].prevout == inputs[i].outpoint;
  bitcoin::Transaction unsigned_tx = tx;
  for (auto& in : unsigned_tx.vin) in.witness.clear();
  auto psbt = MakeSpendPsbt(unsigned_tx, inputs, federation);
  auto ws = ledger.Read<std::vector<Withdrawal>>([&](store::Database& sdb) { return SpendWithdrawals(sdb, spend.id); });
  if (!ws.ok()) return std::move(ws).error();
  Status pays = same_inputs && psbt.ok() ? CheckContent(spend, *ws, *psbt)
                                         : Status(Error::Invalid("spend_tx_mismatch", "it spends other inputs"));
  if (!pays.ok()) {
    const std::string detail = "its inputs were spent by " + **spender + ", which does not pay this spend (" +
                               pays.error().message + "): investigate; nothing is settled";
    if (l.detail != detail) {
      spdlog::error("bridge: spend {}: {}", l.id, detail);
      KRAY_TRY(local::SetSpendDetail(*db, l.id, detail));
    }
    return true;
  }
  std::int64_t out_sats = 0, in_sats = 0;
  for (const auto& o : tx.vout) out_sats += o.value;
  for (const auto& in : inputs) in_sats += in.sats;
  local::SpendVersion v;
  v.spend_id = l.id;
  v.version = versions.empty() ? 1 : versions.back().version + 1;
  v.txid = **spender;
  v.fee = in_sats - out_sats;
  v.vsize = bitcoin::TxVsize(tx);
  v.feerate = v.vsize ? v.fee * 1000 / static_cast<std::int64_t>(v.vsize) : 0;
  v.psbt = bitcoin::SerializePsbt(*psbt);
  v.final_tx = bitcoin::SerializeTransaction(tx);
  v.created_at = ledger.Now();
  v.broadcast_at = v.created_at;
  v.l1_seen = "block";
  KRAY_TRY(local::PutVersion(*db, v));
  spdlog::warn("bridge: spend {}: its inputs were spent by {} (not signed through this node); adopted as version {}",
               l.id, v.txid, v.version);
  return true;
}

Result<SubmitResult> SpendCoordinator::Impl::Submit(std::string_view spend_id, std::string_view psbt_base64) {
  auto found = local::FindSpend(*db, spend_id);
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value())
    return Error::NotFound("spend_not_found", "this node has no record of spend " + std::string(spend_id));
  local::LocalSpend l = **found;
  auto l2 = ledger.Read<std::optional<Spend>>([&](store::Database& sdb) { return FindSpend(sdb, l.id); });
  if (!l2.ok()) return std::move(l2).error();
  if (!l2->has_value() || l.state != "signing")
    return Error::Conflict("spend_not_signable", "spend " + l.id + " is " + l.state);
  auto ws = ledger.Read<std::vector<Withdrawal>>([&](store::Database& sdb) { return SpendWithdrawals(sdb, l.id); });
  if (!ws.ok()) return std::move(ws).error();
  KRAY_TRY(CheckSignable(**l2, *ws, ledger.Now()));
  auto incoming = bitcoin::ParsePsbtBase64(psbt_base64);
  if (!incoming.ok()) return Error::Invalid("invalid_psbt", "psbt: " + incoming.error().message);
  auto versions = local::Versions(*db, l.id);
  if (!versions.ok()) return std::move(versions).error();
  if (versions->empty()) return Error::Internal("bridge: spend " + l.id + " has no version");
  local::SpendVersion& v = versions->back();
  auto ours = bitcoin::ParsePsbt(v.psbt);
  if (!ours.ok()) return std::move(ours).error();
  if (incoming->tx != ours->tx)
    return Error::Invalid("psbt_tx_mismatch",
                          "the PSBT is not for the spend's current version (txid " + v.txid + "): fetch it again");
  SubmitResult result;
  if (!v.final_tx.empty()) {
    result.signers = v.signers;
    if (v.broadcast_at) result.broadcast_txid = v.txid;
    return result;
  }
  std::vector<std::uint32_t> indexes;
  for (const auto& in : l.inputs) indexes.push_back(in.address_index);
  auto merged = MergeVerifiedSignatures(*ours, *incoming, indexes, federation);
  if (!merged.ok()) return std::move(merged).error();
  result.added = merged->added;
  result.invalid = merged->invalid;
  if (merged->added == 0 && merged->invalid > 0)
    return Error::Unauthorized("invalid_signature",
                               std::to_string(merged->invalid) +
                                   " signature(s) in the PSBT do not verify against the BIP-341 sighash for a member's "
                                   "key; none was kept");
  v.psbt = bitcoin::SerializePsbt(*ours);
  v.signers = FullSigners(*ours, l);
  KRAY_TRY(local::PutVersion(*db, v));
  result.signers = v.signers;
  KRAY_TRY(FinalizeAndBroadcast(**l2, l, v, &result));
  return result;
}

}  // namespace kray::bridge
