// Rollup on a real Ledger: tree in step with the state, batches by size and
// interval, proofs at past batches, restart, anchor payload, leaf encoding.
#include "kray/rollup/rollup.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../state/test_util.h"
#include "kray/rollup/json.h"
#include "kray/rollup/leaves.h"
#include "kray/rollup/verify.h"
#include "kray/store/database.h"

namespace kray::rollup {
namespace {

using state::testing::Dev1;
using state::testing::Dev2;
using state::testing::Key;
using state::testing::Options;
using state::testing::TempDir;
using state::testing::V1;

// Root recomputed from scratch from every account and supply row.
Hash256 FullRebuildRoot(store::Database& db) {
  std::vector<std::pair<Hash256, Hash256>> leaves;
  auto st = db.Prepare("SELECT account_id FROM accounts");
  EXPECT_TRUE(st.ok());
  std::vector<std::string> ids;
  while (*st->Step()) ids.push_back(st->Text(0));
  for (const auto& id : ids) {
    auto a = LoadAccountState(db, id);
    EXPECT_TRUE(a.ok());
    leaves.push_back({AccountKey(id), LeafValueHash(*EncodeAccountLeaf(*a))});
  }
  auto supply = LoadSupply(db);
  EXPECT_TRUE(supply.ok());
  for (const auto& s : *supply)
    if (!s.IsZero()) leaves.push_back({SupplyKey(s.asset), LeafValueHash(EncodeSupplyLeaf(s))});
  return SmtRootOf(leaves);
}

class RollupTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }
  void Open(RollupOptions ro = {3600, 5, 1000000}) {
    auto l = state::Ledger::Open(Options(dir_));
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    rollup_ = std::make_unique<Rollup>(ro);
    Status s = rollup_->Attach(*ledger_);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void Close() {
    ledger_.reset();  // stops the sequencer first: the observer must outlive it
    rollup_.reset();
  }
  void Send(const Key& from, const Key& to, Amount amount, const std::string& asset = "KRAY") {
    auto acct = ledger_->GetAccount(from.account_id);
    ASSERT_TRUE(acct.ok());
    auto r = ledger_->SubmitTransferSync(V1(ledger_->params(), from, to.account_id, asset, amount, acct->nonce));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  template <class F>
  void Read(F fn) {
    Status s = ledger_->WithReader([&](store::Database& db) -> Status {
      fn(db);
      return Ok();
    });
    ASSERT_TRUE(s.ok());
  }

  TempDir dir_;
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<Rollup> rollup_;
  Key a_ = Dev1(), b_ = Dev2();
};

TEST_F(RollupTest, BatchesBySizeWithRootsProofsAndRestart) {
  std::string genesis_root;
  Read([&](store::Database& db) {
    auto st = GetRollupStatus(db);
    ASSERT_TRUE(st.ok()) << st.error().message;
    genesis_root = st->genesis_root;
    EXPECT_EQ(st->state_root, genesis_root);
    EXPECT_EQ(ToHex(FullRebuildRoot(db)), genesis_root);
    EXPECT_EQ(st->open_batch, 1);
  });
  for (int i = 0; i < 12; ++i) Send(i % 3 ? a_ : b_, i % 3 ? b_ : a_, 1000 + i, i % 2 ? "KRAY" : "DOG");
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // the head tree follows on the next tick
  Read([&](store::Database& db) {
    EXPECT_EQ(*CountBatches(db), 2);
    auto st = GetRollupStatus(db);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->state_root, ToHex(FullRebuildRoot(db)));  // head tree matches a full rebuild
    auto b1 = GetBatch(db, 1);
    ASSERT_TRUE(b1.ok());
    EXPECT_EQ(b1->tx_count, 5);
    EXPECT_EQ(b1->prev_state_root, genesis_root);
    EXPECT_EQ(b1->anchor_status, "built");
    EXPECT_FALSE(b1->anchor_txid.has_value());
    EXPECT_EQ(b1->gas_collected, 5u);
    EXPECT_EQ(b1->gas_burned + b1->gas_retained, b1->gas_collected);
    auto hashes = BatchTxHashes(db, *b1);
    ASSERT_TRUE(hashes.ok());
    ASSERT_EQ(hashes->size(), 5u);
    std::vector<Hash256> hb;
    for (auto& h : *hashes) hb.push_back(TxHashBytes(h));
    EXPECT_EQ(b1->tx_root, ToHex(TxRoot(hb)));
    auto b2 = GetBatch(db, 2);
    ASSERT_TRUE(b2.ok());
    EXPECT_EQ(b2->prev_state_root, b1->state_root);
    EXPECT_NE(b2->state_root, b1->state_root);
    auto txs = BatchTransactions(db, *b2);
    ASSERT_TRUE(txs.ok());
    ASSERT_EQ(txs->size(), 5u);
    for (auto& t : *txs) EXPECT_EQ(t.batch_id, 2);
    auto anchor = ParseAnchorPayload(b2->anchor_payload);
    ASSERT_TRUE(anchor.ok());
    EXPECT_EQ(anchor->batch_number, 2u);
    EXPECT_EQ(ToHex(anchor->state_root), b2->state_root);
    // Proofs at genesis, batch 1 and head all verify against their roots and
    // show the nonce the account had then.
    for (std::int64_t n : {0, 1, 2}) {
      auto p = ProveAccount(db, a_.account_id, n);
      ASSERT_TRUE(p.ok()) << p.error().message;
      auto root = FromHexFixed<32>(p->root);
      ASSERT_TRUE(root.has_value());
      EXPECT_TRUE(VerifyAccountProof(*p, *root).ok());
      auto leaf = DecodeLeaf(p->leaf_data);
      ASSERT_TRUE(leaf.ok());
      EXPECT_EQ(leaf->account.nonce, n == 0 ? 0u : n == 1 ? 3u : 6u);  // a sends txs 1,2,4 | 5,7,8
      Hash256 wrong = *root;
      wrong[5] ^= 1;
      EXPECT_FALSE(VerifyAccountProof(*p, wrong).ok());
    }
    EXPECT_EQ(ProveAccount(db, a_.account_id, 3).error().code, "batch_not_found");
    // The wire format round-trips, and a tampered sibling in it is caught.
    auto p1 = ProveAccount(db, b_.account_id, 1);
    ASSERT_TRUE(p1.ok());
    auto back = AccountProofFromJson(AccountProofJson(*p1));
    ASSERT_TRUE(back.ok()) << back.error().message;
    auto r1 = *FromHexFixed<32>(back->root);
    EXPECT_TRUE(VerifyAccountProof(*back, r1).ok());
    ASSERT_FALSE(back->proof.siblings.empty());
    back->proof.siblings[0][0] ^= 1;
    EXPECT_FALSE(VerifyAccountProof(*back, r1).ok());
    EXPECT_FALSE(AccountProofFromJson("{\"account_id\": 5}").ok());
    EXPECT_FALSE(AccountProofFromJson("not json").ok());
    auto contents = BatchTransactionsFromJson(BatchTransactionsJson(*b2, *txs, {}));
    ASSERT_TRUE(contents.ok()) << contents.error().message;
    EXPECT_EQ(contents->header.state_root, b2->state_root);
    ASSERT_EQ(contents->txs.size(), 5u);
    EXPECT_EQ(contents->txs[4].signature, (*txs)[4].signature);
    auto absent = ProveAccount(db, "kray_00000000000000000000000000000000", std::nullopt);
    ASSERT_TRUE(absent.ok());
    EXPECT_TRUE(absent->leaf_data.empty());
    EXPECT_TRUE(VerifyAccountProof(*absent, *FromHexFixed<32>(absent->root)).ok());
  });
  // Restart between batches: the tree comes back from SQLite, not rebuilt.
  Close();
  Open();
  for (int i = 0; i < 3; ++i) Send(a_, b_, 7);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  Read([&](store::Database& db) {
    EXPECT_EQ(*CountBatches(db), 3);
    auto b3 = GetBatch(db, 3);
    ASSERT_TRUE(b3.ok());
    EXPECT_EQ(b3->tx_count, 5);  // 2 left open before the restart + 3
    auto st = GetRollupStatus(db);
    EXPECT_EQ(st->state_root, ToHex(FullRebuildRoot(db)));
    EXPECT_EQ(st->genesis_root, genesis_root);
  });
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok) << rep->ToString();
}

