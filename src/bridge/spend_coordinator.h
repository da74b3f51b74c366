// Private to src/bridge: the spend coordinator's state (SpendCoordinator::
// Impl), shared by spends.cpp (thread, reads, co-signers' PSBTs),
// spend_build.cpp (a step, reconciling, building and reserving, anchors) and
// spend_steps.cpp (signing, broadcasting, replacing, settling, re-publishing).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kray/bridge/spend_tx.h"
#include "kray/bridge/spends.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "kray/store/reader_pool.h"
#include "spend_store.h"
#include "utxo_store.h"

namespace kray::bridge {

struct SpendCoordinator::Impl {
  Impl(state::Ledger& l, const DepositScanner& s, rollup::Rollup* r, std::optional<MemberKey> m, const SpendOptions& o)
      : ledger(l), scanner(s), rollup(r), member(std::move(m)), opts(o), federation(s.federation()), rpc(o.rpc) {}

  state::Ledger& ledger;
  const DepositScanner& scanner;
  rollup::Rollup* rollup;
  const std::optional<MemberKey> member;
  const SpendOptions opts;
  const Federation& federation;
  std::string path;  // bridge.sqlite
  int member_number = 0;
  Bytes change_script;  // the bridge's own address (index 0)

  // Spend mutations, from the thread and from SubmitSignatures.
  std::mutex work_mu;
  std::unique_ptr<store::Database> db;             // writer; guarded by work_mu
  BitcoinRpc rpc;                                  // guarded by work_mu
  bool reconciled = false;                         // guarded by work_mu
  std::int64_t anchor_checked = 0;                 // batches up to here need no new anchor; guarded by work_mu
  std::map<std::string, std::string> reorg_noted;  // settled spend -> what was last logged about it; work_mu

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;     // guarded by mu
  bool woken = false;        // guarded by mu
  CoordinatorStatus status;  // guarded by mu
  std::thread thread;

  mutable store::ReaderPool readers{4, 2048};  // path set by Open()

  Status Open();
  void Run();
  Status Step();                                                                         // takes work_mu
  Result<SubmitResult> Submit(std::string_view spend_id, std::string_view psbt_base64);  // under work_mu
  Status WithReader(const std::function<Status(store::Database&)>& fn) const;

  // --- steps (spend_steps.cpp), all under work_mu ---
  Status Reconcile();
  Status Recover(const Spend& spend);
  Status Advance(const local::LocalSpend& spend, std::uint32_t tip, std::int64_t now);
  Result<bool> AdoptMinedVersion(const Spend& spend, const local::LocalSpend& local,
                                 const std::vector<local::SpendVersion>& versions);
  Status BatchWithdrawals(std::uint32_t tip, std::int64_t now);
  Status Anchor(std::uint32_t tip);
  Status CreateSpend(const std::string& kind, const SpendPlan& plan, Amount reserve, state::Operation op);
  Status SignOwn(const Spend& spend, const local::LocalSpend& local, local::SpendVersion& version);
  Status FinalizeAndBroadcast(const Spend& spend, local::LocalSpend& local, local::SpendVersion& version,
                              SubmitResult* result);
  Status Replace(const Spend& spend, const local::LocalSpend& local, const local::SpendVersion& base, std::int64_t now);
  Status Settle(const local::LocalSpend& local, const local::SpendVersion& version, const scan::MinedTx& mined);
  Status RepublishReorged(std::uint32_t tip);
  Status CheckContent(const Spend& spend, const std::vector<Withdrawal>& withdrawals, const bitcoin::Psbt& psbt);
  std::int64_t CurrentFeerate();
  Result<std::vector<SpendInput>> SpendableInputs(std::uint32_t tip);
  std::vector<SpendInput> WithScripts(std::vector<SpendInput> inputs) const;
  std::vector<int> FullSigners(const bitcoin::Psbt& psbt, const local::LocalSpend& local) const;
  std::optional<bitcoin::RuneId> RuneOf(const std::string& asset) const;
  Result<std::vector<Payment>> PaymentsOf(const std::vector<Withdrawal>& withdrawals) const;
  void NoteWaiting(std::map<std::uint64_t, std::string> waiting);
};

}  // namespace kray::bridge
