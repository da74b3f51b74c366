// Validators against the real krayd (docs/API.md, "Validators";
// docs/VALIDATORS.md): the register → batches → attest → rewards → claim →
// unstake → unbond round trip with exact amounts, equivocation slashing
// (and the same evidence refused a second time), downtime slashing with the
// clock moved forward, every endpoint's errors, kray-cli's validator
// commands, and `krayd verify` replaying each history. The node's clock is
// moved by restarting it with a larger -clockoffset.
#include "kray/validators/validators.h"

#include <sys/stat.h>

#include <fstream>

#include "kray/core/bytes.h"
#include "kray/crypto/secp256k1.h"
#include "kray/rewards/rewards.h"
#include "kray/state/module.h"
#include "kray/testsupport/node.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/ws_client.h"

namespace kray::test {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr Amount kMin = 10'000'000;  // 10,000 KRAY

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(validators::ValidatorsModule()).ok());
    EXPECT_TRUE(reg.Add(rewards::RewardsModule()).ok());
    return reg;
  }();
  return r;
}

Amount Credits(const json& v) {
  return std::stoull(v.get<std::string>());
}

TestKey VKey(int n) {
  return KeyFromSeed("validators-itest-key-" + std::to_string(n));
}

std::string Vid(const TestKey& k) {
  return validators::ValidatorId(k.pub);
}

class ValidatorsNodeTest : public NodeTest {
 protected:
  ValidatorsNodeTest() { start_in_setup_ = false; }

  // Starts a fresh node whose genesis has `section` as its "validators"
  // key, closing a batch every `max_batch_txs` operations.
  void Start(const std::string& section, int max_batch_txs) {
    genesis_ = dir_ + "/genesis.json";
    std::ifstream in(RegtestGenesisPath());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (!section.empty()) text.insert(text.rfind('}'), ",\n  \"validators\": " + section + "\n");
    std::ofstream(genesis_) << text;
    args_ = {"-maxbatchtxs=" + std::to_string(max_batch_txs)};
    Restart(0, /*stop=*/false);
  }
  // Restarts the node with its clock `offset` seconds ahead.
  void Restart(std::int64_t offset, bool stop = true) {
    if (stop) {
      http_.reset();
      ASSERT_EQ(node_.Stop(), 0);
    }
    std::vector<std::string> args = args_;
    if (offset > 0) args.push_back("-clockoffset=" + std::to_string(offset));
    std::string why;
    ASSERT_TRUE(node_.Start(datadir_, genesis_, args, &why)) << why;
    http_ = std::make_unique<net::HttpClient>("127.0.0.1", node_.port());
  }

  std::uint64_t NonceOf(const TestKey& k) { return Balance(k.account_id)["nonce"].get<std::uint64_t>(); }
  json Kray(const TestKey& k) { return Balance(k.account_id)["balances"]["KRAY"]; }
  Amount Available(const TestKey& k) { return Credits(Kray(k)["available"]); }
  Amount Staked(const TestKey& k) { return Credits(Kray(k)["staked"]); }

