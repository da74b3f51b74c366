// The rollup tests' fixture: a ledger on a temp datadir with the rollup
// index on top, and the helpers every rollup test uses (sending, closing,
// proving, verifying, replaying batches as a remote verifier gets them).
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "kray/crypto/hash.h"
#include "kray/rollup/json.h"
#include "kray/rollup/replay.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/verify.h"
#include "kray/state/core_module.h"
#include "kray/state/executor.h"
#include "kray/state/leaves.h"
#include "kray/state/op_log.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"
#include "kray/testsupport/example_module.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::rollup {

using test::TempDir;
using test::TestKey;

inline const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(test::ExampleModule()).ok());
    return reg;
  }();
  return r;
}

class RollupTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }

  void Start(bool with_rollup = true) {
    state::LedgerOptions o;
    o.datadir = dir_.file("data");
    o.genesis_path = test::RegtestGenesisPath();
    o.synchronous = "NORMAL";
    o.clock_offset = clock_offset_;
    auto l = state::Ledger::Open(o, Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    if (!with_rollup) return;
    auto r = Rollup::Open(*ledger_, opts_);
    ASSERT_TRUE(r.ok()) << r.error().message;
    rollup_ = std::move(*r);
  }
  void Stop() {
    ledger_.reset();  // the ledger first: it publishes to the index
    rollup_.reset();
  }
  void Restart(bool with_rollup = true) {
    Stop();
    Start(with_rollup);
  }

  Result<state::Receipt> Send(const TestKey& from, const std::string& to, Amount amount,
                              const std::string& asset = "KRAY", const std::string& scheme = "",
                              const std::string& from_as = "") {
    auto acct = ledger_->GetAccount(from_as.empty() ? from.account_id : from_as);
    if (!acct.ok()) return std::move(acct).error();
    auto op = test::SignOperation(
        ledger_->params(), ledger_->registry(),
        test::TransferRequest(from_as.empty() ? from.account_id : from_as, to, amount, acct->nonce, asset, "", scheme),
        from);
    if (!op.ok()) return std::move(op).error();
    return ledger_->SubmitSync(std::move(*op));
  }
  std::optional<BatchHeader> Close() {
    auto b = rollup_->CloseBatchNow();
    EXPECT_TRUE(b.ok()) << b.error().message;
    return b.ok() ? *b : std::nullopt;
  }
  // Checks never write: the open batch's tree waits for its close (or a stop).
  void WriteOnlyAtCloses() {
    opts_.persist_min_entries = 1000000;
    opts_.persist_max_lag_ms = 3600000;
  }
  // Polls `done` every 10 ms for up to 2 s.
  template <class Pred>
  static bool WaitFor(Pred done) {
    for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  }
  RollupStatus IndexStatus() {
    RollupStatus st;
    EXPECT_TRUE(rollup_
                    ->WithReader([&](store::Database& db) -> kray::Status {
                      auto s = GetRollupStatus(db);
                      if (!s.ok()) return std::move(s).error();
                      st = *s;
                      return Ok();
                    })
                    .ok());
    return st;
  }
  // A COUNT(*) query on the index (?1 bound to `bind` if given); -1 on error.
  std::int64_t IndexCount(const std::string& sql, std::optional<std::int64_t> bind = std::nullopt) {
    std::int64_t n = -1;
    EXPECT_TRUE(rollup_
                    ->WithReader([&](store::Database& db) -> kray::Status {
                      auto st = db.Use(sql);
                      if (!st.ok()) return std::move(st).error();
                      if (bind) (*st)->Bind(1, *bind);
                      auto row =
                          store::FirstRow<std::int64_t>(**st, [](const store::Statement& s) { return s.Int64(0); });
                      if (!row.ok()) return std::move(row).error();
                      n = row->value_or(-1);
                      return Ok();
                    })
                    .ok());
    return n;
  }
  Result<LeafProof> Prove(const std::string& account, std::optional<std::int64_t> batch) {
    Result<LeafProof> out = Error::Internal("unset");
    EXPECT_TRUE(rollup_
                    ->WithReader([&](store::Database& db) -> kray::Status {
                      out = ProveLeaf(db, state::LeafId{state::kAccountLeaf, account}, batch);
                      return Ok();
                    })
                    .ok());
    return out;
  }
  Result<VerifySummary> Verify() {
    VerifyOptions vo;
    vo.params = ledger_ ? ledger_->params() : ChainParams{};
    return VerifyDatadir(dir_.file("data"), vo, Registry(), nullptr);
  }
  // Every batch's operations as a remote verifier gets them: through the
  // JSON wire format.
  std::vector<std::pair<BatchHeader, std::vector<state::Operation>>> BatchesOverTheWire() {
    std::vector<std::pair<BatchHeader, std::vector<state::Operation>>> out;
    std::int64_t last = IndexStatus().last_batch();
    for (std::int64_t n = 1; n <= last; ++n) {
      BatchHeader h;
      EXPECT_TRUE(rollup_
                      ->WithReader([&](store::Database& db) -> kray::Status {
                        auto b = GetBatch(db, n);
                        if (!b.ok()) return std::move(b).error();
                        h = *b;
                        return Ok();
                      })
                      .ok());
      std::vector<state::Operation> ops;
      EXPECT_TRUE(ledger_
                      ->WithReader([&](store::Database& db) -> kray::Status {
                        auto r = state::OperationsInRange(db, h.first_seq, h.last_seq);
                        if (!r.ok()) return std::move(r).error();
                        ops = std::move(*r);
                        return Ok();
                      })
                      .ok());
      auto page = BatchOperationsFromJson(BatchOperationsJson(h, ops, std::nullopt));
      EXPECT_TRUE(page.ok()) << page.error().message;
      out.emplace_back(page->header, page->ops);
    }
    return out;
  }
  kray::Status ReplayOverTheWire(const std::vector<std::pair<BatchHeader, std::vector<state::Operation>>>& batches) {
    auto replay = ChainReplayer::Create(ledger_->params(), Registry(), "");
    if (!replay.ok()) return std::move(replay).error();
    KRAY_TRY((*replay)->Genesis(*ledger_->genesis_file(), IndexStatus().genesis_root));
    for (const auto& [h, ops] : batches) KRAY_TRY((*replay)->Batch(h, ops));
    return Ok();
  }

  TempDir dir_{"kray-rollup-test-"};
  RollupOptions opts_{3600, 3, 4000000, 50};
  std::int64_t clock_offset_ = 0;
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<Rollup> rollup_;
  TestKey a_ = test::DevAccount(1), b_ = test::DevAccount(2);
};

}  // namespace kray::rollup
