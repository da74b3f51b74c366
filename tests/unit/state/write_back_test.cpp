// The account rows' write-back (src/state/unwritten_rows.h): a changed row
// the store has waits as a record and in memory; every reader sees it there;
// records are deleted only once a sweep wrote their rows back; at open they
// are applied.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "../../../src/state/state_cache.h"
#include "../../../src/state/unwritten_rows.h"
#include "kray/state/conservation.h"
#include "kray/state/leaves.h"
#include "kray/state/module.h"
#include "kray/state/redo.h"
#include "kray/store/database.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::state {
namespace {

std::string Id(int i) {
  char buf[40];
  // Spread over the sweep's key ranges (the first three hex digits).
  std::snprintf(buf, sizeof buf, "kray_%03x%029d", (i * 2654435761u) % 4096, i);
  return buf;
}

class WriteBackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Database::Open(":memory:").value());
    ASSERT_TRUE(registry_.Migrate(*db_).ok());
  }

  // Flush + COMMIT + Committed(), as the sequencer runs a group.
  void Commit(StateCache& root) {
    store::Transaction tx(*db_);
    const Status flushed = root.Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.error().message;
    ASSERT_TRUE(tx.Commit().ok());
    root.Committed();
  }

  // A mint to `id` (its nonce counted too): the supply row is written at
  // once, the account's rows are not.
  void Credit(StateCache& root, const std::string& id, Amount amount) {
    StateCache child(root);
    SupplyRow supply = child.GetSupply("KRAY").value();
    supply.minted += amount;
    child.PutSupply("KRAY", supply);
    BalanceRow row = child.GetBalance(id, "KRAY").value();
    row[0] += amount;
    child.PutBalance(id, "KRAY", row);
    auto own = child.FindAccount(id).value().value();
    ++own.nonce;
    child.PutAccount(id, own);
    child.MergeIntoParent();
  }

  // Genesis-like: `n` accounts of 100 KRAY each, and the supply.
  void Fund(StateCache& root, int n) {
    for (int i = 0; i < n; ++i) {
      root.PutAccount(Id(i), AccountRow{"bcrt1p" + std::to_string(i), "", 0, 1, 0});
      root.PutBalance(Id(i), "KRAY", BalanceRow{100, 0, 0});
    }
    root.PutSupply("KRAY", SupplyRow{static_cast<Amount>(n) * 100, 0, 0, 0});
    Commit(root);
  }

  // Fund(root, n), and the balances it leaves, for a test to follow.
  std::map<std::string, Amount> FundAndModel(StateCache& root, int n) {
    Fund(root, n);
    std::map<std::string, Amount> model;
    for (int i = 0; i < n; ++i) model[Id(i)] = 100;
    return model;
  }

  Amount Stored(const std::string& id) {
    return static_cast<Amount>(
        store::QueryInt(*db_, "SELECT available FROM balances WHERE account_id='" + id + "' AND asset='KRAY'").value());
  }
  std::int64_t Records() { return store::QueryInt(*db_, "SELECT COUNT(*) FROM account_redo").value(); }

  ModuleRegistry registry_;
  std::unique_ptr<store::Database> db_;
  UnwrittenRows rows_;
};

