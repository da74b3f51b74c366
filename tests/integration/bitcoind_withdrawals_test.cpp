// Withdrawals and anchors through the real krayd, kray-cli and a real
// regtest bitcoind (docs/BRIDGE.md "Withdrawals", "Anchors"): the node is
// federation member 2 and signs for itself; `kray-cli signpsbt` signs as
// member 1 or 3 from their key files. Time passes by restarting krayd with a
// larger -clockoffset (the challenge period is 600 s of the node's clock).
//
// What each test proves is in its name; Bitcoin Core judges every
// transaction (testmempoolaccept, the mempool, gettxout, finalizepsbt on our
// PSBT), and an independent runes index checks the rune edict.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/runestone.h"
#include "kray/bridge/deposits.h"
#include "kray/bridge/runes_index.h"
#include "kray/bridge/runes_sync.h"
#include "kray/bridge/spend_tx.h"
#include "kray/bridge/withdrawals.h"
#include "kray/state/module.h"
#include "kray/testsupport/bitcoind.h"
#include "kray/testsupport/federation.h"
#include "kray/testsupport/node.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/ws_client.h"

namespace kray::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kConfirmations = 2;
constexpr std::int64_t kPeriod = 600;

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(bridge::BridgeModule()).ok());
    return reg;
  }();
  return r;
}

class WithdrawalNodeTest : public NodeTest {
 protected:
  WithdrawalNodeTest() { start_in_setup_ = false; }

  void SetUp() override {
    auto binary = FindBitcoind();
    if (!binary) {
      if (BitcoindRequired()) FAIL() << "bitcoind not found; KRAY_REQUIRE_BITCOIND=1 makes this a failure";
      GTEST_SKIP() << "bitcoind not found: set BITCOIND=/path/to/bitcoind";
    }
    std::string why;
    ASSERT_TRUE(bitcoind_.Start(*binary, &why)) << why;
    bitcoind_.Call("createwallet", json::array({"miner"}));
    miner_ = NewAddress("bech32m");
    Mine(101);
    NodeTest::SetUp();
    for (int m = 1; m <= 3; ++m) {
      auto k = TestMember(m);
      ASSERT_TRUE(bridge::WriteMemberKeyFile(KeyFile(m), k).ok());
    }
    BeforeStart();
    StartNode();
  }
  void TearDown() override {
    NodeTest::TearDown();
    if (bitcoind_.running()) {
      if (HasFailure()) bitcoind_.keep_datadir();
      bitcoind_.Stop();
    }
  }
  // Fixtures that must prepare L1 before krayd starts (an etching).
  virtual void BeforeStart() {}

  std::string GenesisPath() override {
    std::ifstream in(RegtestGenesisPath());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    text.insert(text.rfind('}'), ",\n  \"bridge\": {\"challenge_period\": " + std::to_string(kPeriod) +
                                     ", \"fee_account\": \"" + dev2_.account_id +
                                     "\", \"withdrawal_assets\": [\"BTC\", \"DOG\"]}\n");
    const std::string path = dir_ + "/genesis.json";
    std::ofstream(path) << text;
    return path;
  }

  std::vector<std::string> NodeArgs() override {
    std::vector<std::string> a = {"-bitcoinrpcurl=http://127.0.0.1:" + std::to_string(bitcoind_.rpc_port()),
                                  "-bitcoinrpccookiefile=" + bitcoind_.cookie_file(),
                                  "-depositconfirmations=" + std::to_string(kConfirmations),
                                  "-bridgepollms=50",
                                  "-bridgelookahead=10",
                                  "-depositminsats=1000",
                                  "-bridgememberkey=" + KeyFile(2),
                                  "-bridgefeerate=" + std::to_string(feerate_),
                                  "-bridgemaxfeerate=50",
                                  "-bridgefeebumpseconds=" + std::to_string(bump_seconds_),
                                  "-bridgeanchors=" + std::string(anchors_ ? "1" : "0"),
                                  "-clockoffset=" + std::to_string(clock_offset_)};
    const auto members = TestMembers();
    for (int i = 0; i < 3; ++i) a.push_back("-bridgexpub" + std::to_string(i + 1) + "=" + members[i].Xpub());
    if (!runes_.empty()) a.push_back("-bridgerunes=" + runes_);
    if (anchors_) a.push_back("-batchinterval=1");
    return a;
  }

  std::string KeyFile(int member) const { return dir_ + "/member-" + std::to_string(member) + ".json"; }
  std::string NewAddress(const std::string& type = "bech32") {
    return bitcoind_.Call("getnewaddress", json::array({"", type}), "miner").get<std::string>();
  }
  std::vector<std::string> Mine(int n) {
    std::vector<std::string> out;
    for (const auto& h : bitcoind_.Call("generatetoaddress", {n, miner_})) out.push_back(h.get<std::string>());
    return out;
  }

  // Time passes: krayd restarts with its clock `seconds` further ahead.
  void Advance(std::int64_t seconds) {
    http_.reset();
    ASSERT_EQ(node_.Stop(), 0);
    clock_offset_ += seconds;
    StartNode();
  }

  json WaitFor(const std::string& target, const std::function<bool(const json&)>& done,
               std::chrono::seconds limit = 60s) {
    json last;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Get(target);
      last = json::parse(r.body, nullptr, false);
      if (!last.is_discarded() && done(last)) return last;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "timed out waiting on " << target << ": " << last.dump();
    return last;
  }
  json Status(std::uint64_t id) { return GetJson("/api/bridge/withdrawal/" + std::to_string(id) + "/status"); }
  json WaitStage(std::uint64_t id, const std::string& stage) {
    return WaitFor("/api/bridge/withdrawal/" + std::to_string(id) + "/status",
                   [&](const json& j) { return j.value("stage", "") == stage; });
  }
  // Batched, and this node (member 2) has signed the current version.
  json WaitSigned(std::uint64_t id, std::size_t versions = 1) {
    return WaitFor("/api/bridge/withdrawal/" + std::to_string(id) + "/status", [&](const json& j) {
      return j.value("stage", "") == "signing" && j["spend"].is_object() && j["spend"]["versions"].size() == versions &&
             j["psbt_signers"] == json::array({2});
    });
  }

  net::HttpResponse PostAuth(const std::string& target, const json& body) {
    auto r = http_->Request("POST", target, body.dump(), {{"Authorization", "Bearer " + token_}});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : net::HttpResponse{};
  }

