// The rewards module against a real ledger: awards reserve real funds from
// the treasury (never minted), the once-only rules of each type, claims
// before expiry, the expiry sweep back to the treasury with the clock moved
// forward, and replay of the whole history (docs/REWARDS.md).
#include "kray/rewards/rewards.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "kray/rollup/rollup.h"
#include "kray/rollup/verify.h"
#include "kray/state/conservation.h"
#include "kray/state/ledger.h"
#include "kray/state/request.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::rewards {
namespace {

using test::TempDir;
using test::TestKey;
using FieldList = std::vector<std::pair<std::string, std::string>>;

constexpr std::int64_t kDay = 86400;
constexpr Amount kTreasuryFunds = 1'000'000;

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(RewardsModule()).ok());
    return reg;
  }();
  return r;
}

TestKey Treasury() {
  return test::KeyFromSeed("rewards-unit-treasury");
}

// The regtest genesis plus a funded treasury account and, unless `section`
// is empty, the "rewards" section.
std::string WriteGenesis(const TempDir& dir, const std::string& section) {
  std::ifstream in(test::RegtestGenesisPath());
  auto j = nlohmann::json::parse(in);
  j["accounts"].push_back({{"l1_address", Treasury().address},
                           {"pubkey", ToHex(Treasury().pub)},
                           {"balances", {{"KRAY", std::to_string(kTreasuryFunds)}}}});
  if (!section.empty()) j["rewards"] = nlohmann::json::parse(section);
  std::ofstream(dir.file("genesis.json")) << j.dump(2);
  return dir.file("genesis.json");
}

std::string Code(const Result<state::Receipt>& r) {
  return r.ok() ? "ok" : r.error().code;
}

class RewardsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(0); }
  void TearDown() override {
    if (ledger_) {
      auto rep = ledger_->CheckConservation();
      ASSERT_TRUE(rep.ok());
      EXPECT_TRUE(rep->ok) << rep->ToString();
    }
    ledger_.reset();  // it publishes to the index until it stops
    rollup_.reset();
  }
  void Open(std::int64_t offset, const std::string& section = R"({"treasury": "TREASURY", "claim_period": 2592000})") {
    ledger_.reset();
    rollup_.reset();
    std::string s = section;
    if (auto p = s.find("TREASURY"); p != std::string::npos) s.replace(p, 8, Treasury().address);
    state::LedgerOptions o;
    o.datadir = dir_.file("data");
    o.genesis_path = WriteGenesis(dir_, s);
    o.synchronous = "NORMAL";
    o.clock_offset = offset;
    auto l = state::Ledger::Open(o, Registry());
    ASSERT_TRUE(l.ok()) << l.error().code << ": " << l.error().message;
    ledger_ = std::move(*l);
  }
  void WithIndex() {
    auto r = rollup::Rollup::Open(*ledger_, rollup::RollupOptions{1000000, 1000000, 4000000, 50});
    ASSERT_TRUE(r.ok()) << r.error().message;
    rollup_ = std::move(*r);
  }

  Result<state::Receipt> Award(const std::string& account, Amount amount, const std::string& type,
                               FieldList extra = {}) {
    state::OperationRequest r;
    r.type = "reward_award";
    r.auth = state::Auth::kOperator;
    r.fields = {{"account_id", account}, {"amount", std::to_string(amount)}, {"reward_type", type}};
    r.fields.insert(r.fields.end(), extra.begin(), extra.end());
    return ledger_->SubmitRequestSync(r);
  }
  Result<state::Receipt> Claim(const TestKey& k, std::uint64_t id) {
    state::OperationRequest r;
    r.type = "reward_claim";
    r.signer = k.account_id;
    r.nonce = ledger_->GetAccount(k.account_id)->nonce;
    r.fields = {{"reward_id", std::to_string(id)}};
    auto op = test::SignOperation(ledger_->params(), Registry(), r, k);
    if (!op.ok()) return std::move(op).error();
    return ledger_->SubmitSync(std::move(*op));
  }
  Amount Available(const std::string& account) {
    auto a = ledger_->GetAccount(account);
    return a.ok() ? a->BalanceOf("KRAY").available : 0;
  }
  Amount Escrow() {
    auto rep = ledger_->CheckConservation();
    for (const auto& l : rep->lines)
      if (l.asset == "KRAY" && l.extra.count("rewards.escrow")) return l.extra.at("rewards.escrow");
    return 0;
  }
  std::optional<Reward> Find(std::uint64_t id) {
    std::optional<Reward> out;
    EXPECT_TRUE(ledger_
                    ->WithReader([&](store::Database& db) -> Status {
                      auto r = FindReward(db, id);
                      if (!r.ok()) return std::move(r).error();
                      out = *r;
                      return Ok();
                    })
                    .ok());
    return out;
  }

  TempDir dir_{"kray-rewards-test-"};
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<rollup::Rollup> rollup_;
  TestKey a_ = test::DevAccount(1), b_ = test::DevAccount(2);
};

