// The rollup index, replay and `krayd verify` (docs/ROLLUP.md), including
// the verifier soundness holes found on the old design, each played as the
// attacker would.
#include "kray/rollup/rollup.h"

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
namespace {

using test::TempDir;
using test::TestKey;

const state::ModuleRegistry& Registry() {
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

TEST_F(RollupTest, BatchesBySizeWithRootsProofsAndRestart) {
  RollupStatus st0 = IndexStatus();
  EXPECT_EQ(st0.last_batch(), 0);
  EXPECT_EQ(st0.genesis_root, st0.state_root);
  EXPECT_EQ(st0.genesis_hash, ledger_->genesis_hash());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 10 + i).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  RollupStatus st = IndexStatus();
  EXPECT_EQ(st.last_batch(), 2);  // maxbatchtxs = 3: batches close at 3 and 6
  EXPECT_EQ(st.applied_seq, 7);
  EXPECT_EQ(st.batched_seq, 6);
  // Proofs at every batch verify against that batch's root.
  for (std::int64_t n = 0; n <= 2; ++n) {
    auto p = Prove(b_.account_id, n);
    ASSERT_TRUE(p.ok()) << p.error().message;
    auto root = FromHexFixed<32>(p->root);
    ASSERT_TRUE(root);
    EXPECT_TRUE(VerifyLeafProof(*p, state::LeafId{state::kAccountLeaf, b_.account_id}, *root).ok());
    // A proof for another leaf never passes for this one.
    EXPECT_FALSE(VerifyLeafProof(*p, state::LeafId{state::kAccountLeaf, a_.account_id}, *root).ok());
  }
  auto p1 = Prove(b_.account_id, 1);
  auto leaf = state::DecodeLeaf(p1->leaf_data);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(leaf->account.BalanceOf("KRAY").available, 1000000000u + 10 + 11 + 12);
  // The batch header binds the operations (tx root over record hashes).
  auto wire = BatchesOverTheWire();
  ASSERT_EQ(wire.size(), 2u);
  EXPECT_EQ(wire[0].first.tx_root, ToHex(OperationsTxRoot(wire[0].second)));
  EXPECT_EQ(wire[0].first.prev_state_root, st0.genesis_root);
  EXPECT_EQ(wire[1].first.prev_state_root, wire[0].first.state_root);
  // Both closes took their operations as the groups brought them.
  EXPECT_EQ(rollup_->closes_read_from_store(), 0u);
  // Restart: the index resumes from its own position.
  Restart();
  EXPECT_EQ(IndexStatus().last_batch(), 2);
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  EXPECT_EQ(IndexStatus().last_batch(), 3);
  // Batch 3 holds operation 7, applied before the restart and never seen
  // as a group since: its close read the batch from the store.
  EXPECT_EQ(rollup_->closes_read_from_store(), 1u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  EXPECT_EQ(IndexStatus().last_batch(), 4);
  EXPECT_EQ(rollup_->closes_read_from_store(), 1u);
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 4);
  EXPECT_EQ(v->operations, 12);
  EXPECT_TRUE(ReplayOverTheWire(BatchesOverTheWire()).ok());
}

// Every batch listener hears every closed batch, in order; a removed one
// hears nothing more.
TEST_F(RollupTest, BatchListenersHearEachClosedBatch) {
  std::mutex mu;
  std::vector<std::int64_t> first, second;
  int h1 = rollup_->AddBatchListener([&](const BatchHeader& b) {
    std::lock_guard lock(mu);
    first.push_back(b.number);
  });
  rollup_->AddBatchListener([&](const BatchHeader& b) {
    std::lock_guard lock(mu);
    second.push_back(b.number);
  });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  rollup_->RemoveBatchListener(h1);
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(Close().has_value());
  std::lock_guard lock(mu);
  EXPECT_EQ(first, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(second, (std::vector<std::int64_t>{1, 2}));
}

// Committed groups wake the index thread only when they fill the open batch
// (or many are queued): with a persist interval of a minute, the group that
// fills a batch still closes it at once.
TEST_F(RollupTest, TheGroupThatFillsTheBatchWakesTheIndexAtOnce) {
  opts_.persist_interval_ms = 60000;
  Restart();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::int64_t> closed;
  rollup_->AddBatchListener([&](const BatchHeader& b) {
    std::lock_guard lock(mu);
    closed.push_back(b.number);
    cv.notify_all();
  });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());  // max_batch_txs = 3
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !closed.empty(); }))
      << "the batch waited for the persist interval";
  EXPECT_EQ(closed, (std::vector<std::int64_t>{1}));
}