TEST_F(WriteBackTest, AChangedRowWaitsAsARecordAndEveryReaderSeesIt) {
  StateCache root(*db_);
  root.EnableWriteBack(rows_, 3600);
  Fund(root, 2);  // new rows: written at once
  EXPECT_EQ(Stored(Id(0)), 100u);
  EXPECT_EQ(Records(), 0);

  Credit(root, Id(0), 50);
  Commit(root);
  EXPECT_EQ(Stored(Id(0)), 100u);  // not written back
  EXPECT_EQ(Records(), 1);
  ASSERT_TRUE(rows_.Find(Id(0)).has_value());
  EXPECT_EQ(rows_.Find(Id(0))->balances.at("KRAY")[0], 150u);
  EXPECT_EQ(rows_.Find(Id(0))->own->nonce, 1u);

  // A new root cache (after a trim) reads the store, then the unwritten rows.
  StateCache fresh(*db_);
  fresh.EnableWriteBack(rows_, 3600);
  EXPECT_EQ(fresh.GetBalance(Id(0), "KRAY").value()[0], 150u);
  EXPECT_EQ(fresh.FindAccount(Id(0)).value()->nonce, 1u);
  EXPECT_EQ(fresh.AccountState(Id(0)).value()->balances.at(0).available, 150u);
  // Readers of the store: with the live rows, or the records, or neither.
  {
    RedoScope live(&rows_);
    EXPECT_EQ(LoadAccountState(*db_, Id(0)).value().BalanceOf("KRAY").available, 150u);
  }
  auto images = ReadRedo(*db_).value();
  {
    RedoScope exact(&images);
    EXPECT_EQ(LoadAccountState(*db_, Id(0)).value().nonce, 1u);
  }
  EXPECT_EQ(LoadAccountState(*db_, Id(0)).value().BalanceOf("KRAY").available, 100u);
  // The conservation check sums the records' images, not the stale row.
  auto report = CheckConservation(*db_, registry_).value();
  EXPECT_TRUE(report.ok) << report.ToString();
}

TEST_F(WriteBackTest, WriteBackAllWritesEveryRowAndDeletesTheRecords) {
  StateCache root(*db_);
  root.EnableWriteBack(rows_, 3600);
  Fund(root, 50);
  for (int g = 0; g < 5; ++g) {
    for (int i = 0; i < 50; i += 1 + g) Credit(root, Id(i), 1);
    Commit(root);
  }
  EXPECT_EQ(Records(), 5);
  EXPECT_GT(rows_.size(), 0u);
  root.WriteBackAll();
  Commit(root);
  EXPECT_EQ(Records(), 0);
  EXPECT_EQ(Stored(Id(0)), 105u);
  // Kept a while, equal to the rows written (a reader's older snapshot may
  // still need them), then forgotten; one committed again since stays.
  EXPECT_EQ(rows_.Find(Id(0))->balances.at("KRAY")[0], 105u);
  Credit(root, Id(1), 1);
  Commit(root);
  rows_.EraseRetired(std::chrono::steady_clock::now() + UnwrittenRows::kRetireDelay);
  EXPECT_EQ(rows_.size(), 1u);
  EXPECT_EQ(rows_.Find(Id(1))->balances.at("KRAY")[0], 102u);  // one credit (step 1), then this one
  EXPECT_EQ(Stored(Id(48)), 104u);                             // every step but 5 divides 48
  EXPECT_EQ(Stored(Id(49)), 101u);                             // only step 1 divides 49
  EXPECT_TRUE(CheckConservation(*db_, registry_).value().ok);
}

TEST_F(WriteBackTest, ApplyRedoAtOpenWritesTheNewestImageOfEachRow) {
  StateCache root(*db_);
  root.EnableWriteBack(rows_, 3600);
  Fund(root, 3);
  for (int g = 0; g < 4; ++g) {
    Credit(root, Id(1), 10);
    Commit(root);
  }
  EXPECT_EQ(Records(), 4);
  EXPECT_EQ(Stored(Id(1)), 100u);
  // As at the next open after a kill: the records, and no memory.
  EXPECT_EQ(ApplyRedo(*db_).value(), 1u);  // one account
  EXPECT_EQ(ApplyRedo(*db_).value(), 0u);
  EXPECT_EQ(Records(), 0);
  EXPECT_EQ(Stored(Id(1)), 140u);
  EXPECT_EQ(LoadAccountState(*db_, Id(1)).value().nonce, 4u);
  EXPECT_TRUE(CheckConservation(*db_, registry_).value().ok);
}

TEST_F(WriteBackTest, AMalformedRecordIsRefused) {
  ASSERT_TRUE(db_->Exec("INSERT INTO account_redo (seq, rows) VALUES (1, x'0205')").ok());
  EXPECT_FALSE(ReadRedo(*db_).ok());
  EXPECT_FALSE(ApplyRedo(*db_).ok());
  ASSERT_TRUE(db_->Exec("UPDATE account_redo SET rows = x'09016100' WHERE seq = 1").ok());
  EXPECT_FALSE(ReadRedo(*db_).ok());
}

