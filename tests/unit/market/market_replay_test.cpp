// Replay of a history holding every market operation: `krayd verify`'s
// VerifyDatadir and the remote verifier's path (JSON wire format) reproduce
// every batch root and the head; a tampered record or a table edited behind
// the node's back is refused (docs/ROLLUP.md, "Verification").
#include <filesystem>
#include <set>
#include <thread>

#include "kray/rollup/json.h"
#include "kray/rollup/replay.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/smt.h"
#include "kray/rollup/verify.h"
#include "kray/state/leaves.h"
#include "kray/state/op_log.h"
#include "market_fixture.h"

namespace kray::market::testing {
namespace {

using Wire = std::vector<std::pair<rollup::BatchHeader, std::vector<state::Operation>>>;

class MarketReplayTest : public MarketTest {
 protected:
  void SetUp() override {
    MarketTest::SetUp();
    StartIndex();
  }
  void TearDown() override {
    MarketTest::TearDown();
    ledger_.reset();
    rollup_.reset();
  }
  void StartIndex() {
    auto r = rollup::Rollup::Open(*ledger_, rollup::RollupOptions{3600, 100000, 4000000, 50});
    ASSERT_TRUE(r.ok()) << r.error().message;
    rollup_ = std::move(*r);
  }
  void Close() {
    auto b = rollup_->CloseBatchNow();
    ASSERT_TRUE(b.ok()) << b.error().message;
    ASSERT_TRUE(b->has_value());
  }
  std::string GenesisRoot() {
    std::string root;
    EXPECT_TRUE(rollup_
                    ->WithReader([&](store::Database& db) -> Status {
                      auto s = rollup::GetRollupStatus(db);
                      if (!s.ok()) return std::move(s).error();
                      root = s->genesis_root;
                      return Ok();
                    })
                    .ok());
    return root;
  }
  Wire OverTheWire() {
    Wire out;
    for (std::int64_t n = 1;; ++n) {
      rollup::BatchHeader h;
      bool found = false;
      EXPECT_TRUE(rollup_
                      ->WithReader([&](store::Database& db) -> Status {
                        auto b = rollup::GetBatch(db, n);
                        if (!b.ok()) return Ok();  // past the last batch
                        h = *b;
                        found = true;
                        return Ok();
                      })
                      .ok());
      if (!found) return out;
      std::vector<state::Operation> ops;
      EXPECT_TRUE(ledger_
                      ->WithReader([&](store::Database& db) -> Status {
                        auto r = state::OperationsInRange(db, h.first_seq, h.last_seq);
                        if (!r.ok()) return std::move(r).error();
                        ops = std::move(*r);
                        return Ok();
                      })
                      .ok());
      auto page = rollup::BatchOperationsFromJson(rollup::BatchOperationsJson(h, ops, std::nullopt));
      EXPECT_TRUE(page.ok()) << page.error().message;
      out.emplace_back(page->header, page->ops);
    }
  }
  Status Replay(const Wire& batches, const std::string& genesis_root) {
    auto replay = rollup::ChainReplayer::Create(ledger_->params(), Registry(), "");
    if (!replay.ok()) return std::move(replay).error();
    KRAY_TRY((*replay)->Genesis(*ledger_->genesis_file(), genesis_root));
    for (const auto& [h, ops] : batches) KRAY_TRY((*replay)->Batch(h, ops));
    return Ok();
  }
  Result<rollup::VerifySummary> VerifyCopy(const std::string& datadir) {
    rollup::VerifyOptions vo;
    return rollup::VerifyDatadir(datadir, vo, Registry(), nullptr);
  }