// A check writes the open batch's tree only once enough changes wait or the
// oldest waited persist_max_lag_ms: a few changes wait for the close (which
// writes them with the batch), many are written at the next check, and a
// few old ones too.
TEST_F(RollupTest, FewChangesWaitForTheCloseManyOrOldOnesAreWrittenAtACheck) {
  opts_.max_batch_txs = 1000;
  opts_.persist_interval_ms = 10;
  WriteOnlyAtCloses();
  Restart();
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // ~30 checks
  EXPECT_EQ(IndexStatus().applied_seq, 0) << "a check wrote a few changes";
  auto b = Close();
  ASSERT_TRUE(b.has_value());
  RollupStatus st = IndexStatus();
  EXPECT_EQ(st.applied_seq, 1);
  EXPECT_EQ(st.last_batch(), 1);
  EXPECT_EQ(st.state_root, b->state_root);
  // Its leaves were written with it: the proof at batch 1 shows the data.
  auto proof = Prove(b_.account_id, 1);
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  EXPECT_FALSE(proof->leaf_data.empty());

  auto persisted_within = [&](std::int64_t seq) { return WaitFor([&] { return IndexStatus().applied_seq >= seq; }); };
  opts_.persist_min_entries = 1;  // many (any) changes
  Restart();
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  EXPECT_TRUE(persisted_within(2));
  WriteOnlyAtCloses();
  opts_.persist_max_lag_ms = 50;  // few, but old
  Restart();
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  EXPECT_TRUE(persisted_within(3));
  // A stop writes whatever waits (read from the file before any restart
  // could catch up).
  WriteOnlyAtCloses();
  Restart();
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/rollup.sqlite"));
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto persisted = GetRollupStatus(**db);
    ASSERT_TRUE(persisted.ok()) << persisted.error().message;
    EXPECT_EQ(persisted->applied_seq, 4);
  }
  Start();
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->batches, 2);
}

// The tree cache is bounded after every write, closes included: with
// batches of one operation, each closed before any check is due, the closes
// are the only writes.
TEST_F(RollupTest, ClosesBoundTheTreeCacheWhenNoCheckWrites) {
  opts_.max_batch_txs = 1;
  opts_.max_cached_nodes = 1;
  WriteOnlyAtCloses();
  Restart();
  for (std::int64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
    WaitFor([&] { return IndexStatus().last_batch() >= i; });
    ASSERT_EQ(IndexStatus().last_batch(), i);
    // Trimmed just after the close's commit, which readers may see first.
    WaitFor([&] { return rollup_->cached_tree_nodes() == 0; });
    EXPECT_EQ(rollup_->cached_tree_nodes(), 0u) << "after batch " << i;
  }
}

// A module that writes committed state without touching its leaf fools
// nothing that compares live and replay (both skip the same leaf); verify's
// rebuild of the root from every replayed leaf catches it.
TEST_F(RollupTest, VerifyFindsStateChangedWithoutTouchingItsLeaf) {
  test::SetExampleForgetsTouch(true);
  state::OperationRequest r;
  r.type = "example_lock";
  r.signer = a_.account_id;
  r.nonce = ledger_->GetAccount(a_.account_id)->nonce;
  r.fields = {{"id", "untracked"}, {"asset", "BTC"}, {"amount", "5"}, {"expires_at", "4000000000"}};
  auto op = test::SignOperation(ledger_->params(), ledger_->registry(), r, a_);
  ASSERT_TRUE(op.ok()) << op.error().message;
  auto done = ledger_->SubmitSync(std::move(*op));
  ASSERT_TRUE(done.ok()) << done.error().message;
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();  // the verifier runs the same buggy module
  test::SetExampleForgetsTouch(false);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_untracked_state") << v.error().message;
}

// After an unclean stop the index catches up from the operation log.
TEST_F(RollupTest, CatchesUpWithOperationsItNeverSaw) {
  opts_.max_batch_txs = 1000;
  Restart();
  ASSERT_TRUE(Send(a_, b_.account_id, 5).ok());
  Restart(/*with_rollup=*/false);  // the node runs without the index for a while
  TestKey c = test::KeyFromSeed("catch-up");
  ASSERT_TRUE(Send(a_, c.address, 70).ok());
  ASSERT_TRUE(Send(b_, a_.account_id, 9).ok());
  Restart();
  RollupStatus st = IndexStatus();
  EXPECT_EQ(st.applied_seq, 3);
  auto head = Prove(c.account_id, std::nullopt);
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->leaf_data.empty());
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->batches, 1);
}