  // A REST body for `op` signed by `k` with the node's own request code.
  json Body(const TestKey& k, const std::string& op, const json& fields, std::optional<std::uint64_t> nonce = {}) {
    const state::OperationType* type = Registry().FindOperation(op);
    EXPECT_NE(type, nullptr) << op;
    state::OperationRequest r;
    r.type = op;
    r.signer = k.account_id;
    r.nonce = nonce ? *nonce : NonceOf(k);
    for (const auto& [key, v] : fields.items())
      r.fields.emplace_back(key, v.is_string() ? v.get<std::string>() : v.dump());
    auto signed_op = SignOperation(ChainParams{}, Registry(), r, k);
    json body = fields;
    body[std::string(type->signer_field())] = k.account_id;
    body["nonce"] = r.nonce.value();
    body["signature"] = signed_op.ok() ? ToHex(signed_op->signature) : ToHex(Bytes(64, 0x22));
    return body;
  }
  std::pair<int, json> Send(const std::string& path, const json& body) {
    auto r = Post(path, body.dump());
    json j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << path << ": " << r.body;
    EXPECT_NE(r.status, 500) << path << ": " << r.body;
    return {r.status, j};
  }
  json Ok(const std::string& path, const json& body) {
    auto [status, j] = Send(path, body);
    EXPECT_EQ(status, 200) << path << ": " << j.dump();
    return j;
  }
  // Balances, nonces, the validators' own view and the fee pool: what a
  // rejected request must not move.
  std::string Snapshot() {
    return StateSnapshot() + GetJson("/api/validator/list").dump() + GetJson("/api/validator/stats").dump();
  }
  void Fails(const std::string& path, const json& body, int status, const std::string& code) {
    std::string before = Snapshot();
    auto [got, j] = Send(path, body);
    EXPECT_EQ(got, status) << path << " " << body.dump().substr(0, 300) << " -> " << j.dump();
    EXPECT_EQ(j["code"], code) << path << " -> " << j.dump();
    EXPECT_EQ(Snapshot(), before) << "state changed after a rejected " << path;
  }
  void GetFails(const std::string& target, int status, const std::string& code) {
    auto r = Get(target);
    EXPECT_EQ(r.status, status) << target << " -> " << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["code"], code) << target << " -> " << r.body;
  }

  // A claim-rewards body: signed with the validator id, which the path carries.
  json ClaimBody(const TestKey& k, const TestKey& vkey) {
    json body = Body(k, "validator_claim_rewards", {{"validator_id", Vid(vkey)}});
    body.erase("validator_id");
    return body;
  }
  std::string Pop(const TestKey& vkey, const TestKey& account) {
    return ToHex(
        *crypto::SchnorrSign(vkey.secret, validators::RegistrationMessage(kRegtestChainId, account.account_id)));
  }
  json RegisterBody(const TestKey& account, const TestKey& vkey, const std::string& stake,
                    std::optional<std::uint64_t> nonce = {}) {
    return Body(account, "validator_register",
                {{"pubkey", ToHex(vkey.pub)},
                 {"l1_address", vkey.address},
                 {"stake_amount", stake},
                 {"validator_signature", Pop(vkey, account)}},
                nonce);
  }
  json Register(const TestKey& account, const TestKey& vkey, Amount stake) {
    return Ok("/api/validator/register", RegisterBody(account, vkey, std::to_string(stake)));
  }
  json Stake(const TestKey& k, Amount amount) {
    return Ok("/api/validator/stake", Body(k, "stake", {{"amount", std::to_string(amount)}}));
  }
  std::string SignAttestation(const TestKey& vkey, std::uint64_t batch, const std::string& state_root,
                              const std::string& tx_root) {
    auto sig = crypto::SchnorrSign(vkey.secret,
                                   validators::AttestationMessage(kRegtestChainId, batch, *FromHexFixed<32>(state_root),
                                                                  *FromHexFixed<32>(tx_root)));
    return ToHex(*sig);
  }
  json AttestBody(const TestKey& vkey, std::uint64_t batch) {
    json h = GetJson("/api/rollup/batch/" + std::to_string(batch));
    std::string sr = h["state_root"], tr = h["tx_root"];
    return json{{"validator_id", Vid(vkey)},
                {"batch", std::to_string(batch)},
                {"state_root", sr},
                {"tx_root", tr},
                {"validator_signature", SignAttestation(vkey, batch, sr, tr)}};
  }
  json HeartbeatBody(const TestKey& vkey, std::uint64_t at) {
    auto sig = crypto::SchnorrSign(vkey.secret, validators::HeartbeatMessage(kRegtestChainId, Vid(vkey), at));
    return json{{"validator_id", Vid(vkey)}, {"at", std::to_string(at)}, {"validator_signature", ToHex(*sig)}};
  }
  std::uint64_t NodeTime() { return GetJson("/api/validator/consensus/state")["node_time"].get<std::uint64_t>(); }

  // Waits until the node has recorded batch `n` (the batch recorder runs on
  // its own thread after each batch close).
  void WaitRecorded(std::int64_t n) {
    for (int i = 0; i < 200; ++i) {
      json s = GetJson("/api/validator/consensus/state");
      if (s["last_recorded_batch"].is_number() && s["last_recorded_batch"].get<std::int64_t>() >= n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "batch " << n << " was not recorded: " << GetJson("/api/validator/consensus/state").dump();
  }
  template <class Pred>
  bool WaitFor(Pred done) {
    for (int i = 0; i < 200; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }
  json Validator(const TestKey& vkey) { return GetJson("/api/validator/" + Vid(vkey)); }

  std::string KeyFile(const std::string& name, const TestKey& k) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << ToHex(k.secret) << "\n";
    EXPECT_EQ(chmod(path.c_str(), 0600), 0);
    return path;
  }
  ShellResult Cli(const std::string& keyfile, const std::string& args) {
    return RunShell(KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) +
                    (keyfile.empty() ? "" : " -keyfile=" + keyfile) + " " + args + " 2>&1");
  }

  // Stops the node and replays its datadir; returns krayd verify's output.
  std::string Verify() {
    ExpectConservation();
    http_.reset();
    EXPECT_EQ(node_.Stop(), 0);
    stopped_ = true;
    std::string out;
    int rc =
        KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + genesis_}, dir_ + "/verify.log", &out);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("verify: OK"), std::string::npos) << out;
    rc = KraydProcess::RunToExit({"checkconservation", "-datadir=" + datadir_}, dir_ + "/cons.log", &out);
    EXPECT_EQ(rc, 0) << out;
    return out;
  }

  std::string genesis_;
  std::vector<std::string> args_;
  TestKey v1_ = VKey(1), v2_ = VKey(2);
};

