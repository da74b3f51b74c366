// The deposit scanner against an L1 node that misbehaves in ways a real
// Bitcoin Core does not (tests/unit/bridge/fake_rpc_server.h): garbage,
// hangs, a chain of another network, a block that is not the one asked for.
// In every case: the error is reported (GetStatus, SyncNow), nothing is
// scanned or credited, the scanner keeps running (or stops promptly), and
// krayd's ledger is untouched. Chain behaviour is tested against the real
// bitcoind (tests/integration/bitcoind_deposits_test.cpp).
#include "kray/bridge/scanner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "fake_rpc_server.h"
#include "kray/bitcoin/block.h"
#include "kray/bridge/deposits.h"
#include "kray/bridge/member_key.h"
#include "kray/state/ledger.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::bridge {
namespace {

using nlohmann::json;
using testing::FakeReply;
using testing::FakeRequest;
using testing::FakeRpcServer;
using namespace std::chrono_literals;

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(BridgeModule()).ok());
    return reg;
  }();
  return r;
}

// A JSON-RPC reply to `req` with `result` (raw JSON text).
FakeReply Reply(const FakeRequest& req, const std::string& result) {
  json r = json::parse(req.body, nullptr, false);
  const std::string id = r.is_object() && r.contains("id") ? r["id"].dump() : "null";
  return FakeReply::Respond(200, "{\"result\":" + result + ",\"error\":null,\"id\":" + id + "}");
}
std::string Method(const FakeRequest& req) {
  json r = json::parse(req.body, nullptr, false);
  return r.is_object() ? r.value("method", "") : "";
}

std::string ChainInfo(const std::string& chain, int blocks, const std::string& best) {
  return json{{"chain", chain},
              {"blocks", blocks},
              {"headers", blocks},
              {"bestblockhash", best},
              {"initialblockdownload", false}}
      .dump();
}

class ScannerFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state::LedgerOptions o;
    o.datadir = dir_.file("data");
    o.genesis_path = test::RegtestGenesisPath();
    o.synchronous = "NORMAL";
    auto l = state::Ledger::Open(o, Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    std::array<std::string, 3> xpubs;
    for (auto& x : xpubs) x = GenerateMemberKey(Network::kRegtest)->Xpub();
    federation_.emplace(*Federation::Make(Network::kRegtest, xpubs));
  }
  void TearDown() override {
    scanner_.reset();
    if (ledger_) {
      auto stats = ledger_->GetTxStats();
      ASSERT_TRUE(stats.ok());
      EXPECT_EQ(stats->total, 0u) << "the ledger was written to";
    }
  }

  void Open(std::uint16_t port) {
    ScannerOptions o;
    o.rpc.port = port;
    o.rpc.user = "u";
    o.rpc.password = "p";
    o.rpc.max_attempts = 1;
    o.rpc.request_timeout = 300ms;
    o.rpc.connect_timeout = 300ms;
    o.poll_interval = 20ms;
    o.lookahead = 5;
    auto s = DepositScanner::Open(*ledger_, *federation_, o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    scanner_ = std::move(*s);
  }

  test::TempDir dir_;
  std::unique_ptr<state::Ledger> ledger_;
  std::optional<Federation> federation_;
  std::unique_ptr<DepositScanner> scanner_;
};

TEST_F(ScannerFaultTest, GarbageIsReportedAndRetried) {
  FakeRpcServer server([](int, const FakeRequest&) { return FakeReply::Respond(200, "<html>not json"); });
  Open(server.port());
  Status s = scanner_->SyncNow(10s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "l1_bad_reply");
  const int seen = server.requests();
  // It keeps polling (with backoff), and says why in its status.
  for (int i = 0; i < 200 && server.requests() == seen; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GT(server.requests(), seen);
  auto st = scanner_->GetStatus();
  EXPECT_EQ(st.l1_error_code, "l1_bad_reply");
  EXPECT_FALSE(st.failed);
  EXPECT_FALSE(st.scan_height);
}

TEST_F(ScannerFaultTest, AHangingNodeTimesOutAndShutdownIsPrompt) {
  FakeRpcServer server([](int, const FakeRequest&) { return FakeReply::Hang(); });
  Open(server.port());
  Status s = scanner_->SyncNow(10s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "l1_unreachable");
  EXPECT_FALSE(scanner_->GetStatus().l1_reachable);
  auto t0 = std::chrono::steady_clock::now();
  scanner_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(ScannerFaultTest, ANodeOfAnotherNetworkIsNotScanned) {
  const std::string best(64, 'a');
  FakeRpcServer server([&](int, const FakeRequest& req) {
    if (Method(req) == "getblockchaininfo") return Reply(req, ChainInfo("main", 900000, best));
    ADD_FAILURE() << "the scanner asked a mainnet node for " << Method(req);
    return Reply(req, "null");
  });
  Open(server.port());
  Status s = scanner_->SyncNow(10s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "l1_wrong_network");
  EXPECT_EQ(scanner_->GetStatus().l1_chain, "main");
  EXPECT_FALSE(scanner_->GetStatus().scan_height);
}

TEST_F(ScannerFaultTest, ABlockThatIsNotTheOneAskedForIsRefused) {
  // A real, well-formed regtest block whose hash is not the one getblockhash
  // named: the client's own check refuses it, nothing is connected.
  bitcoin::Block b;
  bitcoin::Transaction cb;
  bitcoin::TxIn in;
  in.prevout.n = 0xffffffff;
  in.script_sig = {0x01, 0x01};
  cb.vin.push_back(in);
  cb.vout.push_back({50, {0x51}});
  b.txs.push_back(cb);
  b.header.merkle_root = bitcoin::ComputeMerkleRoot({bitcoin::Txid(cb)});
  const std::string block_hex = ToHex(bitcoin::SerializeBlock(b));
  const std::string claimed(64, 'b');
  FakeRpcServer server([&](int, const FakeRequest& req) {
    const std::string m = Method(req);
    if (m == "getblockchaininfo") return Reply(req, ChainInfo("regtest", 3, claimed));
    if (m == "getblockhash") return Reply(req, "\"" + claimed + "\"");
    if (m == "getblock") return Reply(req, "\"" + block_hex + "\"");
    return Reply(req, "null");
  });
  Open(server.port());
  Status s = scanner_->SyncNow(10s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "l1_bad_reply");
  EXPECT_FALSE(scanner_->GetStatus().scan_height);
}

TEST(BridgeRunesConfig, ParseAndRefusals) {
  ChainParams p;
  auto r = ParseBridgeRunes(p, "DOG:840000:3,KRAY:925516:1550:KRAYRUNE");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].asset, "KRAY");
  EXPECT_EQ(bitcoin::RuneName(*(*r)[1].name), "KRAYRUNE");
  EXPECT_EQ(FormatBridgeRunes(*r), "DOG:840000:3,KRAY:925516:1550:KRAYRUNE");
  EXPECT_TRUE(ParseBridgeRunes(p, "")->empty());
  for (const char* bad : {"BTC:1:1", "NOPE:1:1", "DOG:0:1", "DOG:1", "DOG:1:1,DOG:2:2", "DOG:1:1,KRAY:1:1", "DOG:x:1",
                          "DOG:1:1:lower", "DOG:4294967296:1"})
    EXPECT_EQ(ParseBridgeRunes(p, bad).error().code, "invalid_bridge_runes") << bad;
}

}  // namespace
}  // namespace kray::bridge
