// An account's own row and its balance rows in one table, account_rows
// (schema/core/003_account_rows.sql): the migration from the two tables,
// the constraints the two tables had (the foreign key now checked by the
// state cache), the read-only views readers use, and the state cache's one
// range read per account.
#include <gtest/gtest.h>

#include <span>
#include <string>

#include "../../../src/state/state_cache.h"
#include "kray/state/leaves.h"
#include "kray/state/module.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {

std::span<const store::Migration> CoreMigrations();

namespace {

using testing::TempDir;

const std::string kAlice = "kray_00000000000000000000000000000001";
const std::string kBob = "kray_00000000000000000000000000000002";

std::int64_t Int(store::Database& db, const std::string& sql) {
  auto v = store::QueryInt(db, sql);
  EXPECT_TRUE(v.ok()) << sql;
  return v.ok() ? *v : -1;
}

// A store at core 002 with two accounts in the old tables (Alice with two
// balance rows, Bob with one), then migrated to the current schema.
std::unique_ptr<store::Database> MigratedFrom002(const TempDir& dir) {
  auto db = store::Database::Open(dir.file("s.sqlite"));
  EXPECT_TRUE(db.ok());
  auto all = CoreMigrations();
  EXPECT_GE(all.size(), 3u);
  EXPECT_TRUE((*db)->Migrate("core", all.first(2)).ok());
  for (const char* sql : {
           "INSERT INTO accounts (account_id, l1_address, pubkey, nonce, created_at, gas_spent) VALUES "
           "('kray_00000000000000000000000000000001', 'bcrt1palice', 'ab', 4, 100, 7)",
           "INSERT INTO accounts (account_id, l1_address, nonce, created_at) VALUES "
           "('kray_00000000000000000000000000000002', 'bcrt1pbob', 0, 200)",
           "INSERT INTO balances VALUES ('kray_00000000000000000000000000000001', 'KRAY', 500, 20, 3)",
           "INSERT INTO balances VALUES ('kray_00000000000000000000000000000001', 'BTC', 9, 0, 0)",
           "INSERT INTO balances VALUES ('kray_00000000000000000000000000000002', 'KRAY', 1, 0, 0)",
       })
    EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
  EXPECT_TRUE((*db)->Migrate("core", all).ok());
  return std::move(*db);
}

TEST(AccountRows, Migration003KeepsEveryAccountAndBalanceRow) {
  TempDir dir;
  auto db = MigratedFrom002(dir);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM account_rows"), 5);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM account_rows WHERE asset = ''"), 2);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('accounts', 'balances')"),
            0);
  // The views show the old tables' rows, column for column.
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM accounts"), 2);
  EXPECT_EQ(Int(*db, "SELECT nonce * 1000 + created_at + gas_spent FROM accounts WHERE l1_address = 'bcrt1palice'"),
            4107);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM accounts WHERE pubkey IS NULL"), 1);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM balances"), 3);
  EXPECT_EQ(Int(*db, "SELECT SUM(available * 10000 + staked * 100 + locked) FROM balances WHERE asset = 'KRAY'"),
            5002003 + 10000);
  // What replay encodes leaves from reads the views.
  auto alice = LoadAccountState(*db, kAlice);
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  ASSERT_EQ(alice->balances.size(), 2u);
  EXPECT_EQ(alice->balances[0].asset, "BTC");
  EXPECT_EQ(alice->balances[1].available, 500u);
  EXPECT_EQ(alice->nonce, 4u);
}

TEST(AccountRows, KeepTheOldTablesConstraints) {
  TempDir dir;
  auto db = MigratedFrom002(dir);
  // Amounts and the nonce never go negative; an address is one account's.
  EXPECT_FALSE(db->Exec("UPDATE account_rows SET available = -1 WHERE asset = 'KRAY'").ok());
  EXPECT_FALSE(db->Exec("UPDATE account_rows SET nonce = -1 WHERE asset = ''").ok());
  EXPECT_FALSE(db->Exec("INSERT INTO account_rows (account_id, asset, l1_address, nonce, created_at, gas_spent) "
                        "VALUES ('kray_00000000000000000000000000000003', '', 'bcrt1pbob', 0, 1, 0)")
                   .ok());
  // A row is an account's own row or a balance row, not a mix.
  EXPECT_FALSE(db->Exec("UPDATE account_rows SET available = 1 WHERE asset = ''").ok());
  EXPECT_FALSE(db->Exec("UPDATE account_rows SET nonce = 1 WHERE asset = 'BTC'").ok());
  // The views are for reading.
  EXPECT_FALSE(db->Exec("UPDATE balances SET available = 1").ok());
  EXPECT_FALSE(db->Exec("UPDATE accounts SET nonce = 1").ok());
  EXPECT_EQ(Int(*db, "SELECT SUM(available) FROM balances"), 510);
}