TEST_F(WriteBackTest, AnIdleNodesSweepGoesOnWithGroupsOfNoOperation) {
  StateCache root(*db_);
  root.EnableWriteBack(rows_, 0.05);  // a whole sweep every 50 ms
  Fund(root, 20);
  EXPECT_FALSE(root.WriteBackDue());
  for (int i = 0; i < 20; ++i) Credit(root, Id(i), 7);
  Commit(root);
  EXPECT_TRUE(root.WriteBackDue());
  EXPECT_EQ(Records(), 1);
  // Groups with nothing to write (Sequencer::Run when idle), one sweep apart.
  for (int g = 0; g < 2; ++g) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    Commit(root);
  }
  EXPECT_EQ(Records(), 0);  // the second sweep's end deleted the first's records
  // Written back, the accounts are held kRetireDelay longer (for readers'
  // older snapshots): due until the node forgets them.
  EXPECT_TRUE(root.WriteBackDue());
  rows_.EraseRetired(std::chrono::steady_clock::now() + UnwrittenRows::kRetireDelay);
  EXPECT_FALSE(root.WriteBackDue());
  EXPECT_EQ(rows_.size(), 0u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Stored(Id(i)), 107u);
  EXPECT_TRUE(CheckConservation(*db_, registry_).value().ok);
}

// A reader whose snapshot began before a write-back, reading after the node
// forgot the accounts it wrote back, would read their rows as they were
// before: it is refused (and Ledger::WithReader reads again).
TEST(WriteBackStaleSnapshot, AnOlderSnapshotThanAForgottenWriteBackIsRefused) {
  test::TempDir dir;
  const std::string path = dir.path() + "/s.sqlite";
  auto db = store::Database::Open(path).value();
  ModuleRegistry registry;
  ASSERT_TRUE(registry.Migrate(*db).ok());
  UnwrittenRows rows;
  StateCache root(*db);
  root.EnableWriteBack(rows, 3600);
  auto commit = [&] {
    store::Transaction tx(*db);
    ASSERT_TRUE(root.Flush().ok());
    ASSERT_TRUE(tx.Commit().ok());
    root.Committed();
  };
  root.PutAccount(Id(1), AccountRow{"bcrt1p1", "", 0, 1, 0});
  root.PutBalance(Id(1), "KRAY", BalanceRow{100, 0, 0});
  commit();
  BalanceRow row = root.GetBalance(Id(1), "KRAY").value();
  row[0] = 60;
  root.PutBalance(Id(1), "KRAY", row);
  commit();  // 60 is unwritten: the store says 100

  auto reader = store::Database::Open(path).value();
  auto balance = [&] {
    return static_cast<Amount>(
        store::QueryInt(*reader, "SELECT available FROM balances WHERE account_id='" + Id(1) + "' AND asset='KRAY'")
            .value());
  };
  {
    store::ReadTransaction old_snapshot(*reader);
    EXPECT_EQ(balance(), 100u);
    EXPECT_EQ(rows.FindIn(Id(1), *reader).value()->balances.at("KRAY")[0], 60u);  // the images
    root.WriteBackAll();
    commit();  // written back: the store says 60, the images are kept a while
    EXPECT_EQ(rows.FindIn(Id(1), *reader).value()->balances.at("KRAY")[0], 60u);
    rows.EraseRetired(std::chrono::steady_clock::now() + UnwrittenRows::kRetireDelay);
    EXPECT_EQ(rows.size(), 0u);
    EXPECT_EQ(balance(), 100u);  // this snapshot predates the write-back
    auto stale = rows.FindIn(Id(1), *reader);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, "snapshot_stale");
    // A later group changes another of the account's rows: its images are
    // back in memory, but not the written-back KRAY row's, which this
    // snapshot has as it was.
    root.PutBalance(Id(1), "DOG", BalanceRow{0, 0, 0});
    commit();
    row = root.GetBalance(Id(1), "DOG").value();
    row[0] = 1;
    root.PutBalance(Id(1), "DOG", row);
    commit();
    ASSERT_TRUE(rows.Find(Id(1)).has_value());
    stale = rows.FindIn(Id(1), *reader);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, "snapshot_stale");
  }
  store::ReadTransaction fresh(*reader);
  EXPECT_EQ(balance(), 60u);
  auto images = rows.FindIn(Id(1), *reader).value();  // the later group's DOG row only
  ASSERT_TRUE(images.has_value());
  EXPECT_FALSE(images->balances.contains("KRAY"));
  EXPECT_EQ(images->balances.at("DOG")[0], 1u);
}

