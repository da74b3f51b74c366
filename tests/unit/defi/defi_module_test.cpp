// The defi module through the executor (the code the sequencer and replay
// run): every operation with hand-computed values (amm_test.cpp derives the
// formulas; the numbers below were checked with Python integers), every
// refusal leaving the committed state untouched, LP shares as assets, the
// protocol fee, the committed leaves and the conservation terms.
#include <gtest/gtest.h>

#include "chain.h"
#include "kray/state/core_module.h"

namespace kray::defi {
namespace {

using testing::Chain;
using testing::kGenesisTime;
using Fields = std::vector<std::pair<std::string, std::string>>;

const test::TestKey kDev1 = test::DevAccount(1);
const test::TestKey kDev2 = test::DevAccount(2);
constexpr Amount kKray = 1000000000, kBtc = 100000000, kDog = 100000000000;
const std::int64_t t0 = kGenesisTime + 100;

// pool_kray_btc with 1,000,000 KRAY credits and 2,000,000 sats, by dev 1,
// named in the other order on purpose.
Result<state::Receipt> CreateKrayBtc(Chain& c, std::int64_t ts = t0) {
  return c.Run("pool_create", kDev1,
               {{"token_a", "BTC"}, {"token_b", "KRAY"}, {"amount_a", "2000000"}, {"amount_b", "1000000"}}, ts);
}

std::string ResultOf(const state::Receipt& r, std::string_view key) {
  return std::string(state::FindField(r.result, key).value_or("<none>"));
}

// Expects a refusal with `code` that changed no committed state (no leaf,
// no nonce).
void ExpectRefused(Chain& c, const std::string& type, const test::TestKey& key, Fields fields, const std::string& code,
                   std::int64_t ts = t0 + 50) {
  const std::string before = c.LeafSnapshot();
  auto r = c.Run(type, key, fields, ts);
  ASSERT_FALSE(r.ok()) << type << " was accepted";
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_EQ(c.LeafSnapshot(), before) << type << " " << code << " changed state";
  EXPECT_TRUE(c.Conserved());
}

TEST(DefiModule, PoolCreateDebitsBothSidesAndMintsLpUnits) {
  Chain c;
  ASSERT_EQ(c.genesis_error(), "");
  auto r = CreateKrayBtc(c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->gas_fee, 20u);  // GasFor(kDefiComplex)
  EXPECT_EQ(ResultOf(*r, "pool_id"), "pool_kray_btc");
  EXPECT_EQ(ResultOf(*r, "lp_asset"), "LP:pool_kray_btc");
  EXPECT_EQ(ResultOf(*r, "liquidity"), "1413213");  // isqrt(1e6 * 2e6) - 1000
  // Results in pool order, although the request named BTC first.
  EXPECT_EQ(ResultOf(*r, "token_a"), "KRAY");
  EXPECT_EQ(ResultOf(*r, "amount_a"), "1000000");
  EXPECT_EQ(ResultOf(*r, "token_b"), "BTC");
  EXPECT_EQ(ResultOf(*r, "amount_b"), "2000000");
  auto pool = c.FindPool("pool_kray_btc");
  ASSERT_TRUE(pool);
  EXPECT_EQ(pool->asset_a, "KRAY");
  EXPECT_EQ(pool->reserve_a, 1000000u);
  EXPECT_EQ(pool->reserve_b, 2000000u);
  EXPECT_EQ(pool->lp_supply, 1414213u);
  EXPECT_EQ(pool->created_at, t0);
  EXPECT_EQ(c.Balance(kDev1.account_id, "KRAY"), kKray - 1000000 - 20);
  EXPECT_EQ(c.Balance(kDev1.account_id, "BTC"), kBtc - 2000000);
  EXPECT_EQ(c.Balance(kDev1.account_id, "LP:pool_kray_btc"), 1413213u);
  // The LP asset's supply ledger: all isqrt(a*b) units minted, 1,000 held
  // by the module (the conservation term), none burned.
  EXPECT_EQ(c.Supply("LP:pool_kray_btc").minted, 1414213u);
  auto report = state::CheckConservation(c.db(), testing::DefiRegistry());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->ToString();
  for (const auto& line : report->lines) {
    std::map<std::string, Amount> expected = {{"LP:pool_kray_btc", 1000}, {"KRAY", 1000000}, {"BTC", 2000000}};
    if (!expected.count(line.asset)) continue;
    const char* term = line.asset.rfind("LP:", 0) == 0 ? "defi.locked_liquidity" : "defi.pools";
    EXPECT_EQ(line.extra.at(term), expected[line.asset]) << line.asset;
  }
  // The pool's leaf is committed with the documented encoding (docs/ROLLUP.md).
  Bytes expected{kPoolLeaf};
  state::PutLp(expected, "pool_kray_btc");
  state::PutLp(expected, "KRAY");
  state::PutLp(expected, "BTC");
  state::PutU64(expected, 1000000);
  state::PutU64(expected, 2000000);
  state::PutU64(expected, 1414213);
  state::PutU64(expected, 0);                        // lp_retired
  expected.insert(expected.end(), 16 + 32 + 32, 0);  // k_last, two cumulative prices
  state::PutU64(expected, static_cast<std::uint64_t>(t0));
  bool found = false;
  for (const auto& leaf : c.last_leaves())
    if (leaf.id.type == kPoolLeaf && leaf.id.id == "pool_kray_btc") {
      found = true;
      ASSERT_TRUE(leaf.data.has_value());
      EXPECT_EQ(ToHex(*leaf.data), ToHex(expected));
    }
  EXPECT_TRUE(found);
  EXPECT_NE(std::find(r->op->touched.begin(), r->op->touched.end(), state::LeafId{kPoolLeaf, "pool_kray_btc"}),
            r->op->touched.end());
}

TEST(DefiModule, PoolCreateRefusals) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  const Fields ok = {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", "1000000"}, {"amount_b", "5000000"}};
  auto with = [&](const std::string& k, const std::string& v) {
    Fields f = ok;
    for (auto& [key, value] : f)
      if (key == k) value = v;
    return f;
  };
  ExpectRefused(c, "pool_create", kDev1, with("token_b", "KRAY"), "same_token");
  ExpectRefused(c, "pool_create", kDev1, with("amount_a", "0"), "invalid_amount");
  ExpectRefused(c, "pool_create", kDev1, with("amount_a", "-5"), "invalid_amount");
  ExpectRefused(c, "pool_create", kDev1, with("token_b", "NOPE"), "unknown_asset");
  ExpectRefused(c, "pool_create", kDev1, with("token_b", "LP:pool_kray_btc"), "invalid_pool_asset");
  // isqrt(1000 * 1000) = 1000: nothing would be left after the locked units.
  ExpectRefused(c, "pool_create", kDev1,
                {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", "1000"}, {"amount_b", "1000"}},
                "insufficient_initial_liquidity");
  ExpectRefused(c, "pool_create", kDev1, with("amount_b", std::to_string(kDog + 1)), "insufficient_balance");
  // Gas counts: all the KRAY but 10 credits, and gas is 20.
  ExpectRefused(c, "pool_create", kDev1, with("amount_a", std::to_string(kKray - 1000000 - 20 - 10)),
                "insufficient_balance");
  ExpectRefused(c, "pool_create", kDev2,
                {{"token_a", "KRAY"}, {"token_b", "BTC"}, {"amount_a", "5000"}, {"amount_b", "5000"}}, "pool_exists");
  ExpectRefused(c, "pool_create", kDev1, {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", "1000000"}},
                "missing_field");
  ExpectRefused(
      c, "pool_create", kDev1,
      [&] {
        Fields f = ok;
        f.emplace_back("colour", "red");
        return f;
      }(),
      "unknown_field");
  ExpectRefused(
      c, "pool_create", kDev1,
      [&] {
        Fields f = ok;
        f.emplace_back("deadline", std::to_string(t0 + 49));
        return f;
      }(),
      "expired");
  Fields in_time = ok;
  in_time.emplace_back("deadline", std::to_string(t0 + 50));
  EXPECT_TRUE(c.Run("pool_create", kDev1, in_time, t0 + 50).ok());
}

TEST(DefiModule, SwapHandComputedBothWays) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  // 10000*997*2e6 / (1e6*1000 + 10000*997) = 19743.15 -> 19743
  auto r =
      c.Run("swap", kDev2,
            {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "10000"}, {"min_amount_out", "19743"}},
            t0 + 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->gas_fee, 5u);  // GasFor(kSwap)
  EXPECT_EQ(ResultOf(*r, "amount_out"), "19743");
  EXPECT_EQ(ResultOf(*r, "token_out"), "BTC");
  EXPECT_EQ(c.Balance(kDev2.account_id, "KRAY"), kKray - 10000 - 5);
  EXPECT_EQ(c.Balance(kDev2.account_id, "BTC"), kBtc + 19743);
  auto pool = c.FindPool("pool_kray_btc");
  EXPECT_EQ(pool->reserve_a, 1010000u);
  EXPECT_EQ(pool->reserve_b, 1980257u);
  EXPECT_GE(static_cast<u128>(pool->reserve_a) * pool->reserve_b, static_cast<u128>(1000000) * 2000000);
  // Back: 19743*997*1010000 / (1980257*1000 + 19743*997) = 9940.9 -> 9940,
  // less than the 10000 put in (the fee and the rounding stay in the pool).
  r = c.Run("swap", kDev2,
            {{"pool_id", "pool_kray_btc"}, {"token_in", "BTC"}, {"amount_in", "19743"}, {"min_amount_out", "0"}},
            t0 + 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultOf(*r, "amount_out"), "9940");
  EXPECT_EQ(c.Balance(kDev2.account_id, "KRAY"), kKray - 10000 - 5 + 9940 - 5);
  EXPECT_EQ(c.Balance(kDev2.account_id, "BTC"), kBtc);
  EXPECT_TRUE(c.Conserved());
}

TEST(DefiModule, SwapRefusals) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  auto swap = [](const std::string& pool, const std::string& in, const std::string& amount, const std::string& min) {
    return Fields{{"pool_id", pool}, {"token_in", in}, {"amount_in", amount}, {"min_amount_out", min}};
  };
  // Slippage: 19743 would come out; the message says so.
  {
    const std::string before = c.LeafSnapshot();
    auto r = c.Run("swap", kDev2, swap("pool_kray_btc", "KRAY", "10000", "19744"), t0 + 1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "slippage_exceeded");
    EXPECT_EQ(r.error().kind, ErrorKind::kConflict);
    EXPECT_NE(r.error().message.find("19743"), std::string::npos) << r.error().message;
    EXPECT_EQ(c.LeafSnapshot(), before);
  }
  // Dust: 1 sat in gives 997*1e6 / (2e9 + 997) = 0.49 KRAY credits -> refused.
  ExpectRefused(c, "swap", kDev2, swap("pool_kray_btc", "BTC", "1", "0"), "insufficient_output_amount");
  ExpectRefused(c, "swap", kDev2, swap("pool_kray_btc", "BTC", std::to_string(kBtc + 1), "0"), "insufficient_balance");
  ExpectRefused(c, "swap", kDev2, swap("pool_kray_btc", "KRAY", std::to_string(kKray - 4), "0"),
                "insufficient_balance");  // all but 4 credits: gas 5 does not fit
  ExpectRefused(c, "swap", kDev2, swap("pool_kray_dog", "KRAY", "10000", "0"), "pool_not_found");
  ExpectRefused(c, "swap", kDev2, swap("pool_btc_kray", "KRAY", "10000", "0"), "invalid_pool_id");
  ExpectRefused(c, "swap", kDev2, swap("pool_kray_btc", "DOG", "10000", "0"), "token_not_in_pool");
  ExpectRefused(c, "swap", kDev2, swap("pool_kray_btc", "KRAY", "0", "0"), "invalid_amount");
  ExpectRefused(c, "swap", kDev2, {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "10"}},
                "missing_field");
  ExpectRefused(c, "swap", kDev2, swap("pool_kray_btc", "KRAY", "9223372036854775808", "0"), "invalid_amount");

