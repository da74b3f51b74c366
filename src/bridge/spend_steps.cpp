// The spend coordinator's steps (see include/kray/bridge/spends.h): build
// and reserve, sign, finalize and broadcast, replace, settle. Every function
// here runs under Impl::work_mu.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "kray/bitcoin/address.h"
#include "kray/bridge/runes_store_sqlite.h"
#include "kray/bridge/withdrawals.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/rollup.h"
#include "kray/state/leaves.h"
#include "kray/state/op_log.h"
#include "spend_coordinator.h"

namespace kray::bridge {
namespace {

constexpr std::int64_t kIncrementalRelayFee = 1000;  // sat/kvB: Bitcoin Core's -incrementalrelayfee default
constexpr int kMaxDueScanned = 200;
constexpr std::int64_t kMaxBookkeepingBatch = 16;  // a batch larger than this is never anchoring bookkeeping only

std::string Outpoint(const bitcoin::OutPoint& o) {
  return bitcoin::HashToDisplayHex(o.txid) + ":" + std::to_string(o.n);
}

bool Has(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

Status SpendCoordinator::Impl::Open() {
  path = scanner.path();
  auto opened = store::Database::Open(path);
  if (!opened.ok()) return std::move(opened).error();
  db = std::move(*opened);
  KRAY_TRY(db->Migrate("bridge_scan", BridgeScanMigrations()));
  auto change = federation.Policy(0);
  if (!change.ok()) return std::move(change).error();
  change_script = change->script_pubkey;
  if (member) {
    member_number = MemberNumber(*member, federation);
    if (member_number == 0)
      return Error::Invalid("invalid_bridge_config", "the member key is not one of the federation's keys");
  }
  std::lock_guard lock(mu);
  status.member = member.has_value();
  status.member_number = member_number;
  return Ok();
}

Status SpendCoordinator::Impl::Step() {
  std::lock_guard work(work_mu);
  const ScannerStatus scan = scanner.GetStatus();
  if (!scan.scan_height || !scan.l1_reachable) return Ok();  // nothing to act on yet
  if (!reconciled) {
    KRAY_TRY(Reconcile());
    reconciled = true;
  }
  const std::uint32_t tip = *scan.scan_height;
  const std::int64_t now = ledger.Now();
  auto active = local::SpendsIn(*db, "signing");
  if (!active.ok()) return std::move(active).error();
  for (const auto& s : *active) KRAY_TRY(Advance(s, tip, now));
  // Alarms mean L2 may hold value L1 no longer backs: nothing new is built
  // or signed until they are resolved (spends already broadcast go on).
  if (scan.open_alarms > 0) {
    NoteWaiting({});
    return Ok();
  }
  KRAY_TRY(BatchWithdrawals(tip, now));
  return Anchor(tip);
}

// After a restart: a spend whose operation committed goes on, one whose
// operation never committed gives its inputs back; a spend L2 has but this
// file does not (bridge.sqlite deleted) is recovered from its operation.
Status SpendCoordinator::Impl::Reconcile() {
  auto reserving = local::SpendsIn(*db, "reserving");
  if (!reserving.ok()) return std::move(reserving).error();
  for (const auto& s : *reserving) {
    auto l2 = ReadLedger<std::optional<Spend>>([&](store::Database& sdb) { return FindSpend(sdb, s.id); });
    if (!l2.ok()) return std::move(l2).error();
    store::Transaction tx(*db);
    KRAY_TRY(tx.status());
    if (l2->has_value()) {
      KRAY_TRY(local::SetSpendState(*db, s.id, "signing"));
    } else {
      KRAY_TRY(scan::ReleaseReservations(*db, s.id));
      KRAY_TRY(local::DeleteSpend(*db, s.id));
      spdlog::info("bridge: spend {} was never recorded in L2; its inputs are free again", s.id);
    }
    KRAY_TRY(tx.Commit());
  }
  auto open = ReadLedger<std::vector<Spend>>([](store::Database& sdb) { return OpenSpends(sdb); });
  if (!open.ok()) return std::move(open).error();
  for (const auto& spend : *open) {
    auto local = local::FindSpend(*db, spend.id);
    if (!local.ok()) return std::move(local).error();
    if (!local->has_value()) KRAY_TRY(Recover(spend));
  }
  return Ok();
}

Status SpendCoordinator::Impl::Recover(const Spend& spend) {
  auto ops = ReadLedger<std::vector<state::Operation>>([&](store::Database& sdb) {
    return state::OperationsTouching(sdb, state::LeafKey(kBridgeSpendLeaf, spend.id), 0, 100);
  });
  if (!ops.ok()) return std::move(ops).error();
  std::optional<bitcoin::Transaction> tx;
  for (const auto& op : *ops)
    if (auto hex = op.Evidence("tx")) {
      auto parsed = bitcoin::ParseTransactionHex(*hex);
      if (parsed.ok()) tx = std::move(*parsed);
    }
  if (!tx) return Error::Internal("bridge: spend " + spend.id + " has no recorded transaction");
  local::LocalSpend l{spend.id, spend.kind, spend.batch, "signing", spend.fee_reserve, {}, "recovered", ledger.Now()};
  std::int64_t in_sats = 0;
  for (const auto& in : tx->vin) {
    auto st = db->Use("SELECT address_index, sats FROM scan_utxos WHERE txid=?1 AND vout=?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, bitcoin::HashToDisplayHex(in.prevout.txid)).Bind(2, static_cast<std::int64_t>(in.prevout.n));
    auto row = store::FirstRow<std::pair<std::int64_t, std::int64_t>>(
        **st, [](const store::Statement& s) { return std::make_pair(s.Int64(0), s.Int64(1)); });
    if (!row.ok()) return std::move(row).error();
    if (!row->has_value())
      return Error::Unavailable("bridge_recovery_pending", "spend " + spend.id + ": input " + Outpoint(in.prevout) +
                                                               " is not known to the scanner yet");
    l.inputs.push_back(SpendInput{in.prevout, static_cast<std::uint32_t>((*row)->first), (*row)->second, {}, {}});
    in_sats += (*row)->second;
  }
  std::int64_t out_sats = 0;
  for (const auto& o : tx->vout) out_sats += o.value;
  auto psbt = MakeSpendPsbt(*tx, WithScripts(l.inputs), federation);
  if (!psbt.ok()) return std::move(psbt).error();
  local::SpendVersion v;
  v.spend_id = spend.id;
  v.txid = spend.id;
  v.fee = in_sats - out_sats;
  v.vsize = SpendVsize(*tx);
  v.feerate = v.vsize ? v.fee * 1000 / static_cast<std::int64_t>(v.vsize) : 0;
  v.psbt = bitcoin::SerializePsbt(*psbt);
  v.created_at = ledger.Now();
  std::vector<bitcoin::OutPoint> outpoints;
  for (const auto& in : l.inputs) outpoints.push_back(in.outpoint);
  store::Transaction t(*db);
  KRAY_TRY(t.status());
  KRAY_TRY(scan::ReleaseReservations(*db, spend.id));
  KRAY_TRY(scan::Reserve(*db, outpoints, spend.id));
  KRAY_TRY(local::InsertSpend(*db, l));
  KRAY_TRY(local::PutVersion(*db, v));
  KRAY_TRY(t.Commit());
  spdlog::warn("bridge: spend {} recovered from its operation (its signatures must be given again)", spend.id);
  return Ok();
}

std::vector<SpendInput> SpendCoordinator::Impl::WithScripts(std::vector<SpendInput> inputs) const {
  for (auto& in : inputs) {
    auto policy = federation.Policy(in.address_index);
    if (policy.ok()) in.script_pubkey = policy->script_pubkey;
  }
  return inputs;
}

std::int64_t SpendCoordinator::Impl::CurrentFeerate() {
  std::int64_t rate = opts.fallback_feerate;
  auto estimate = rpc.EstimateSmartFee(opts.fee_target_blocks);
  if (estimate.ok() && estimate->sat_per_kvb) rate = *estimate->sat_per_kvb;
  return std::clamp<std::int64_t>(rate, 0, opts.max_feerate);
}

Result<std::vector<SpendInput>> SpendCoordinator::Impl::SpendableInputs(std::uint32_t tip) {
  auto outputs = scan::SpendableOutputs(*db, tip);
  if (!outputs.ok()) return std::move(outputs).error();
  SqliteRunesStore runes(*db);
  std::vector<SpendInput> out;
  for (const auto& o : *outputs) {
    auto txid = bitcoin::HashFromDisplayHex(o.txid);
    if (!txid.ok()) return std::move(txid).error();
    SpendInput in{bitcoin::OutPoint{*txid, o.vout}, o.address_index, o.sats, {}, {}};
    auto balances = runes.Balances(in.outpoint);
    if (!balances.ok()) return std::move(balances).error();
    in.runes = std::move(*balances);
    out.push_back(std::move(in));
  }
  return WithScripts(std::move(out));
}

std::optional<bitcoin::RuneId> SpendCoordinator::Impl::RuneOf(const std::string& asset) const {
  for (const auto& r : scanner.options().runes)
    if (r.asset == asset) return r.id;
  return std::nullopt;
}

Result<std::vector<Payment>> SpendCoordinator::Impl::PaymentsOf(const std::vector<Withdrawal>& withdrawals) const {
  std::vector<Payment> out;
  for (const auto& w : withdrawals) {
    auto script = bitcoin::AddressToScriptPubKey(w.l1_address, ledger.params().network);
    if (!script.ok()) return std::move(script).error();
    // Paid to the bridge's own address it would become bridge change, lost
    // to its owner: never built (the operator challenges and refunds it).
    if (*script == change_script)
      return Error::Invalid("withdrawal_to_bridge", "withdrawal " + std::to_string(w.id) +
                                                        " pays the bridge's own address; challenge and refund it");
    Payment p{w.id, std::move(*script), w.amount, std::nullopt};
    if (w.asset != "BTC") {
      p.rune = RuneOf(w.asset);
      if (!p.rune)
        return Error::Unavailable("bridge_rune_not_configured",
                                  "asset " + w.asset + " has no rune id on this node (bridgerunes)");
    }
    out.push_back(std::move(p));
  }
  return out;
}

void SpendCoordinator::Impl::NoteWaiting(std::map<std::uint64_t, std::string> waiting) {
  std::lock_guard lock(mu);
  status.waiting = std::move(waiting);
}

std::vector<int> SpendCoordinator::Impl::FullSigners(const bitcoin::Psbt& psbt, const local::LocalSpend& l) const {
  std::vector<int> all = {1, 2, 3};
  for (std::size_t i = 0; i < l.inputs.size(); ++i) {
    auto signers = VerifiedSigners(psbt, i, federation, l.inputs[i].address_index);
    std::vector<int> keep;
    if (signers.ok())
      for (int m : all)
        if (Has(*signers, m)) keep.push_back(m);
    all = std::move(keep);
  }
  return all;
}

// --- building ----------------------------------------------------------------

Status SpendCoordinator::Impl::BatchWithdrawals(std::uint32_t tip, std::int64_t now) {
  auto config = ReadLedger<BridgeConfig>([](store::Database& sdb) { return ReadBridgeConfig(sdb); });
  if (!config.ok()) return std::move(config).error();
  auto due = ReadLedger<std::vector<Withdrawal>>(
      [&](store::Database& sdb) { return DueWithdrawals(sdb, now, kMaxDueScanned); });
  if (!due.ok()) return std::move(due).error();
  std::map<std::uint64_t, std::string> waiting;
  if (config->fee_account.empty()) {
    for (const auto& w : *due) waiting[w.id] = "the bridge has no fee account (genesis): nothing can be paid";
    NoteWaiting(std::move(waiting));
    return Ok();
  }
  std::vector<Withdrawal> chosen;
  std::vector<Payment> payments;
  for (const auto& w : *due) {
    auto p = PaymentsOf({w});
    if (!p.ok()) {
      waiting[w.id] = p.error().message;
      continue;
    }
    auto candidate = payments;
    candidate.push_back(p->front());
    if (payments.size() >= kMaxWithdrawalsPerSpend || !RunestoneFits(candidate)) {
      waiting[w.id] = "waits for the next transaction (this one is full)";
      continue;
    }
    payments = std::move(candidate);
    chosen.push_back(w);
  }
  if (payments.empty()) {
    NoteWaiting(std::move(waiting));
    return Ok();
  }
  auto available = SpendableInputs(tip);
  if (!available.ok()) return std::move(available).error();
  auto plan = PlanWithdrawalSpend(payments, std::move(*available), change_script, CurrentFeerate());
  if (!plan.ok()) {
    for (const auto& w : chosen) waiting[w.id] = plan.error().message;
    NoteWaiting(std::move(waiting));
    return Ok();
  }
  std::vector<std::uint64_t> ids;
  for (const auto& w : chosen) ids.push_back(w.id);
  const Amount reserve = static_cast<Amount>(std::max(FeeFor(plan->vsize, opts.max_feerate), plan->fee));
  state::Operation op;
  op.type = std::string(kWithdrawalBatchOp);
  op.auth = state::Auth::kSystem;
  op.fields = {{"dust", std::to_string(plan->dust)},
               {"fee_reserve", std::to_string(reserve)},
               {"spend", bitcoin::HashToDisplayHex(bitcoin::Txid(plan->tx))},
               {"withdrawals", FormatIdList(ids)}};
  Status s = CreateSpend("withdrawals", *plan, reserve, std::move(op));
  if (!s.ok()) {
    for (const auto& w : chosen) waiting[w.id] = s.error().message;
  }
  NoteWaiting(std::move(waiting));
  return Ok();
}

// Reserves the inputs and records the spend locally, then commits it to L2;
// gives the inputs back if L2 refuses it.
Status SpendCoordinator::Impl::CreateSpend(const std::string& kind, const SpendPlan& plan, Amount reserve,
                                           state::Operation op) {
  const std::string id = bitcoin::HashToDisplayHex(bitcoin::Txid(plan.tx));
  auto psbt = MakeSpendPsbt(plan.tx, plan.inputs, federation);
  if (!psbt.ok()) return std::move(psbt).error();
  local::LocalSpend l{id, kind, 0, "reserving", reserve, plan.inputs, "", ledger.Now()};
  if (auto batch = op.Field("batch")) l.batch = std::stoll(std::string(*batch));
  local::SpendVersion v;
  v.spend_id = id;
  v.txid = id;
  v.fee = plan.fee;
  v.vsize = plan.vsize;
  v.feerate = plan.vsize ? plan.fee * 1000 / static_cast<std::int64_t>(plan.vsize) : 0;
  v.psbt = bitcoin::SerializePsbt(*psbt);
  v.created_at = ledger.Now();
  std::vector<bitcoin::OutPoint> outpoints;
  for (const auto& in : plan.inputs) outpoints.push_back(in.outpoint);
  {
    store::Transaction tx(*db);
    KRAY_TRY(tx.status());
    KRAY_TRY(scan::Reserve(*db, outpoints, id));
    KRAY_TRY(local::InsertSpend(*db, l));
    KRAY_TRY(local::PutVersion(*db, v));
    KRAY_TRY(tx.Commit());
  }
  op.evidence = {{"tx", ToHex(bitcoin::SerializeTransaction(plan.tx, false))}};
  auto receipt = ledger.SubmitSync(std::move(op));
  store::Transaction tx(*db);
  KRAY_TRY(tx.status());
  if (!receipt.ok()) {
    KRAY_TRY(scan::ReleaseReservations(*db, id));
    KRAY_TRY(local::DeleteSpend(*db, id));
    KRAY_TRY(tx.Commit());
    spdlog::warn("bridge: {} spend {} refused by L2: {} ({})", kind, id, receipt.error().message, receipt.error().code);
    return std::move(receipt).error();
  }
  KRAY_TRY(local::SetSpendState(*db, id, "signing"));
  KRAY_TRY(tx.Commit());
  spdlog::info("bridge: {} spend {} created by operation {} (seq {}): {} inputs, fee {} sats, reserve {} sats", kind,
               id, receipt->op.hash, receipt->op.seq, plan.inputs.size(), plan.fee, reserve);
  return Ok();
}

// One anchor at a time: the next closed batch that is not anchoring
// bookkeeping only (a batch of anchor operations would otherwise make the
// next batch, forever).
Status SpendCoordinator::Impl::Anchor(std::uint32_t tip) {
  if (!opts.anchors || !rollup) return Ok();
  auto config = ReadLedger<BridgeConfig>([](store::Database& sdb) { return ReadBridgeConfig(sdb); });
  if (!config.ok()) return std::move(config).error();
  if (config->fee_account.empty()) return Ok();
  auto active = local::SpendsIn(*db, "signing");
  if (!active.ok()) return std::move(active).error();
  for (const auto& s : *active) {
    if (s.kind != "anchor") continue;
    auto versions = local::Versions(*db, s.id);
    if (!versions.ok()) return std::move(versions).error();
    bool broadcast = false;
    for (const auto& v : *versions) broadcast |= v.broadcast_at.has_value();
    if (!broadcast) return Ok();
  }
  auto last_anchored = ReadLedger<std::int64_t>([](store::Database& sdb) { return LastAnchoredBatch(sdb); });
  if (!last_anchored.ok()) return std::move(last_anchored).error();
  std::optional<rollup::BatchHeader> next;
  Status s = rollup->WithReader([&](store::Database& rdb) -> Status {
    auto st = rollup::GetRollupStatus(rdb);
    if (!st.ok()) return std::move(st).error();
    for (std::int64_t n = std::max(anchor_checked, *last_anchored) + 1; n <= st->last_batch(); ++n) {
      auto header = rollup::GetBatch(rdb, n);
      if (!header.ok()) return std::move(header).error();
      bool bookkeeping = header->tx_count <= kMaxBookkeepingBatch;
      if (bookkeeping) {
        auto ops = ReadLedger<std::vector<state::Operation>>([&](store::Database& sdb) {
          return state::OperationsInRange(sdb, static_cast<std::uint64_t>(header->first_seq),
                                          static_cast<std::uint64_t>(header->last_seq), kMaxBookkeepingBatch);
        });
        if (!ops.ok()) return std::move(ops).error();
        for (const auto& op : *ops) {
          if (op.type == kAnchorPublishOp) continue;
          if (op.type == kSpendConfirmedOp) {
            auto spend = ReadLedger<std::optional<Spend>>(
                [&](store::Database& sdb) { return FindSpend(sdb, op.Field("spend").value_or("")); });
            if (spend.ok() && spend->has_value() && (*spend)->kind == "anchor") continue;
          }
          bookkeeping = false;
        }
      }
      if (!bookkeeping) {
        next = std::move(*header);
        return Ok();
      }
      anchor_checked = n;
    }
    return Ok();
  });
  if (!s.ok()) return s;
  if (!next) return Ok();
  auto sr = FromHexFixed<32>(next->state_root);
  auto tr = FromHexFixed<32>(next->tx_root);
  if (!sr || !tr) return Error::Internal("rollup: batch " + std::to_string(next->number) + " has malformed roots");
  const Bytes script = rollup::AnchorScript(static_cast<std::uint64_t>(next->number), *sr, *tr);
  auto available = SpendableInputs(tip);
  if (!available.ok()) return std::move(available).error();
  auto plan = PlanAnchorSpend(script, std::move(*available), change_script, CurrentFeerate());
  if (!plan.ok()) return std::move(plan).error();
  const Amount reserve = static_cast<Amount>(std::max(FeeFor(plan->vsize, opts.max_feerate), plan->fee));
  state::Operation op;
  op.type = std::string(kAnchorPublishOp);
  op.auth = state::Auth::kSystem;
  op.fields = {{"batch", std::to_string(next->number)},
               {"fee_reserve", std::to_string(reserve)},
               {"spend", bitcoin::HashToDisplayHex(bitcoin::Txid(plan->tx))}};
  KRAY_TRY(CreateSpend("anchor", *plan, reserve, std::move(op)));
  anchor_checked = next->number;
  return Ok();
}

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
  auto ws = ReadLedger<std::vector<Withdrawal>>([&](store::Database& sdb) { return SpendWithdrawals(sdb, spend.id); });
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
  auto ws = ReadLedger<std::vector<Withdrawal>>([&](store::Database& sdb) { return SpendWithdrawals(sdb, spend.id); });
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
    spdlog::info("bridge: {} spend {} settled by operation {}: txid {} at height {}", l.kind, l.id, r->op.hash, v.txid,
                 mined.height);
  return Ok();
}

Status SpendCoordinator::Impl::Advance(const local::LocalSpend& spend_row, std::uint32_t tip, std::int64_t now) {
  local::LocalSpend l = spend_row;
  auto l2 = ReadLedger<std::optional<Spend>>([&](store::Database& sdb) { return FindSpend(sdb, l.id); });
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
    std::string l1 = *seen ? "mempool" : "missing";
    if (!*seen) {
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

Result<SubmitResult> SpendCoordinator::Impl::Submit(std::string_view spend_id, std::string_view psbt_base64) {
  auto found = local::FindSpend(*db, spend_id);
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value())
    return Error::NotFound("spend_not_found", "this node has no record of spend " + std::string(spend_id));
  local::LocalSpend l = **found;
  auto l2 = ReadLedger<std::optional<Spend>>([&](store::Database& sdb) { return FindSpend(sdb, l.id); });
  if (!l2.ok()) return std::move(l2).error();
  if (!l2->has_value() || l.state != "signing")
    return Error::Conflict("spend_not_signable", "spend " + l.id + " is " + l.state);
  auto ws = ReadLedger<std::vector<Withdrawal>>([&](store::Database& sdb) { return SpendWithdrawals(sdb, l.id); });
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
