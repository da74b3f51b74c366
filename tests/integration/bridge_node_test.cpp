// The bridge through the real krayd binary and its REST API, against a real
// regtest bitcoind: deposit address, status, credit, the account's deposit
// list, /api/bridge/info and /health, a node killed mid-scan, bitcoind going
// away under a running node, `krayd verify` replaying the credits; and, with
// no L1 backend configured, every bridge endpoint answering 503.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "kray/bridge/federation.h"
#include "kray/bridge/member_key.h"
#include "kray/testsupport/bitcoind.h"
#include "kray/testsupport/node.h"
#include "kray/testsupport/ws_client.h"

namespace kray::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kConfirmations = 3;

class BridgeNodeTest : public NodeTest {
 protected:
  void SetUp() override {
    auto binary = FindBitcoind();
    if (!binary) {
      if (BitcoindRequired()) FAIL() << "bitcoind not found; KRAY_REQUIRE_BITCOIND=1 makes this a failure";
      GTEST_SKIP() << "bitcoind not found: set BITCOIND=/path/to/bitcoind";
    }
    std::string why;
    ASSERT_TRUE(bitcoind_.Start(*binary, &why)) << why;
    bitcoind_.Call("createwallet", json::array({"miner"}));
    miner_ = bitcoind_.Call("getnewaddress", json::array({"", "bech32m"}), "miner").get<std::string>();
    Mine(101);
    keydir_ = MakeTempDir("kray-bridge-keys-");
    for (int i = 0; i < 3; ++i) {
      auto k = bridge::GenerateMemberKey(Network::kRegtest);
      ASSERT_TRUE(k.ok());
      k->member = i + 1;
      members_[i] = *k;
      ASSERT_TRUE(bridge::WriteMemberKeyFile(KeyFile(i + 1), *k).ok());
    }
    std::array<std::string, 3> xpubs = {members_[0].Xpub(), members_[1].Xpub(), members_[2].Xpub()};
    federation_.emplace(*bridge::Federation::Make(Network::kRegtest, xpubs));
    NodeTest::SetUp();
  }

  void TearDown() override {
    if (!IsSkipped() && node_.pid() > 0 && !stopped_) ExpectMintedIsCredited();
    NodeTest::TearDown();
    if (bitcoind_.running()) {
      if (HasFailure()) bitcoind_.keep_datadir();
      bitcoind_.Stop();
    }
    if (!keydir_.empty() && !HasFailure()) std::filesystem::remove_all(keydir_);
  }

  std::vector<std::string> NodeArgs() override {
    std::vector<std::string> a = {"-bitcoinrpcurl=http://127.0.0.1:" + std::to_string(bitcoind_.rpc_port()),
                                  "-bitcoinrpccookiefile=" + bitcoind_.cookie_file(),
                                  "-depositconfirmations=" + std::to_string(kConfirmations),
                                  "-bridgepollms=50",
                                  "-bridgelookahead=10",
                                  "-depositminsats=1000",
                                  "-bridgememberkey=" + KeyFile(2)};
    for (int i = 0; i < 3; ++i) a.push_back("-bridgexpub" + std::to_string(i + 1) + "=" + members_[i].Xpub());
    return a;
  }

  std::string KeyFile(int member) const { return keydir_ + "/member-" + std::to_string(member) + ".json"; }

  void Mine(int n) { bitcoind_.Call("generatetoaddress", {n, miner_}); }
  std::uint32_t L1Height() { return bitcoind_.Call("getblockchaininfo")["blocks"].get<std::uint32_t>(); }

  // Polls `target` until `done(body)` holds (bounded).
  json WaitFor(const std::string& target, const std::function<bool(const json&)>& done,
               std::chrono::seconds limit = 60s) {
    json last;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Get(target);
      last = json::parse(r.body, nullptr, false);
      if (!last.is_discarded() && done(last)) return last;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "timed out waiting on " << target << ": " << last.dump();
    return last;
  }

  // The scanner has processed Bitcoin's tip.
  void WaitScanned() {
    const std::uint32_t tip = L1Height();
    WaitFor("/health", [&](const json& h) {
      return h["l1"]["scanner_height"].is_number() && h["l1"]["scanner_height"].get<std::uint32_t>() >= tip;
    });
  }