  // A bad signature (401) and a replayed one (409).
  auto op = c.Build("swap", kDev2, swap("pool_kray_btc", "KRAY", "10000", "0"));
  ASSERT_TRUE(op.ok());
  state::Operation forged = *op;
  forged.signature[5] ^= 1;
  auto bad = c.Execute(forged, t0 + 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_signature");
  EXPECT_EQ(bad.error().kind, ErrorKind::kUnauthorized);
  ASSERT_TRUE(c.Execute(*op, t0 + 3).ok());
  auto again = c.Execute(*op, t0 + 4);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "nonce_conflict");
}

TEST(DefiModule, ASwapSignedForOnePoolIsWorthlessOnAnother) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  ASSERT_TRUE(c.Run("pool_create", kDev1,
                    {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", "1000000"}, {"amount_b", "50000000"}}, t0)
                  .ok());
  auto op =
      c.Build("swap", kDev2,
              {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "10000"}, {"min_amount_out", "0"}});
  ASSERT_TRUE(op.ok());
  // A relayer points the signed swap at the other KRAY pool: the signed
  // fields include pool_id, so the message differs and the signature fails.
  state::Operation moved = *op;
  state::SetField(moved.fields, "pool_id", "pool_kray_dog");
  ASSERT_TRUE(state::ValidateOperation(c.params(), testing::DefiRegistry(), moved).ok());
  EXPECT_NE(moved.hash, op->hash);
  const std::string before = c.LeafSnapshot();
  auto r = c.Execute(moved, t0 + 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_signature");
  EXPECT_EQ(c.LeafSnapshot(), before);
  // Nor can the minimum be lowered or the direction flipped.
  for (auto [k, v] : {std::pair{"min_amount_out", "1"}, {"amount_in", "10001"}, {"token_in", "BTC"}}) {
    state::Operation edited = *op;
    state::SetField(edited.fields, k, v);
    ASSERT_TRUE(state::ValidateOperation(c.params(), testing::DefiRegistry(), edited).ok());
    EXPECT_EQ(c.Execute(edited, t0 + 1).error().code, "invalid_signature") << k;
  }
}

TEST(DefiModule, RouteAlongAPathWithOneMinimum) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  ASSERT_TRUE(c.Run("pool_create", kDev1,
                    {{"token_a", "DOG"}, {"token_b", "KRAY"}, {"amount_a", "50000000"}, {"amount_b", "1000000"}}, t0)
                  .ok());
  auto route = [](const std::string& path, const std::string& amount, const std::string& min) {
    return Fields{{"path", path}, {"amount_in", amount}, {"min_amount_out", min}};
  };
  // DOG -> KRAY: 1e6*997*1e6 / (5e7*1000 + 1e6*997) = 19550.5 -> 19550;
  // KRAY -> BTC: 19550*997*2e6 / (1e6*1000 + 19550*997) = 38237.
  ExpectRefused(c, "swap_route", kDev2, route("DOG,KRAY,BTC", "1000000", "38238"), "slippage_exceeded", t0 + 1);
  auto r = c.Run("swap_route", kDev2, route("DOG,KRAY,BTC", "1000000", "38237"), t0 + 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->gas_fee, 20u);
  EXPECT_EQ(ResultOf(*r, "amount_out"), "38237");
  EXPECT_EQ(ResultOf(*r, "amounts"), "1000000,19550,38237");
  EXPECT_EQ(c.Balance(kDev2.account_id, "DOG"), kDog - 1000000);
  EXPECT_EQ(c.Balance(kDev2.account_id, "BTC"), kBtc + 38237);
  EXPECT_EQ(c.Balance(kDev2.account_id, "KRAY"), kKray - 20);  // the middle asset never touches the account
  EXPECT_EQ(c.FindPool("pool_kray_dog")->reserve_a, 1000000u - 19550);
  EXPECT_EQ(c.FindPool("pool_kray_dog")->reserve_b, 51000000u);
  EXPECT_EQ(c.FindPool("pool_kray_btc")->reserve_a, 1019550u);
  EXPECT_EQ(c.FindPool("pool_kray_btc")->reserve_b, 2000000u - 38237);
  // A route through a missing pool changes nothing, not even the pools before it.
  ExpectRefused(c, "swap_route", kDev2, route("DOG,KRAY,RADIOLA", "1000", "0"), "pool_not_found");
  ExpectRefused(c, "swap_route", kDev2, route("DOG,BTC", "1000", "0"), "pool_not_found");
  ExpectRefused(c, "swap_route", kDev2, route("KRAY,BTC,KRAY", "1000", "0"), "repeated_pool");
  ExpectRefused(c, "swap_route", kDev2, route("KRAY,KRAY", "1000", "0"), "same_token");
  ExpectRefused(c, "swap_route", kDev2, route("KRAY", "1000", "0"), "invalid_path");
  ExpectRefused(c, "swap_route", kDev2, route("DOG,KRAY,BTC", "0", "0"), "invalid_amount");
  ExpectRefused(c, "swap_route", kDev2, route("BTC,KRAY,DOG", "1", "0"), "insufficient_output_amount");
  EXPECT_TRUE(c.Conserved());
}