// rollupprune: the history that only batches older than the newest N read
// is deleted; proofs there are refused with batch_pruned, proofs at the
// newest N batches and at the head still verify, and so does the log.
TEST_F(RollupTest, PruningKeepsTheNewestBatchesProvable) {
  // Rows some newer row at or below `through` makes unreadable by any tree
  // from `through` on: exactly what pruning through that batch deletes.
  auto superseded = [&](const char* table, const char* key, std::int64_t through) {
    return IndexCount(std::string("SELECT COUNT(*) FROM ") + table + " p WHERE EXISTS (SELECT 1 FROM " + table +
                          " q WHERE q." + key + " = p." + key + " AND q.version > p.version AND q.version <= ?1)",
                      through);
  };
  auto provable = [&](std::optional<std::int64_t> batch) -> kray::Status {
    auto p = Prove(b_.account_id, batch);
    if (!p.ok()) return std::move(p).error();
    auto root = FromHexFixed<32>(p->root);
    if (!root) return Error::Internal("bad root");
    return VerifyLeafProof(*p, state::LeafId{state::kAccountLeaf, b_.account_id}, *root);
  };
  // Five batches of three transfers, between the same two accounts: each
  // batch rewrites the same pages and preimages.
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(Send(i % 2 ? b_ : a_, i % 2 ? a_.account_id : b_.account_id, 10 + i).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  ASSERT_EQ(IndexStatus().last_batch(), 5);
  EXPECT_EQ(IndexStatus().oldest_proof_batch, 0);  // off by default: every batch keeps its history
  EXPECT_GT(superseded("rollup_smt_pages", "page", 4), 0);
  EXPECT_GT(superseded("rollup_leaf_data", "key", 4), 0);
  EXPECT_TRUE(provable(0).ok());

  opts_.prune_keep_batches = 2;  // turned on over an existing history: it catches up
  opts_.prune_chunk_rows = 1;    // one row per step: every step resumes after the last key
  Restart();
  // The window moves first, then the rows behind it are deleted in steps.
  for (int i = 0; i < 100 && (IndexStatus().oldest_proof_batch < 4 || superseded("rollup_smt_pages", "page", 4) > 0 ||
                              superseded("rollup_leaf_data", "key", 4) > 0);
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(IndexStatus().oldest_proof_batch, 4);
  EXPECT_EQ(superseded("rollup_smt_pages", "page", 4), 0);
  EXPECT_EQ(superseded("rollup_leaf_data", "key", 4), 0);
  EXPECT_GT(superseded("rollup_smt_pages", "page", 5), 0);  // batch 4's tree is still whole
  for (std::int64_t n : {0, 1, 3}) {
    auto p = Prove(b_.account_id, n);
    ASSERT_FALSE(p.ok()) << n;
    EXPECT_EQ(p.error().code, "batch_pruned");
    EXPECT_EQ(p.error().kind, ErrorKind::kNotFound);
  }
  for (std::optional<std::int64_t> n :
       {std::optional<std::int64_t>(4), std::optional<std::int64_t>(5), std::optional<std::int64_t>()}) {
    auto ok = provable(n);
    EXPECT_TRUE(ok.ok()) << ok.error().message;
  }
  // New batches move the window along.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  for (int i = 0; i < 100 && IndexStatus().oldest_proof_batch < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(IndexStatus().oldest_proof_batch, 5);
  EXPECT_EQ(Prove(b_.account_id, 4).error().code, "batch_pruned");
  EXPECT_TRUE(provable(6).ok());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 6);

  // Turned off again: what was deleted stays deleted, and is said so.
  opts_.prune_keep_batches = 0;
  Restart();
  EXPECT_EQ(IndexStatus().oldest_proof_batch, 5);
  EXPECT_EQ(Prove(b_.account_id, 2).error().code, "batch_pruned");
  EXPECT_TRUE(provable(5).ok());
}

// Two accounts whose leaf keys share their first 18 bits: their leaves and
// the node above them lie below kRollupDerivedDepth, where the index stores
// no page and derives the subtree from the leaves' rows. Proofs at every
// batch, the writer reading those nodes back (cache bounded to nothing,
// restarts) and verify all agree.
TEST_F(RollupTest, LeavesBelowTheStoredDepthAreProvedFromTheirRows) {
  std::map<std::uint32_t, TestKey> by_prefix;
  TestKey deep[2];
  for (int i = 0;; ++i) {
    TestKey k = test::KeyFromSeed("deep-" + std::to_string(i));
    Hash256 key = state::AccountKey(k.account_id);
    auto [it, fresh] = by_prefix.emplace((key[0] << 10) | (key[1] << 2) | (key[2] >> 6), k);
    if (!fresh) {
      deep[0] = it->second;
      deep[1] = k;
      break;
    }
  }
  opts_.max_cached_nodes = 1;  // every write leaves the cache empty
  Restart();
  std::int64_t amount = 1;
  auto send_both = [&] {
    for (const TestKey& k : deep) {
      auto sent = Send(a_, k.address, static_cast<Amount>(amount++));  // creates the account
      ASSERT_TRUE(sent.ok()) << sent.error().message;
    }
  };
  auto all_provable = [&](std::optional<std::int64_t> batch) {
    for (const TestKey& k : deep) {
      state::LeafId id{state::kAccountLeaf, k.account_id};
      auto p = Prove(k.account_id, batch);
      ASSERT_TRUE(p.ok()) << p.error().message;
      auto root = FromHexFixed<32>(p->root);
      ASSERT_TRUE(root);
      EXPECT_TRUE(p->proof.Includes());
      EXPECT_GE(p->proof.siblings.size(), 19u);
      auto checked = VerifyLeafProof(*p, id, *root);
      EXPECT_TRUE(checked.ok()) << checked.error().message;
    }
  };
  for (int i = 0; i < 3; ++i) send_both();  // batches 1 and 2 (three operations each)
  ASSERT_TRUE(rollup_->Sync().ok());
  ASSERT_EQ(IndexStatus().last_batch(), 2);
  for (std::optional<std::int64_t> n :
       {std::optional<std::int64_t>(1), std::optional<std::int64_t>(2), std::optional<std::int64_t>()})
    all_provable(n);
  auto p1 = Prove(deep[0].account_id, 1);
  ASSERT_TRUE(p1.ok());
  auto leaf = state::DecodeLeaf(p1->leaf_data);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(leaf->account.BalanceOf("KRAY").available, 1u + 3u);  // batch 1: amounts 1, 2, 3
  // A cold cache: the writer derives what it reads. Batch 3 closes at the
  // third transfer.
  Restart();
  send_both();
  send_both();
  ASSERT_TRUE(rollup_->Sync().ok());
  ASSERT_EQ(IndexStatus().last_batch(), 3);
  all_provable(3);
  all_provable(std::nullopt);
  EXPECT_EQ(IndexCount("SELECT COUNT(*) FROM rollup_smt_pages WHERE page >= x'0010'"), 0);
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 3);
}