// Liveness window of 30 days here, so the 7-day jump only ends the
// unbonding (downtime has its own test).
const char* kLongLiveness = R"({"liveness_window": 2592000})";

TEST_F(ValidatorsNodeTest, RegisterBatchesAttestRewardsClaimUnstakeUnbondRoundTrip) {
  Start(kLongLiveness, 8);
  const Amount genesis_kray = 1'000'000'000;
  // Batch 1 (8 operations): two registrations and six stakes; 16 credits of gas, 8 to validators.
  json r1 = Register(dev1_, v1_, kMin);
  EXPECT_EQ(r1["result"]["validator_id"], Vid(v1_));
  EXPECT_EQ(r1["gas_fee"], "2");
  Register(dev2_, v2_, 2 * kMin);
  for (int i = 0; i < 3; ++i) Stake(dev1_, 1);
  for (int i = 0; i < 3; ++i) Stake(dev2_, 1);
  WaitRecorded(1);
  EXPECT_EQ(Staked(dev1_), kMin + 3);
  EXPECT_EQ(Available(dev1_), genesis_kray - kMin - 2 - 3 * (1 + 2));
  json b1 = GetJson("/api/rollup/batch/1");
  EXPECT_EQ(b1["tx_count"], 8);
  EXPECT_EQ(b1["gas_retained"], "8");
  EXPECT_EQ(b1["attestations"]["recorded"], true);
  EXPECT_EQ(b1["attestations"]["count"], 0);
  EXPECT_EQ(b1["attestations"]["gas_distributed_credits"], "0");  // nobody attested a previous batch
  EXPECT_EQ(GetJson("/api/transaction/stats")["fee_pool_credits"], "8");

  // Batch 2: the record of batch 1, both attestations of it, five stakes (5 credits to validators).
  json a1 = Ok("/api/validator/attest", AttestBody(v1_, 1));
  EXPECT_EQ(a1["auth"], "public");
  EXPECT_EQ(a1["gas_fee"], "0");
  Ok("/api/validator/attest", AttestBody(v2_, 1));
  json repeat = Ok("/api/validator/attest", AttestBody(v2_, 1));
  EXPECT_EQ(repeat["status"], "unchanged");
  json q = GetJson("/api/rollup/batch/1")["attestations"];
  EXPECT_EQ(q["count"], 2);
  EXPECT_EQ(q["quorum_reached"], true);
  EXPECT_EQ(q["attested_stake_credits"], std::to_string(3 * kMin + 6));
  for (int i = 0; i < 2; ++i) Stake(dev1_, 1);
  for (int i = 0; i < 3; ++i) Stake(dev2_, 1);
  WaitRecorded(2);
  // 5 * 10000005 / 30000011 = 1 r 20000014, 5 * 20000006 / 30000011 = 3 r 9999997: the odd credit to v1.
  json v1 = Validator(v1_);
  EXPECT_EQ(v1["rewards"]["pending_credits"], "2");
  EXPECT_EQ(Validator(v2_)["rewards"]["pending_credits"], "3");
  EXPECT_EQ(v1["blocks_validated"], 1);
  EXPECT_EQ(v1["status"], "active");
  EXPECT_EQ(GetJson("/api/rollup/batch/2")["attestations"]["gas_distributed_credits"], "5");
  EXPECT_EQ(GetJson("/api/transaction/stats")["fee_pool_credits"], "8");

  // Batch 3: the record of batch 2, both attest it, v1 claims and unstakes
  // everything, three transfers. Its 1 credit goes to v2 alone (v1 left the active set).
  Ok("/api/validator/attest", AttestBody(v1_, 2));
  Ok("/api/validator/attest", AttestBody(v2_, 2));
  const Amount before_claim = Available(dev1_);
  json claim = Ok("/api/validator/" + Vid(v1_) + "/claim-rewards", ClaimBody(dev1_, v1_));
  EXPECT_EQ(claim["result"]["claimed"], "2");
  EXPECT_EQ(Available(dev1_), before_claim + 2 - 1);
  json un = Ok("/api/validator/unstake", Body(dev1_, "unstake", {{"amount", std::to_string(kMin + 5)}}));
  const std::int64_t ends_at = std::stoll(un["result"]["ends_at"].get<std::string>());
  EXPECT_EQ(ends_at, un["confirmed_at"].get<std::int64_t>() + 7 * kDay);
  EXPECT_EQ(Staked(dev1_), kMin + 5);  // still locked while unbonding
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Post("/api/transaction/send", LegacyTransfer(dev2_, dev1_.account_id, 1, NonceOf(dev2_)).dump()).status,
              200);
  WaitRecorded(3);
  EXPECT_EQ(Validator(v2_)["rewards"]["pending_credits"], "4");
  EXPECT_EQ(Validator(v1_)["status"], "inactive");
  EXPECT_EQ(Validator(v1_)["unbonding_credits"], std::to_string(kMin + 5));
  json v2claim = Ok("/api/validator/" + Vid(v2_) + "/claim-rewards",
                    Body(dev2_, "validator_claim_rewards", {{"validator_id", Vid(v2_)}}));
  EXPECT_EQ(v2claim["result"]["claimed"], "4");
  json stats = GetJson("/api/validator/stats");
  EXPECT_EQ(stats["batches_recorded"], 3);
  EXPECT_EQ(stats["gas_retained_credits"], "14");
  EXPECT_EQ(stats["gas_distributed_credits"], "6");
  EXPECT_EQ(stats["rewards"]["claimed_credits"], "6");
  EXPECT_EQ(stats["attestations"], 4);

  // Seven days later the unbonding ends: the stake is available again.
  const Amount before_unbond = Available(dev1_);
  Restart(7 * kDay + 60);
  ASSERT_TRUE(WaitFor([&] { return Staked(dev1_) == 0; }));
  EXPECT_EQ(Available(dev1_), before_unbond + kMin + 5);
  json v1_after = Validator(v1_);
  EXPECT_EQ(v1_after["status"], "exited");
  ASSERT_EQ(v1_after["unbonding"].size(), 1u);
  EXPECT_EQ(v1_after["unbonding"][0]["status"], "completed");
  EXPECT_EQ(v1_after["uptime"]["attested"], 2);
  EXPECT_EQ(v1_after["uptime"]["batches"], 3);
  EXPECT_EQ(v1_after["uptime"]["percent"], "66.66");
  // Exact: dev1 paid 2 + 5 x 2 + 1 + 2 in gas and got 2 in rewards and 3 by transfer.
  EXPECT_EQ(Available(dev1_), genesis_kray - 2 - 5 * 2 - 1 - 2 + 2 + 3);
  Verify();
}