  std::pair<std::string, std::uint32_t> Pay(const std::string& address, const std::string& btc) {
    const std::string txid = bitcoind_.Call("sendtoaddress", {address, btc}, "miner").get<std::string>();
    const json tx = bitcoind_.Call("getrawtransaction", {txid, true});
    for (const auto& o : tx["vout"])
      if (o["scriptPubKey"].value("address", "") == address) return {txid, o["n"].get<std::uint32_t>()};
    ADD_FAILURE() << "no output to " << address;
    return {txid, 0};
  }

  Amount Btc(const TestKey& k) {
    return std::stoull(Balance(k.account_id)["balances"]["BTC"]["available"].get<std::string>());
  }

  // Conservation holds, and minted == what the bridge reports credited.
  void ExpectMintedIsCredited() {
    auto r = Get("/api/node/conservation", true);
    json c = json::parse(r.body, nullptr, false);
    json info = json::parse(Get("/api/bridge/info").body, nullptr, false);
    ASSERT_TRUE(c.is_object() && info.is_object());
    EXPECT_EQ(c["ok"], true);
    for (const auto& line : c["assets"]) {
      const std::string asset = line["asset"];
      const std::string credited = info["deposits_credited"].value(asset, "0");
      EXPECT_EQ(line["minted"], credited) << asset;
    }
  }

  BitcoindProcess bitcoind_;
  std::string miner_, keydir_;
  std::array<bridge::MemberKey, 3> members_;
  std::optional<bridge::Federation> federation_;
};