TEST_F(RollupTest, IntervalClosesNonEmptyBatchesOnly) {
  opts_.batch_interval = 1;
  Restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  ASSERT_TRUE(rollup_->Sync().ok());
  EXPECT_EQ(IndexStatus().last_batch(), 0);  // an empty interval makes no batch
  ASSERT_TRUE(Send(a_, b_.account_id, 5).ok());
  for (int i = 0; i < 50 && IndexStatus().last_batch() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(IndexStatus().last_batch(), 1);
}

TEST_F(RollupTest, IndexOfAnotherStoreIsRefused) {
  Stop();
  TempDir other;
  std::filesystem::copy_file(dir_.file("data/rollup.sqlite"), other.file("rollup.sqlite"));
  std::filesystem::remove(dir_.file("data/rollup.sqlite"));
  Start(false);
  ASSERT_TRUE(Send(a_, b_.account_id, 5).ok());
  auto missing = Rollup::Open(*ledger_, opts_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "rollup_missing");
}

// Edits made behind the node's back: replay is the tool that finds them.
TEST_F(RollupTest, VerifyFindsEditsBehindTheNodesBack) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 100).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  auto ok = Verify();
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->unbatched, 1);
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE account_rows SET available = available + 1 WHERE account_id = '" + b_.account_id +
                           "' AND asset = 'KRAY'")
                    .ok());
  }
  auto bad = Verify();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "verify_head_mismatch");
  EXPECT_NE(bad.error().message.find(b_.account_id), std::string::npos) << bad.error().message;
  Start();  // for TearDown
}

// A balance row without its account is no leaf (leaves are enumerated from
// accounts), so only the store's own conservation sums show it.
TEST_F(RollupTest, VerifyFindsARowNoLeafCovers) {
  ASSERT_TRUE(Send(a_, b_.account_id, 100).ok());
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO account_rows (account_id, asset, available, staked, locked) "
                           "VALUES ('kray1nobody', 'KRAY', 5000, 0, 0)")
                    .ok());
  }
  auto bad = Verify();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "verify_conservation_failed");
  EXPECT_NE(bad.error().message.find("head:"), std::string::npos) << bad.error().message;
  Start();  // for TearDown
}