// The event feed's `batches` topic carries each new attestation as
// batch_attested, after its commit, with the batch's attestations and quorum
// as GET /api/rollup/batch/:id shows them; a repeated attestation changes
// nothing and sends nothing.
TEST_F(ValidatorsNodeTest, AttestationsReachTheFeedsBatchesTopic) {
  Start(kLongLiveness, 4);
  Register(dev1_, v1_, kMin);
  for (int i = 0; i < 3; ++i) Stake(dev1_, 1);
  WaitRecorded(1);
  WsClient ws;
  std::string why;
  ASSERT_TRUE(ws.Connect(node_.port(), &why)) << why;
  ASSERT_TRUE(ws.Next().has_value());  // welcome
  ASSERT_TRUE(ws.SendJson({{"op", "subscribe"}, {"topics", {"batches"}}}));
  auto next_of = [&](const std::string& event) -> std::optional<json> {
    while (auto m = ws.Next()) {
      if ((*m)["type"] == "event" && (*m)["event"] == event) return m;
      if ((*m)["type"] == "error") ADD_FAILURE() << m->dump();
    }
    return std::nullopt;
  };
  ASSERT_TRUE(ws.Next().has_value());  // subscribed

  Ok("/api/validator/attest", AttestBody(v1_, 1));
  auto ev = next_of("batch_attested");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["topic"], "batches");
  EXPECT_FALSE(ev->contains("seq")) << ev->dump();  // live only
  const json& data = (*ev)["data"];
  EXPECT_EQ(data["number"], 1);
  EXPECT_EQ(data["attestations"]["count"], 1);
  EXPECT_EQ(data["attestations"]["quorum_reached"], true);
  ASSERT_EQ(data["attestations"]["validators"].size(), 1u);
  EXPECT_EQ(data["attestations"]["validators"][0]["validator_id"], Vid(v1_));
  EXPECT_EQ(data["attestations"], GetJson("/api/rollup/batch/1")["attestations"]);

  EXPECT_EQ(Ok("/api/validator/attest", AttestBody(v1_, 1))["status"], "unchanged");
  for (int i = 0; i < 4; ++i) Stake(dev1_, 1);  // batch 2 closes after the repeat
  auto after = ws.Next();                       // the next event is batch 2's close, nothing about batch 1
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ((*after)["event"], "batch_closed") << after->dump();
  EXPECT_EQ((*after)["data"]["number"], 2) << after->dump();
  ExpectConservation();
}