  // Deposits `btc` to `k`'s deposit address and waits for the credit.
  std::pair<std::string, std::uint32_t> Deposit(const TestKey& k, const std::string& btc) {
    auto r = Post("/api/bridge/deposit/initiate", json{{"l1_address", k.address}}.dump());
    const std::string address = json::parse(r.body)["deposit_address"];
    const std::string txid = bitcoind_.Call("sendtoaddress", {address, btc}, "miner").get<std::string>();
    std::uint32_t vout = 0;
    const json tx = bitcoind_.Call("getrawtransaction", {txid, true});
    for (const auto& o : tx["vout"])
      if (o["scriptPubKey"].value("address", "") == address) vout = o["n"].get<std::uint32_t>();
    Mine(kConfirmations);
    WaitFor("/api/bridge/deposit/" + txid + "/" + std::to_string(vout) + "/status",
            [](const json& j) { return j.value("status", "") == "credited"; });
    return {txid, vout};
  }

  // The signed request body a wallet sends.
  json RequestBody(const TestKey& k, const std::string& asset, Amount amount, const std::string& address) {
    state::OperationRequest r;
    r.type = std::string(bridge::kWithdrawalRequestOp);
    r.signer = k.account_id;
    r.nonce = Balance(k.account_id)["nonce"].get<std::uint64_t>();
    r.fields = {{"credits_amount", std::to_string(amount)}, {"asset", asset}, {"l1_address", address}};
    ChainParams params;
    auto op = SignOperation(params, Registry(), r, k);
    EXPECT_TRUE(op.ok()) << op.error().message;
    return json{{"account_id", k.account_id},
                {"credits_amount", std::to_string(amount)},
                {"asset", asset},
                {"l1_address", address},
                {"nonce", *r.nonce},
                {"sig_scheme", "v1"},
                {"signature", ToHex(op->signature)}};
  }
  std::uint64_t Request(const TestKey& k, const std::string& asset, Amount amount, const std::string& address) {
    auto r = Post("/api/bridge/withdrawal/request", RequestBody(k, asset, amount, address).dump());
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("withdrawal_id", std::uint64_t{0}) : 0;
  }

  // kray-cli as a federation member.
  ShellResult Cli(const std::string& args) {
    return RunShell(KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " " + args + " 2>&1");
  }
  ShellResult SignAs(int member, const std::string& target) {
    return Cli("signpsbt " + target + " -memberkey=" + KeyFile(member));
  }

  Amount Avail(const TestKey& k, const std::string& asset) {
    return std::stoull(Balance(k.account_id)["balances"][asset]["available"].get<std::string>());
  }
  std::set<std::string> Mempool() {
    std::set<std::string> out;
    for (const auto& t : bitcoind_.Call("getrawmempool")) out.insert(t.get<std::string>());
    return out;
  }

  BitcoindProcess bitcoind_;
  std::string miner_;
  std::int64_t clock_offset_ = 0;
  int feerate_ = 2;
  int bump_seconds_ = 3600;
  bool anchors_ = false;
  std::string runes_;
};

TEST_F(WithdrawalNodeTest, LifecycleSignedTwoOfThreeAndPaidOnBitcoin) {
  Deposit(dev1_, "0.5");
  const Amount btc0 = Avail(dev1_, "BTC"), kray0 = Avail(dev1_, "KRAY"), fee0 = Avail(dev2_, "BTC");
  const std::string dest = NewAddress("bech32");
  const std::uint64_t id = Request(dev1_, "BTC", 10'000'000, dest);
  ASSERT_EQ(id, 1u);
  EXPECT_EQ(Avail(dev1_, "BTC"), btc0 - 10'000'000);
  EXPECT_EQ(Avail(dev1_, "KRAY"), kray0 - 100);
  // The account's stats count its credited deposit and its withdrawal.
  json stats = GetJson("/api/account/" + dev1_.account_id + "/stats");
  EXPECT_EQ(stats["deposit_count"], 1) << stats.dump();
  EXPECT_EQ(stats["withdrawal_count"], 1) << stats.dump();
  EXPECT_EQ(GetJson("/api/account/" + dev2_.account_id + "/stats")["withdrawal_count"], 0);
  json s = Status(id);
  EXPECT_EQ(s["stage"], "challenge_period");
  EXPECT_GT(s["time_remaining"].get<std::int64_t>(), kPeriod - 30);
  EXPECT_EQ(s["deadline"].get<std::int64_t>() - s["requested_at"].get<std::int64_t>(), kPeriod);
  // Nothing to sign before the deadline, through the API or kray-cli.
  auto early = Get("/api/bridge/withdrawal/1/psbt");
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_NE(early.body.find("withdrawal_not_signing"), std::string::npos);
  auto refused = SignAs(1, "1");
  EXPECT_NE(refused.rc, 0) << refused.out;
  EXPECT_NE(refused.out.find("challenge_period"), std::string::npos) << refused.out;

  Advance(kPeriod + 60);
  s = WaitSigned(id);  // this node signed as member 2
  EXPECT_EQ(s["psbt_signers"], json::array({2}));
  // Bitcoin Core reads our PSBT: a taproot script-path spend of the
  // federation with one of two signatures.
  json psbt = GetJson("/api/bridge/withdrawal/1/psbt");
  json decoded = bitcoind_.Call("decodepsbt", json::array({psbt["psbt"]}));
  ASSERT_FALSE(decoded["inputs"].empty());
  for (const auto& in : decoded["inputs"]) {
    EXPECT_TRUE(in.contains("witness_utxo"));
    EXPECT_EQ(in["taproot_scripts"].size(), 1u);
    EXPECT_EQ(in["taproot_script_path_sigs"].size(), 1u);
    EXPECT_EQ(in["taproot_bip32_derivs"].size(), 3u);
  }
  // analyzepsbt knows every UTXO and that nothing is final yet (for a
  // tapscript input it names the next role "updater" whatever is missing).
  json analyzed = bitcoind_.Call("analyzepsbt", json::array({psbt["psbt"]}));
  for (const auto& in : analyzed["inputs"]) {
    EXPECT_EQ(in["has_utxo"], true) << analyzed.dump();
    EXPECT_EQ(in["is_final"], false) << analyzed.dump();
  }
  // Member 1 signs (dry run: the PSBT is printed, not sent). Bitcoin Core's
  // own finalizer turns that two-signature PSBT into exactly the transaction
  // krayd broadcasts once it receives the same PSBT.
  auto dry = Cli("signpsbt 1 -dryrun -memberkey=" + KeyFile(1));
  ASSERT_EQ(dry.rc, 0) << dry.out;
  const json dry_json = json::parse(dry.out.substr(dry.out.find('{')));
  json core_final = bitcoind_.Call("finalizepsbt", json::array({dry_json["psbt"]}));
  ASSERT_EQ(core_final["complete"], true) << core_final.dump();
  auto posted = Post("/api/bridge/withdrawal/1/signatures", json{{"psbt", dry_json["psbt"]}}.dump());
  ASSERT_EQ(posted.status, 200) << posted.body;
  const json sig_reply = json::parse(posted.body);
  ASSERT_TRUE(sig_reply["broadcast_txid"].is_string()) << posted.body;
  const std::string txid = sig_reply["broadcast_txid"];
  EXPECT_EQ(sig_reply["signers"], json::array({1, 2}));
  EXPECT_TRUE(Mempool().count(txid));
  EXPECT_EQ(bitcoind_.Call("getrawtransaction", json::array({txid})).get<std::string>(),
            core_final["hex"].get<std::string>());
  s = WaitStage(id, "broadcast");
  EXPECT_EQ(s["txids"], json::array({txid}));

  Mine(kConfirmations);
  s = WaitStage(id, "completed");
  EXPECT_EQ(s["txid"], txid);
  // The recipient's output, as Bitcoin Core sees it.
  const json tx = bitcoind_.Call("getrawtransaction", {txid, true});
  int paid = -1;
  for (const auto& o : tx["vout"])
    if (o["scriptPubKey"].value("address", "") == dest) paid = o["n"].get<int>();
  ASSERT_GE(paid, 0);
  const json utxo = bitcoind_.Call("gettxout", {txid, paid});
  EXPECT_EQ(utxo["value"], "0.10000000");
  EXPECT_EQ(utxo["scriptPubKey"]["address"], dest);
  // L2: the amount left, the fee account paid exactly the L1 fee.
  const json spend = GetJson("/api/bridge/spend/" + s["spend_id"].get<std::string>());
  const Amount fee_paid = std::stoull(spend["l2"]["fee_paid_sats"].get<std::string>());
  EXPECT_GT(fee_paid, 0u);
  EXPECT_EQ(Avail(dev2_, "BTC"), fee0 - fee_paid);
  EXPECT_EQ(Avail(dev1_, "BTC"), btc0 - 10'000'000);
  // The change came back to the bridge, and is not an unattributed deposit.
  json info = GetJson("/api/bridge/info");
  EXPECT_EQ(GetJson("/api/bridge/unattributed")["count"], 0);
  EXPECT_EQ(info["holdings"]["outputs"], 1);
  // Replay: krayd verify over every operation of the lifecycle.
  ExpectConservation();
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  std::string out;
  EXPECT_EQ(KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + dir_ + "/genesis.json"},
                                    dir_ + "/verify.log", &out),
            0)
      << out;
  stopped_ = true;
}