TEST(DefiModule, LiquidityAddAndRemoveAreProRata) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  auto add = [](const std::string& a, const std::string& b, const std::string& min_a, const std::string& min_b) {
    return Fields{{"pool_id", "pool_kray_btc"},
                  {"amount_a", a},
                  {"amount_b", b},
                  {"min_amount_a", min_a},
                  {"min_amount_b", min_b}};
  };
  // Offer 100,000 KRAY and 300,000 sats at 1:2: B optimal is 200,000.
  ExpectRefused(c, "liquidity_add", kDev2, add("100000", "300000", "0", "200001"), "slippage_exceeded");
  ExpectRefused(c, "liquidity_add", kDev2, add("100000", "300000", "100001", "0"), "invalid_field");
  ExpectRefused(c, "liquidity_add", kDev2, add("0", "300000", "0", "0"), "invalid_amount");
  ExpectRefused(c, "liquidity_add", kDev2, add("1", "1", "0", "0"), "insufficient_liquidity_minted");
  auto r = c.Run("liquidity_add", kDev2, add("100000", "300000", "100000", "200000"), t0 + 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultOf(*r, "amount_a"), "100000");
  EXPECT_EQ(ResultOf(*r, "amount_b"), "200000");
  EXPECT_EQ(ResultOf(*r, "liquidity"), "141421");  // min(1e5*1414213/1e6, 2e5*1414213/2e6)
  EXPECT_EQ(c.Balance(kDev2.account_id, "KRAY"), kKray - 100000 - 20);
  EXPECT_EQ(c.Balance(kDev2.account_id, "BTC"), kBtc - 200000);
  EXPECT_EQ(c.Balance(kDev2.account_id, "LP:pool_kray_btc"), 141421u);
  EXPECT_EQ(c.FindPool("pool_kray_btc")->lp_supply, 1555634u);

  auto remove = [](const std::string& liq, const std::string& min_a, const std::string& min_b) {
    return Fields{{"pool_id", "pool_kray_btc"}, {"liquidity", liq}, {"min_amount_a", min_a}, {"min_amount_b", min_b}};
  };
  ExpectRefused(c, "liquidity_remove", kDev2, remove("141422", "0", "0"), "insufficient_balance");
  ExpectRefused(c, "liquidity_remove", kDev2, remove("141421", "100000", "0"), "slippage_exceeded");
  ExpectRefused(c, "liquidity_remove", kDev2, remove("0", "0", "0"), "invalid_amount");
  ExpectRefused(c, "liquidity_remove", kDev2, remove("1", "0", "0"), "insufficient_liquidity_burned");
  // 141421 * 1.1e6 / 1555634 = 99999.6 -> 99999; * 2.2e6 -> 199999: the
  // rounding keeps a unit of each side in the pool.
  r = c.Run("liquidity_remove", kDev2, remove("141421", "99999", "199999"), t0 + 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultOf(*r, "amount_a"), "99999");
  EXPECT_EQ(ResultOf(*r, "amount_b"), "199999");
  EXPECT_EQ(c.Balance(kDev2.account_id, "LP:pool_kray_btc"), 0u);
  // The units return to the module (retired), to be issued again before
  // any new ones are minted: the LP supply ledger burns nothing.
  EXPECT_EQ(c.FindPool("pool_kray_btc")->lp_retired, 141421u);
  EXPECT_EQ(c.Supply("LP:pool_kray_btc").burned, 0u);
  EXPECT_EQ(c.Supply("LP:pool_kray_btc").minted, 1555634u);

  // The creator takes everything it holds: the 1,000 locked units keep the
  // reserves above zero (708 KRAY credits, 1415 sats), and nobody can take them.
  r = c.Run("liquidity_remove", kDev1, remove("1413213", "0", "0"), t0 + 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultOf(*r, "amount_a"), "999293");
  EXPECT_EQ(ResultOf(*r, "amount_b"), "1998586");
  auto pool = c.FindPool("pool_kray_btc");
  EXPECT_EQ(pool->lp_supply, 1000u);
  EXPECT_EQ(pool->reserve_a, 708u);
  EXPECT_EQ(pool->reserve_b, 1415u);
  ExpectRefused(c, "liquidity_remove", kDev1, remove("1", "0", "0"), "insufficient_balance");
  EXPECT_TRUE(c.Conserved());
  // The pool lives on: a new deposit at its ratio mints again.
  r = c.Run("liquidity_add", kDev2, add("70800", "141500", "0", "0"), t0 + 4);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultOf(*r, "liquidity"), "100000");  // min(70800*1000/708, 141500*1000/1415)
  EXPECT_EQ(c.FindPool("pool_kray_btc")->lp_retired, 141421u + 1413213u - 100000u);
  EXPECT_EQ(c.Supply("LP:pool_kray_btc").minted, 1555634u);  // re-issued, not minted
  EXPECT_TRUE(c.Conserved());
}