// A group's images are staged before its COMMIT (readers see them through a
// pointer into the group's own map) and settled after it: taken whole by an
// account with no images yet, merged into the images of one that has some,
// dropped if the group rolls back.
TEST(UnwrittenRowsStaging, AStagedGroupIsSeenInASnapshotThatHoldsItAndSettledIntoTheImages) {
  auto db = store::Database::Open(":memory:").value();
  ModuleRegistry registry;
  ASSERT_TRUE(registry.Migrate(*db).ok());  // an empty log: the snapshot is at seq 0
  UnwrittenRows rows;
  RedoImages first;
  first[Id(1)].balances["KRAY"] = {60, 0, 0};
  rows.Stage(first, 0);
  auto seen = rows.FindIn(Id(1), *db).value();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->balances.at("KRAY")[0], 60u);
  rows.Settle(first, true);
  ASSERT_TRUE(rows.Find(Id(1)).has_value());
  EXPECT_EQ(rows.Find(Id(1))->balances.at("KRAY")[0], 60u);

  auto later_group = [] {
    RedoImages g;
    g[Id(1)].balances["DOG"] = {1, 0, 0};
    g[Id(1)].own = UnwrittenAccount::Own{3, 0};
    g[Id(2)].balances["KRAY"] = {5, 0, 0};
    return g;
  };
  RedoImages rolled_back = later_group();
  rows.Stage(rolled_back, 5);  // its last operation is past this snapshot
  auto one = rows.FindIn(Id(1), *db).value();
  ASSERT_TRUE(one.has_value());
  EXPECT_FALSE(one->balances.contains("DOG"));
  EXPECT_FALSE(one->own.has_value());
  auto two = rows.FindIn(Id(2), *db).value();
  EXPECT_TRUE(!two || two->balances.empty());
  rows.Settle(rolled_back, false);
  EXPECT_FALSE(rows.Find(Id(2)).has_value());  // staged only: forgotten
  ASSERT_TRUE(rows.Find(Id(1)).has_value());
  EXPECT_FALSE(rows.Find(Id(1))->balances.contains("DOG"));

  RedoImages committed = later_group();
  rows.Stage(committed, 0);
  seen = rows.FindIn(Id(1), *db).value();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->balances.at("DOG")[0], 1u);
  rows.Settle(committed, true);
  one = rows.Find(Id(1));
  ASSERT_TRUE(one.has_value() && one->own.has_value());
  EXPECT_EQ(one->balances.at("KRAY")[0], 60u);  // kept from the first group
  EXPECT_EQ(one->balances.at("DOG")[0], 1u);
  EXPECT_EQ(one->own->nonce, 3u);
  ASSERT_TRUE(rows.Find(Id(2)).has_value());
  EXPECT_EQ(rows.Find(Id(2))->balances.at("KRAY")[0], 5u);
  EXPECT_EQ(rows.size(), 2u);
}

