// The spend coordinator's steps that build spends (see
// include/kray/bridge/spends.h): one step, reconciliation after a restart,
// coin selection, reserving inputs before the operation that commits a
// spend, anchors. Signing, broadcasting, replacing and settling are in
// spend_steps.cpp. Every function here runs under Impl::work_mu.
#include <spdlog/spdlog.h>

#include <algorithm>

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
  readers.SetPath(path);
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
  KRAY_TRY(RepublishReorged(tip));
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
    auto l2 = ledger.Read<std::optional<Spend>>([&](store::Database& sdb) { return FindSpend(sdb, s.id); });
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
  auto open = ledger.Read<std::vector<Spend>>([](store::Database& sdb) { return OpenSpends(sdb); });
  if (!open.ok()) return std::move(open).error();
  for (const auto& spend : *open) {
    auto local = local::FindSpend(*db, spend.id);
    if (!local.ok()) return std::move(local).error();
    if (!local->has_value()) KRAY_TRY(Recover(spend));
  }
  return Ok();
}

Status SpendCoordinator::Impl::Recover(const Spend& spend) {
  auto ops = ledger.Read<std::vector<state::Operation>>([&](store::Database& sdb) {
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
  auto config = ledger.Read<BridgeConfig>([](store::Database& sdb) { return ReadBridgeConfig(sdb); });
  if (!config.ok()) return std::move(config).error();
  auto due = ledger.Read<std::vector<Withdrawal>>(
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
  const std::int64_t feerate = CurrentFeerate();
  auto plan = PlanWithdrawalSpend(payments, *available, change_script, feerate);
  if (!plan.ok() && chosen.size() > 1) {
    // One withdrawal the bridge cannot fund now (more than its spendable
    // outputs, a rune it does not hold) must not hold the others back: those
    // that fit together, in id order, go.
    std::vector<Withdrawal> fit;
    std::vector<Payment> fit_payments;
    std::optional<SpendPlan> best;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      auto candidate = fit_payments;
      candidate.push_back(payments[i]);
      auto p = PlanWithdrawalSpend(candidate, *available, change_script, feerate);
      if (!p.ok()) {
        waiting[chosen[i].id] = p.error().message;
        continue;
      }
      fit_payments = std::move(candidate);
      fit.push_back(chosen[i]);
      best = std::move(*p);
    }
    if (best) {
      chosen = std::move(fit);
      plan = std::move(*best);
    }
  }
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
               id, receipt->op->hash, receipt->op->seq, plan.inputs.size(), plan.fee, reserve);
  return Ok();
}

// One anchor at a time: the next closed batch that is not anchoring
// bookkeeping only (a batch of anchor operations would otherwise make the
// next batch, forever).
Status SpendCoordinator::Impl::Anchor(std::uint32_t tip) {
  if (!opts.anchors || !rollup) return Ok();
  auto config = ledger.Read<BridgeConfig>([](store::Database& sdb) { return ReadBridgeConfig(sdb); });
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
  auto last_anchored = ledger.Read<std::int64_t>([](store::Database& sdb) { return LastAnchoredBatch(sdb); });
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
        auto ops = ledger.Read<std::vector<state::Operation>>([&](store::Database& sdb) {
          return state::OperationsInRange(sdb, static_cast<std::uint64_t>(header->first_seq),
                                          static_cast<std::uint64_t>(header->last_seq), kMaxBookkeepingBatch);
        });
        if (!ops.ok()) return std::move(ops).error();
        for (const auto& op : *ops) {
          if (op.type == kAnchorPublishOp) continue;
          if (op.type == kSpendConfirmedOp) {
            auto spend = ledger.Read<std::optional<Spend>>(
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

}  // namespace kray::bridge
