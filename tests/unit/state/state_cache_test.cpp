// StateCache::AccountState, what the sequencer encodes account leaves from,
// must agree with the store (LoadAccountState, what replay encodes from)
// after every flush: rows created by merged child caches, rows read before,
// trimmed caches.
#include "../../../src/state/state_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

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
      const Status flushed = root.Flush();
      ASSERT_TRUE(flushed.ok()) << flushed.error().message;
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

  // Writes an account's row and its KRAY row to the store, through a cache
  // of its own (as an earlier run of the node would have).
  void StoreAccount(const std::string& id, const AccountRow& row, Amount kray) {
    StateCache writer(*db_);
    writer.PutAccount(id, row);
    writer.PutBalance(id, "KRAY", BalanceRow{kray, 0, 0});
    store::Transaction tx(*db_);
    ASSERT_TRUE(writer.Flush().ok());
    ASSERT_TRUE(tx.Commit().ok());
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

// The cache packs ids of the executor's form ("kray_" + 32 lowercase hex)
// into 16 bytes and keeps any other id as written: ids that differ in one
// digit, in case, in length or in form each keep their own rows, and the
// rows a merged child changed are written back under the id they came with.
TEST_F(StateCacheTest, IdsOfEveryFormKeepTheirOwnRows) {
  const std::string zeros(32, '0');
  const std::vector<std::string> ids = {
      "kray_" + zeros,                  // packed
      "kray_" + zeros.substr(1) + "1",  // packed, one digit apart
      "kray_" + zeros.substr(1) + "a",  // packed, a letter digit
      "kray_" + zeros.substr(1) + "A",  // upper case: kept as written
      "kray_" + zeros.substr(1),        // 31 digits: kept as written
      "kray_" + zeros + "0",            // 33 digits
      "KRAY_" + zeros,                  // another prefix
      "alice",
  };
  {
    StateCache root(*db_);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      root.PutAccount(ids[i], AccountRow{"bcrt1p" + std::to_string(i), "", 0, 1, 0});
      root.PutBalance(ids[i], "KRAY", BalanceRow{100 + i, 0, 0});
    }
    for (const auto& id : ids) FlushAndCompare(root, id);
  }
  StateCache root(*db_);
  for (std::size_t i = 0; i < ids.size(); ++i) Credit(root, ids[i], i % 2 ? "DOG" : "KRAY", i + 1);
  auto dirty = root.DirtyAccountIds();
  std::sort(dirty.begin(), dirty.end());
  auto sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(dirty, sorted);
  for (const auto& id : ids) FlushAndCompare(root, id);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto stored = LoadAccountState(*db_, ids[i]);
    ASSERT_TRUE(stored.ok()) << ids[i];
    EXPECT_EQ(stored->l1_address, "bcrt1p" + std::to_string(i));
    EXPECT_EQ(stored->BalanceOf("KRAY").available, 100 + i + (i % 2 ? 0 : i + 1)) << ids[i];
    EXPECT_EQ(stored->BalanceOf("DOG").available, i % 2 ? i + 1 : 0) << ids[i];
  }
}

// A balance row that does not exist is not cached: an account's rows are
// searched one by one, so a signer asking for many made-up assets (any
// "LP:pool_…" name passes as an asset) must not make its lookups longer.
TEST_F(StateCacheTest, RowsThatDoNotExistAreNotCached) {
  const std::string id = "kray_" + std::string(32, 'b');
  StoreAccount(id, AccountRow{"bcrt1pbee", "", 0, 1, 0}, 10);
  StateCache root(*db_);
  for (int i = 0; i < 100; ++i)  // before the account is read: each one a store read
    EXPECT_EQ(root.GetBalance(id, "LP:pool_a_" + std::to_string(i)).value(), (BalanceRow{0, 0, 0}));
  EXPECT_EQ(root.size(), 0u);
  ASSERT_TRUE(root.FindAccount(id).value().has_value());
  const std::size_t read = root.size();  // the account's row and its KRAY row
  EXPECT_EQ(read, 2u);
  for (int i = 0; i < 1000; ++i) {  // after: known absent without a read
    StateCache child(root);
    EXPECT_EQ(child.GetBalance(id, "LP:pool_b_" + std::to_string(i)).value(), (BalanceRow{0, 0, 0}));
  }
  EXPECT_EQ(root.size(), read);
  EXPECT_EQ(root.GetBalance(id, "KRAY").value(), (BalanceRow{10, 0, 0}));
  // A row created for an asset looked up absent before is written and listed.
  Credit(root, id, "LP:pool_b_7", 3);
  FlushAndCompare(root, id);
  EXPECT_EQ(root.AccountState(id).value()->balances.size(), 2u);
}