TEST_F(ValidatorsNodeTest, EquivocationIsSlashedOnceAndTheSameEvidenceIsRefused) {
  Start("", 100);
  Register(dev1_, v1_, 2 * kMin);
  std::string k = KeyFile("v1.key", v1_);
  // Two attestations of batch 5 with different roots, signed by kray-cli.
  auto sign = [&](const std::string& root) {
    ShellResult r = Cli(k, "sign-attestation 5 " + root + " " + std::string(64, 'c'));
    EXPECT_EQ(r.rc, 0) << r.out;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_EQ(j["validator_id"], Vid(v1_)) << r.out;
    return j;
  };
  json a = sign(std::string(64, 'a')), b = sign(std::string(64, 'b'));
  auto evidence = [&](const json& x, const json& y) {
    return json{{"validator_id", Vid(v1_)},        {"batch", "5"},
                {"state_root_a", x["state_root"]}, {"tx_root_a", x["tx_root"]},
                {"signature_a", x["signature"]},   {"state_root_b", y["state_root"]},
                {"tx_root_b", y["tx_root"]},       {"signature_b", y["signature"]}};
  };
  const Amount burned = Credits(GetJson("/api/transaction/stats")["gas_burned_credits"]);
  json slash = Ok("/api/validator/equivocation", Body(dev2_, "validator_equivocation", evidence(a, b)));
  EXPECT_EQ(slash["result"]["slashed"], std::to_string(kMin));
  EXPECT_EQ(slash["signer"], dev2_.account_id);
  EXPECT_EQ(Staked(dev1_), kMin);
  EXPECT_EQ(Credits(GetJson("/api/transaction/stats")["gas_burned_credits"]), burned + kMin + 1);
  json v = Validator(v1_);
  EXPECT_EQ(v["slashed_credits"], std::to_string(kMin));
  ASSERT_EQ(v["slashes"].size(), 1u);
  EXPECT_EQ(v["slashes"][0]["kind"], "equivocation");
  EXPECT_EQ(v["slashes"][0]["batch"], 5);
  // The same evidence again, by anyone, either way round: refused.
  Fails("/api/validator/equivocation", Body(dev2_, "validator_equivocation", evidence(a, b)), 409, "already_slashed");
  Fails("/api/validator/equivocation", Body(dev1_, "validator_equivocation", evidence(b, a)), 409, "already_slashed");
  Fails("/api/validator/equivocation", Body(dev2_, "validator_equivocation", evidence(a, a)), 400, "not_equivocation");
  json forged = evidence(a, b);
  forged["signature_b"] = a["signature"];
  Fails("/api/validator/equivocation", Body(dev2_, "validator_equivocation", forged), 400, "invalid_evidence");
  Verify();
}

