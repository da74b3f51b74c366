// The genesis applied to a store (include/kray/state/genesis.h).
#include "kray/state/genesis.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kray/state/executor.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::TempDir;

// Every row of the core tables a genesis writes, as one text.
std::string CoreRows(store::Database& db) {
  std::string out;
  for (const char* sql : {
           "SELECT account_id || '/' || asset || '/' || IFNULL(l1_address, '') || '/' || IFNULL(pubkey, '') || '/' || "
           "IFNULL(nonce, '') || '/' || IFNULL(available, '') || '/' || IFNULL(staked, '') || '/' || "
           "IFNULL(locked, '') FROM account_rows ORDER BY account_id, asset",
           "SELECT asset || '/' || genesis_total || '/' || minted || '/' || burned || '/' || fee_pool FROM supply "
           "ORDER BY asset",
           "SELECT name || '/' || value FROM counters ORDER BY name",
           "SELECT account_id || '/' || hex(y) FROM key_points ORDER BY account_id",
       }) {
    auto st = db.Prepare(sql);
    EXPECT_TRUE(st.ok()) << sql;
    if (!st.ok()) continue;
    EXPECT_TRUE(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
                  out += r.Text(0) + "\n";
                  return Ok();
                }).ok());
  }
  return out;
}

std::unique_ptr<store::Database> NewStore(const TempDir& dir, const std::string& name, const ModuleRegistry& reg) {
  auto db = store::Database::Open(dir.file(name));
  EXPECT_TRUE(db.ok());
  EXPECT_TRUE(reg.Migrate(**db).ok());
  return std::move(*db);
}

// ApplyGenesis writes the group without encoding its leaves (nobody read
// them: the rollup reads the genesis state's leaves back from the store).
// The store must be what writing the group with its change set gives.
TEST(Genesis, AppliedWithoutItsChangeSetTheStoreIsTheSame) {
  ModuleRegistry reg;
  ChainParams params;
  std::string j = "{\"chain_id\":\"kray-regtest-1\",\"timestamp\":1700000000,\"accounts\":[";
  for (int i = 0; i < 5; ++i) {
    const auto key = testing::KeyFromSeed("genesis-flush-" + std::to_string(i));
    j += std::string(i ? "," : "") + "{\"l1_address\":\"" + key.address + "\"" +
         (i % 2 ? ",\"pubkey\":\"" + ToHex(key.pub) + "\"" : std::string()) + ",\"balances\":{\"KRAY\":\"" +
         std::to_string(1000 + i) + "\"" + (i == 3 ? ",\"BTC\":\"7\"" : "") + "}}";
  }
  auto g = ParseGenesis(params, reg, j + "]}");
  ASSERT_TRUE(g.ok()) << g.error().message;
  TempDir dir;

  auto flushed = NewStore(dir, "flushed.sqlite", reg);
  ASSERT_TRUE(ApplyGenesis(*flushed, params, reg, *g).ok());

  auto finished = NewStore(dir, "finished.sqlite", reg);
  {
    store::Transaction tx(*finished);
    ASSERT_TRUE(tx.ok());
    Executor exec(*finished, params, reg);
    ASSERT_TRUE(exec.ApplyGenesis(*g).ok());
    auto changes = exec.FinishGroup();
    ASSERT_TRUE(changes.ok()) << changes.error().message;
    EXPECT_EQ(changes->leaves.size(), 5u + params.assets.size());  // the accounts and every asset's supply
    ASSERT_TRUE(tx.Commit().ok());
  }

  const std::string rows = CoreRows(*flushed);
  EXPECT_NE(rows.find(testing::KeyFromSeed("genesis-flush-3").address), std::string::npos) << rows;
  EXPECT_NE(rows.find("/7/0/0\n"), std::string::npos) << rows;  // the BTC balance
  EXPECT_EQ(rows, CoreRows(*finished));
  auto hash = ReadMeta(*flushed, "genesis_hash");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->value_or(""), g->hash_hex);
}

}  // namespace
}  // namespace kray::state