TEST_F(RewardsTest, AwardsReserveFromTheTreasuryOnceEachAndClaimsPay) {
  const std::string t = Treasury().account_id, a = a_.account_id, b = b_.account_id;
  auto daily = Award(a, 100, "daily");
  ASSERT_TRUE(daily.ok()) << daily.error().message;
  EXPECT_EQ(std::string(*state::FindField(daily->result, "reward_id")), "1");
  EXPECT_EQ(daily->op->gas_fee, 0u);
  EXPECT_EQ(Available(t), kTreasuryFunds - 100);
  EXPECT_EQ(Escrow(), 100u);
  EXPECT_EQ(Code(Award(a, 100, "daily")), "reward_already_awarded");  // same UTC day
  EXPECT_EQ(Code(Award(b, 100, "daily")), "ok");
  EXPECT_EQ(Code(Award(a, 50, "achievement", {{"achievement_id", "first_win"}})), "ok");
  EXPECT_EQ(Code(Award(a, 50, "achievement", {{"achievement_id", "first_win"}})), "reward_already_awarded");
  EXPECT_EQ(Code(Award(b, 50, "achievement", {{"achievement_id", "first_win"}})), "ok");
  EXPECT_EQ(Code(Award(a, 70, "tournament", {{"game_id", "g1"}, {"placement", "1"}})), "ok");
  EXPECT_EQ(Code(Award(b, 70, "tournament", {{"game_id", "g1"}, {"placement", "1"}})), "reward_already_awarded");
  EXPECT_EQ(Code(Award(a, 30, "tournament", {{"game_id", "g1"}, {"placement", "2"}})), "reward_already_awarded");
  EXPECT_EQ(Code(Award(b, 30, "tournament", {{"game_id", "g1"}, {"placement", "2"}})), "ok");
  EXPECT_EQ(Code(Award(a, 20, "referral", {{"referred_account", b}})), "ok");
  EXPECT_EQ(Code(Award(t, 20, "referral", {{"referred_account", b}})), "treasury_recipient");
  TestKey c = test::KeyFromSeed("rewards-unit-c");
  EXPECT_EQ(Code(Award(c.address, 20, "referral", {{"referred_account", b}})), "reward_already_awarded");
  EXPECT_EQ(Code(Award(a, 20, "referral", {{"referred_account", a}})), "self_referral");
  EXPECT_EQ(Code(Award(a, 20, "referral", {{"referred_account", c.account_id}})), "account_not_found");
  EXPECT_EQ(Code(Award(a, 5, "loyalty")), "ok");
  EXPECT_EQ(Code(Award(a, 5, "loyalty")), "ok");
  // The fields of each type, and nothing else.
  EXPECT_EQ(Code(Award(a, 5, "achievement")), "missing_field");
  EXPECT_EQ(Code(Award(a, 5, "tournament", {{"game_id", "g2"}})), "missing_field");
  EXPECT_EQ(Code(Award(a, 5, "tournament", {{"game_id", "g2"}, {"placement", "0"}})), "invalid_field");
  EXPECT_EQ(Code(Award(a, 5, "loyalty", {{"game_id", "g2"}})), "invalid_field");
  EXPECT_EQ(Code(Award(a, 5, "jackpot")), "invalid_reward_type");
  EXPECT_EQ(Code(Award(a, 0, "loyalty")), "invalid_amount");
  EXPECT_EQ(Code(Award("kray_00000000000000000000000000000000", 5, "loyalty")), "account_not_found");
  // A reward to an address without an account creates it (without a key).
  EXPECT_EQ(Code(Award(c.address, 5, "loyalty")), "ok");
  EXPECT_TRUE(ledger_->GetAccount(c.account_id).ok());
  // Never more than the treasury holds.
  const Amount left = Available(t);
  EXPECT_EQ(left, kTreasuryFunds - 100 - 100 - 50 - 50 - 70 - 30 - 20 - 5 - 5 - 5);
  auto short_of = Award(a, left + 1, "loyalty");
  ASSERT_FALSE(short_of.ok());
  EXPECT_EQ(short_of.error().code, "treasury_insufficient");
  EXPECT_NE(short_of.error().message.find(std::to_string(left)), std::string::npos) << short_of.error().message;
  EXPECT_EQ(Code(Award(a, left, "loyalty")), "ok");
  EXPECT_EQ(Available(t), 0u);
  EXPECT_EQ(Escrow(), kTreasuryFunds);

  // Claims: the rewarded account only, once.
  EXPECT_EQ(Code(Claim(b_, 1)), "not_your_reward");
  const Amount before = Available(a);
  auto claim = Claim(a_, 1);
  ASSERT_TRUE(claim.ok()) << claim.error().message;
  EXPECT_EQ(claim->op->gas_fee, 1u);
  EXPECT_EQ(Available(a), before + 100 - 1);
  EXPECT_EQ(Code(Claim(a_, 1)), "reward_claimed");
  EXPECT_EQ(Code(Claim(a_, 999)), "reward_not_found");
  EXPECT_EQ(Escrow(), kTreasuryFunds - 100);
  EXPECT_EQ(Find(1)->status, RewardStatus::kClaimed);
  EXPECT_EQ(Find(1)->closed_at, claim->op->timestamp);

  auto stats = [&] {
    RewardStats s;
    EXPECT_TRUE(ledger_
                    ->WithReader([&](store::Database& db) -> Status {
                      auto r = GetRewardStats(db);
                      if (!r.ok()) return std::move(r).error();
                      s = *r;
                      return Ok();
                    })
                    .ok());
    return s;
  }();
  EXPECT_EQ(stats.awarded_by_type["daily"].count, 2u);
  EXPECT_EQ(stats.awarded_by_type["tournament"].amount, 100u);
  EXPECT_EQ(stats.claimed.count, 1u);
  EXPECT_EQ(stats.claimed.amount, 100u);
  EXPECT_EQ(stats.awarded.amount, static_cast<u128>(kTreasuryFunds));
  EXPECT_EQ(stats.pending.amount, static_cast<u128>(kTreasuryFunds - 100));
  EXPECT_EQ(*stats.treasury, t);
  EXPECT_EQ(stats.treasury_available, 0u);
}