TEST_F(ValidatorsNodeTest, DowntimeSlashesTenPercentWhenNoAttestationOrHeartbeatFor24Hours) {
  Start("", 100);
  Register(dev1_, v1_, 3 * kMin);
  Register(dev2_, v2_, 2 * kMin);
  std::string k2 = KeyFile("v2.key", v2_);
  ShellResult hb = Cli(k2, "heartbeat");
  ASSERT_EQ(hb.rc, 0) << hb.out;
  EXPECT_NE(hb.out.find("validator_heartbeat"), std::string::npos) << hb.out;
  ASSERT_FALSE(Validator(v2_)["last_heartbeat"].is_null());

  Restart(kDay - 300);  // within the window: nothing
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(Validator(v1_)["slashed_credits"], "0");
  ShellResult hb2 = Cli(k2, "heartbeat");  // v2 stays live
  ASSERT_EQ(hb2.rc, 0) << hb2.out;

  Restart(kDay + 120);  // v1 has been silent for longer than 24 h, v2 has not
  ASSERT_TRUE(WaitFor([&] { return Validator(v1_)["slashed_credits"] != "0"; }));
  json v1 = Validator(v1_);
  EXPECT_EQ(v1["slashed_credits"], std::to_string(3 * kMin / 10));
  EXPECT_EQ(v1["stake_credits"], std::to_string(3 * kMin - 3 * kMin / 10));
  EXPECT_EQ(Staked(dev1_), 3 * kMin - 3 * kMin / 10);
  ASSERT_EQ(v1["slashes"].size(), 1u);
  EXPECT_EQ(v1["slashes"][0]["kind"], "downtime");
  EXPECT_EQ(Validator(v2_)["slashed_credits"], "0");
  json stats = GetJson("/api/validator/stats");
  EXPECT_EQ(stats["slashes"]["downtime"], 1);
  EXPECT_EQ(stats["slashed_credits"], std::to_string(3 * kMin / 10));
  Verify();
}

