// Gaming rewards against the real krayd (docs/API.md, "Rewards";
// docs/REWARDS.md): awards reserve real funds from the treasury, every
// endpoint's errors, claims, expiry with the clock moved forward (by
// restarting with a larger -clockoffset), and `krayd verify` replaying it.
#include "kray/rewards/rewards.h"

#include <fstream>

#include "kray/core/bytes.h"
#include "kray/state/module.h"
#include "kray/testsupport/node.h"
#include "kray/testsupport/ops.h"

namespace kray::test {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr Amount kFunds = 1'000'000;

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(rewards::RewardsModule()).ok());
    return reg;
  }();
  return r;
}

TestKey TreasuryKey() {
  return KeyFromSeed("rewards-itest-treasury");
}

class RewardsNodeTest : public NodeTest {
 protected:
  RewardsNodeTest() { start_in_setup_ = false; }
  void SetUp() override {
    NodeTest::SetUp();
    genesis_ = dir_ + "/genesis.json";
    auto g = json::parse(std::ifstream(RegtestGenesisPath()));
    g["accounts"].push_back({{"l1_address", TreasuryKey().address},
                             {"pubkey", ToHex(TreasuryKey().pub)},
                             {"balances", {{"KRAY", std::to_string(kFunds)}}}});
    g["rewards"] = {{"treasury", TreasuryKey().address}};
    std::ofstream(genesis_) << g.dump(2);
    Restart(0, false);
  }
  void Restart(std::int64_t offset, bool stop = true) {
    if (stop) {
      http_.reset();
      ASSERT_EQ(node_.Stop(), 0);
    }
    std::vector<std::string> args = {"-maxbatchtxs=" + std::to_string(batch_txs_)};
    if (offset > 0) args.push_back("-clockoffset=" + std::to_string(offset));
    std::string why;
    ASSERT_TRUE(node_.Start(datadir_, genesis_, args, &why)) << why;
    http_ = std::make_unique<net::HttpClient>("127.0.0.1", node_.port());
  }

  std::pair<int, json> Operator(const std::string& path, const json& body, const std::string& token = kToken) {
    net::Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    auto r = http_->Post(path, body.dump(), h);
    EXPECT_TRUE(r.ok());
    json j = r.ok() ? json::parse(r->body, nullptr, false) : json();
    EXPECT_TRUE(j.is_object()) << (r.ok() ? r->body : "");
    EXPECT_NE(r.ok() ? r->status : 0, 500) << j.dump();
    return {r.ok() ? r->status : 0, j};
  }
  json Award(const std::string& account, Amount amount, const std::string& type, const json& extra = json::object()) {
    json body = extra;
    body["account_id"] = account;
    body["amount"] = std::to_string(amount);
    body["reward_type"] = type;
    return body;
  }
  json Claim(const TestKey& k, std::uint64_t id, std::optional<std::uint64_t> nonce = {}) {
    state::OperationRequest r;
    r.type = "reward_claim";
    r.signer = k.account_id;
    r.nonce = nonce ? *nonce : Balance(k.account_id)["nonce"].get<std::uint64_t>();
    r.fields = {{"reward_id", std::to_string(id)}};
    // A request the node's code refuses cannot be signed here either; it is
    // sent with a well-formed signature the node never gets to check.
    auto op = SignOperation(ChainParams{}, Registry(), r, k);
    return json{{"account_id", k.account_id},
                {"reward_id", std::to_string(id)},
                {"nonce", *r.nonce},
                {"signature", op.ok() ? ToHex(op->signature) : ToHex(Bytes(64, 0x22))}};
  }
  std::string Snapshot() {
    return StateSnapshot() + Balance(TreasuryKey().account_id).dump() + GetJson("/api/rewards/stats").dump();
  }
  void OperatorFails(const json& body, int status, const std::string& code, const std::string& token = kToken) {
    std::string before = Snapshot();
    auto [got, j] = Operator("/api/rewards/award", body, token);
    EXPECT_EQ(got, status) << body.dump() << " -> " << j.dump();
    EXPECT_EQ(j["code"], code) << body.dump() << " -> " << j.dump();
    EXPECT_EQ(Snapshot(), before);
  }
  void ClaimFails(const json& body, int status, const std::string& code) {
    std::string before = Snapshot();
    auto r = Post("/api/rewards/claim", body.dump());
    EXPECT_EQ(r.status, status) << body.dump() << " -> " << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["code"], code) << r.body;
    EXPECT_EQ(Snapshot(), before);
  }
  void GetFails(const std::string& target, int status, const std::string& code) {
    auto r = Get(target);
    EXPECT_EQ(r.status, status) << target << " -> " << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["code"], code) << target << " -> " << r.body;
  }
  Amount Treasury() { return std::stoull(Balance(TreasuryKey().account_id)["balance_credits"].get<std::string>()); }

  std::string genesis_;
  // Small batches, so verify checks a batch root; a test that snapshots the
  // state around refused requests makes them large: a batch close makes the
  // node record it (validator_batch), an operation of its own.
  int batch_txs_ = 4;
};