class AccountRowsCache : public ::testing::Test {
 protected:
  void SetUp() override { db_ = MigratedFrom002(dir_); }
  void Flush(StateCache& root) {
    store::Transaction tx(*db_);
    ASSERT_TRUE(root.Flush().ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  TempDir dir_;
  std::unique_ptr<store::Database> db_;
};

// The account's read brings its balance rows along; a balance the cache
// changed and has not flushed is not replaced by the store's older row.
TEST_F(AccountRowsCache, AnAccountsReadKeepsBalancesTheCacheChanged) {
  StateCache root(*db_);
  ASSERT_EQ(root.GetBalance(kAlice, "KRAY").value()[0], 500u);
  root.PutBalance(kAlice, "KRAY", BalanceRow{450, 20, 3});
  auto alice = root.FindAccount(kAlice);
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->nonce, 4u);
  EXPECT_EQ(root.GetBalance(kAlice, "KRAY").value()[0], 450u);
  EXPECT_EQ(root.GetBalance(kAlice, "BTC").value()[0], 9u);
  Flush(root);
  EXPECT_EQ(Int(*db_, "SELECT available FROM balances WHERE account_id = '" + kAlice + "' AND asset = 'KRAY'"), 450);
}

// What balances' foreign key to accounts said, the cache checks as it
// writes a new balance row: it belongs to an account, in the store or
// written in the same flush.
TEST_F(AccountRowsCache, ANewBalanceRowNeedsItsAccount) {
  StateCache root(*db_);
  root.PutBalance("kray_00000000000000000000000000000009", "KRAY", BalanceRow{1, 0, 0});
  store::Transaction tx(*db_);
  auto flushed = root.Flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_NE(flushed.error().message.find("does not exist"), std::string::npos) << flushed.error().message;
  tx.Rollback();
  EXPECT_EQ(Int(*db_, "SELECT COUNT(*) FROM account_rows"), 5);
}

// Rows written through the cache land in account_rows and read back the
// same, through a fresh cache and through the views.
TEST_F(AccountRowsCache, WritesReadBackThroughAFreshCacheAndTheViews) {
  const std::string carol = "kray_00000000000000000000000000000003";
  {
    StateCache root(*db_);
    root.PutAccount(carol, AccountRow{"bcrt1pcarol", "", 0, 300, 0});
    root.PutBalance(carol, "KRAY", BalanceRow{5, 0, 0});
    AccountRow alice = root.FindAccount(kAlice).value().value();
    alice.nonce = 5;
    root.PutAccount(kAlice, alice);
    root.PutBalance(kBob, "BTC", BalanceRow{2, 0, 0});  // a new asset for an existing account
    Flush(root);
  }
  StateCache fresh(*db_);
  EXPECT_EQ(fresh.FindAccount(carol).value().value().created_at, 300);
  EXPECT_EQ(fresh.GetBalance(carol, "KRAY").value()[0], 5u);
  EXPECT_EQ(fresh.FindAccount(kAlice).value().value().nonce, 5u);
  auto bob = fresh.AccountState(kBob);
  ASSERT_TRUE(bob.ok() && bob->has_value());
  ASSERT_EQ((*bob)->balances.size(), 2u);
  EXPECT_EQ(EncodeAccountLeaf(**bob).value(), EncodeAccountLeaf(LoadAccountState(*db_, kBob).value()).value());
  EXPECT_EQ(Int(*db_, "SELECT COUNT(*) FROM accounts"), 3);
  EXPECT_EQ(Int(*db_, "SELECT COUNT(*) FROM balances"), 5);
  EXPECT_FALSE(fresh.FindAccount("kray_00000000000000000000000000000009").value().has_value());
}

// An account's range read is also its asset list (what its leaf encodes),
// so AccountState needs no second query; rows a child adds after the read
// join the list as they merge. A row added before the read, for an account
// not cached yet, is not in what the read saw: that list comes from the
// store after the flush instead.
TEST_F(AccountRowsCache, TheAccountsReadIsItsAssetListUnlessARowCameFirst) {
  StateCache root(*db_);
  {
    StateCache op(root);
    op.PutBalance(kBob, "BTC", BalanceRow{2, 0, 0});  // before Bob's account is read
    op.MergeIntoParent();
  }
  for (const auto& id : {kBob, kAlice}) {
    auto found = root.FindAccount(id);
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_TRUE(found->has_value()) << id;
  }
  {
    StateCache op(root);
    op.PutBalance(kAlice, "DOG", BalanceRow{1, 0, 0});  // after Alice's
    op.MergeIntoParent();
  }
  Flush(root);
  for (const auto& [id, assets] : {std::pair{kBob, 2u}, std::pair{kAlice, 3u}}) {
    auto state = root.AccountState(id);
    ASSERT_TRUE(state.ok() && state->has_value()) << id;
    EXPECT_EQ((*state)->balances.size(), assets) << id;
    auto stored = LoadAccountState(*db_, id);
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    ASSERT_EQ(stored->balances.size(), assets) << id;
    for (std::size_t i = 0; i < assets; ++i) {
      EXPECT_EQ((*state)->balances[i].asset, stored->balances[i].asset) << id;
      EXPECT_EQ((*state)->balances[i].available, stored->balances[i].available) << id;
    }
  }
}

}  // namespace
}  // namespace kray::state