// A row changed in place (MutableAccount) is a child's own copy until the
// child merges: the parent reads the old row meanwhile, a child dropped
// (an operation that failed) leaves it as it was, and a merged change is
// what the store gets. Rows that do not exist are not made.
TEST_F(StateCacheTest, RowsChangedInPlaceStayTheChildsUntilItMerges) {
  const std::string id = "kray_" + std::string(32, 'c');
  StoreAccount(id, AccountRow{"bcrt1pcee", "", 4, 1, 0}, 10);
  StateCache root(*db_);
  EXPECT_EQ(root.PeekAccount("kray_" + std::string(32, 'd')).value(), nullptr);
  EXPECT_EQ(root.MutableAccount("kray_" + std::string(32, 'd')).value(), nullptr);
  EXPECT_TRUE(root.DirtyAccountIds().empty());
  {
    StateCache dropped(root);
    AccountRow* row = dropped.MutableAccount(id).value();
    ASSERT_NE(row, nullptr);
    row->nonce = 99;
    EXPECT_EQ(dropped.PeekAccount(id).value()->nonce, 99u);
    EXPECT_EQ(root.PeekAccount(id).value()->nonce, 4u);
  }
  EXPECT_EQ(root.PeekAccount(id).value()->nonce, 4u);
  {
    StateCache child(root);
    AccountRow* first = child.MutableAccount(id).value();
    first->nonce = 5;
    AccountRow* again = child.MutableAccount(id).value();
    EXPECT_EQ(again, first);  // the child's copy, not a second one
    again->gas_spent = 7;
    EXPECT_EQ(root.PeekAccount(id).value()->nonce, 4u);
    child.MergeIntoParent();
  }
  const AccountRow* merged = root.PeekAccount(id).value();
  EXPECT_EQ(merged->nonce, 5u);
  EXPECT_EQ(merged->gas_spent, 7u);
  EXPECT_EQ(merged->l1_address, "bcrt1pcee");
  FlushAndCompare(root, id);
  EXPECT_EQ(LoadAccountState(*db_, id).value().nonce, 5u);
}

// Past its bound the cache forgets everything it has flushed and reads
// again what the next groups need; a trim in the middle of a group, with
// rows not flushed yet, drops nothing.
TEST_F(StateCacheTest, ATrimForgetsOnlyBetweenGroups) {
  const std::vector<std::string> assets = {"KRAY", "DOG", "BTC"};
  auto id = [](int i) { return "acct" + std::to_string(i); };
  std::map<std::pair<std::string, std::string>, Amount> expected;
  StateCache root(*db_);
  root.Reserve(400);
  for (int i = 0; i < 300; ++i) {
    root.PutAccount(id(i), AccountRow{"bcrt1p" + id(i), "", 0, 1, 0});
    for (std::size_t a = 0; a <= static_cast<std::size_t>(i) % assets.size(); ++a) {
      root.PutBalance(id(i), assets[a], BalanceRow{100, 0, 0});
      expected[{id(i), assets[a]}] = 100;
    }
  }
  FlushAndCompare(root, id(0));
  constexpr std::size_t kBound = 100;
  int trims = 0;
  for (int round = 0; round < 40; ++round) {
    for (int k = 0; k < 15; ++k) {
      const std::string who = id((round * 37 + k * 53) % 300), asset = assets[k % assets.size()];
      Credit(root, who, asset, 1);
      expected[{who, asset}] += 1;
    }
    root.PutAccount(id(300 + round), AccountRow{"bcrt1p" + id(300 + round), "", 0, 2, 0});
    root.PutBalance(id(300 + round), "KRAY", BalanceRow{1, 0, 0});
    expected[{id(300 + round), "KRAY"}] = 1;
    const std::size_t unflushed = root.size();
    root.Trim(0);
    ASSERT_EQ(root.size(), unflushed) << "round " << round;
    for (int i = 0; i < 300 + round + 1; i += 3) FlushAndCompare(root, id(i));
    if (root.size() > kBound) {
      root.Trim(kBound);
      EXPECT_EQ(root.size(), 0u) << "round " << round;
      ++trims;
    }
  }
  EXPECT_GT(trims, 30);
  for (const auto& [key, amount] : expected) {
    auto stored = LoadAccountState(*db_, key.first);
    ASSERT_TRUE(stored.ok()) << key.first;
    EXPECT_EQ(stored->BalanceOf(key.second).available, amount) << key.first << " " << key.second;
  }
}

}  // namespace
}  // namespace kray::state