TEST_F(ValidatorsNodeTest, EveryEndpointsErrors) {
  Start("", 3);
  const std::string zero(64, '0');
  // register
  auto reg = [&](const TestKey& account, const std::string& pubkey, const std::string& pop, const std::string& stake,
                 std::optional<std::uint64_t> nonce = {}) {
    return Body(
        account, "validator_register",
        {{"pubkey", pubkey}, {"l1_address", v1_.address}, {"stake_amount", stake}, {"validator_signature", pop}},
        nonce);
  };
  const std::string k1 = ToHex(v1_.pub), min = std::to_string(kMin);
  Fails("/api/validator/register", RegisterBody(dev1_, v1_, std::to_string(kMin - 1)), 400, "stake_below_minimum");
  Fails("/api/validator/register", reg(dev1_, ToHex(dev1_.pub), Pop(dev1_, dev1_), min), 400,
        "validator_key_is_account_key");
  Fails("/api/validator/register", reg(dev1_, k1, Pop(v2_, dev1_), min), 401, "invalid_validator_signature");
  Fails("/api/validator/register", reg(dev1_, k1, Pop(v1_, dev2_), min), 401, "invalid_validator_signature");
  Fails("/api/validator/register", reg(dev1_, "zz", Pop(v1_, dev1_), min), 400, "invalid_pubkey");
  json bad_address = RegisterBody(dev1_, v1_, min);
  bad_address["l1_address"] = "bc1qnope";
  Fails("/api/validator/register", bad_address, 400, "invalid_address");
  Fails("/api/validator/register", reg(dev1_, k1, Pop(v1_, dev1_), "-5"), 400, "invalid_amount");
  json missing = RegisterBody(dev1_, v1_, min);
  missing.erase("stake_amount");
  Fails("/api/validator/register", missing, 400, "missing_field");
  json unknown = RegisterBody(dev1_, v1_, min);
  unknown["bonus"] = "1";
  Fails("/api/validator/register", unknown, 400, "unknown_field");
  json wrong_sig = RegisterBody(dev1_, v1_, min);
  wrong_sig["stake_amount"] = std::to_string(kMin + 1);  // not what was signed
  Fails("/api/validator/register", wrong_sig, 401, "invalid_signature");
  Fails("/api/validator/register", RegisterBody(dev1_, v1_, min, 7), 409, "nonce_conflict");
  TestKey poor = KeyFromSeed("validators-itest-poor");
  ASSERT_EQ(Post("/api/account/create", json{{"l1_address", poor.address}, {"pubkey", ToHex(poor.pub)}}.dump()).status,
            200);
  Fails("/api/validator/register", RegisterBody(poor, v2_, min), 409, "insufficient_balance");
  Register(dev1_, v1_, kMin);
  Fails("/api/validator/register", RegisterBody(dev1_, v2_, min), 409, "account_has_validator");
  Fails("/api/validator/register", RegisterBody(dev2_, v1_, min), 409, "validator_exists");
  // stake / unstake
  Fails("/api/validator/stake", Body(dev2_, "stake", {{"amount", "5"}}), 404, "validator_not_found");
  Fails("/api/validator/stake", Body(dev1_, "stake", {{"amount", "0"}}), 400, "invalid_amount");
  Fails("/api/validator/stake", Body(dev1_, "stake", {{"amount", "2000000000"}}), 409, "insufficient_balance");
  Fails("/api/validator/unstake", Body(dev1_, "unstake", {{"amount", std::to_string(kMin + 1)}}), 409,
        "insufficient_stake");
  Fails("/api/validator/unstake", Body(dev2_, "unstake", {{"amount", "1"}}), 404, "validator_not_found");
  // claim-rewards
  Fails("/api/validator/" + Vid(v1_) + "/claim-rewards", ClaimBody(dev1_, v1_), 409, "no_rewards");
  Fails("/api/validator/" + Vid(v1_) + "/claim-rewards", ClaimBody(dev2_, v1_), 409, "not_validator_account");
  Fails("/api/validator/" + Vid(v1_) + "/claim-rewards",
        Body(dev1_, "validator_claim_rewards", {{"validator_id", Vid(v2_)}}), 400, "invalid_field");
  Fails("/api/validator/" + Vid(v2_) + "/claim-rewards", ClaimBody(dev2_, v2_), 404, "validator_not_found");
  // attest (batch 1 is closed after three operations and recorded)
  Stake(dev1_, 1);
  Stake(dev1_, 1);
  WaitRecorded(1);
  json good = AttestBody(v1_, 1);
  json bad = good;
  bad["state_root"] = "XYZ";
  Fails("/api/validator/attest", bad, 400, "invalid_field");
  bad = good;
  bad["validator_signature"] = SignAttestation(v2_, 1, good["state_root"], good["tx_root"]);
  Fails("/api/validator/attest", bad, 401, "invalid_signature");
  bad = good;
  bad["validator_id"] = Vid(v2_);
  Fails("/api/validator/attest", bad, 404, "validator_not_found");
  bad = good;
  bad["state_root"] = zero;
  bad["validator_signature"] = SignAttestation(v1_, 1, zero, good["tx_root"]);
  Fails("/api/validator/attest", bad, 409, "attestation_mismatch");
  bad = good;
  bad["batch"] = "9";
  bad["validator_signature"] = SignAttestation(v1_, 9, good["state_root"], good["tx_root"]);
  Fails("/api/validator/attest", bad, 409, "batch_not_recorded");
  bad = good;
  bad["signature"] = std::string(128, '1');
  Fails("/api/validator/attest", bad, 400, "wrong_authorisation");  // public: no account signature
  // heartbeat
  std::uint64_t now = NodeTime();
  Fails("/api/validator/heartbeat", HeartbeatBody(v1_, now - 3600), 409, "heartbeat_out_of_window");
  json hb = HeartbeatBody(v1_, now);
  hb["validator_signature"] = HeartbeatBody(v2_, now)["validator_signature"];
  Fails("/api/validator/heartbeat", hb, 401, "invalid_signature");
  Ok("/api/validator/heartbeat", HeartbeatBody(v1_, now));  // the third operation of batch 2
  WaitRecorded(2);  // its record is the node's own operation: not during a snapshot below
  Fails("/api/validator/heartbeat", HeartbeatBody(v1_, now + 1), 409, "heartbeat_too_soon");
  // system operations are the node's own
  auto sys = Post("/api/operation/submit", json{{"op", "validator_batch"}, {"fields", {{"batch", "1"}}}}.dump());
  EXPECT_EQ(sys.status, 400);
  EXPECT_EQ(json::parse(sys.body)["code"], "wrong_authorisation");
  // reads
  GetFails("/api/validator/val_nope", 404, "validator_not_found");
  GetFails("/api/validator/not-a-validator", 400, "invalid_validator_id");
  GetFails("/api/validator/" + dev2_.account_id, 404, "validator_not_found");
  GetFails("/api/validator/list?status=sleeping", 400, "invalid_field");
  GetFails("/api/validator/list?limit=0", 400, "invalid_field");
  GetFails("/api/validator/" + Vid(v1_) + "/attestations?limit=9999", 400, "invalid_field");
  GetFails("/api/rollup/batch/99", 404, "batch_not_found");
  EXPECT_EQ(Get("/api/validator/list").status, 200);
  EXPECT_EQ(GetJson("/api/validator/" + dev1_.address)["validator_id"], Vid(v1_));  // by the staking account
  EXPECT_EQ(Post("/api/validator/list", "{}").status, 405);
  json consensus = GetJson("/api/validator/consensus/state");
  EXPECT_EQ(consensus["role"], "sequencer");
  EXPECT_EQ(consensus["active_validators"], 1);
  EXPECT_GE(consensus["latest_batch"]["number"].get<int>(), 1);
  EXPECT_FALSE(consensus.contains("term"));
}