// A batch header's gas totals are not covered by the tx root (which binds
// each operation's fee): verify sums them itself.
TEST_F(RollupTest, VerifyFindsABatchHeadersGasEdited) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 10).ok());  // max_batch_txs = 3
  ASSERT_TRUE(rollup_->Sync().ok());
  ASSERT_EQ(IndexStatus().last_batch(), 1);
  ASSERT_TRUE(Verify().ok());
  Stop();
  for (const char* column : {"gas_collected", "gas_burned", "gas_retained"}) {
    {
      auto db = store::Database::Open(dir_.file("data") + "/rollup.sqlite");
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE(
          (*db)->Exec(std::string("UPDATE batches SET ") + column + " = " + column + " + 1 WHERE number = 1").ok());
    }
    auto bad = Verify();
    ASSERT_FALSE(bad.ok()) << column;
    EXPECT_EQ(bad.error().code, "verify_batch_gas_mismatch") << column;
    EXPECT_NE(bad.error().message.find("batch 1"), std::string::npos) << bad.error().message;
    auto db = store::Database::Open(dir_.file("data") + "/rollup.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)->Exec(std::string("UPDATE batches SET ") + column + " = " + column + " - 1 WHERE number = 1").ok());
  }
  EXPECT_TRUE(Verify().ok());
  Start();  // for TearDown
}

// --- a dishonest node, simulated: the store is edited while it is stopped,
// and the index is made to re-derive its tree from the edited store, so the
// published roots match the forgery. Both verifiers must still refuse it.

void WriteOperationRow(store::Database& db, const state::Operation& op) {
  auto st = db.Prepare(
      "INSERT OR REPLACE INTO operations (seq, hash, type, auth, signer, nonce, scheme, signature, fields, evidence, "
      "timestamp, gas_fee, touched) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  ASSERT_TRUE(st.ok());
  st->Bind(1, static_cast<std::int64_t>(op.seq)).BindBlob(2, *FromHexFixed<32>(op.hash)).Bind(3, op.type);
  st->Bind(4, static_cast<std::int64_t>(op.auth)).BindTextOrNull(5, op.signer);
  st->Bind(6, static_cast<std::int64_t>(op.nonce)).Bind(7, static_cast<std::int64_t>(op.scheme));
  if (op.signature.empty())
    st->BindNull(8);
  else
    st->BindBlob(8, op.signature);
  st->BindBlob(9, state::EncodeFields(op.fields)).BindBlob(10, state::EncodeFields(op.evidence));
  st->Bind(11, op.timestamp)
      .Bind(12, static_cast<std::int64_t>(op.gas_fee))
      .BindBlob(13, state::EncodeLeafIds(op.touched));
  ASSERT_TRUE(st->Run().ok());
}

// Makes the index forget everything from `seq` on, so it re-reads those
// operations' leaves from the (edited) store: its roots then commit to the forgery.
void RewindIndex(const std::string& datadir, std::int64_t seq) {
  auto db = store::Database::Open(datadir + "/rollup.sqlite");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("UPDATE rollup_state SET applied_seq = " + std::to_string(seq - 1) + " WHERE id = 1").ok());
}

// Hole 2: a legacy-signed KRAY transfer recorded as a BTC transfer, its id
// recomputed and balances moved to match.
TEST_F(RollupTest, LegacyKrayTransferRewrittenAsBtcFailsBothVerifiers) {
  opts_.max_batch_txs = 1000;
  Restart();
  auto r = Send(a_, b_.account_id, 5000, "KRAY", "legacy");
  ASSERT_TRUE(r.ok()) << r.error().message;
  state::Operation forged = r->op;
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    state::SetField(forged.fields, "asset", "BTC");
    forged.hash =
        ToHex(state::SigningMessageV1("kray-regtest-1", "transfer", forged.signer, forged.nonce, forged.fields));
    ASSERT_TRUE((*db)->Exec("DELETE FROM operations WHERE seq = 1").ok());
    WriteOperationRow(**db, forged);
    // Balances as if BTC had moved: KRAY back (but the gas), BTC over.
    for (const char* sql :
         {"UPDATE account_rows SET available = available + 5000 WHERE asset='KRAY' AND account_id='%a'",
          "UPDATE account_rows SET available = available - 5000 WHERE asset='KRAY' AND account_id='%b'",
          "UPDATE account_rows SET available = available - 5000 WHERE asset='BTC' AND account_id='%a'",
          "UPDATE account_rows SET available = available + 5000 WHERE asset='BTC' AND account_id='%b'"}) {
      std::string s(sql);
      s.replace(s.find('%'), 2, std::string(sql).find("%a") != std::string::npos ? a_.account_id : b_.account_id);
      ASSERT_TRUE((*db)->Exec(s).ok()) << s;
    }
  }
  RewindIndex(dir_.file("data"), 1);
  Start();
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_tx_failed");
  EXPECT_NE(v.error().message.find("legacy_signature_not_allowed"), std::string::npos) << v.error().message;
  kray::Status wire = ReplayOverTheWire(BatchesOverTheWire());
  ASSERT_FALSE(wire.ok());
  EXPECT_EQ(wire.error().code, "verify_tx_failed");
}