// Attack: cycling add/remove of a large position must not run the LP
// asset's supply counters into 2^63 (which would lock the pool): removed
// units are re-issued, so minted never exceeds the largest supply.
TEST(DefiModule, AddRemoveCyclesDoNotGrowTheLpSupplyLedger) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  const Amount minted = c.Supply("LP:pool_kray_btc").minted;
  std::int64_t ts = t0 + 1;
  for (int i = 0; i < 20; ++i) {
    auto added = c.Run("liquidity_add", kDev2,
                       {{"pool_id", "pool_kray_btc"},
                        {"amount_a", "500000"},
                        {"amount_b", "1000000"},
                        {"min_amount_a", "0"},
                        {"min_amount_b", "0"}},
                       ts++);
    ASSERT_TRUE(added.ok()) << added.error().message;
    auto removed = c.Run("liquidity_remove", kDev2,
                         {{"pool_id", "pool_kray_btc"},
                          {"liquidity", std::string(*state::FindField(added->result, "liquidity"))},
                          {"min_amount_a", "0"},
                          {"min_amount_b", "0"}},
                         ts++);
    ASSERT_TRUE(removed.ok()) << removed.error().message;
  }
  auto s = c.Supply("LP:pool_kray_btc");
  EXPECT_LE(s.minted, minted + 707106u);  // at most the first cycle's units are new
  EXPECT_EQ(s.burned, 0u);
  auto pool = c.FindPool("pool_kray_btc");
  EXPECT_EQ(s.minted, pool->lp_supply + pool->lp_retired);
  EXPECT_TRUE(c.Conserved());
}

