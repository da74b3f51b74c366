// Random histories of every defi operation (and LP transfers) by two
// accounts over three pools, checked after every step:
//   - conservation holds for every asset (pool reserves and locked LP units
//     are the module's terms);
//   - LP accounting: each pool's LP supply == the units accounts hold + the
//     1,000 locked, and the LP asset's minted total == that supply + the
//     units removals returned to the module (nothing is burned);
//   - a swap never decreases any pool's k = reserve_a * reserve_b;
//   - without the protocol fee, no operation decreases k / S^2 (the value of
//     one LP unit): rounding in mint, burn and swap always favours the pool;
//   - a refused operation changes no committed leaf.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "chain.h"

namespace kray::defi {
namespace {

using testing::Chain;
using testing::kGenesisTime;

const test::TestKey kDev1 = test::DevAccount(1);
const test::TestKey kDev2 = test::DevAccount(2);
const std::vector<std::string> kPools = {"pool_kray_btc", "pool_kray_dog", "pool_btc_dog"};

U256 Mul128(u128 a, u128 b) {
  U256 x = U256::FromU128(a);
  return x.MulU64(static_cast<std::uint64_t>(b)) + (x.MulU64(static_cast<std::uint64_t>(b >> 64)) << 64);
}

void RunRandomHistory(bool protocol_fee, std::uint64_t seed) {
  Chain c = protocol_fee ? Chain(testing::GenesisWithDefi("{\"protocol_fee_account\": \"" + kDev2.account_id + "\"}"))
                         : Chain();
  ASSERT_EQ(c.genesis_error(), "");
  std::int64_t now = kGenesisTime + 10;
  ASSERT_TRUE(c.Run("pool_create", kDev1,
                    {{"token_a", "KRAY"}, {"token_b", "BTC"}, {"amount_a", "50000000"}, {"amount_b", "3000000"}}, now)
                  .ok());
  ASSERT_TRUE(c.Run("pool_create", kDev2,
                    {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", "40000000"}, {"amount_b", "900000000"}}, now)
                  .ok());
  ASSERT_TRUE(c.Run("pool_create", kDev1,
                    {{"token_a", "DOG"}, {"token_b", "BTC"}, {"amount_a", "700000000"}, {"amount_b", "2000000"}}, now)
                  .ok());
  std::mt19937_64 rng(seed);
  const std::vector<test::TestKey> keys = {kDev1, kDev2};
  const std::vector<std::string> assets = {"KRAY", "BTC", "DOG"};
  std::map<std::string, int> accepted, refused;
  for (int step = 0; step < 400; ++step) {
    now += static_cast<std::int64_t>(rng() % 3);
    const test::TestKey& who = keys[rng() % 2];
    const std::string& pool_id = kPools[rng() % kPools.size()];
    auto pair = ParsePoolId(c.params(), pool_id);
    ASSERT_TRUE(pair.ok());
    // Amounts from dust to a large share of a reserve.
    auto amount = [&](const std::string& asset) {
      Amount bal = c.Balance(who.account_id, asset);
      Amount cap = std::max<Amount>(1, std::min<Amount>(bal, 100000000) >> (rng() % 24));
      return 1 + rng() % cap;
    };
    std::string type;
    std::vector<std::pair<std::string, std::string>> fields;
    switch (rng() % 6) {
      case 0:
      case 1: {
        type = "swap";
        std::string in = rng() % 2 ? pair->asset_a : pair->asset_b;
        fields = {{"pool_id", pool_id},
                  {"token_in", in},
                  {"amount_in", std::to_string(amount(in))},
                  {"min_amount_out", rng() % 4 ? "0" : std::to_string(rng() % 100000)}};
        break;
      }
      case 2: {
        type = "swap_route";
        std::vector<std::string> path = assets;
        std::shuffle(path.begin(), path.end(), rng);
        if (rng() % 2) path.pop_back();
        std::string joined = path[0];
        for (std::size_t i = 1; i < path.size(); ++i) joined += "," + path[i];
        fields = {{"path", joined}, {"amount_in", std::to_string(amount(path[0]))}, {"min_amount_out", "0"}};
        break;
      }
      case 3:
        type = "liquidity_add";
        fields = {{"pool_id", pool_id},
                  {"amount_a", std::to_string(amount(pair->asset_a))},
                  {"amount_b", std::to_string(amount(pair->asset_b))},
                  {"min_amount_a", "0"},
                  {"min_amount_b", "0"}};
        break;
      case 4: {
        type = "liquidity_remove";
        Amount held = c.Balance(who.account_id, LpAsset(pool_id));
        Amount liq = held == 0 ? 1 + rng() % 1000 : 1 + rng() % held;
        fields = {
            {"pool_id", pool_id}, {"liquidity", std::to_string(liq)}, {"min_amount_a", "0"}, {"min_amount_b", "0"}};
        break;
      }
      default: {
        type = "transfer";
        Amount held = c.Balance(who.account_id, LpAsset(pool_id));
        fields = {{"to_account", (&who == &keys[0] ? kDev2 : kDev1).account_id},
                  {"amount", std::to_string(held == 0 ? 1 : 1 + rng() % held)},
                  {"asset", LpAsset(pool_id)}};
      }
    }
    std::map<std::string, Pool> before;
    for (const auto& id : kPools) before[id] = *c.FindPool(id);
    const std::string leaves_before = c.LeafSnapshot();
    auto r = c.Run(type, who, fields, now);
    (r.ok() ? accepted : refused)[type]++;
    if (!r.ok()) {
      EXPECT_EQ(c.LeafSnapshot(), leaves_before) << type << " refused with " << r.error().code << " changed state";
      EXPECT_NE(r.error().kind, ErrorKind::kInternal) << type << ": " << r.error().message;
    }
    std::string report;
    ASSERT_TRUE(c.Conserved(&report)) << "step " << step << " " << type << "\n" << report;
    for (const auto& id : kPools) {
      const Pool after = *c.FindPool(id);
      const Pool& prev = before[id];
      auto supply = c.Supply(LpAsset(id));
      EXPECT_EQ(supply.minted, after.lp_supply + after.lp_retired) << id;
      EXPECT_EQ(supply.burned, 0u) << id;
      EXPECT_EQ(after.lp_supply,
                kMinimumLiquidity + c.Balance(kDev1.account_id, LpAsset(id)) + c.Balance(kDev2.account_id, LpAsset(id)))
          << id;
      const u128 k_before = static_cast<u128>(prev.reserve_a) * prev.reserve_b;
      const u128 k_after = static_cast<u128>(after.reserve_a) * after.reserve_b;
      if (type == "swap" || type == "swap_route") {
        EXPECT_GE(k_after, k_before) << id << " step " << step;
      }
      if (!protocol_fee) {
        // k_after / S_after^2 >= k_before / S_before^2
        const u128 s_before = static_cast<u128>(prev.lp_supply) * prev.lp_supply;
        const u128 s_after = static_cast<u128>(after.lp_supply) * after.lp_supply;
        EXPECT_GE(Mul128(k_after, s_before), Mul128(k_before, s_after)) << id << " " << type << " step " << step;
      }
    }
  }
  // The history exercised every operation, both ways.
  for (const char* t : {"swap", "swap_route", "liquidity_add", "liquidity_remove", "transfer"})
    EXPECT_GT(accepted[t], 0) << t;
  EXPECT_GT(refused["swap"] + refused["swap_route"] + refused["liquidity_remove"], 0);
}

TEST(DefiProperty, RandomHistoriesKeepKAndConserveWithoutProtocolFee) {
  for (std::uint64_t seed : {11u, 12u}) RunRandomHistory(false, seed);
}

TEST(DefiProperty, RandomHistoriesConserveWithProtocolFee) {
  RunRandomHistory(true, 13);
}

}  // namespace
}  // namespace kray::defi
