// The spend coordinator (see include/kray/bridge/spends.h): its thread, the
// API-facing reads and co-signers' signatures. The steps that build, sign,
// broadcast, replace and settle spends are in spend_steps.cpp.
#include "kray/bridge/spends.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "kray/bridge/withdrawals.h"
#include "spend_coordinator.h"
#include "spend_store.h"
#include "utxo_store.h"

namespace kray::bridge {

Status SpendCoordinator::Impl::WithReader(const std::function<Status(store::Database&)>& fn) const {
  return readers.With(fn);
}

void SpendCoordinator::Impl::Run() {
  pthread_setname_np(pthread_self(), "kray-spends");
  for (;;) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, opts.poll_interval, [&] { return stopping || woken; });
      if (stopping) break;
      woken = false;
    }
    Status s = Step();
    std::lock_guard lock(mu);
    status.last_step = ledger.Now();
    if (s.ok()) {
      status.last_error.reset();
    } else {
      if (!status.last_error || status.last_error->message != s.error().message)
        spdlog::warn("bridge: spend step failed: {} ({})", s.error().message, s.error().code);
      status.last_error = s.error();
    }
  }
}

SpendCoordinator::SpendCoordinator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<SpendCoordinator>> SpendCoordinator::Open(state::Ledger& ledger, const DepositScanner& scanner,
                                                                 rollup::Rollup* rollup,
                                                                 std::optional<MemberKey> member,
                                                                 const SpendOptions& options) {
  if (options.confirmations == 0) return Error::Invalid("invalid_bridge_config", "confirmations must be at least 1");
  if (options.max_feerate < options.fallback_feerate)
    return Error::Invalid("invalid_bridge_config", "bridgemaxfeerate is below bridgefeerate");
  auto impl = std::make_unique<Impl>(ledger, scanner, rollup, std::move(member), options);
  KRAY_TRY(impl->Open());
  std::unique_ptr<SpendCoordinator> c(new SpendCoordinator(std::move(impl)));
  Impl& m = *c->impl_;
  m.thread = std::thread([&m] { m.Run(); });
  spdlog::info(
      "bridge: spend coordinator open: member {}, {} confirmations, fee rate {} sat/kvB (cap {}), "
      "replacement after {} s, anchors {}",
      m.member_number == 0 ? std::string("none") : std::to_string(m.member_number), options.confirmations,
      options.fallback_feerate, options.max_feerate, options.fee_bump_after.count(),
      options.anchors && rollup ? "on" : "off");
  return c;
}

SpendCoordinator::~SpendCoordinator() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void SpendCoordinator::Wake() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->woken = true;
  }
  impl_->cv.notify_all();
}

CoordinatorStatus SpendCoordinator::GetStatus() const {
  std::lock_guard lock(impl_->mu);
  return impl_->status;
}

const SpendOptions& SpendCoordinator::options() const {
  return impl_->opts;
}

Result<SpendView> SpendCoordinator::GetSpend(std::string_view spend_id) const {
  SpendView view;
  const auto tip = impl_->scanner.GetStatus().scan_height;
  Status s = impl_->WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    auto local = local::FindSpend(db, spend_id);
    if (!local.ok()) return std::move(local).error();
    if (!local->has_value())
      return Error::NotFound("spend_not_found", "this node has no record of spend " + std::string(spend_id));
    const local::LocalSpend& l = **local;
    view.id = l.id;
    view.kind = l.kind;
    view.batch = l.batch;
    view.state = l.state;
    view.detail = l.detail;
    for (const auto& in : l.inputs)
      view.inputs.push_back(bitcoin::HashToDisplayHex(in.outpoint.txid) + ":" + std::to_string(in.outpoint.n));
    auto versions = local::Versions(db, spend_id);
    if (!versions.ok()) return std::move(versions).error();
    for (const auto& v : *versions) {
      view.versions.push_back(SpendVersionView{v.version, v.txid, v.fee, v.feerate, v.vsize, v.signers,
                                               !v.final_tx.empty(), v.broadcast_at, v.reject_reason, v.l1_seen});
      auto mined = scan::FindBridgeTx(db, v.txid);
      if (!mined.ok()) return std::move(mined).error();
      if (*mined) {
        view.mined_height = (*mined)->height;
        view.mined_txid = v.txid;
        if (tip && *tip >= (*mined)->height) view.confirmations = *tip - (*mined)->height + 1;
      }
    }
    if (!versions->empty()) view.psbt_base64 = bitcoin::Base64Encode(versions->back().psbt);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return view;
}

Result<SubmitResult> SpendCoordinator::SubmitSignatures(std::string_view spend_id, std::string_view psbt_base64) {
  std::lock_guard work(impl_->work_mu);
  return impl_->Submit(spend_id, psbt_base64);
}

AnchorView SpendCoordinator::AnchorOf(std::int64_t batch) const {
  AnchorView view;
  auto l2 =
      impl_->ledger.Read<std::optional<Spend>>([&](store::Database& db) { return AnchorSpendOfBatch(db, batch); });
  if (!l2.ok() || !l2->has_value()) return view;
  const Spend& spend = **l2;
  view.spend_id = spend.id;
  if (spend.status == "confirmed") {
    view.status = "finalized";
    view.txid = spend.txid;
    view.height = spend.height;
    return view;
  }
  auto spend_view = GetSpend(spend.id);
  if (!spend_view.ok()) return view;
  if (spend_view->mined_height) {
    view.status = "anchored";
    view.txid = spend_view->mined_txid;
    view.height = *spend_view->mined_height;
    return view;
  }
  for (auto it = spend_view->versions.rbegin(); it != spend_view->versions.rend(); ++it) {
    if (it->broadcast_at && it->l1 != "missing") {
      view.status = "anchored";
      view.txid = it->txid;
      return view;
    }
  }
  return view;
}

}  // namespace kray::bridge