// kray-cli: `op` produces the account-signed operations, `attest` and
// `heartbeat` sign with the validator key.
TEST_F(ValidatorsNodeTest, CliProducesValidatorOperations) {
  Start("", 3);
  std::string k1 = KeyFile("dev1.key", dev1_), kv = KeyFile("v1.key", v1_);
  ShellResult pop = Cli(kv, "sign-registration " + dev1_.address);
  ASSERT_EQ(pop.rc, 0) << pop.out;
  json popj = json::parse(pop.out);
  EXPECT_EQ(popj["account_id"], dev1_.account_id);
  EXPECT_EQ(popj["validator_id"], Vid(v1_));
  ShellResult reg = Cli(k1, "op validator_register pubkey=" + ToHex(v1_.pub) + " l1_address=" + v1_.address +
                                " stake_amount=" + std::to_string(kMin) +
                                " validator_signature=" + popj["validator_signature"].get<std::string>());
  ASSERT_EQ(reg.rc, 0) << reg.out;
  EXPECT_EQ(json::parse(reg.out)["result"]["validator_id"], Vid(v1_));
  ASSERT_EQ(Cli(k1, "op stake amount=5").rc, 0);
  ASSERT_EQ(Cli(k1, "op unstake amount=5").rc, 0);
  WaitRecorded(1);
  ShellResult att = Cli(kv, "attest 1");
  ASSERT_EQ(att.rc, 0) << att.out;
  EXPECT_EQ(json::parse(att.out)["op"], "validator_attest");
  EXPECT_EQ(GetJson("/api/rollup/batch/1")["attestations"]["count"], 1);
  ShellResult again = Cli(kv, "attest 7");
  EXPECT_NE(again.rc, 0);
  EXPECT_NE(again.out.find("batch_not_found"), std::string::npos) << again.out;
  ShellResult hb = Cli(kv, "heartbeat");
  ASSERT_EQ(hb.rc, 0) << hb.out;
  ShellResult usage = Cli(kv, "attest");
  EXPECT_NE(usage.rc, 0);
  EXPECT_NE(usage.out.find("usage"), std::string::npos) << usage.out;
  Verify();
}

}  // namespace
}  // namespace kray::test