// The address an award carries to create its account must be that
// account's: before ValidateOperation checked every kept address, an award
// to one account with another's address created the other's account and
// left the reward to an account that did not exist.
TEST_F(RewardsTest, AnAwardsAddressMustBeItsAccounts) {
  const TestKey c = test::KeyFromSeed("rewards-evidence-c"), d = test::KeyFromSeed("rewards-evidence-d");
  state::OperationRequest r;
  r.type = "reward_award";
  r.auth = state::Auth::kOperator;
  r.fields = {{"account_id", c.address}, {"amount", "5"}, {"reward_type", "loyalty"}};
  auto op = state::BuildOperation(ledger_->params(), Registry(), r);
  ASSERT_TRUE(op.ok()) << op.error().message;
  ASSERT_EQ(op->Evidence("account_id_address"), c.address);
  state::Operation other = *op;
  other.evidence = {{"account_id_address", d.address}};
  auto refused = ledger_->SubmitSync(std::move(other));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "invalid_evidence");
  EXPECT_FALSE(ledger_->GetAccount(c.account_id).ok());
  EXPECT_FALSE(ledger_->GetAccount(d.account_id).ok());
  auto awarded = ledger_->SubmitSync(std::move(*op));
  ASSERT_TRUE(awarded.ok()) << awarded.error().message;
  EXPECT_TRUE(ledger_->GetAccount(c.account_id).ok());
  EXPECT_FALSE(ledger_->GetAccount(d.account_id).ok());
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok) << rep->ToString();
}