TEST_F(RollupTest, IntervalClosesNonEmptyBatchesOnly) {
  Close();
  Open({1, 10000, 1000000});
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  Read([&](store::Database& db) { EXPECT_EQ(*CountBatches(db), 0); });  // empty intervals: no batch
  Send(a_, b_, 5);
  Send(b_, a_, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  Read([&](store::Database& db) {
    ASSERT_EQ(*CountBatches(db), 1);
    EXPECT_EQ(GetBatch(db, 1)->tx_count, 2);
  });
}

TEST_F(RollupTest, KeyBindingReachesTheTreeWithoutATransaction) {
  // A new account funded by address (no key), then its key is bound.
  Key c = state::testing::KeyFromSeed("rollup-test-c");
  auto acct = ledger_->GetAccount(a_.account_id);
  ASSERT_TRUE(ledger_->SubmitTransferSync(V1(ledger_->params(), a_, c.address, "KRAY", 500, acct->nonce)).ok());
  auto created = ledger_->CreateAccountSync(c.address, ToHex(c.pub));
  ASSERT_TRUE(created.ok()) << created.error().message;
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // next tick
  Read([&](store::Database& db) {
    EXPECT_EQ(GetRollupStatus(db)->state_root, ToHex(FullRebuildRoot(db)));
    auto p = ProveAccount(db, c.account_id, std::nullopt);
    ASSERT_TRUE(p.ok());
    auto leaf = DecodeLeaf(p->leaf_data);
    ASSERT_TRUE(leaf.ok());
    EXPECT_EQ(leaf->account.pubkey_hex, ToHex(c.pub));
    auto ev = db.Prepare("SELECT COUNT(*) FROM rollup_account_events WHERE account_id = ?1 AND after_seq IS NOT NULL");
    ev->Bind(1, c.account_id);
    ASSERT_TRUE(*ev->Step());
    EXPECT_EQ(ev->Int64(0), 2);  // created (no key), then key bound
  });
}

TEST_F(RollupTest, VerifyReplaysHistoryAndCatchesAnEditedBalance) {
  Key c = state::testing::KeyFromSeed("rollup-verify-c");
  for (int i = 0; i < 4; ++i) Send(a_, b_, 100 + i, i % 2 ? "BTC" : "KRAY");
  // Legacy-signed, from given as the L1 address; to a new account by address.
  auto r = ledger_->SubmitTransferSync(state::testing::Legacy(a_, a_.address, b_.account_id, 77, 4));
  ASSERT_TRUE(r.ok()) << r.error().message;  // batch 1 closes (5 txs)
  auto acct = ledger_->GetAccount(b_.account_id);
  ASSERT_TRUE(ledger_->SubmitTransferSync(V1(ledger_->params(), b_, c.address, "KRAY", 50, acct->nonce)).ok());
  ASSERT_TRUE(ledger_->CreateAccountSync(c.address, ToHex(c.pub)).ok());  // key bound, no tx
  Send(c, a_, 1);
  for (int i = 0; i < 3; ++i) Send(b_, a_, 3);  // batch 2 closes
  Close();
  VerifyOptions vo;
  std::vector<std::string> lines;
  vo.progress_every = 1;
  auto ok = VerifyDatadir(dir_.file("data"), vo, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(ok.ok()) << ok.error().code << ": " << ok.error().message;
  EXPECT_EQ(ok->batches, 2);
  EXPECT_EQ(ok->transactions, 10);
  EXPECT_EQ(lines.size(), 3u);
  // Edit a balance behind the node's back, then let the node run another batch.
  {
    auto db = store::Database::Open(dir_.file("data") + "/krayd.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE balances SET available = available + 1000 WHERE account_id = '" + b_.account_id +
                           "' AND asset = 'KRAY'")
                    .ok());
  }
  Open();
  for (int i = 0; i < 5; ++i) Send(a_, c, 2);  // batch 3 (b untouched by any tx in it)
  Close();
  auto bad = VerifyDatadir(dir_.file("data"), vo, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "verify_state_root_mismatch");
  EXPECT_NE(bad.error().message.find("batch 3"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find(b_.account_id), std::string::npos) << bad.error().message;
}

TEST(AnchorTest, PayloadAndScriptLayout) {
  Hash256 sr, tr;
  for (int i = 0; i < 32; ++i) sr[i] = static_cast<std::uint8_t>(i), tr[i] = static_cast<std::uint8_t>(0xff - i);
  Bytes p = AnchorPayload(0x0102030405060708ULL, sr, tr);
  ASSERT_EQ(p.size(), kAnchorPayloadSize);
  EXPECT_EQ(ToHex(ByteSpan(p).subspan(0, 13)),
            "4b52415901"
            "0102030405060708");
  Bytes s = AnchorScript(1, sr, tr);
  ASSERT_EQ(s.size(), 80u);
  EXPECT_EQ(s[0], 0x6a);
  EXPECT_EQ(s[1], 0x4c);
  EXPECT_EQ(s[2], 77);
  EXPECT_FALSE(ParseAnchorPayload(ByteSpan(p).subspan(1)).ok());
  p[4] = 2;
  EXPECT_FALSE(ParseAnchorPayload(p).ok());
}

// Golden values for the tx root and the leaf encoding (docs/ROLLUP.md).
TEST(EncodingTest, GoldenTxRootAndLeaves) {
  EXPECT_EQ(TxRoot({}), Hash256{});
  std::vector<Hash256> h;
  for (int i = 0; i < 5; ++i) h.push_back(crypto::Sha256(AsBytes("tx" + std::to_string(i))));
  EXPECT_EQ(ToHex(TxRoot({h[0]})), ToHex(crypto::TaggedHash(kTxRootLeafTag, h[0])));
  EXPECT_EQ(ToHex(TxRoot(h)), "44f6ab44c9ca1ec7d2ea292c4bbcaf22a8225a6ff69bcb8a92371b2477bfb060");
  state::Account a;
  a.account_id = "kray_0123456789abcdef0123456789abcdef";
  a.l1_address = "bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj";
  a.pubkey_hex = "c11d54df8692c3e39898810701fdb6109660b0aaf4cc7c7c4a9bb686354d321e";
  a.nonce = 7;
  a.balances = {{"KRAY", 1000, 20, 3}, {"BTC", 5, 0, 0}, {"DOG", 0, 0, 0}};
  auto data = EncodeAccountLeaf(a);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(ToHex(AccountKey(a.account_id)), "cf6deb03b1de2abdce2bfeec8dc24a290bfbb34335db354ff51b1a9bbf1d8e39");
  EXPECT_EQ(ToHex(LeafValueHash(*data)), "29d447cfa9b06850f792b53753c5590b11a0a4a47d7f9f34e08d2d42e8c6db6b");
  auto back = DecodeLeaf(*data);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->account.nonce, 7u);
  ASSERT_EQ(back->account.balances.size(), 2u);  // zero row omitted, sorted BTC < KRAY
  EXPECT_EQ(back->account.balances[0].asset, "BTC");
  EXPECT_EQ(back->account.balances[1].staked, 20u);
  SupplyState s{"KRAY", 2000000000, 0, 11, 10};
  EXPECT_EQ(ToHex(LeafValueHash(EncodeSupplyLeaf(s))),
            "a4348147cc26e5a4ea054a369f18e25c65f6fd046f4e0a7e2644db6341e807b8");
  // Decoder rejects truncation and trailing bytes, never crashes.
  for (std::size_t n = 0; n < data->size(); ++n) EXPECT_FALSE(DecodeLeaf(ByteSpan(*data).subspan(0, n)).ok()) << n;
  Bytes extra = *data;
  extra.push_back(0);
  EXPECT_FALSE(DecodeLeaf(extra).ok());
}

}  // namespace
}  // namespace kray::rollup