TEST(DefiModule, LpSharesAreTransferableAssets) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  auto sent = c.Run("transfer", kDev1,
                    {{"to_account", kDev2.address}, {"amount", "5000"}, {"asset", "LP:pool_kray_btc"}}, t0 + 1);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(c.Balance(kDev2.account_id, "LP:pool_kray_btc"), 5000u);
  EXPECT_EQ(c.Balance(kDev1.account_id, "LP:pool_kray_btc"), 1413213u - 5000);
  auto removed = c.Run(
      "liquidity_remove", kDev2,
      {{"pool_id", "pool_kray_btc"}, {"liquidity", "5000"}, {"min_amount_a", "0"}, {"min_amount_b", "0"}}, t0 + 2);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(ResultOf(*removed, "amount_a"), "3535");  // 5000 * 1e6 / 1414213
  // An LP asset of a pool that does not exist names a module asset, but
  // nobody holds it; a malformed one is no asset at all.
  ExpectRefused(c, "transfer", kDev1,
                {{"to_account", kDev2.account_id}, {"amount", "1"}, {"asset", "LP:pool_kray_dog"}},
                "insufficient_balance");
  ExpectRefused(c, "transfer", kDev1, {{"to_account", kDev2.account_id}, {"amount", "1"}, {"asset", "LP:whatever"}},
                "unknown_asset");
  EXPECT_TRUE(c.Conserved());
}