// Hole 3: a key bound behind the node's back to a funded account that never
// registered (no BIP-86 link between key and address), then used to drain it.
TEST_F(RollupTest, KeyBoundWithoutBip86ProofFailsBothVerifiers) {
  opts_.max_batch_txs = 1000;
  Restart();
  TestKey victim = test::KeyFromSeed("victim"), thief = test::KeyFromSeed("thief");
  ASSERT_TRUE(Send(a_, victim.address, 90000).ok());  // funds a never-registered account
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    state::Operation bind;
    bind.type = std::string(state::kAccountCreateOp);
    bind.auth = state::Auth::kPublic;
    bind.fields = {{"l1_address", victim.address}, {"pubkey", ToHex(thief.pub)}};
    bind.seq = 2;
    {
      auto ts = store::QueryInt(**db, "SELECT timestamp FROM operations WHERE seq = 1");
      ASSERT_TRUE(ts.ok());
      bind.timestamp = *ts;
    }
    bind.hash = ToHex(state::UnsignedOperationId("kray-regtest-1", bind));
    bind.touched = {state::LeafId{state::kAccountLeaf, victim.account_id}};
    WriteOperationRow(**db, bind);
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE account_rows SET pubkey = '" + ToHex(thief.pub) +
                           "' WHERE asset = '' AND account_id = '" + victim.account_id + "'")
                    .ok());
  }
  RewindIndex(dir_.file("data"), 2);
  Start();
  // The node, trusting its edited store, accepts the thief's signature.
  auto drain = Send(thief, a_.account_id, 80000, "KRAY", "v1", victim.account_id);
  ASSERT_TRUE(drain.ok()) << drain.error().message;
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_tx_failed");
  EXPECT_NE(v.error().message.find("pubkey_address_mismatch"), std::string::npos) << v.error().message;
  kray::Status wire = ReplayOverTheWire(BatchesOverTheWire());
  ASSERT_FALSE(wire.ok());
  EXPECT_NE(wire.error().message.find("pubkey_address_mismatch"), std::string::npos) << wire.error().message;
}

// Hole 1: an honest legacy transfer naming its recipient by an all-uppercase
// address verifies everywhere (no false fraud proof).
TEST_F(RollupTest, UppercaseLegacyRecipientVerifiesEverywhere) {
  std::string upper = b_.address;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ASSERT_TRUE(Send(a_, upper, 123, "KRAY", "legacy").ok());
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  kray::Status wire = ReplayOverTheWire(BatchesOverTheWire());
  EXPECT_TRUE(wire.ok()) << wire.error().message;
}

