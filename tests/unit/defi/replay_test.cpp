// A real node's history with every defi operation verifies offline (`krayd
// verify`, VerifyDatadir) and over the wire (the JSON path of `kray-cli
// verifychain`), and every tampered record or state edit is caught: each
// field of each defi operation flipped, a changed timestamp (it moves the
// price oracle), a pool row edited behind the node's back.
#include "kray/rollup/replay.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "chain.h"
#include "kray/rollup/json.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/verify.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"

namespace kray::defi {
namespace {

using test::TempDir;
using test::TestKey;

class DefiReplayTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }
  void Start() {
    state::LedgerOptions o;
    o.datadir = dir_.file("data");
    o.genesis_path = test::RegtestGenesisPath();
    o.synchronous = "NORMAL";
    auto l = state::Ledger::Open(o, testing::DefiRegistry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    auto r = rollup::Rollup::Open(*ledger_, rollup::RollupOptions{3600, 100000, 4000000, 50});
    ASSERT_TRUE(r.ok()) << r.error().message;
    rollup_ = std::move(*r);
  }
  void Stop() {
    ledger_.reset();
    rollup_.reset();
  }

  Result<state::Receipt> Submit(const std::string& type, const TestKey& key,
                                std::vector<std::pair<std::string, std::string>> fields) {
    state::OperationRequest r;
    r.type = type;
    r.signer = key.account_id;
    r.nonce = ledger_->GetAccount(key.account_id)->nonce;
    r.fields = std::move(fields);
    auto op = test::SignOperation(ledger_->params(), ledger_->registry(), r, key);
    if (!op.ok()) return std::move(op).error();
    return ledger_->SubmitSync(std::move(*op));
  }
  void Accepted(const Result<state::Receipt>& r) { ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message; }

  std::vector<std::pair<rollup::BatchHeader, std::vector<state::Operation>>> BatchesOverTheWire() {
    std::vector<std::pair<rollup::BatchHeader, std::vector<state::Operation>>> out;
    for (std::int64_t n = 1;; ++n) {
      rollup::BatchHeader h;
      bool found = false;
      EXPECT_TRUE(rollup_
                      ->WithReader([&](store::Database& db) -> kray::Status {
                        auto b = rollup::GetBatch(db, n);
                        if (!b.ok()) return kray::Ok();
                        h = *b;
                        found = true;
                        return kray::Ok();
                      })
                      .ok());
      if (!found) break;
      std::vector<state::Operation> ops;
      EXPECT_TRUE(ledger_
                      ->WithReader([&](store::Database& db) -> kray::Status {
                        auto r = state::OperationsInRange(db, h.first_seq, h.last_seq);
                        if (!r.ok()) return std::move(r).error();
                        ops = std::move(*r);
                        return kray::Ok();
                      })
                      .ok());
      auto page = rollup::BatchOperationsFromJson(rollup::BatchOperationsJson(h, ops, std::nullopt));
      EXPECT_TRUE(page.ok());
      out.emplace_back(page->header, page->ops);
    }
    return out;
  }
  kray::Status Replay(const std::vector<std::pair<rollup::BatchHeader, std::vector<state::Operation>>>& batches) {
    auto replay = rollup::ChainReplayer::Create(ledger_->params(), testing::DefiRegistry(), "");
    if (!replay.ok()) return std::move(replay).error();
    std::string genesis_root;
    EXPECT_TRUE(rollup_
                    ->WithReader([&](store::Database& db) -> kray::Status {
                      auto s = rollup::GetRollupStatus(db);
                      if (s.ok()) genesis_root = s->genesis_root;
                      return kray::Ok();
                    })
                    .ok());
    KRAY_TRY((*replay)->Genesis(*ledger_->genesis_file(), genesis_root));
    for (const auto& [h, ops] : batches) KRAY_TRY((*replay)->Batch(h, ops));
    return kray::Ok();
  }
  Result<rollup::VerifySummary> VerifyCopy(const std::string& sql) {
    TempDir copy;
    std::filesystem::copy(dir_.file("data"), copy.file("data"), std::filesystem::copy_options::recursive);
    if (!sql.empty()) {
      auto db = store::Database::Open(copy.file("data/krayd.sqlite"));
      EXPECT_TRUE(db.ok());
      EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
    }
    rollup::VerifyOptions vo;
    return rollup::VerifyDatadir(copy.file("data"), vo, testing::DefiRegistry(), nullptr);
  }

  TempDir dir_{"kray-defi-replay-"};
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<rollup::Rollup> rollup_;
  TestKey a_ = test::DevAccount(1), b_ = test::DevAccount(2);
};

TEST_F(DefiReplayTest, EveryDefiOperationVerifiesAndEveryTamperingIsCaught) {
  Accepted(Submit("pool_create", a_,
                  {{"token_a", "BTC"}, {"token_b", "KRAY"}, {"amount_a", "2000000"}, {"amount_b", "1000000"}}));
  Accepted(Submit("pool_create", b_,
                  {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", "1000000"}, {"amount_b", "50000000"}}));
  Accepted(
      Submit("swap", b_,
             {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "10000"}, {"min_amount_out", "1"}}));
  // Refused operations record nothing and replay skips nothing.
  ASSERT_FALSE(
      Submit("swap", b_,
             {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "10000"}, {"min_amount_out", "999999"}})
          .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the next operation advances the oracle
  Accepted(Submit("swap_route", a_, {{"path", "DOG,KRAY,BTC"}, {"amount_in", "100000"}, {"min_amount_out", "1"}}));
  Accepted(Submit("liquidity_add", b_,
                  {{"pool_id", "pool_kray_btc"},
                   {"amount_a", "50000"},
                   {"amount_b", "200000"},
                   {"min_amount_a", "1"},
                   {"min_amount_b", "1"}}));
  Accepted(Submit("transfer", a_, {{"to_account", b_.account_id}, {"amount", "3000"}, {"asset", "LP:pool_kray_btc"}}));
  ASSERT_TRUE(rollup_->CloseBatchNow().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Accepted(Submit("liquidity_remove", b_,
                  {{"pool_id", "pool_kray_btc"},
                   {"liquidity", "3000"},
                   {"min_amount_a", "1"},
                   {"min_amount_b", "1"},
                   {"deadline", std::to_string(ledger_->Now() + 600)}}));
  Accepted(
      Submit("swap", a_,
             {{"pool_id", "pool_kray_dog"}, {"token_in", "DOG"}, {"amount_in", "70000"}, {"min_amount_out", "0"}}));
  ASSERT_TRUE(rollup_->CloseBatchNow().ok());
  Accepted(Submit("swap", a_,
                  {{"pool_id", "pool_kray_btc"}, {"token_in", "BTC"}, {"amount_in", "700"}, {"min_amount_out", "0"}}));
  ledger_->Flush();
  ASSERT_TRUE(rollup_->Sync().ok());
  auto stats = ledger_->GetTxStats();
  for (const char* t : {"pool_create", "swap", "swap_route", "liquidity_add", "liquidity_remove", "transfer"})
    EXPECT_GT(stats->by_type[t], 0u) << t;
  EXPECT_TRUE(ledger_->CheckConservation()->ok);

  // krayd verify: every batch's roots, the unbatched tail and the head.
  auto v = VerifyCopy("");
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 2);
  EXPECT_EQ(v->unbatched, 1);
  // The same over the wire.
  auto wire = BatchesOverTheWire();
  ASSERT_EQ(wire.size(), 2u);
  ASSERT_TRUE(Replay(wire).ok());

  // Every field of every defi operation, and its time, flipped one at a time.
  int mutations = 0;
  for (std::size_t b = 0; b < wire.size(); ++b) {
    for (std::size_t i = 0; i < wire[b].second.size(); ++i) {
      const state::Operation& original = wire[b].second[i];
      if (original.type == "transfer") continue;
      std::vector<std::function<void(state::Operation&)>> flips = {
          [](state::Operation& o) { o.timestamp += 1; },
          [](state::Operation& o) { o.signature[3] ^= 1; },
          [](state::Operation& o) { o.gas_fee += 1; },
          [](state::Operation& o) { o.touched.pop_back(); },
      };
      for (std::size_t f = 0; f < original.fields.size(); ++f)
        flips.push_back([f](state::Operation& o) {
          std::string& s = o.fields[f].second;
          s = s.back() == '1' ? s.substr(0, s.size() - 1) + "2" : s.substr(0, s.size() - 1) + "1";
        });
      for (const auto& mutate : flips) {
        auto mutated = wire;
        mutate(mutated[b].second[i]);
        EXPECT_FALSE(Replay(mutated).ok()) << "batch " << b + 1 << " op " << i << " (" << original.type << ") mutation "
                                           << mutations << " was not caught";
        ++mutations;
      }
    }
  }
  EXPECT_GT(mutations, 40);

  // Edits to the store behind the node's back.
  Stop();
  auto pool_edit = VerifyCopy("UPDATE defi_pools SET reserve_a = reserve_a + 1 WHERE pool_id = 'pool_kray_btc'");
  ASSERT_FALSE(pool_edit.ok());
  EXPECT_EQ(pool_edit.error().code, "verify_head_mismatch") << pool_edit.error().message;
  auto oracle_edit =
      VerifyCopy("UPDATE defi_pools SET price_a_cumulative = zeroblob(32) WHERE pool_id = 'pool_kray_btc'");
  EXPECT_FALSE(oracle_edit.ok());
  auto time_edit = VerifyCopy("UPDATE operations SET timestamp = timestamp + 1 WHERE type = 'swap_route'");
  EXPECT_FALSE(time_edit.ok());
  auto sig_edit = VerifyCopy("UPDATE operations SET signature = zeroblob(64) WHERE type = 'liquidity_add'");
  EXPECT_FALSE(sig_edit.ok());
  auto lp_edit = VerifyCopy("UPDATE supply SET minted = minted + 1 WHERE asset = 'LP:pool_kray_btc'");
  EXPECT_FALSE(lp_edit.ok());
  Start();
}

}  // namespace
}  // namespace kray::defi