TEST_F(RewardsTest, UnclaimedRewardsExpireBackToTheTreasuryAndReplay) {
  WithIndex();
  const std::string t = Treasury().account_id;
  ASSERT_TRUE(Award(a_.account_id, 300, "daily").ok());
  ASSERT_TRUE(Award(b_.account_id, 400, "loyalty").ok());
  ASSERT_TRUE(Award(a_.account_id, 500, "achievement", {{"achievement_id", "level_10"}}).ok());
  ASSERT_TRUE(rollup_->CloseBatchNow().ok());
  // Just before the 30 days end: still claimable.
  Open(30 * kDay - 100);
  WithIndex();
  ASSERT_TRUE(Claim(b_, 2).ok());
  Open(30 * kDay + 10);
  WithIndex();
  for (int i = 0; i < 100 && Find(3)->status != RewardStatus::kExpired; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Find(1)->status, RewardStatus::kExpired);
  EXPECT_EQ(Find(3)->status, RewardStatus::kExpired);
  EXPECT_EQ(Available(t), kTreasuryFunds - 400);
  EXPECT_EQ(Escrow(), 0u);
  EXPECT_EQ(Code(Claim(a_, 1)), "reward_expired");
  // A new day: a new daily reward for the same account.
  EXPECT_EQ(Code(Award(a_.account_id, 1, "daily")), "ok");
  ledger_->Flush();
  ASSERT_TRUE(rollup_->CloseBatchNow().ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  EXPECT_EQ(ledger_->GetTxStats()->by_type["reward_expire"], 2u);

  auto verify = [&](const std::string& sql) {
    TempDir copy("kray-rewards-verify-");
    std::filesystem::copy(dir_.file("data"), copy.file("data"), std::filesystem::copy_options::recursive);
    if (!sql.empty()) {
      EXPECT_TRUE((*store::Database::Open(copy.file("data/krayd.sqlite")))->Exec(sql).ok());
    }
    return rollup::VerifyDatadir(copy.file("data"), rollup::VerifyOptions{}, Registry(), nullptr);
  };
  auto ok = verify("");
  ASSERT_TRUE(ok.ok()) << ok.error().code << ": " << ok.error().message;
  EXPECT_EQ(ok->batches, 2);
  for (const char* sql :
       {"UPDATE rewards SET amount = amount + 1 WHERE reward_id = 4",
        "UPDATE rewards SET status = 'pending' WHERE reward_id = 1", "UPDATE rewards_config SET claim_period = 1"}) {
    auto r = verify(sql);
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.error().code, "verify_head_mismatch") << sql;
  }
}

TEST_F(RewardsTest, WithoutATreasuryAwardsAreUnavailable) {
  ledger_.reset();
  TempDir other("kray-rewards-none-");
  state::LedgerOptions o;
  o.datadir = other.file("data");
  o.genesis_path = WriteGenesis(other, "");
  o.synchronous = "NORMAL";
  auto l = state::Ledger::Open(o, Registry());
  ASSERT_TRUE(l.ok());
  ledger_ = std::move(*l);
  auto r = Award(a_.account_id, 5, "loyalty");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "rewards_unavailable");
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  ledger_.reset();  // before its directory goes
}

TEST(RewardsGenesis, BadSectionsAreRefusedNamingTheProblem) {
  for (const auto& [section, expect] : std::vector<std::pair<std::string, std::string>>{
           {R"({"claim_period": 10})", "missing 'treasury'"},
           {R"({"treasury": "TREASURY", "claim_period": 0})", "claim_period"},
           {R"({"treasury": "TREASURY", "bonus": 1})", "unknown key 'bonus'"},
           {R"({"treasury": "kray_00000000000000000000000000000000"})", "does not exist"},
           {R"({"treasury": 5})", "treasury must be"},
           {R"([1])", "must be an object"}}) {
    TempDir dir("kray-rewards-genesis-");
    std::string s = section;
    if (auto p = s.find("TREASURY"); p != std::string::npos) s.replace(p, 8, Treasury().address);
    state::LedgerOptions o;
    o.datadir = dir.file("data");
    o.genesis_path = WriteGenesis(dir, s);
    o.synchronous = "NORMAL";
    auto l = state::Ledger::Open(o, Registry());
    ASSERT_FALSE(l.ok()) << section;
    EXPECT_NE(l.error().message.find(expect), std::string::npos) << section << ": " << l.error().message;
  }
}

}  // namespace
}  // namespace kray::rewards