// Random sequences of every registered operation type (signed, public,
// operator, system) reproduce every batch root through both verifier paths;
// flipping any single field of any recorded operation makes replay fail.
TEST_F(RollupTest, PropertyEveryOperationTypeReplaysAndEveryFlipIsCaught) {
  opts_.max_batch_txs = 1000;
  Restart();
  std::mt19937_64 rng(7);
  std::vector<TestKey> keys = {a_, b_};
  std::set<std::string> types_seen;
  int escrow = 0;
  auto submit = [&](Result<state::Operation> op) {
    if (!op.ok()) return;  // e.g. a self-transfer drawn at random
    auto r = ledger_->SubmitSync(std::move(*op));
    if (r.ok() && !r->no_change) types_seen.insert(r->op.type);
  };
  for (int batch = 0; batch < 3; ++batch) {
    for (int i = 0; i < 12; ++i) {
      const TestKey& from = keys[rng() % keys.size()];
      auto acct = ledger_->GetAccount(from.account_id);
      ASSERT_TRUE(acct.ok());
      switch (rng() % 6) {
        case 0: {  // a new account, public or proven
          TestKey k = test::KeyFromSeed("prop" + std::to_string(batch) + "-" + std::to_string(i));
          ASSERT_TRUE(Send(a_, k.address, 50000).ok());
          submit(test::AccountCreate(ledger_->params(), ledger_->registry(), k, rng() % 2));
          keys.push_back(k);
          break;
        }
        case 1:  // legacy, by address
          if (acct->pubkey_hex.empty()) break;
          submit(test::SignOperation(
              ledger_->params(), ledger_->registry(),
              test::TransferRequest(from.address, keys[rng() % keys.size()].address, 1 + rng() % 100, acct->nonce),
              from));
          break;
        case 2:  // v1, other asset
          submit(test::SignOperation(ledger_->params(), ledger_->registry(),
                                     test::TransferRequest(a_.account_id, b_.account_id, 1 + rng() % 100,
                                                           ledger_->GetAccount(a_.account_id)->nonce, "DOG", "memo"),
                                     a_));
          break;
        case 3:
        case 4: {  // lock; some expire at once (the node expires them), some are released
          state::OperationRequest r;
          r.type = "example_lock";
          r.signer = a_.account_id;
          r.nonce = ledger_->GetAccount(a_.account_id)->nonce;
          std::int64_t expires = rng() % 2 ? ledger_->Now() : ledger_->Now() + 100000;
          std::string id = "esc" + std::to_string(escrow++);
          r.fields = {{"id", id},
                      {"asset", "BTC"},
                      {"amount", std::to_string(1 + rng() % 1000)},
                      {"expires_at", std::to_string(expires)}};
          submit(test::SignOperation(ledger_->params(), ledger_->registry(), r, a_));
          if (expires > ledger_->Now()) {
            state::OperationRequest rel;
            rel.type = "example_release";
            rel.auth = state::Auth::kOperator;
            rel.fields = {{"id", id}};
            auto done = ledger_->SubmitRequestSync(rel);
            if (done.ok()) types_seen.insert(done->op.type);
          }
          break;
        }
        default:
          ASSERT_TRUE(Send(b_, a_.account_id, 1 + rng() % 1000).ok());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // due system operations run
    ASSERT_TRUE(Close().has_value());
  }
  ledger_->Flush();
  auto stats = ledger_->GetTxStats();
  for (const char* t : {"transfer", "account_create", "example_lock", "example_release", "example_expire"})
    EXPECT_GT(stats->by_type[t], 0u) << t;
  EXPECT_TRUE(ledger_->CheckConservation()->ok);
  ASSERT_TRUE(rollup_->Sync().ok());

  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 3);
  // Every close took its operations as their groups arrived (signed,
  // operator and system ones): verify's roots from the log agree with them.
  EXPECT_EQ(rollup_->closes_read_from_store(), 0u);
  auto wire = BatchesOverTheWire();
  ASSERT_TRUE(ReplayOverTheWire(wire).ok());

  // Every field of every operation of batch 1, flipped one at a time.
  auto flip = [](std::string& s) { s = s.empty() ? "x" : s.substr(0, s.size() - 1) + (s.back() == '0' ? "1" : "0"); };
  int mutations = 0;
  for (std::size_t i = 0; i < wire[0].second.size(); ++i) {
    const state::Operation original = wire[0].second[i];
    std::vector<std::function<void(state::Operation&)>> flips = {
        [](state::Operation& o) { o.seq += 1; },
        [&](state::Operation& o) { flip(o.hash); },
        [](state::Operation& o) { o.type += "x"; },
        [](state::Operation& o) {
          o.auth = o.auth == state::Auth::kOperator ? state::Auth::kSystem : state::Auth::kOperator;
        },
        [](state::Operation& o) { o.signer = o.signer.empty() ? "kray_" + std::string(32, '0') : ""; },
        [](state::Operation& o) { o.nonce += 1; },
        [](state::Operation& o) {
          o.scheme = o.scheme == state::SigScheme::kV1 ? state::SigScheme::kLegacy : state::SigScheme::kV1;
        },
        [](state::Operation& o) {
          if (o.signature.empty())
            o.signature.assign(64, 1);
          else
            o.signature[7] ^= 1;
        },
        [](state::Operation& o) { o.timestamp += 1; },
        [](state::Operation& o) { o.gas_fee += 1; },
        [](state::Operation& o) {
          if (o.touched.empty())
            o.touched.push_back(state::LeafId{state::kAccountLeaf, "kray_x"});
          else
            o.touched.pop_back();
        },
    };
    for (std::size_t f = 0; f < original.fields.size(); ++f)
      flips.push_back([&, f](state::Operation& o) { flip(o.fields[f].second); });
    for (std::size_t f = 0; f < original.evidence.size(); ++f)
      flips.push_back([&, f](state::Operation& o) { flip(o.evidence[f].second); });
    for (const auto& mutate : flips) {
      auto mutated = wire;
      mutate(mutated[0].second[i]);
      kray::Status s = ReplayOverTheWire(mutated);
      EXPECT_FALSE(s.ok()) << "operation " << i << " (" << original.type << ") mutation " << mutations
                           << " was not caught";
      ++mutations;
    }
  }
  EXPECT_GT(mutations, 100);

  // The datadir path (krayd verify) reads the same records from the store:
  // a few edits there are caught too.
  Stop();
  auto copy_and_edit = [&](const std::string& sql) {
    TempDir copy;
    std::filesystem::copy(dir_.file("data"), copy.file("data"), std::filesystem::copy_options::recursive);
    {
      auto db = store::Database::Open(copy.file("data/krayd.sqlite"));
      EXPECT_TRUE(db.ok());
      EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
    }
    VerifyOptions vo;
    return VerifyDatadir(copy.file("data"), vo, Registry(), nullptr);
  };
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET timestamp = timestamp + 1 WHERE seq = 2").ok());
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET gas_fee = gas_fee + 1 WHERE seq = 3").ok());
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET nonce = nonce + 1 WHERE seq = 4").ok());
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET signature = zeroblob(64) WHERE seq = 5").ok());
  EXPECT_FALSE(copy_and_edit("DELETE FROM operations WHERE seq = 6").ok());
  Start();
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
// `krayd verify` opens rollup.sqlite read-only, so after an upgrade it may
// read an index the node has not migrated to schema 003 yet (no
// oldest_proof_batch): the status reads as nothing pruned.
TEST(RollupStatusTest, IndexBeforeSchema003ReadsAsNothingPruned) {
  TempDir dir{"kray-rollup-status-"};
  auto db = store::Database::Open(dir.file("rollup.sqlite"));
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE(
      (*db)
          ->Exec("CREATE TABLE rollup_state (id INTEGER PRIMARY KEY CHECK (id = 1), genesis_hash TEXT NOT NULL, "
                 "genesis_root TEXT NOT NULL, state_root TEXT NOT NULL, open_batch INTEGER NOT NULL, "
                 "open_since INTEGER NOT NULL, batched_seq INTEGER NOT NULL, applied_seq INTEGER NOT NULL); "
                 "INSERT INTO rollup_state VALUES (1, 'g', 'r0', 'r', 4, 7, 30, 31)")
          .ok());
  auto st = GetRollupStatus(**db);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->last_batch(), 3);
  EXPECT_EQ(st->applied_seq, 31);
  EXPECT_EQ(st->oldest_proof_batch, 0);
}

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
  auto data = state::EncodeAccountLeaf(a);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(ToHex(state::AccountKey(a.account_id)), "cf6deb03b1de2abdce2bfeec8dc24a290bfbb34335db354ff51b1a9bbf1d8e39");
  EXPECT_EQ(ToHex(state::LeafValueHash(*data)), "29d447cfa9b06850f792b53753c5590b11a0a4a47d7f9f34e08d2d42e8c6db6b");
  auto back = state::DecodeLeaf(*data);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->account.nonce, 7u);
  ASSERT_EQ(back->account.balances.size(), 2u);  // zero row omitted, sorted BTC < KRAY
  EXPECT_EQ(back->account.balances[0].asset, "BTC");
  EXPECT_EQ(back->account.balances[1].staked, 20u);
  state::SupplyState s{"KRAY", 2000000000, 0, 11, 10};
  EXPECT_EQ(ToHex(state::LeafValueHash(state::EncodeSupplyLeaf(s))),
            "a4348147cc26e5a4ea054a369f18e25c65f6fd046f4e0a7e2644db6341e807b8");
  // Decoder rejects truncation and trailing bytes, never crashes.
  for (std::size_t n = 0; n < data->size(); ++n)
    EXPECT_FALSE(state::DecodeLeaf(ByteSpan(*data).subspan(0, n)).ok()) << n;
  Bytes extra = *data;
  extra.push_back(0);
  EXPECT_FALSE(state::DecodeLeaf(extra).ok());
}

// The operation record's wire format round-trips exactly.
TEST(EncodingTest, OperationJsonRoundTrips) {
  state::Operation op;
  op.seq = 9;
  op.hash = std::string(64, 'a');
  op.type = "transfer";
  op.auth = state::Auth::kSigned;
  op.signer = "kray_0123456789abcdef0123456789abcdef";
  op.nonce = 3;
  op.scheme = state::SigScheme::kLegacy;
  op.signature.assign(64, 0x5a);
  op.fields = {{"amount", "5"}, {"asset", "KRAY"}, {"data", ""}, {"to", "kray_ffffffffffffffffffffffffffffffff"}};
  op.evidence = {{"legacy_signer", "BCRT1P..."}, {"legacy_to", "x"}};
  op.timestamp = 1764000001;
  op.gas_fee = 1;
  op.touched = {{1, "kray_a"}, {64, "esc:1"}};
  auto back = OperationFromJson(OperationJson(op));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(state::OperationRecordHash(*back), state::OperationRecordHash(op));
  EXPECT_FALSE(OperationFromJson("{\"seq\":1}").ok());
  EXPECT_FALSE(OperationFromJson("[]").ok());
}

}  // namespace
}  // namespace kray::rollup