TEST_F(BridgeNodeTest, DepositLifecycleOverTheApi) {
  json info = WaitFor("/api/bridge/info", [](const json& j) { return j["l1"]["reachable"] == true; });
  EXPECT_EQ(info["descriptor"], federation_->Descriptor());
  EXPECT_EQ(info["network"], "regtest");
  EXPECT_EQ(info["threshold"], 2);
  EXPECT_EQ(info["confirmations"], kConfirmations);
  EXPECT_EQ(info["challenge_period_seconds"], 86400);
  EXPECT_EQ(info["bridge_address"], *federation_->Address(0));
  EXPECT_EQ(info["this_member"], 2);
  EXPECT_EQ(info["inscriptions"]["accepted"], false);
  EXPECT_EQ(info["withdrawals"]["frozen"], false);
  EXPECT_EQ(info["l1"]["chain"], "regtest");

  // The caller's deposit address, stable.
  auto r = Post("/api/bridge/deposit/initiate", json{{"l1_address", dev1_.address}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json init = json::parse(r.body);
  EXPECT_EQ(init["account_id"], dev1_.account_id);
  EXPECT_EQ(init["address_index"], 1);
  EXPECT_EQ(init["deposit_address"], *federation_->Address(1));
  EXPECT_EQ(init["confirmations_required"], kConfirmations);
  EXPECT_TRUE(init.contains("tx_hash"));
  r = Post("/api/bridge/deposit/initiate", json{{"account_id", dev1_.account_id}}.dump());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["deposit_address"], init["deposit_address"]);
  EXPECT_FALSE(json::parse(r.body).contains("tx_hash"));  // nothing new recorded
  // Bad input changes nothing.
  const std::string before = StateSnapshot();
  EXPECT_EQ(Post("/api/bridge/deposit/initiate", "{}").status, 400);
  r = Post("/api/bridge/deposit/initiate",
           json{{"l1_address", "tb1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tqlv4xv9"}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "invalid_account");
  EXPECT_EQ(Post("/api/bridge/deposit/initiate", "{bad").status, 400);
  EXPECT_EQ(StateSnapshot(), before);

  const Amount btc0 = Btc(dev1_);
  const auto [txid, vout] = Pay(init["deposit_address"], "0.00100000");
  const std::string status_url = "/api/bridge/deposit/" + txid + "/" + std::to_string(vout) + "/status";
  EXPECT_EQ(Get(status_url).status, 404);  // not mined yet
  Mine(1);
  json st = WaitFor(status_url, [](const json& j) { return j.value("status", "") == "confirming"; });
  EXPECT_EQ(st["confirmations"], 1);
  EXPECT_EQ(st["required"], kConfirmations);
  EXPECT_EQ(st["assets"]["BTC"], "100000");
  EXPECT_EQ(st["account_id"], dev1_.account_id);  // who it will be credited to
  EXPECT_EQ(st["credited_operation"], nullptr);
  Mine(kConfirmations - 1);
  st = WaitFor(status_url, [](const json& j) { return j.value("status", "") == "credited"; });
  EXPECT_EQ(st["account_id"], dev1_.account_id);
  EXPECT_GE(st["confirmations"].get<int>(), kConfirmations);
  ASSERT_TRUE(st["credited_operation"].is_string());
  EXPECT_EQ(Btc(dev1_), btc0 + 100000);
  // The credit is an operation of the log, with its L1 evidence.
  json op = GetJson("/api/transaction/" + st["credited_operation"].get<std::string>());
  EXPECT_EQ(op["type"], "deposit_credit");
  EXPECT_EQ(op["auth"], "system");
  EXPECT_EQ(op["evidence"]["txid"], txid);
  EXPECT_EQ(op["evidence"]["vout"], std::to_string(vout));
  EXPECT_EQ(op["evidence"]["block_hash"], st["block_hash"]);
  EXPECT_EQ(op["fields"]["assets"], "BTC:100000");
  // The account's deposits, by id or address.
  for (const std::string& who : {dev1_.account_id, dev1_.address}) {
    json list = GetJson("/api/bridge/deposits/" + who);
    ASSERT_EQ(list["deposits"].size(), 1u) << list.dump();
    EXPECT_EQ(list["deposits"][0]["txid"], txid);
    EXPECT_EQ(list["deposits"][0]["status"], "credited");
    EXPECT_EQ(list["deposit_address"], init["deposit_address"]);
  }
  EXPECT_EQ(GetJson("/api/bridge/deposits/" + dev2_.account_id)["deposits"].size(), 0u);
  EXPECT_EQ(Get("/api/bridge/deposits/nobody").status, 400);
  EXPECT_EQ(Get("/api/bridge/deposit/zz/0/status").status, 400);
  EXPECT_EQ(Get("/api/bridge/deposit/" + txid + "/01/status").status, 400);
  EXPECT_EQ(Get("/api/bridge/deposit/" + txid + "/99/status").status, 404);
  // Upper-case txids name the same deposit.
  std::string upper = txid;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(GetJson("/api/bridge/deposit/" + upper + "/" + std::to_string(vout) + "/status")["status"], "credited");
  WaitScanned();
  json health = GetJson("/health");
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["l1"]["configured"], true);
  EXPECT_EQ(health["l1"]["reachable"], true);
  EXPECT_EQ(health["l1"]["tip"], L1Height());
  info = GetJson("/api/bridge/info");
  EXPECT_EQ(info["deposits_credited"]["BTC"], "100000");
  EXPECT_EQ(info["scanner"]["height"], L1Height());

  // Stopped, replayed by `krayd verify`, restarted: still credited once.
  ExpectMintedIsCredited();
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  std::string out;
  EXPECT_EQ(KraydProcess::RunToExit({"verify", "-datadir=" + datadir_}, datadir_ + ".verify.log", &out), 0) << out;
  EXPECT_NE(out.find("verify: OK"), std::string::npos) << out;
  StartNode();
  Mine(2);
  WaitScanned();
  EXPECT_EQ(Btc(dev1_), btc0 + 100000);
  EXPECT_EQ(GetJson("/api/transaction/stats")["by_type"]["deposit_credit"], 1);
}

// The event feed's deposits topic: each status the scanner stores, and the
// credit itself on txs and on the account's topic.
TEST_F(BridgeNodeTest, DepositStatusChangesReachTheEventFeed) {
  WaitFor("/api/bridge/info", [](const json& j) { return j["l1"]["reachable"] == true; });
  WsClient feed;
  std::string why;
  ASSERT_TRUE(feed.Connect(node_.port(), &why)) << why;
  ASSERT_TRUE(feed.NextOfType("welcome"));
  ASSERT_TRUE(feed.SendJson({{"op", "subscribe"}, {"topics", {"deposits", "account:" + dev1_.account_id}}}));
  ASSERT_TRUE(feed.NextOfType("subscribed"));
  auto r = Post("/api/bridge/deposit/initiate", json{{"account_id", dev1_.account_id}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto [txid, vout] = Pay(json::parse(r.body)["deposit_address"], "0.00100000");
  Mine(1);
  std::vector<std::string> statuses;
  bool credit_on_account = false;
  while (statuses.size() < 2 || !credit_on_account) {
    if (statuses.size() == 1) Mine(kConfirmations - 1);
    auto e = feed.NextOfType("event", std::chrono::seconds(30));
    ASSERT_TRUE(e) << "statuses so far: " << statuses.size();
    if ((*e)["topic"] == "deposits") {
      const json& d = (*e)["data"];
      EXPECT_EQ((*e)["event"], "deposit_status");
      EXPECT_FALSE(e->contains("seq"));
      EXPECT_EQ(d["txid"], txid);
      EXPECT_EQ(d["vout"], vout);
      EXPECT_EQ(d["assets"]["BTC"], "100000");
      statuses.push_back(d["status"]);
      if (d["status"] == "credited") {
        json op = GetJson("/api/transaction/" + d["credited_operation"].get<std::string>());
        EXPECT_EQ(op["type"], "deposit_credit");
      }
    } else if ((*e)["data"]["operation"]["type"] == "deposit_credit") {
      credit_on_account = true;
      EXPECT_EQ((*e)["data"]["balances"]["BTC"]["available"], std::to_string(Btc(dev1_)));
    }
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"confirming", "credited"}));
}

TEST_F(BridgeNodeTest, KilledNodeResumesItsScan) {
  auto r = Post("/api/bridge/deposit/initiate", json{{"l1_address", dev2_.address}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string addr = json::parse(r.body)["deposit_address"];
  const Amount btc0 = Btc(dev2_);
  WaitScanned();
  const std::uint32_t base = L1Height();
  // While the node is down: a deposit, then a long run of blocks, so the
  // next start has a scan to catch up on; it is killed in the middle of it.
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  const auto [txid, vout] = Pay(addr, "0.00300000");
  Mine(400);
  const std::uint32_t tip = L1Height();
  StartNode();
  json h = WaitFor("/health", [&](const json& j) {
    return j["l1"]["scanner_height"].is_number() && j["l1"]["scanner_height"].get<std::uint32_t>() > base + 20;
  });
  node_.Kill9();
  EXPECT_LT(h["l1"]["scanner_height"].get<std::uint32_t>(), tip) << "the scan was over before the kill";
  StartNode();
  WaitScanned();
  const std::string status_url = "/api/bridge/deposit/" + txid + "/" + std::to_string(vout) + "/status";
  WaitFor(status_url, [](const json& j) { return j.value("status", "") == "credited"; });
  EXPECT_EQ(Btc(dev2_), btc0 + 300000);
  EXPECT_EQ(GetJson("/api/transaction/stats")["by_type"]["deposit_credit"], 1);
}

TEST_F(BridgeNodeTest, BitcoindDownHealthSaysSoAndL2KeepsServing) {
  auto r = Post("/api/bridge/deposit/initiate", json{{"l1_address", dev1_.address}}.dump());
  ASSERT_EQ(r.status, 200);
  WaitScanned();
  ASSERT_EQ(bitcoind_.StopKeepingData(), 0);
  json h = WaitFor("/health", [](const json& j) { return j["l1"]["reachable"] == false; });
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["l1"]["error"]["code"], "l1_unreachable");
  // L2 goes on: a transfer, an address for a new account, the bridge's info.
  r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 10, 0).dump());
  EXPECT_EQ(r.status, 200) << r.body;
  r = Post("/api/bridge/deposit/initiate", json{{"l1_address", dev2_.address}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  json info = GetJson("/api/bridge/info");
  EXPECT_EQ(info["l1"]["reachable"], false);
  EXPECT_EQ(info["l1"]["error"]["code"], "l1_unreachable");
  std::string why;
  ASSERT_TRUE(bitcoind_.StartAgain(&why)) << why;
  bitcoind_.Call("loadwallet", json::array({"miner"}));
  WaitFor("/health", [](const json& j) { return j["l1"]["reachable"] == true; });
  const auto [txid, vout] = Pay(*federation_->Address(2), "0.00100000");
  Mine(kConfirmations);
  WaitFor("/api/bridge/deposit/" + txid + "/" + std::to_string(vout) + "/status",
          [](const json& j) { return j.value("status", "") == "credited"; });
}

TEST_F(BridgeNodeTest, BadBridgeConfigurationIsRefusedAtStart) {
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  stopped_ = true;
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {"-datadir=" + datadir_, "-genesis=" + RegtestGenesisPath(), "-port=0"};
    all.insert(all.end(), args.begin(), args.end());
    std::string out;
    int code = KraydProcess::RunToExit(all, datadir_ + ".refused.log", &out);
    return std::make_pair(code, out);
  };
  std::vector<std::string> base = NodeArgs();
  // A missing member key.
  auto no_xpub = base;
  std::erase_if(no_xpub, [](const std::string& a) { return a.rfind("-bridgexpub3=", 0) == 0; });
  auto [c1, o1] = run(no_xpub);
  EXPECT_EQ(c1, 1);
  EXPECT_NE(o1.find("bridgexpub3"), std::string::npos) << o1;
  // A member key file that is not one of the federation's.
  auto other = bridge::GenerateMemberKey(Network::kRegtest);
  ASSERT_TRUE(bridge::WriteMemberKeyFile(keydir_ + "/stranger.json", *other).ok());
  auto stranger = base;
  stranger.push_back("-bridgememberkey=" + keydir_ + "/stranger.json");
  auto [c2, o2] = run(stranger);
  EXPECT_EQ(c2, 1);
  EXPECT_NE(o2.find("none of bridgexpub1..3"), std::string::npos) << o2;
  // A member key file others can read.
  ::chmod(KeyFile(1).c_str(), 0644);
  auto readable = base;
  readable.push_back("-bridgememberkey=" + KeyFile(1));
  auto [c3, o3] = run(readable);
  EXPECT_EQ(c3, 1);
  EXPECT_NE(o3.find("bridgememberkey"), std::string::npos) << o3;
  // Runes of an unknown asset; credentials missing.
  auto runes = base;
  runes.push_back("-bridgerunes=NOPE:100:1");
  auto [c4, o4] = run(runes);
  EXPECT_EQ(c4, 1);
  EXPECT_NE(o4.find("bridgerunes"), std::string::npos) << o4;
  auto no_auth = base;
  std::erase_if(no_auth, [](const std::string& a) { return a.rfind("-bitcoinrpccookiefile=", 0) == 0; });
  auto [c5, o5] = run(no_auth);
  EXPECT_EQ(c5, 1);
  EXPECT_NE(o5.find("bitcoinrpccookiefile"), std::string::npos) << o5;
}

class NoBridgeNodeTest : public NodeTest {};

TEST_F(NoBridgeNodeTest, BridgeEndpointsAnswer503WithoutAnL1Backend) {
  const std::string before = StateSnapshot();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/api/bridge/deposit/initiate"},
           {"POST", "/api/bridge/deposit/claim"},
           {"GET", "/api/bridge/deposit/" + std::string(64, 'a') + "/0/status"},
           {"GET", "/api/bridge/deposits/" + dev1_.account_id},
           {"GET", "/api/bridge/unattributed"},
           {"GET", "/api/bridge/info"}}) {
    auto r = method == "GET" ? Get(path) : Post(path, json{{"l1_address", dev1_.address}}.dump());
    EXPECT_EQ(r.status, 503) << path << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["code"], "bridge_unavailable") << path;
  }
  json h = GetJson("/health");
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["l1"]["configured"], false);
  EXPECT_EQ(StateSnapshot(), before);
}

}  // namespace
}  // namespace kray::test