// Sweeps run at their pace while groups change random accounts: after
// every group, the store with its records applied is exactly the state, and
// so is the store with the rows in memory; records are deleted (the sweeps
// finish) but never one whose rows are not written back yet.
TEST_F(WriteBackTest, SweepsDeleteOnlyRecordsWhoseRowsAreWrittenBack) {
  constexpr int kAccounts = 300;
  StateCache root(*db_);
  root.EnableWriteBack(rows_, 0.02);  // a whole sweep every 20 ms
  auto model = FundAndModel(root, kAccounts);
  std::mt19937 rng(7);
  std::int64_t most_records = 0;
  for (int g = 0; g < 120; ++g) {
    for (int k = 0; k < 20; ++k) {
      const std::string id = Id(static_cast<int>(rng() % kAccounts));
      Credit(root, id, 1);
      ++model[id];
    }
    Commit(root);
    if (g % 3 == 0) root.Trim(0);  // forget the cache: reads go to the store and the rows in memory
    most_records = std::max(most_records, Records());
    auto images = ReadRedo(*db_).value();
    RedoScope exact(&images);
    for (const auto& [id, want] : model) {
      ASSERT_EQ(LoadAccountState(*db_, id).value().BalanceOf("KRAY").available, want) << id << " group " << g;
      ASSERT_EQ(root.GetBalance(id, "KRAY").value()[0], want) << id << " group " << g;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Sweeps ended and deleted records along the way.
  EXPECT_LT(Records(), 120);
  EXPECT_GT(most_records, 0);
  // Without the records the store is behind; with the rows in memory it is not.
  for (const auto& [id, want] : model) {
    Account a = LoadAccountState(*db_, id).value();
    if (auto unwritten = rows_.FindIn(id, *db_).value()) unwritten->ApplyTo(a);
    EXPECT_EQ(a.BalanceOf("KRAY").available, want);
  }
  EXPECT_TRUE(CheckConservation(*db_, registry_).value().ok);
}

// The sweep and the forgetting reach an account's images by reference,
// without a lookup (UnwrittenRows::Queued, Retired): an account written
// back, committed again before it is forgotten and written back again, is
// forgotten only after its last write-back, and one forgotten and changed
// again starts over; groups that roll back (the images of accounts
// forgotten: staged only) leave the rest as they were. Sweeps every few ms, forgetting
// forced between groups.
TEST_F(WriteBackTest, AccountsWrittenBackAgainAndForgottenKeepTheirNewestRows) {
  constexpr int kAccounts = 40;
  StateCache root(*db_);
  root.EnableWriteBack(rows_, 0.005);
  auto model = FundAndModel(root, kAccounts);
  std::mt19937 rng(11);
  std::uint64_t seq = 0;
  for (int g = 0; g < 300; ++g) {
    const bool roll_back = g % 9 == 4;
    for (int k = 0; k < 6; ++k) {
      const std::string id = Id(static_cast<int>(rng() % kAccounts));
      Credit(root, id, 1);
      if (!roll_back) ++model[id];
    }
    if (roll_back) {
      store::Transaction tx(*db_);
      ASSERT_TRUE(root.Flush().ok());
      root.Stage(++seq);
      root.Clear();  // as the sequencer after a failed COMMIT (tx rolls back)
    } else {
      store::Transaction tx(*db_);
      ASSERT_TRUE(root.Flush().ok());
      root.Stage(++seq);
      ASSERT_TRUE(tx.Commit().ok());
      root.Committed();
    }
    if (g % 4 == 0) rows_.EraseRetired(std::chrono::steady_clock::now() + UnwrittenRows::kRetireDelay);
    if (g % 5 == 0) root.Trim(0);
    for (const auto& [id, want] : model) ASSERT_EQ(root.GetBalance(id, "KRAY").value()[0], want) << id << " " << g;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  root.WriteBackAll();
  Commit(root);
  rows_.EraseRetired(std::chrono::steady_clock::now() + UnwrittenRows::kRetireDelay);
  EXPECT_EQ(rows_.size(), 0u);
  EXPECT_EQ(Records(), 0);
  for (const auto& [id, want] : model) EXPECT_EQ(Stored(id), want) << id;
  EXPECT_TRUE(CheckConservation(*db_, registry_).value().ok);
}

}  // namespace
}  // namespace kray::state