  // A history with every market operation, over two batches.
  void History() {
    std::uint64_t rune = ListRune(a_, "DOG", 1000, 5000);
    std::uint64_t ins = ListInscription(a_, kIns1, 7000);
    ASSERT_TRUE(Do(b_, "market_buy", {{"listing_id", std::to_string(rune)}}).ok());
    auto offer = Do(b_, "market_offer", {{"asset", "DOG"}, {"amount", "30"}, {"price_credits", "90"}});
    ASSERT_TRUE(offer.ok());
    ASSERT_TRUE(Do(a_, "market_offer_accept", {{"offer_id", ResultField(*offer, "offer_id")}}).ok());
    auto ins_offer = Do(b_, "market_offer", {{"inscription_id", kIns1}, {"price_credits", "6500"}});
    ASSERT_TRUE(ins_offer.ok());
    ASSERT_TRUE(Do(a_, "market_cancel", {{"listing_id", std::to_string(ins)}}).ok());
    ASSERT_TRUE(Do(a_, "market_offer_accept", {{"offer_id", ResultField(*ins_offer, "offer_id")}}).ok());
    Close();
    TestKey fresh = test::KeyFromSeed("market-replay-recipient");
    ASSERT_TRUE(Do(b_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", fresh.address}}).ok());
    std::uint64_t sold_ins = ListInscription(a_, kIns2, 800);
    ASSERT_TRUE(Do(b_, "market_buy", {{"listing_id", std::to_string(sold_ins)}}).ok());
    // (kIns2 is not touched again: the head root check below sees the buy's own leaf change.)
    for (int i = 0; i < 3; ++i) ListRune(a_, "DOG", 10 + i, 100 + 7 * i);
    ListRune(a_, "DOG", 5, 5000, ledger_->Now() + 2);  // too dear for the sweep; expires, then is reclaimed
    ASSERT_TRUE(Do(b_, "market_sweep", {{"asset", "DOG"}, {"max_listings", "2"}, {"max_total_credits", "1000"}}).ok());
    auto withdrawn = Do(a_, "market_offer", {{"inscription_id", kIns3}, {"price_credits", "3"}});
    ASSERT_TRUE(withdrawn.ok());
    ASSERT_TRUE(Do(a_, "market_offer_cancel", {{"offer_id", ResultField(*withdrawn, "offer_id")}}).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    auto reclaim = Do(a_, "market_cancel", {{"listing_id", "7"}});
    ASSERT_TRUE(reclaim.ok()) << reclaim.error().message;
    EXPECT_EQ(ResultField(*reclaim, "was_expired"), "true");
    // Refused operations leave no record: replay never sees them.
    EXPECT_FALSE(Do(b_, "market_buy", {{"listing_id", std::to_string(rune)}}).ok());
    Close();
    ledger_->Flush();
  }

  std::unique_ptr<rollup::Rollup> rollup_;
};

TEST_F(MarketReplayTest, EveryMarketOperationReplaysAndEveryFlipIsCaught) {
  History();
  if (HasFatalFailure()) return;
  auto stats = ledger_->GetTxStats();
  ASSERT_TRUE(stats.ok());
  for (const char* t : {"market_list", "market_buy", "market_cancel", "market_sweep", "market_offer",
                        "market_offer_accept", "market_offer_cancel", "inscription_transfer"})
    EXPECT_GT(stats->by_type[t], 0u) << t;
  ASSERT_TRUE(rollup_->Sync().ok());
  // The head root is the root of every leaf in the store: each leaf an
  // operation changed was touched (a missing Touch would leave the tree
  // behind the store while replay, which touches the same, still agreed).
  std::vector<std::pair<Hash256, Hash256>> leaves;
  ASSERT_TRUE(ledger_
                  ->WithReader([&](store::Database& db) -> Status {
                    auto all = rollup::AllLeaves(db, Registry());
                    if (!all.ok()) return std::move(all).error();
                    for (const auto& c : *all)
                      if (c.data) leaves.emplace_back(c.key, state::LeafValueHash(*c.data));
                    return Ok();
                  })
                  .ok());
  std::string head;
  ASSERT_TRUE(rollup_
                  ->WithReader([&](store::Database& db) -> Status {
                    auto st = rollup::GetRollupStatus(db);
                    if (!st.ok()) return std::move(st).error();
                    head = st->state_root;
                    return Ok();
                  })
                  .ok());
  EXPECT_EQ(ToHex(rollup::SmtRootOf(leaves)), head);
  auto v = VerifyCopy(dir_.file("data"));
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 2);
  EXPECT_GT(v->leaves_compared, 10);
  Wire wire = OverTheWire();
  ASSERT_EQ(wire.size(), 2u);
  const std::string genesis_root = GenesisRoot();
  ASSERT_TRUE(Replay(wire, genesis_root).ok());

  // Every recorded field of every market operation, flipped one at a time.
  auto flip = [](std::string& s) { s = s.empty() ? "x" : s.substr(0, s.size() - 1) + (s.back() == '0' ? "1" : "0"); };
  int mutations = 0;
  std::set<std::string> types;
  for (std::size_t b = 0; b < wire.size(); ++b) {
    for (std::size_t i = 0; i < wire[b].second.size(); ++i) {
      const state::Operation original = wire[b].second[i];
      if (original.type.rfind("market_", 0) != 0 && original.type != "inscription_transfer") continue;
      types.insert(original.type);
      std::vector<std::function<void(state::Operation&)>> flips = {
          [&](state::Operation& o) { flip(o.hash); },
          [](state::Operation& o) { o.nonce += 1; },
          [](state::Operation& o) { o.signature[7] ^= 1; },
          [](state::Operation& o) { o.timestamp += 1; },
          [](state::Operation& o) { o.gas_fee += 1; },
          [](state::Operation& o) { o.touched.pop_back(); },
          [](state::Operation& o) { o.evidence.emplace_back("zz", "1"); },
      };
      for (std::size_t f = 0; f < original.fields.size(); ++f)
        flips.push_back([&, f](state::Operation& o) { flip(o.fields[f].second); });
      for (std::size_t f = 0; f < original.evidence.size(); ++f)
        flips.push_back([&, f](state::Operation& o) { flip(o.evidence[f].second); });
      for (const auto& mutate : flips) {
        Wire mutated = wire;
        mutate(mutated[b].second[i]);
        EXPECT_FALSE(Replay(mutated, genesis_root).ok())
            << "batch " << b + 1 << " operation " << i << " (" << original.type << ") mutation " << mutations;
        ++mutations;
      }
    }
  }
  EXPECT_EQ(types.size(), 8u);
  EXPECT_GT(mutations, 100);

  // The datadir path (krayd verify): a record edited in the store, and the
  // module's own tables edited behind the node's back, are both found.
  ledger_.reset();
  rollup_.reset();
  auto copy_and_edit = [&](const std::string& sql) {
    TempDir copy("kray-market-verify-");
    std::filesystem::copy(dir_.file("data"), copy.file("data"), std::filesystem::copy_options::recursive);
    {
      auto db = store::Database::Open(copy.file("data/krayd.sqlite"));
      EXPECT_TRUE(db.ok());
      EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
    }
    return VerifyCopy(copy.file("data"));
  };
  auto price = copy_and_edit("UPDATE market_listings SET price = price + 1 WHERE listing_id = 4");
  ASSERT_FALSE(price.ok());
  EXPECT_EQ(price.error().code, "verify_head_mismatch") << price.error().message;
  auto owner = copy_and_edit("UPDATE market_inscriptions SET owner = '" + a_.account_id + "' WHERE inscription_id = '" +
                             kIns3 + "'");
  ASSERT_FALSE(owner.ok());
  EXPECT_EQ(owner.error().code, "verify_head_mismatch") << owner.error().message;
  auto fee = copy_and_edit("UPDATE market_config SET fee_bps = 0");
  ASSERT_FALSE(fee.ok());
  EXPECT_EQ(fee.error().code, "verify_head_mismatch") << fee.error().message;
  auto status = copy_and_edit("UPDATE market_offers SET status = 'active' WHERE status = 'cancelled'");
  EXPECT_FALSE(status.ok());
  // The buy of seq 3 re-pointed at another listing: its signature no longer verifies.
  state::Operation buy;
  for (const auto& op : wire[0].second)
    if (op.type == "market_buy") buy = op;
  ASSERT_EQ(buy.seq, 3u);
  state::SetField(buy.fields, "listing_id", "2");
  auto repointed =
      copy_and_edit("UPDATE operations SET fields = x'" + ToHex(state::EncodeFields(buy.fields)) + "' WHERE seq = 3");
  ASSERT_FALSE(repointed.ok());
  EXPECT_EQ(repointed.error().code, "verify_tx_failed") << repointed.error().message;
  // For TearDown.
  Open(MarketSection());
}

// A node whose history replays through its restart: the index catches up,
// and verify still matches (ids are reproduced from the log alone).
TEST_F(MarketReplayTest, IdsAreReproducedAcrossRestart) {
  ListRune(a_, "DOG", 1, 1);
  ListInscription(a_, kIns2, 2);
  Close();
  ledger_.reset();
  rollup_.reset();
  Open(MarketSection());  // same datadir: the genesis matches
  StartIndex();
  EXPECT_EQ(ListRune(a_, "DOG", 1, 3), 3u);
  Close();
  ASSERT_TRUE(rollup_->Sync().ok());
  // The head root is the root of every leaf in the store: each leaf an
  // operation changed was touched (a missing Touch would leave the tree
  // behind the store while replay, which touches the same, still agreed).
  std::vector<std::pair<Hash256, Hash256>> leaves;
  ASSERT_TRUE(ledger_
                  ->WithReader([&](store::Database& db) -> Status {
                    auto all = rollup::AllLeaves(db, Registry());
                    if (!all.ok()) return std::move(all).error();
                    for (const auto& c : *all)
                      if (c.data) leaves.emplace_back(c.key, state::LeafValueHash(*c.data));
                    return Ok();
                  })
                  .ok());
  std::string head;
  ASSERT_TRUE(rollup_
                  ->WithReader([&](store::Database& db) -> Status {
                    auto st = rollup::GetRollupStatus(db);
                    if (!st.ok()) return std::move(st).error();
                    head = st->state_root;
                    return Ok();
                  })
                  .ok());
  EXPECT_EQ(ToHex(rollup::SmtRootOf(leaves)), head);
  auto v = VerifyCopy(dir_.file("data"));
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 2);
}

}  // namespace
}  // namespace kray::market::testing