TEST_F(WithdrawalNodeTest, ChallengedWithdrawalIsNeverSignedAndIsRefunded) {
  Deposit(dev1_, "0.2");
  const Amount btc0 = Avail(dev1_, "BTC"), kray0 = Avail(dev1_, "KRAY");
  const std::uint64_t id = Request(dev1_, "BTC", 50'000, NewAddress());
  // A validator challenge from an account that is not one.
  json body = {{"account_id", dev2_.account_id}, {"reason", "suspicious"}, {"nonce", 0}, {"sig_scheme", "v1"}};
  state::OperationRequest vc;
  vc.type = std::string(bridge::kWithdrawalValidatorChallengeOp);
  vc.signer = dev2_.account_id;
  vc.nonce = 0;
  vc.fields = {{"id", "1"}, {"reason", "suspicious"}};
  auto op = SignOperation(ChainParams{}, Registry(), vc, dev2_);
  ASSERT_TRUE(op.ok());
  body["signature"] = ToHex(op->signature);
  auto not_validator = Post("/api/bridge/withdrawal/1/challenge", body.dump());
  EXPECT_EQ(not_validator.status, 401) << not_validator.body;
  EXPECT_NE(not_validator.body.find("not_an_active_validator"), std::string::npos);
  // The operator: without the token refused, with it accepted.
  auto wrong = http_->Request("POST", "/api/bridge/withdrawal/1/challenge", json{{"reason", "x"}}.dump(),
                              {{"Authorization", "Bearer wrong-token"}});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 401);
  auto c = PostAuth("/api/bridge/withdrawal/1/challenge", {{"reason", "reported stolen"}});
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(Status(id)["stage"], "challenged");
  // Past its deadline a challenged withdrawal is still never batched.
  Advance(kPeriod + 60);
  std::this_thread::sleep_for(500ms);  // several coordinator polls
  json s = Status(id);
  EXPECT_EQ(s["stage"], "challenged");
  EXPECT_TRUE(s["spend"].is_null());
  EXPECT_EQ(s["challenge"]["reason"], "reported stolen");
  EXPECT_NE(SignAs(1, "1").rc, 0);
  auto r = PostAuth("/api/bridge/withdrawal/1/resolve", {{"action", "refund"}, {"note", "confirmed"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Status(id)["status"], "refunded");
  EXPECT_EQ(Avail(dev1_, "BTC"), btc0);
  EXPECT_EQ(Avail(dev1_, "KRAY"), kray0);
  EXPECT_EQ(PostAuth("/api/bridge/withdrawal/1/resolve", {{"action", "refund"}}).status, 409);
  EXPECT_EQ(GetJson("/api/bridge/withdrawals/" + dev1_.address)["count"], 1);
}

TEST_F(WithdrawalNodeTest, CosignersInvalidSignatureIsRejected) {
  Deposit(dev1_, "0.2");
  const std::uint64_t id = Request(dev1_, "BTC", 50'000, NewAddress());
  Advance(kPeriod + 60);
  WaitSigned(id);
  json psbt_json = GetJson("/api/bridge/withdrawal/1/psbt");
  auto psbt = bitcoin::ParsePsbtBase64(psbt_json["psbt"].get<std::string>());
  ASSERT_TRUE(psbt.ok());
  // Member 1's key slot with a signature that does not verify.
  const auto derivs = psbt->inputs[0].TapBip32Derivations();
  const auto leaf = psbt->inputs[0].TapScriptSigs().begin()->first.second;
  const auto fed = TestFederation();
  const auto fps = fed.Fingerprints();
  for (const auto& [key, origin] : derivs)
    if (origin.origin.fingerprint == fps[0]) psbt->inputs[0].SetTapScriptSig(key, leaf, Bytes(64, 0x5a));
  auto r = Post("/api/bridge/withdrawal/1/signatures", json{{"psbt", bitcoin::PsbtToBase64(*psbt)}}.dump());
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("invalid_signature"), std::string::npos);
  EXPECT_EQ(Status(id)["psbt_signers"], json::array({2}));
  EXPECT_EQ(Status(id)["stage"], "signing");
  EXPECT_EQ(Post("/api/bridge/withdrawal/1/signatures", json{{"psbt", "not base64!"}}.dump()).status, 400);
  EXPECT_TRUE(Mempool().empty());
}

TEST_F(WithdrawalNodeTest, RejectedThenReplacedByFeeAndTheOriginalEvicted) {
  // Fee rate 0: Bitcoin Core refuses the first version (min relay fee); the
  // withdrawal stays pending with the reason and is never refunded.
  feerate_ = 0;
  bump_seconds_ = 3;
  Deposit(dev1_, "0.3");
  const std::uint64_t id = Request(dev1_, "BTC", 70'000, NewAddress());
  Advance(kPeriod + 60);
  WaitSigned(id);
  auto v1 = SignAs(3, "1");
  ASSERT_EQ(v1.rc, 0) << v1.out;
  EXPECT_NE(v1.out.find("min relay fee not met"), std::string::npos) << v1.out;
  json s = Status(id);
  EXPECT_EQ(s["status"], "signing");
  EXPECT_NE(s["reason"].get<std::string>().find("min relay fee not met"), std::string::npos) << s.dump();
  EXPECT_TRUE(Mempool().empty());
  // A higher-fee version appears; it needs two signatures again.
  s = WaitSigned(id, 2);
  auto v2 = SignAs(1, "1");
  ASSERT_EQ(v2.rc, 0) << v2.out;
  const std::string tx2 = json::parse(v2.out.substr(v2.out.find('{')))["broadcast_txid"];
  EXPECT_TRUE(Mempool().count(tx2));
  // Unconfirmed past the bump time: an RBF replacement, signed again,
  // accepted by Bitcoin Core, which evicts the original.
  s = WaitFor("/api/bridge/withdrawal/1/status", [](const json& j) {
    return j["spend"].is_object() && j["spend"]["versions"].size() == 3 && j["psbt_signers"] == json::array({2});
  });
  auto v3 = SignAs(3, "1");
  ASSERT_EQ(v3.rc, 0) << v3.out;
  const std::string tx3 = json::parse(v3.out.substr(v3.out.find('{')))["broadcast_txid"];
  auto pool = Mempool();
  EXPECT_TRUE(pool.count(tx3));
  EXPECT_FALSE(pool.count(tx2)) << "the replaced transaction is still in the mempool";
  EXPECT_FALSE(bitcoind_.Rpc("getmempoolentry", json::array({tx2})).ok());
  Mine(kConfirmations);
  s = WaitStage(id, "completed");
  EXPECT_EQ(s["txid"], tx3);
  EXPECT_EQ(s["txids"].size(), 3u);  // every version is shown
  EXPECT_GT(std::stoll(s["spend"]["versions"][2]["fee_sats"].get<std::string>()),
            std::stoll(s["spend"]["versions"][1]["fee_sats"].get<std::string>()));
}

TEST_F(WithdrawalNodeTest, TwoWithdrawalsInFlightNeverShareAnInput) {
  Deposit(dev1_, "0.3");
  Deposit(dev1_, "0.2");
  const std::uint64_t a = Request(dev1_, "BTC", 100'000, NewAddress());
  Advance(kPeriod + 60);
  const json sa = WaitSigned(a);
  const std::uint64_t b = Request(dev1_, "BTC", 120'000, NewAddress());
  Advance(kPeriod + 60);
  const json sb = WaitSigned(b);
  ASSERT_NE(sa["spend_id"], sb["spend_id"]);
  std::set<std::string> inputs;
  for (const auto& in : sa["spend"]["inputs"]) inputs.insert(in.get<std::string>());
  for (const auto& in : sb["spend"]["inputs"]) EXPECT_FALSE(inputs.count(in.get<std::string>())) << in;
  // Both are valid for Bitcoin Core and confirm together.
  ASSERT_EQ(SignAs(1, "1").rc, 0);
  ASSERT_EQ(SignAs(1, "2").rc, 0);
  EXPECT_EQ(Mempool().size(), 2u);
  Mine(kConfirmations);
  WaitStage(a, "completed");
  WaitStage(b, "completed");
  EXPECT_EQ(GetJson("/api/bridge/info")["holdings"]["reserved"], 0);
}

TEST_F(WithdrawalNodeTest, VersionSignedElsewhereIsAdoptedAndSettled) {
  // Members 1 and 3 sign a higher-fee version of the transaction among
  // themselves (as after a lost bridge.sqlite) and broadcast it: the node
  // recognises it in a block as paying exactly this spend, and settles.
  Deposit(dev1_, "0.2");
  const std::uint64_t id = Request(dev1_, "BTC", 60'000, NewAddress());
  Advance(kPeriod + 60);
  WaitSigned(id);
  auto psbt = bitcoin::ParsePsbtBase64(GetJson("/api/bridge/withdrawal/1/psbt")["psbt"].get<std::string>());
  ASSERT_TRUE(psbt.ok());
  const auto fed = TestFederation();
  auto indexes = bridge::SpendAddressIndexes(*psbt, fed);
  ASSERT_TRUE(indexes.ok());
  std::vector<bridge::SpendInput> inputs;
  std::int64_t fee = 0;
  for (std::size_t i = 0; i < psbt->tx.vin.size(); ++i) {
    auto utxo = *bitcoin::PsbtSpentOutput(*psbt, i);
    inputs.push_back({psbt->tx.vin[i].prevout, (*indexes)[i], utxo.value, utxo.script_pubkey, {}});
    fee += utxo.value;
  }
  for (const auto& o : psbt->tx.vout) fee -= o.value;
  auto tx = bridge::WithFee(psbt->tx, inputs, fee + 500);
  ASSERT_TRUE(tx.ok());
  auto elsewhere = bridge::MakeSpendPsbt(*tx, inputs, fed);
  ASSERT_TRUE(elsewhere.ok());
  const auto members = TestMembers();
  for (int m : {1, 3}) ASSERT_TRUE(bridge::SignSpendAsMember(*elsewhere, members[m - 1], fed, *indexes).ok());
  ASSERT_TRUE(bitcoin::FinalizePsbt(*elsewhere).ok());
  auto final_tx = bitcoin::ExtractTransaction(*elsewhere);
  ASSERT_TRUE(final_tx.ok());
  auto sent = bitcoind_.rpc().SendRawTransaction(*final_tx);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  const std::string txid = bitcoin::HashToDisplayHex(*sent);
  Mine(kConfirmations);
  json s = WaitStage(id, "completed");
  EXPECT_EQ(s["txid"], txid);
  EXPECT_EQ(s["txids"].size(), 2u);
  const json spend = GetJson("/api/bridge/spend/" + s["spend_id"].get<std::string>());
  EXPECT_EQ(spend["l2"]["fee_paid_sats"], std::to_string(fee + 500));
}

TEST_F(WithdrawalNodeTest, RequestSignedByKrayCliBindsItsDestinationAndIsNeverReplayed) {
  // A wallet's request signed by `kray-cli sign v1` (not the test's own
  // signing code): the destination, the amount and the asset are in the
  // signed message, so a relay can change none of them; the same signed
  // request sent twice is one withdrawal.
  Deposit(dev1_, "0.2");
  const Amount btc0 = Avail(dev1_, "BTC");
  const std::string key = dir_ + "/dev1.key";
  std::ofstream(key) << ToHex(dev1_.secret) << "\n";
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string dest = NewAddress(), other = NewAddress();
  auto signed_by_cli =
      Cli("-keyfile=" + key + " sign v1 withdrawal_request 0 amount=70000 asset=BTC l1_address=" + dest);
  ASSERT_EQ(signed_by_cli.rc, 0) << signed_by_cli.out;
  const json sig = json::parse(signed_by_cli.out.substr(signed_by_cli.out.find('{')));
  const json body = {{"account_id", dev1_.account_id},
                     {"credits_amount", "70000"},
                     {"asset", "BTC"},
                     {"l1_address", dest},
                     {"nonce", 0},
                     {"sig_scheme", "v1"},
                     {"signature", sig["signature"]}};
  for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
           {"l1_address", other}, {"credits_amount", "70001"}, {"asset", "DOG"}, {"account_id", dev2_.account_id}}) {
    json changed = body;
    changed[field] = value;
    auto r = Post("/api/bridge/withdrawal/request", changed.dump());
    EXPECT_EQ(r.status, 401) << field << ": " << r.body;
    EXPECT_NE(r.body.find("invalid_signature"), std::string::npos) << field << ": " << r.body;
  }
  EXPECT_EQ(Avail(dev1_, "BTC"), btc0);
  auto first = Post("/api/bridge/withdrawal/request", body.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["withdrawal_id"], 1);
  for (int i = 0; i < 2; ++i) {
    auto again = Post("/api/bridge/withdrawal/request", body.dump());
    EXPECT_EQ(again.status, 409) << again.body;
    EXPECT_NE(again.body.find("nonce_conflict"), std::string::npos) << again.body;
  }
  const json list = GetJson("/api/bridge/withdrawals/" + dev1_.account_id);
  EXPECT_EQ(list["count"], 1);
  EXPECT_EQ(list["withdrawals"][0]["l1_address"], dest);
  EXPECT_EQ(Avail(dev1_, "BTC"), btc0 - 70'000);
  // A mainnet destination signed correctly is still refused on regtest.
  auto mainnet = Cli("-keyfile=" + key +
                     " sign v1 withdrawal_request 1 amount=70000 asset=BTC "
                     "l1_address=bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
  ASSERT_EQ(mainnet.rc, 0) << mainnet.out;
  json wrong_net = body;
  wrong_net["nonce"] = 1;
  wrong_net["l1_address"] = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
  wrong_net["signature"] = json::parse(mainnet.out.substr(mainnet.out.find('{')))["signature"];
  auto r = Post("/api/bridge/withdrawal/request", wrong_net.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("invalid_address"), std::string::npos) << r.body;
  // Paid exactly where the signature said.
  Advance(kPeriod + 60);
  WaitSigned(1);
  auto cli = SignAs(3, "1");
  ASSERT_EQ(cli.rc, 0) << cli.out;
  Mine(kConfirmations);
  const json done = WaitStage(1, "completed");
  const json tx = bitcoind_.Call("getrawtransaction", {done["txid"], true});
  int paid = 0;
  for (const auto& o : tx["vout"]) {
    EXPECT_NE(o["scriptPubKey"].value("address", ""), other);
    if (o["scriptPubKey"].value("address", "") == dest) {
      ++paid;
      EXPECT_EQ(o["value"].is_string() ? o["value"].get<std::string>() : o["value"].dump(), "0.00070000");
    }
  }
  EXPECT_EQ(paid, 1);
  ExpectConservation();
}

TEST_F(WithdrawalNodeTest, SettledWithdrawalTakenBackByAReorgIsPublishedAgain) {
  // Completed at N confirmations, then a reorg takes its block back and
  // Bitcoin Core restarts without its mempool: the payment is nowhere on L1
  // while L2 says completed. krayd publishes the same transaction again
  // (its inputs stay reserved), and it confirms on the new chain.
  Deposit(dev1_, "0.2");
  // Paid to a wallet that is not loaded again after the restart (a loaded
  // wallet would put its own transaction back itself).
  bitcoind_.Call("createwallet", json::array({"payee"}));
  const std::string dest = bitcoind_.Call("getnewaddress", json::array({"", "bech32"}), "payee").get<std::string>();
  const std::uint64_t id = Request(dev1_, "BTC", 80'000, dest);
  Advance(kPeriod + 60);
  WaitSigned(id);
  auto cli = SignAs(1, std::to_string(id));
  ASSERT_EQ(cli.rc, 0) << cli.out;
  const std::string txid = json::parse(cli.out.substr(cli.out.find('{')))["broadcast_txid"];
  const std::string block = Mine(kConfirmations)[0];
  ASSERT_EQ(WaitStage(id, "completed")["txid"], txid);
  const Amount btc = Avail(dev1_, "BTC");

  bitcoind_.Call("invalidateblock", json::array({block}));
  ASSERT_EQ(bitcoind_.StopKeepingData(), 0);
  std::filesystem::remove(bitcoind_.datadir() + "/regtest/mempool.dat");
  std::string why;
  ASSERT_TRUE(bitcoind_.StartAgain(&why)) << why;
  bitcoind_.Call("loadwallet", json::array({"miner"}));
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!Mempool().count(txid) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(Mempool().count(txid)) << "krayd did not publish the settled spend again";
  // (to another address: the same template would rebuild the invalid block)
  bitcoind_.Call("generatetoaddress", {kConfirmations, NewAddress("bech32m")});
  const json tx = bitcoind_.Call("getrawtransaction", {txid, true});
  EXPECT_EQ(tx["confirmations"], kConfirmations);
  bool paid = false;
  for (const auto& o : tx["vout"]) paid |= o["scriptPubKey"].value("address", "") == dest;
  EXPECT_TRUE(paid);
  const json s = Status(id);
  EXPECT_EQ(s["stage"], "completed");
  EXPECT_EQ(s["txid"], txid);
  EXPECT_EQ(Avail(dev1_, "BTC"), btc);
  // Nothing else was built on its inputs, and no alarm: no deposit was taken back.
  EXPECT_EQ(GetJson("/api/bridge/info")["holdings"]["outputs"], 1);
  ExpectConservation();
}

TEST_F(WithdrawalNodeTest, AWithdrawalTheBridgeCannotFundDoesNotHoldBackTheOthers) {
  // dev1's genesis BTC is not on L1: 0.5 BTC asked while the bridge holds
  // 0.2. The withdrawal after it is paid; the large one waits, saying why.
  Deposit(dev1_, "0.2");
  const std::uint64_t big = Request(dev1_, "BTC", 50'000'000, NewAddress());
  const std::uint64_t small = Request(dev1_, "BTC", 30'000, NewAddress());
  Advance(kPeriod + 60);
  const json s = WaitSigned(small);
  EXPECT_EQ(s["stage"], "signing");
  const json b = WaitFor("/api/bridge/withdrawal/" + std::to_string(big) + "/status",
                         [](const json& j) { return j["reason"].is_string(); });
  EXPECT_EQ(b["stage"], "ready") << b.dump();
  EXPECT_NE(b["reason"].get<std::string>().find("do not cover"), std::string::npos) << b.dump();
  auto cli = SignAs(1, std::to_string(small));
  ASSERT_EQ(cli.rc, 0) << cli.out;
  Mine(kConfirmations);
  WaitStage(small, "completed");
  EXPECT_EQ(Status(big)["stage"], "ready");
  // The operator may refund it after a challenge.
  ASSERT_EQ(
      PostAuth("/api/bridge/withdrawal/" + std::to_string(big) + "/challenge", json{{"reason", "unfundable"}}).status,
      200);
  ASSERT_EQ(PostAuth("/api/bridge/withdrawal/" + std::to_string(big) + "/resolve", json{{"action", "refund"}}).status,
            200);
  EXPECT_EQ(Status(big)["status"], "refunded");
  ExpectConservation();
}

TEST_F(WithdrawalNodeTest, WithdrawalStatusChangesReachTheEventFeed) {
  // The withdrawals topic of GET /ws: each committed change of a
  // withdrawal, from the request to its refund, with the commit's seq.
  Deposit(dev1_, "0.2");
  WsClient feed;
  std::string why;
  ASSERT_TRUE(feed.Connect(node_.port(), &why)) << why;
  ASSERT_TRUE(feed.NextOfType("welcome"));
  ASSERT_TRUE(feed.SendJson({{"op", "subscribe"}, {"topics", {"withdrawals"}}}));
  ASSERT_TRUE(feed.NextOfType("subscribed"));
  const std::string dest = NewAddress();
  const std::uint64_t id = Request(dev1_, "BTC", 40'000, dest);
  ASSERT_EQ(PostAuth("/api/bridge/withdrawal/1/challenge", json{{"reason", "looks odd"}}).status, 200);
  ASSERT_EQ(PostAuth("/api/bridge/withdrawal/1/resolve", json{{"action", "refund"}, {"note", "asked"}}).status, 200);
  std::vector<std::string> statuses;
  std::uint64_t last_seq = 0;
  while (statuses.size() < 3) {
    auto e = feed.NextOfType("event", std::chrono::seconds(20));
    ASSERT_TRUE(e) << "statuses so far: " << statuses.size();
    EXPECT_EQ((*e)["topic"], "withdrawals");
    EXPECT_EQ((*e)["event"], "withdrawal_status");
    const json& d = (*e)["data"];
    EXPECT_EQ(d["id"], id);
    EXPECT_EQ(d["account_id"], dev1_.account_id);
    EXPECT_EQ(d["amount"], "40000");
    EXPECT_EQ(d["l1_address"], dest);
    EXPECT_GT((*e)["seq"].get<std::uint64_t>(), last_seq);
    last_seq = (*e)["seq"];
    statuses.push_back(d["status"]);
    if (d["status"] == "challenged") {
      EXPECT_EQ(d["challenged_by"], "operator");
    }
    if (d["status"] == "refunded") {
      EXPECT_EQ(d["resolution"], "refunded: asked");
    }
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"pending", "challenged", "refunded"}));
  // The seq is the commit's: the operation that refunded it.
  const json refund = GetJson("/api/account/" + dev1_.account_id + "/transactions?limit=1");
  EXPECT_EQ(refund["transactions"][0]["seq"], last_seq) << refund.dump();
}

TEST_F(WithdrawalNodeTest, AnActiveValidatorOfTheValidatorsModuleMayChallenge) {
  // The node's registry asks the validators module: dev 1 may challenge
  // once it is an active validator (registered with the minimum stake), and
  // no longer after unstaking below it.
  const std::uint64_t id = Request(dev2_, "BTC", 50'000, NewAddress());
  auto challenge = [&](const std::string& reason) {
    state::OperationRequest r;
    r.type = std::string(bridge::kWithdrawalValidatorChallengeOp);
    r.signer = dev1_.account_id;
    r.nonce = Balance(dev1_.account_id)["nonce"].get<std::uint64_t>();
    r.fields = {{"id", std::to_string(id)}, {"reason", reason}};
    ChainParams params;
    auto op = SignOperation(params, Registry(), r, dev1_);
    EXPECT_TRUE(op.ok());
    return Post("/api/bridge/withdrawal/" + std::to_string(id) + "/challenge", json{{"account_id", dev1_.account_id},
                                                                                    {"reason", reason},
                                                                                    {"nonce", *r.nonce},
                                                                                    {"sig_scheme", "v1"},
                                                                                    {"signature", ToHex(op->signature)}}
                                                                                   .dump());
  };
  auto refused = challenge("not yet a validator");
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_NE(refused.body.find("not_an_active_validator"), std::string::npos) << refused.body;
  // The validator key of docs/API.md's example: SHA256("krayd-validator-example"),
  // its proof of possession for dev 1 on this chain.
  const std::string key = dir_ + "/dev1.key";
  std::ofstream(key) << ToHex(dev1_.secret) << "\n";
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto reg =
      Cli("-keyfile=" + key + " op validator_register l1_address=" + dev1_.address +
          " pubkey=c9485d1ebc482c8cd7b97da5b1c8f07b64faee3d38d0c1ce77eb05ea34ace6ee stake_amount=10000000"
          " validator_signature=336904723fb063b176ce8942ca45ff316c5b0c2f107e7e6e08fbf81977a9538486171cce5e9a6dccd"
          "34e716ffe9001847da31ee5eb857cb35013afe7e20aaaaa");
  ASSERT_EQ(reg.rc, 0) << reg.out;
  auto accepted = challenge("I watch this bridge");
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  json s = Status(id);
  EXPECT_EQ(s["status"], "challenged");
  EXPECT_EQ(s["challenge"]["by"], dev1_.account_id);
  ASSERT_EQ(PostAuth("/api/bridge/withdrawal/" + std::to_string(id) + "/resolve", json{{"action", "release"}}).status,
            200);
  auto unstake = Cli("-keyfile=" + key + " op unstake amount=1");
  ASSERT_EQ(unstake.rc, 0) << unstake.out;
  auto again = challenge("still watching");
  EXPECT_EQ(again.status, 401) << again.body;
  EXPECT_NE(again.body.find("not_an_active_validator"), std::string::npos) << again.body;
  // krayd verify replays the challenge with the same answer.
  ExpectConservation();
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  std::string out;
  EXPECT_EQ(KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + dir_ + "/genesis.json"},
                                    dir_ + "/verify.log", &out),
            0)
      << out;
  stopped_ = true;
}

// A rune etched on regtest before krayd starts, accepted as DOG.
class RuneWithdrawalTest : public WithdrawalNodeTest {
 protected:
  void BeforeStart() override {
    bitcoind_.Call("createwallet", json::array({"runes"}));
    bitcoin::Runestone etch;
    etch.etching = bitcoin::Etching{};
    etch.etching->divisibility = 5;
    etch.etching->premine = 1'000'000;
    etch_ = Send({}, etch, {{RunesAddress(), 10'000}});
    const std::string block = Mine(1)[0];
    const json b = bitcoind_.Call("getblock", {block, 1});
    rune_ = bitcoin::RuneId{b["height"].get<std::uint64_t>(), 0};
    for (std::uint32_t i = 0; i < b["tx"].size(); ++i)
      if (b["tx"][i] == bitcoin::HashToDisplayHex(bitcoin::Txid(etch_))) rune_.tx = i;
    runes_ = "DOG:" + bitcoin::RuneIdToString(rune_);
  }
  std::string RunesAddress() {
    return bitcoind_.Call("getnewaddress", json::array({"", "bech32m"}), "runes").get<std::string>();
  }
  // Our outputs after the Runestone, fees from the miner wallet.
  bitcoin::Transaction Send(const std::vector<bitcoin::OutPoint>& inputs, const bitcoin::Runestone& stone,
                            const std::vector<std::pair<std::string, std::int64_t>>& outputs) {
    bitcoin::Transaction tx;
    for (const auto& o : inputs) {
      bitcoin::TxIn in;
      in.prevout = o;
      tx.vin.push_back(in);
    }
    tx.vout.push_back({0, bitcoin::EncipherRunestone(stone)});
    for (const auto& [addr, sats] : outputs)
      tx.vout.push_back({sats, *bitcoin::AddressToScriptPubKey(addr, Network::kRegtest)});
    json opts = {{"changePosition", tx.vout.size()}};
    if (!inputs.empty()) {
      json w = json::array();
      for (const auto& o : inputs)
        w.push_back({{"txid", bitcoin::HashToDisplayHex(o.txid)}, {"vout", o.n}, {"weight", 230}});
      opts["input_weights"] = w;
    }
    std::string hex =
        bitcoind_.Call("fundrawtransaction", {ToHex(bitcoin::SerializeTransaction(tx)), opts, false}, "miner")["hex"];
    if (!inputs.empty()) hex = bitcoind_.Call("signrawtransactionwithwallet", json::array({hex}), "runes")["hex"];
    hex = bitcoind_.Call("signrawtransactionwithwallet", json::array({hex}), "miner")["hex"];
    auto parsed = bitcoin::ParseTransactionHex(hex);
    EXPECT_TRUE(parsed.ok());
    EXPECT_TRUE(bitcoind_.rpc().SendRawTransaction(*parsed).ok());
    return *parsed;
  }

  bitcoin::Transaction etch_;
  bitcoin::RuneId rune_;
};

TEST_F(RuneWithdrawalTest, RuneRecipientGetsTheEdictAndTheRuneChangeStays) {
  Deposit(dev1_, "0.1");  // BTC for the bridge's fees
  auto r = Post("/api/bridge/deposit/initiate", json{{"l1_address", dev1_.address}}.dump());
  const std::string deposit_address = json::parse(r.body)["deposit_address"];
  const Amount dog0 = Avail(dev1_, "DOG");
  bitcoin::Runestone give;
  give.edicts = {bitcoin::Edict{rune_, 600'000, 2}};
  const auto sent =
      Send({bitcoin::OutPoint{bitcoin::Txid(etch_), 1}}, give, {{RunesAddress(), 10'000}, {deposit_address, 10'000}});
  Mine(kConfirmations);
  WaitFor("/api/bridge/deposit/" + bitcoin::HashToDisplayHex(bitcoin::Txid(sent)) + "/2/status",
          [](const json& j) { return j.value("status", "") == "credited"; });
  EXPECT_EQ(Avail(dev1_, "DOG"), dog0 + 600'000);

  const std::string dest = NewAddress("bech32m");
  const std::uint64_t id = Request(dev1_, "DOG", 250'000, dest);
  Advance(kPeriod + 60);
  WaitSigned(id);
  auto signed_out = SignAs(1, std::to_string(id));
  ASSERT_EQ(signed_out.rc, 0) << signed_out.out;
  const std::string txid = json::parse(signed_out.out.substr(signed_out.out.find('{')))["broadcast_txid"];
  Mine(kConfirmations);
  WaitStage(id, "completed");
  // Bitcoin Core: the recipient's dust output.
  const json tx = bitcoind_.Call("getrawtransaction", {txid, true});
  int paid = -1;
  for (const auto& o : tx["vout"])
    if (o["scriptPubKey"].value("address", "") == dest) paid = o["n"].get<int>();
  ASSERT_GE(paid, 0);
  EXPECT_EQ(bitcoind_.Call("gettxout", {txid, paid})["value"], "0.00000546");
  // An independent runes index (ord's rules, its own memory store) over the
  // chain: the recipient holds 250,000 and the bridge's change the rest.
  bridge::MemoryRunesStore store;
  bridge::RunesIndexOptions ro;
  ro.network = Network::kRegtest;
  ro.runes = {{rune_, std::nullopt}};
  bridge::BitcoinRpc rpc(bitcoind_.RpcOptions());
  bridge::RpcPrevoutSource prevouts(rpc);
  auto index = bridge::RunesIndex::Make(store, ro, &prevouts);
  ASSERT_TRUE(index.ok()) << index.error().message;
  ASSERT_TRUE(bridge::SyncRunesIndex(rpc, *index).ok());
  auto txid_hash = *bitcoin::HashFromDisplayHex(txid);
  auto recipient = index->Balances(bitcoin::OutPoint{txid_hash, static_cast<std::uint32_t>(paid)});
  ASSERT_TRUE(recipient.ok());
  ASSERT_EQ(recipient->size(), 1u);
  EXPECT_EQ((*recipient)[0].amount, u128{250'000});
  auto change = index->Balances(bitcoin::OutPoint{txid_hash, 0});
  ASSERT_TRUE(change.ok());
  ASSERT_EQ(change->size(), 1u);
  EXPECT_EQ((*change)[0].amount, u128{350'000});
  EXPECT_EQ(Avail(dev1_, "DOG"), dog0 + 350'000);
}

class AnchorNodeTest : public WithdrawalNodeTest {
 protected:
  AnchorNodeTest() { anchors_ = true; }
};

TEST_F(AnchorNodeTest, EveryBatchAnchoredOnBitcoinAndFoundByVerifychain) {
  Deposit(dev1_, "0.2");  // the bridge's BTC; its operations close batch 1
  json anchor = WaitFor("/api/bridge/anchor/1", [](const json& j) { return j["spend_id"].is_string(); });
  EXPECT_EQ(anchor["status"], "built");
  // Once this node (member 2) has signed, member 3's signature completes it.
  WaitFor("/api/bridge/spend/" + anchor["spend_id"].get<std::string>(),
          [](const json& j) { return j["signers"] == json::array({2}); });
  auto cli = Cli("signpsbt -anchor=1 -memberkey=" + KeyFile(3));
  ASSERT_EQ(cli.rc, 0) << cli.out;
  const json reply = json::parse(cli.out.substr(cli.out.find('{')));
  ASSERT_TRUE(reply["broadcast_txid"].is_string()) << cli.out << "\n" << GetJson("/api/bridge/anchor/1").dump();
  const std::string txid = reply["broadcast_txid"];
  anchor = GetJson("/api/rollup/batch/1");
  EXPECT_EQ(anchor["anchor"]["status"], "anchored");
  EXPECT_EQ(anchor["anchor"]["txid"], txid);
  // The OP_RETURN Bitcoin Core relays is the batch's 77-byte payload.
  const json tx = bitcoind_.Call("getrawtransaction", {txid, true});
  bool found = false;
  for (const auto& o : tx["vout"]) found |= o["scriptPubKey"]["hex"] == anchor["anchor"]["script_hex"];
  EXPECT_TRUE(found) << tx.dump();
  // Mined once, then that block is taken back: the anchor goes back to
  // unconfirmed, is published again, and finalizes on the new chain.
  const std::string block = Mine(1)[0];
  WaitFor("/api/rollup/batch/1", [](const json& j) { return j["anchor"]["height"].is_number(); });
  bitcoind_.Call("invalidateblock", json::array({block}));
  WaitFor("/api/rollup/batch/1",
          [](const json& j) { return j["anchor"]["status"] == "anchored" && j["anchor"]["height"].is_null(); });
  // (to another address: the same template would rebuild the invalid block)
  bitcoind_.Call("generatetoaddress", {kConfirmations + 1, NewAddress("bech32m")});
  anchor = WaitFor("/api/rollup/batch/1", [](const json& j) { return j["anchor"]["status"] == "finalized"; });
  EXPECT_EQ(anchor["anchor"]["txid"], txid);
  // Batches holding only anchor bookkeeping are not anchored on their own.
  std::this_thread::sleep_for(1500ms);
  auto list = GetJson("/api/rollup/batches");
  for (const auto& b : list["batches"]) {
    if (b["number"] != 1) {
      EXPECT_EQ(b["anchor"]["status"], "built") << b.dump();
    }
  }
  // verifychain replays every batch and reads each finalized anchor from L1.
  auto v =
      Cli("verifychain -quiet -bitcoinrpcconnect=127.0.0.1 -bitcoinrpcport=" + std::to_string(bitcoind_.rpc_port()) +
          " -bitcoinrpccookiefile=" + bitcoind_.cookie_file());
  ASSERT_EQ(v.rc, 0) << v.out;
  const json verdict = json::parse(v.out.substr(v.out.find('{')));
  EXPECT_EQ(verdict["verdict"], "ok");
  EXPECT_EQ(verdict["anchors_checked_on_l1"], 1);
}

}  // namespace
}  // namespace kray::test