TEST(DefiModule, ProtocolFeeIsOneSixthOfGrowthMintedOnLiquidityEvents) {
  Chain c(testing::GenesisWithDefi("{\"protocol_fee_account\": \"" + kDev2.address + "\"}"));
  ASSERT_EQ(c.genesis_error(), "");
  ASSERT_TRUE(c.Run("pool_create", kDev1,
                    {{"token_a", "KRAY"}, {"token_b", "BTC"}, {"amount_a", "1000000"}, {"amount_b", "1000000"}}, t0)
                  .ok());
  EXPECT_EQ(c.FindPool("pool_kray_btc")->k_last, static_cast<u128>(1000000000000));
  // 100000*997*1e6 / (1e9 + 99700000) = 90661.
  auto s = c.Run("swap", kDev1,
                 {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "100000"}, {"min_amount_out", "0"}},
                 t0 + 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(ResultOf(*s, "amount_out"), "90661");
  EXPECT_EQ(c.Balance(kDev2.account_id, "LP:pool_kray_btc"), 0u);  // a swap mints no fee
  // The next liquidity event mints 1e6 * (1000136 - 1e6) / (1000136*5 + 1e6) = 22 units to the fee account.
  auto r = c.Run("liquidity_add", kDev1,
                 {{"pool_id", "pool_kray_btc"},
                  {"amount_a", "110000"},
                  {"amount_b", "100000"},
                  {"min_amount_a", "0"},
                  {"min_amount_b", "0"}},
                 t0 + 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultOf(*r, "protocol_fee_liquidity"), "22");
  EXPECT_EQ(c.Balance(kDev2.account_id, "LP:pool_kray_btc"), 22u);
  auto pool = c.FindPool("pool_kray_btc");
  EXPECT_EQ(pool->k_last, static_cast<u128>(pool->reserve_a) * pool->reserve_b);
  EXPECT_EQ(c.Supply("LP:pool_kray_btc").minted, pool->lp_supply + pool->lp_retired);
  EXPECT_TRUE(c.Conserved());
  // The fee account is committed state (leaf 0x11).
  EXPECT_NE(c.LeafSnapshot().find("17:protocol_fee="), std::string::npos);
  // Genesis sections that cannot be honoured are refused.
  EXPECT_NE(Chain(testing::GenesisWithDefi("{\"fee\": 1}")).genesis_error(), "");
  EXPECT_NE(Chain(testing::GenesisWithDefi("{\"protocol_fee_account\": \"" + test::KeyFromSeed("x").account_id + "\"}"))
                .genesis_error(),
            "");
}

