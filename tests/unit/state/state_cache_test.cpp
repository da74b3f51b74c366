// StateCache::AccountState, what the sequencer encodes account leaves from,
// must agree with the store (LoadAccountState, what replay encodes from)
// after every flush: rows created by merged child caches, rows read before,
// trimmed caches.
#include "../../../src/state/state_cache.h"

#include <gtest/gtest.h>

#include "kray/state/leaves.h"
#include "kray/state/module.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

class StateCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Database::Open(":memory:").value());
    ASSERT_TRUE(registry_.Migrate(*db_).ok());
  }

  // Flushes `root` in a transaction, then checks AccountState(id) against
  // the store.
  void FlushAndCompare(StateCache& root, const std::string& id) {
    {
      store::Transaction tx(*db_);
      ASSERT_TRUE(root.Flush().ok());
      ASSERT_TRUE(tx.Commit().ok());
    }
    auto cached = root.AccountState(id);
    ASSERT_TRUE(cached.ok()) << cached.error().message;
    auto stored = LoadAccountState(*db_, id);
    if (!stored.ok()) {
      EXPECT_EQ(stored.error().code, "account_not_found");
      EXPECT_FALSE(cached->has_value());
      return;
    }
    ASSERT_TRUE(cached->has_value());
    EXPECT_EQ(EncodeAccountLeaf(**cached).value(), EncodeAccountLeaf(*stored).value());
    ASSERT_EQ((*cached)->balances.size(), stored->balances.size());
    for (std::size_t i = 0; i < stored->balances.size(); ++i) {
      EXPECT_EQ((*cached)->balances[i].asset, stored->balances[i].asset);
      EXPECT_EQ((*cached)->balances[i].available, stored->balances[i].available);
      EXPECT_EQ((*cached)->balances[i].locked, stored->balances[i].locked);
    }
  }

  // One operation's changes: a child cache merged into the root.
  void Credit(StateCache& root, const std::string& id, const std::string& asset, Amount amount) {
    StateCache child(root);
    BalanceRow row = child.GetBalance(id, asset).value();
    row[0] += amount;
    child.PutBalance(id, asset, row);
    child.MergeIntoParent();
  }

  ModuleRegistry registry_;
  std::unique_ptr<store::Database> db_;
};

TEST_F(StateCacheTest, AccountStateAgreesWithTheStoreAsRowsAppear) {
  StateCache root(*db_);
  root.PutAccount("alice", AccountRow{"bcrt1palice", "", 0, 1, 0});
  root.PutBalance("alice", "KRAY", BalanceRow{100, 0, 0});
  FlushAndCompare(root, "alice");

  // A row created after the asset list was read, by a merged child.
  Credit(root, "alice", "DOG", 5);
  FlushAndCompare(root, "alice");
  // And one created directly on the root.
  root.PutBalance("alice", "BTC", BalanceRow{0, 0, 7});
  FlushAndCompare(root, "alice");
  // Changes to known rows.
  Credit(root, "alice", "KRAY", 1);
  FlushAndCompare(root, "alice");
}

TEST_F(StateCacheTest, AccountStateReadsRowsTheCacheHasNotSeen) {
  {
    StateCache writer(*db_);
    writer.PutAccount("bob", AccountRow{"bcrt1pbob", "", 3, 1, 0});
    writer.PutBalance("bob", "KRAY", BalanceRow{10, 0, 0});
    writer.PutBalance("bob", "DOG", BalanceRow{0, 4, 0});
    store::Transaction tx(*db_);
    ASSERT_TRUE(writer.Flush().ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  StateCache root(*db_);
  Credit(root, "bob", "KRAY", 2);  // one of bob's two rows cached, dirty
  FlushAndCompare(root, "bob");
  // Trimmed: the cache forgets what it read and reads again.
  root.Trim(0);
  Credit(root, "bob", "RUNE", 9);
  FlushAndCompare(root, "bob");
  FlushAndCompare(root, "nobody");
}

}  // namespace
}  // namespace kray::state