TEST_F(RewardsNodeTest, AwardClaimReadsAndEveryError) {
  batch_txs_ = 1000;
  Restart(0);
  const std::string a = dev1_.account_id, b = dev2_.account_id;
  auto [status, daily] = Operator("/api/rewards/award", Award(dev1_.address, 1000, "daily", {{"memo", "day 1"}}));
  ASSERT_EQ(status, 200) << daily.dump();
  EXPECT_EQ(daily["op"], "reward_award");
  EXPECT_EQ(daily["auth"], "operator");
  EXPECT_EQ(daily["result"]["reward_id"], "1");
  const std::int64_t expires_at = std::stoll(daily["result"]["expires_at"].get<std::string>());
  EXPECT_EQ(expires_at, daily["confirmed_at"].get<std::int64_t>() + 30 * kDay);
  EXPECT_EQ(Treasury(), kFunds - 1000);
  ASSERT_EQ(Operator("/api/rewards/award", Award(a, 200, "achievement", {{"achievement_id", "first_blood"}})).first,
            200);
  ASSERT_EQ(Operator("/api/rewards/award", Award(b, 300, "tournament", {{"game_id", "cup-7"}, {"placement", 1}})).first,
            200);
  ASSERT_EQ(Operator("/api/rewards/award", Award(a, 50, "referral", {{"referred_account", b}})).first, 200);
  ASSERT_EQ(Operator("/api/rewards/award", Award(a, 5, "loyalty")).first, 200);

  // Every error of the award, and nothing moves.
  OperatorFails(Award(a, 1, "daily"), 401, "unauthorized", "");
  OperatorFails(Award(a, 1, "daily"), 401, "unauthorized", "not-the-token");
  OperatorFails(Award(a, 1000, "daily"), 409, "reward_already_awarded");
  OperatorFails(Award(a, 1, "achievement", {{"achievement_id", "first_blood"}}), 409, "reward_already_awarded");
  OperatorFails(Award(a, 1, "tournament", {{"game_id", "cup-7"}, {"placement", 1}}), 409, "reward_already_awarded");
  OperatorFails(Award(b, 1, "tournament", {{"game_id", "cup-7"}, {"placement", 2}}), 409, "reward_already_awarded");
  OperatorFails(Award(dev1_.address, 1, "referral", {{"referred_account", b}}), 409, "reward_already_awarded");
  OperatorFails(Award(a, 1, "referral", {{"referred_account", a}}), 400, "self_referral");
  OperatorFails(Award(a, kFunds, "loyalty"), 409, "treasury_insufficient");
  OperatorFails(Award(a, 1, "jackpot"), 400, "invalid_reward_type");
  OperatorFails(Award(a, 1, "achievement"), 400, "missing_field");
  OperatorFails(Award(a, 1, "loyalty", {{"game_id", "x"}}), 400, "invalid_field");
  OperatorFails(Award(a, 0, "loyalty"), 400, "invalid_amount");
  OperatorFails(Award(a, 1, "loyalty", {{"bonus", "1"}}), 400, "unknown_field");
  OperatorFails(Award(TreasuryKey().account_id, 1, "loyalty"), 400, "treasury_recipient");
  OperatorFails(Award("kray_00000000000000000000000000000000", 1, "loyalty"), 404, "account_not_found");
  OperatorFails(Award("nobody", 1, "loyalty"), 400, "invalid_account");
  OperatorFails(Award(a, 1, "loyalty", {{"signature", std::string(128, '1')}}), 400, "wrong_authorisation");
  auto not_json = http_->Post("/api/rewards/award", "{", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(not_json->status, 400);

  // Claims.
  const Amount before = std::stoull(Balance(a)["balance_credits"].get<std::string>());
  auto claimed = Post("/api/rewards/claim", Claim(dev1_, 1).dump());
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  json c = json::parse(claimed.body);
  EXPECT_EQ(c["result"]["amount"], "1000");
  EXPECT_EQ(c["gas_fee"], "1");
  EXPECT_EQ(std::stoull(Balance(a)["balance_credits"].get<std::string>()), before + 1000 - 1);
  ClaimFails(Claim(dev1_, 1), 409, "reward_claimed");
  ClaimFails(Claim(dev2_, 2), 409, "not_your_reward");
  ClaimFails(Claim(dev1_, 99), 404, "reward_not_found");
  ClaimFails(Claim(dev1_, 2, 0), 409, "nonce_conflict");
  json forged = Claim(dev1_, 2);
  forged["reward_id"] = "5";
  ClaimFails(forged, 401, "invalid_signature");
  json zero = Claim(dev1_, 0);
  ClaimFails(zero, 400, "invalid_field");

  // Reads.
  json mine = GetJson("/api/rewards/" + dev1_.address);
  EXPECT_EQ(mine["account_id"], a);
  ASSERT_EQ(mine["pending"].size(), 3u);  // achievement, referral, loyalty
  EXPECT_EQ(mine["pending"][0]["type"], "loyalty");
  EXPECT_EQ(mine["pending_credits"], "255");
  ASSERT_EQ(mine["history"].size(), 1u);
  EXPECT_EQ(mine["history"][0]["status"], "claimed");
  EXPECT_EQ(mine["history"][0]["memo"], "day 1");
  json one = GetJson("/api/rewards/reward/3");
  EXPECT_EQ(one["type"], "tournament");
  EXPECT_EQ(one["game_id"], "cup-7");
  EXPECT_EQ(one["placement"], 1);
  EXPECT_EQ(one["status"], "pending");
  json stats = GetJson("/api/rewards/stats");
  EXPECT_EQ(stats["by_type"]["daily"]["count"], 1);
  EXPECT_EQ(stats["by_type"]["tournament"]["amount_credits"], "300");
  EXPECT_EQ(stats["awarded"]["amount_credits"], "1555");
  EXPECT_EQ(stats["claimed"]["amount_credits"], "1000");
  EXPECT_EQ(stats["pending"]["count"], 4);
  EXPECT_EQ(stats["treasury"], TreasuryKey().account_id);
  EXPECT_EQ(stats["treasury_available_credits"], std::to_string(kFunds - 1555));
  EXPECT_EQ(stats["claim_period"], 30 * kDay);
  GetFails("/api/rewards/nobody", 400, "invalid_account");
  GetFails("/api/rewards/reward/0", 400, "invalid_field");
  GetFails("/api/rewards/reward/77", 404, "reward_not_found");
  GetFails("/api/rewards/" + a + "?limit=0", 400, "invalid_field");
  EXPECT_EQ(Get("/api/rewards/stats").status, 200);
}

TEST_F(RewardsNodeTest, UnclaimedRewardsExpireBackToTheTreasuryWithTheClockAdvanced) {
  ASSERT_EQ(Operator("/api/rewards/award", Award(dev1_.account_id, 700, "daily")).first, 200);
  ASSERT_EQ(Operator("/api/rewards/award", Award(dev2_.account_id, 800, "daily")).first, 200);
  ASSERT_EQ(Post("/api/rewards/claim", Claim(dev2_, 2).dump()).status, 200);
  EXPECT_EQ(Treasury(), kFunds - 1500);
  Restart(30 * kDay - 600);  // still claimable: not swept
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(GetJson("/api/rewards/reward/1")["status"], "pending");
  Restart(30 * kDay + 60);
  for (int i = 0; i < 100 && Treasury() != kFunds - 800; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Treasury(), kFunds - 800);
  // The expiry was the fourth operation: batch 1 closed, and the node records
  // it with an operation of its own; wait for it before snapshotting below.
  for (int i = 0; i < 100 && !GetJson("/api/validator/consensus/state")["last_recorded_batch"].is_number(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  json r1 = GetJson("/api/rewards/reward/1");
  EXPECT_EQ(r1["status"], "expired");
  EXPECT_FALSE(r1["closed_at"].is_null());
  ClaimFails(Claim(dev1_, 1), 409, "reward_expired");
  json mine = GetJson("/api/rewards/" + dev1_.account_id);
  EXPECT_TRUE(mine["pending"].empty());
  EXPECT_EQ(mine["history"][0]["status"], "expired");
  json stats = GetJson("/api/rewards/stats");
  EXPECT_EQ(stats["expired"]["count"], 1);
  EXPECT_EQ(stats["expired"]["amount_credits"], "700");
  EXPECT_EQ(stats["pending"]["count"], 0);
  // A new UTC day: dev 1 may get its daily reward again.
  EXPECT_EQ(Operator("/api/rewards/award", Award(dev1_.account_id, 1, "daily")).first, 200);
  ExpectConservation();
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  stopped_ = true;
  std::string out;
  int rc = KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + genesis_}, dir_ + "/v.log", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("verify: OK: 1 batches"), std::string::npos) << out;
  rc = KraydProcess::RunToExit({"checkconservation", "-datadir=" + datadir_}, dir_ + "/c.log", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("rewards.escrow=1"), std::string::npos) << out;
}

// Without a "rewards" genesis section there is no treasury: awards are
// unavailable, never minted.
TEST_F(NodeTest, RewardsWithoutATreasuryAreUnavailable) {
  net::Headers h = {{"Authorization", std::string("Bearer ") + kToken}};
  auto r = http_->Post("/api/rewards/award",
                       json{{"account_id", dev1_.account_id}, {"amount", "5"}, {"reward_type", "loyalty"}}.dump(), h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(json::parse(r->body)["code"], "rewards_unavailable");
  json stats = GetJson("/api/rewards/stats");
  EXPECT_TRUE(stats["treasury"].is_null());
  EXPECT_EQ(stats["awarded"]["count"], 0);
}

}  // namespace
}  // namespace kray::test
