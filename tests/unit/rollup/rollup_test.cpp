// The rollup index: batches, proofs, restarts, catch-up, pruning, the tree
// cache (docs/ROLLUP.md). Verify and replay against edited datadirs are in
// rollup_verify_test.cpp; the bounds on one open batch and on the unfolded
// heads in rollup_bounds_test.cpp.
#include "kray/rollup/rollup.h"

#include <gtest/gtest.h>

#include <map>

#include "kray/rollup/leaf_rows.h"
#include "rollup_fixture.h"

namespace kray::rollup {
namespace {

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

// The threshold counts the changed leaves' rows, not the tree's nodes: a
// transfer changes three leaves (the two accounts, the fee's supply) but
// dozens of nodes on their paths, which, counted, wrote every page of a
// large tree at every check (rollup.h).
TEST_F(RollupTest, ACheckCountsTheChangedLeavesNotTheTreesNodes) {
  opts_.max_batch_txs = 1000;
  opts_.persist_interval_ms = 10;
  WriteOnlyAtCloses();
  opts_.persist_min_entries = 4;
  Restart();
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // ~30 checks
  EXPECT_EQ(IndexStatus().applied_seq, 0) << "a check wrote the changes of three leaves";
  opts_.persist_min_entries = 3;
  Restart();
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  EXPECT_TRUE(WaitFor([&] { return IndexStatus().applied_seq >= 2; }));
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
    EXPECT_GE(rollup_->tree_cache_clears(), static_cast<std::uint64_t>(i)) << "after batch " << i;
  }
}

// A tree that fits its cache stays in it: nothing is emptied, whatever the
// writes, and the bound is the one asked for.
TEST_F(RollupTest, ATreeThatFitsItsCacheIsNeverEmptied) {
  opts_.max_batch_txs = 1;
  opts_.max_cached_nodes = CachedTreeNodesFor(16);
  WriteOnlyAtCloses();
  Restart();
  EXPECT_EQ(rollup_->max_cached_nodes(), 16u * 1024 * 1024 / kCachedTreeNodeBytes);
  for (std::int64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
    WaitFor([&] { return IndexStatus().last_batch() >= i; });
  }
  ASSERT_TRUE(rollup_->Sync().ok());
  EXPECT_GT(rollup_->cached_tree_nodes(), 0u);
  EXPECT_EQ(rollup_->tree_cache_clears(), 0u);
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
  EXPECT_GT(superseded("rollup_leaf_versions", "key", 4), 0);
  EXPECT_TRUE(provable(0).ok());

  opts_.prune_keep_batches = 2;  // turned on over an existing history: it catches up
  opts_.prune_chunk_rows = 1;    // one row per step: every step resumes after the last key
  Restart();
  // The window moves first, then the rows behind it are deleted in steps.
  for (int i = 0; i < 100 && (IndexStatus().oldest_proof_batch < 4 || superseded("rollup_smt_pages", "page", 4) > 0 ||
                              superseded("rollup_leaf_versions", "key", 4) > 0);
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(IndexStatus().oldest_proof_batch, 4);
  EXPECT_EQ(superseded("rollup_smt_pages", "page", 4), 0);
  EXPECT_EQ(superseded("rollup_leaf_versions", "key", 4), 0);
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

// The leaves' heads are folded after every kFoldHeadsEvery-th close
// (leaf_rows.h). Proofs of every batch still provable, and of the head, read
// the same before a fold, across a restart between folds (the heads above
// the fold read back from the rows) and after it; pruning deletes rows that
// folded heads name, and an account created above the fold has no head row
// until the next one.
TEST_F(RollupTest, HeadsFoldedEveryEighthBatchReadTheSameAcrossRestarts) {
  static_assert(kFoldHeadsEvery == 8, "the batch counts below follow the fold interval");
  opts_.prune_keep_batches = 3;
  Restart();
  const TestKey late = test::KeyFromSeed("created above the fold");
  auto heads_through = [&] { return IndexCount("SELECT heads_through FROM rollup_state"); };
  auto head_rows = [&] { return IndexCount("SELECT COUNT(*) FROM rollup_leaf_head"); };
  EXPECT_EQ(heads_through(), 0);  // the genesis leaves' heads
  const std::int64_t genesis_heads = head_rows();
  Amount amount = 1;
  auto batches = [&](int n, bool create_late = false) {
    for (int i = 0; i < 3 * n; ++i) {
      const bool odd = i % 2;
      const std::string to = create_late && i == 0 ? late.address : odd ? a_.account_id : b_.account_id;
      auto sent = Send(odd ? b_ : a_, to, amount++);
      ASSERT_TRUE(sent.ok()) << sent.error().message;
    }
    ASSERT_TRUE(rollup_->Sync().ok());
  };
  // Each account's proof at each batch, as first served: later reads must match it.
  std::map<std::pair<std::string, std::int64_t>, LeafProof> served;
  auto expect_proofs = [&](const std::vector<std::string>& accounts) {
    const RollupStatus st = IndexStatus();
    for (const auto& account : accounts) {
      for (std::int64_t n = std::max<std::int64_t>(st.oldest_proof_batch, 1); n <= st.last_batch(); ++n) {
        auto p = Prove(account, n);
        // Pruning runs on: only the newest three batches are sure to stay provable.
        if (!p.ok() && p.error().code == "batch_pruned" && n < st.last_batch() - 2) continue;
        ASSERT_TRUE(p.ok()) << account << " at " << n << ": " << p.error().message;
        auto root = FromHexFixed<32>(p->root);
        ASSERT_TRUE(root);
        EXPECT_TRUE(VerifyLeafProof(*p, state::LeafId{state::kAccountLeaf, account}, *root).ok());
        auto [it, first] = served.emplace(std::make_pair(account, n), *p);
        if (first) continue;
        EXPECT_EQ(p->root, it->second.root) << n;
        EXPECT_EQ(p->leaf_data, it->second.leaf_data) << n;
        EXPECT_EQ(p->proof.siblings, it->second.proof.siblings) << n;
      }
      auto head = Prove(account, std::nullopt);
      ASSERT_TRUE(head.ok()) << head.error().message;
      EXPECT_EQ(head->leaf_data, served.at({account, st.last_batch()}).leaf_data);
    }
  };
  batches(7);
  EXPECT_EQ(IndexStatus().last_batch(), 7);
  EXPECT_EQ(heads_through(), 0);  // seven batches above the fold: heads in memory only
  expect_proofs({a_.account_id, b_.account_id});
  batches(1);
  EXPECT_EQ(heads_through(), 8);
  expect_proofs({a_.account_id, b_.account_id});
  batches(2, /*create_late=*/true);  // batches 9 and 10; `late` created in 9
  EXPECT_EQ(heads_through(), 8);
  EXPECT_EQ(head_rows(), genesis_heads);  // `late` has rows but no head yet
  expect_proofs({a_.account_id, b_.account_id, late.account_id});
  Restart();
  EXPECT_EQ(heads_through(), 8);
  expect_proofs({a_.account_id, b_.account_id, late.account_id});
  batches(2);  // 12: pruning moves past the fold, deleting rows batch 8's heads name
  ASSERT_TRUE(WaitFor([&] { return IndexStatus().oldest_proof_batch == 10; }));
  expect_proofs({a_.account_id, b_.account_id, late.account_id});
  batches(4);
  EXPECT_EQ(heads_through(), 16);
  EXPECT_EQ(head_rows(), genesis_heads + 1);
  Restart();
  batches(1);
  expect_proofs({a_.account_id, b_.account_id, late.account_id});
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 17);
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