namespace kray::state {
namespace {

// The sequencer's account cache bound (LedgerOptions::max_cached_entries,
// config accountcache): past it the cache is emptied between groups, which
// is counted, and the accounts read from the store again give the same
// state as a cache that held them all. Bounded at two million entries, the
// cache was emptied at a million accounts in use (docs/BENCHMARKS.md,
// fifty-ninth round).
TEST(AccountCacheBound, PastItTheCacheIsEmptiedCountedAndRefilledFromTheStore) {
  struct Outcome {
    std::uint64_t clears = 0;
    Account a, b;
  };
  auto run = [](std::size_t bound) {
    TempDir dir;
    auto options = testing::Options(dir);
    options.max_cached_entries = bound;
    ModuleRegistry registry;
    auto ledger = Ledger::Open(options, registry);
    EXPECT_TRUE(ledger.ok()) << ledger.error().message;
    Outcome out;
    if (!ledger.ok()) return out;
    EXPECT_EQ((*ledger)->options().max_cached_entries, bound);
    const testing::Key a = testing::Dev1(), b = testing::Dev2();
    for (std::uint64_t n = 0; n < 6; ++n) {
      auto sent = testing::Transfer(**ledger, a, a.account_id, b.account_id, 10 + n, n);
      EXPECT_TRUE(sent.ok()) << sent.error().message;
      sent = testing::Transfer(**ledger, b, b.account_id, a.account_id, 3, n);
      EXPECT_TRUE(sent.ok()) << sent.error().message;
    }
    testing::ExpectConserved(**ledger);
    out.clears = (*ledger)->metrics().account_cache_clears.value();
    out.a = (*ledger)->GetAccount(a.account_id).value();
    out.b = (*ledger)->GetAccount(b.account_id).value();
    return out;
  };
  const Outcome small = run(3);  // fewer entries than one transfer's two accounts hold
  const Outcome held = run(CachedAccountEntriesFor(kDefaultAccountCacheMiB));
  EXPECT_GE(small.clears, 12u);  // after every group
  EXPECT_EQ(held.clears, 0u);
  EXPECT_EQ(small.a.nonce, 6u);
  EXPECT_EQ(small.b.nonce, 6u);
  for (const char* asset : {"KRAY", "BTC"}) {
    EXPECT_EQ(small.a.BalanceOf(asset).available, held.a.BalanceOf(asset).available) << asset;
    EXPECT_EQ(small.b.BalanceOf(asset).available, held.b.BalanceOf(asset).available) << asset;
  }
}

}  // namespace
}  // namespace kray::state