// A chain where dev 1 holds 2^62 KRAY and DOG and dev 2 2^62 - 1 of each
// (the totals are 2^63 - 1, the most an asset can have).
std::string HugeGenesis() {
  std::string text = testing::RegtestGenesisText();
  for (const char* amount : {"\"KRAY\": \"1000000000\"", "\"DOG\": \"100000000000\""}) {
    std::string from(amount);
    std::string asset = from.substr(0, from.find(':'));
    auto first = text.find(from);
    text.replace(first, from.size(), asset + ": \"4611686018427387904\"");
    auto second = text.find(from);
    text.replace(second, from.size(), asset + ": \"4611686018427387903\"");
  }
  return text;
}

TEST(DefiModule, AmountsNear2To63AreExactOrAClear400) {
  Chain c(HugeGenesis());
  ASSERT_EQ(c.genesis_error(), "");
  const Amount big = (Amount{1} << 62) - 1000000;
  auto r = c.Run(
      "pool_create", kDev1,
      {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", std::to_string(big)}, {"amount_b", std::to_string(big)}},
      t0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultOf(*r, "liquidity"), std::to_string(big - 1000));  // isqrt(big^2) - 1000
  // amount_in * 997 * reserve_out needs 134 bits: 400, nothing changes.
  ExpectRefused(c, "swap", kDev2,
                {{"pool_id", "pool_kray_dog"},
                 {"token_in", "DOG"},
                 {"amount_in", std::to_string(Amount{1} << 61)},
                 {"min_amount_out", "0"}},
                "amount_overflow");
  ExpectRefused(c, "swap_route", kDev2,
                {{"path", "DOG,KRAY"}, {"amount_in", std::to_string(Amount{1} << 61)}, {"min_amount_out", "0"}},
                "amount_overflow");
  // 2^40 in: within 128 bits, and exactly the floor of the formula.
  const Amount in = Amount{1} << 40;
  r = c.Run(
      "swap", kDev2,
      {{"pool_id", "pool_kray_dog"}, {"token_in", "DOG"}, {"amount_in", std::to_string(in)}, {"min_amount_out", "0"}},
      t0 + 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  U256 expected = U256::DivMod(U256(in).MulU64(997).MulU64(big), U256(big).MulU64(1000) + U256(in).MulU64(997)).first;
  EXPECT_EQ(ResultOf(*r, "amount_out"), expected.ToDecimal());
  // Deposits up to the whole supply fit: the reserves can never pass 2^63 - 1
  // because no asset's supply can.
  r = c.Run("liquidity_add", kDev2,
            {{"pool_id", "pool_kray_dog"},
             {"amount_a", std::to_string(Amount{1} << 61)},
             {"amount_b", std::to_string(Amount{1} << 61)},
             {"min_amount_a", "0"},
             {"min_amount_b", "0"}},
            t0 + 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(c.FindPool("pool_kray_dog")->reserve_b, Amount{1} << 62);
  EXPECT_TRUE(c.Conserved());
}

TEST(DefiModule, ProtocolFeeIsOffByDefault) {
  Chain c;
  ASSERT_TRUE(CreateKrayBtc(c).ok());
  EXPECT_EQ(c.FindPool("pool_kray_btc")->k_last, 0u);
  EXPECT_EQ(c.LeafSnapshot().find("17:"), std::string::npos);
}

}  // namespace
}  // namespace kray::defi
