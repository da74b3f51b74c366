// Rollup against the real krayd (docs/ROLLUP.md): batches close on
// -maxbatchtxs / -batchinterval, chain their roots, serve every signed tx,
// survive a restart, and `krayd verify` / `kray-cli verifychain|verifyproof`
// accept an honest history and reject a tampered one.
#include <chrono>
#include <thread>

#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

using namespace std::chrono_literals;

using CmdResult = ShellResult;

// Runs a shell command, capturing stdout and stderr together.
CmdResult RunCmd(const std::string& cmd) {
  return RunShell(cmd + " 2>&1");
}

// Tx root per docs/ROLLUP.md §2: leaves TH("KRAY/txroot/leaf", h_i), parents
// TH("KRAY/txroot/node", l || r), an odd last node carried up unchanged.
std::string TxRoot(const std::vector<std::string>& hashes) {
  if (hashes.empty()) return ToHex(Hash256{});
  std::vector<Hash256> level;
  for (const auto& h : hashes) {
    auto raw = FromHexFixed<32>(h);
    Hash256 leaf_in = raw ? *raw : crypto::Sha256(AsBytes(h));
    level.push_back(crypto::TaggedHash("KRAY/txroot/leaf", leaf_in));
  }
  while (level.size() > 1) {
    std::vector<Hash256> up;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      Bytes cat(level[i].begin(), level[i].end());
      cat.insert(cat.end(), level[i + 1].begin(), level[i + 1].end());
      up.push_back(crypto::TaggedHash("KRAY/txroot/node", cat));
    }
    if (level.size() % 2) up.push_back(level.back());
    level = std::move(up);
  }
  return ToHex(level[0]);
}

class RollupTest : public NodeTest {
 protected:
  // Started with small batch limits instead of the fixture's defaults.
  void SetUp() override {
    dev1_ = DevAccount(1);
    dev2_ = DevAccount(2);
    dir_ = MakeTempDir("kray-rollup-itest-");
    ASSERT_FALSE(dir_.empty());
    datadir_ = dir_ + "/data";
    StartNode(Flags());
  }
  virtual std::vector<std::string> Flags() { return {"-maxbatchtxs=2", "-batchinterval=3600"}; }

  // Sends `n` legacy transfers dev1 -> dev2 starting at `nonce`; returns hashes.
  std::vector<std::string> SendTransfers(int n, std::uint64_t nonce) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 100 + i, nonce + i).dump());
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      out.push_back(json::parse(r.body)["tx_hash"]);
    }
    return out;
  }

  // Batches oldest first.
  std::vector<json> Batches() {
    json j = GetJson("/api/rollup/batches?limit=500");
    std::vector<json> v(j["batches"].begin(), j["batches"].end());
    std::reverse(v.begin(), v.end());
    EXPECT_EQ(j["total"].get<std::size_t>(), v.size());
    return v;
  }

  // Polls until there are at least `n` batches (or `timeout` passes).
  std::vector<json> WaitBatches(std::size_t n, std::chrono::milliseconds timeout = 8000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<json> b;
    while (true) {
      b = Batches();
      if (b.size() >= n || std::chrono::steady_clock::now() > deadline) return b;
      std::this_thread::sleep_for(100ms);
    }
  }

  // Checks the chain invariants of `batches` and that every tx is served in
  // order with a tx root matching the documented rule; returns all hashes.
  std::vector<std::string> CheckChain(const std::vector<json>& batches) {
    std::vector<std::string> all;
    std::string prev = GetJson("/api/rollup/state-root")["genesis_root"];
    std::int64_t prev_last = -1;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const json& b = batches[i];
      SCOPED_TRACE("batch " + b["number"].dump());
      EXPECT_EQ(b["number"].get<std::int64_t>(), static_cast<std::int64_t>(i + 1));
      EXPECT_EQ(b["prev_state_root"], prev);
      prev = b["state_root"];
      if (prev_last >= 0) {
        EXPECT_EQ(b["first_seq"].get<std::int64_t>(), prev_last + 1);
      }
      prev_last = b["last_seq"].get<std::int64_t>();
      EXPECT_EQ(b["anchor"]["status"], "built");
      EXPECT_TRUE(b["anchor"]["txid"].is_null());

      json txs = GetJson("/api/rollup/batch/" + b["number"].dump() + "/transactions");
      json hdr = GetJson("/api/rollup/batch/" + b["number"].dump());
      EXPECT_EQ(txs["transactions"].size(), b["tx_count"].get<std::size_t>());
      std::vector<std::string> hashes;
      std::int64_t last_seq = -1;
      for (const auto& t : txs["transactions"]) {
        EXPECT_FALSE(t["signature"].get<std::string>().empty());
        EXPECT_GT(t["seq"].get<std::int64_t>(), last_seq);
        last_seq = t["seq"];
        hashes.push_back(t["tx_hash"]);
      }
      EXPECT_EQ(hdr["tx_hashes"].get<std::vector<std::string>>(), hashes);
      EXPECT_EQ(TxRoot(hashes), b["tx_root"].get<std::string>());
      all.insert(all.end(), hashes.begin(), hashes.end());
    }
    return all;
  }

  std::string Cli(const std::string& args) {
    return KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " " + args;
  }
};

TEST_F(RollupTest, TransfersAcrossSeveralBatches) {
  std::vector<std::string> sent = SendTransfers(6, 0);
  ASSERT_EQ(sent.size(), 6u);
  std::vector<json> b = WaitBatches(3);
  ASSERT_EQ(b.size(), 3u);
  std::size_t total = 0;
  for (const auto& x : b) {
    EXPECT_EQ(x["tx_count"], 2);
    total += x["tx_count"].get<std::size_t>();
  }
  EXPECT_EQ(total, sent.size());
  EXPECT_EQ(CheckChain(b), sent);  // every signed tx, in submission order
  // A wrong root would not match: the recomputation is sensitive to order.
  EXPECT_NE(TxRoot({sent[1], sent[0]}), b[0]["tx_root"].get<std::string>());
  json sr = GetJson("/api/rollup/state-root");
  EXPECT_EQ(sr["last_batch"], 3);
  GetJson("/api/rollup/batch/4", 404);
  ExpectConservation();
}

class RollupIntervalTest : public RollupTest {
 protected:
  std::vector<std::string> Flags() override { return {"-batchinterval=1"}; }
};

TEST_F(RollupIntervalTest, IntervalClosesBatchAndEmptyIntervalProducesNone) {
  std::vector<std::string> sent = SendTransfers(1, 0);
  ASSERT_EQ(sent.size(), 1u);
  std::vector<json> b = WaitBatches(1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]["tx_count"], 1);
  EXPECT_EQ(CheckChain(b), sent);
  // Two more empty intervals (plus a tick of slack): still one batch.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(Batches().size(), 1u);
  EXPECT_EQ(GetJson("/api/rollup/state-root")["last_batch"], 1);
  // The next transfer lands in batch 2, chained to batch 1.
  std::vector<std::string> more = SendTransfers(1, 1);
  ASSERT_EQ(more.size(), 1u);
  b = WaitBatches(2);
  ASSERT_EQ(b.size(), 2u);
  std::vector<std::string> all = sent;
  all.push_back(more[0]);
  EXPECT_EQ(CheckChain(b), all);
  ExpectConservation();
}

TEST_F(RollupTest, RestartBetweenBatches) {
  std::vector<std::string> sent = SendTransfers(4, 0);
  ASSERT_EQ(sent.size(), 4u);
  std::vector<json> before = WaitBatches(2);
  ASSERT_EQ(before.size(), 2u);

  http_.reset();
  ASSERT_EQ(node_.Stop(), 0) << ReadFile(node_.log_path());
  StartNode(Flags());
  std::vector<json> after = Batches();
  ASSERT_EQ(after.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(after[i]["state_root"], before[i]["state_root"]);
    EXPECT_EQ(after[i]["tx_root"], before[i]["tx_root"]);
    EXPECT_EQ(after[i]["prev_state_root"], before[i]["prev_state_root"]);
  }
  std::vector<std::string> more = SendTransfers(2, 4);
  ASSERT_EQ(more.size(), 2u);
  after = WaitBatches(3);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[2]["number"], 3);
  EXPECT_EQ(after[2]["prev_state_root"], before[1]["state_root"]);
  sent.insert(sent.end(), more.begin(), more.end());
  EXPECT_EQ(CheckChain(after), sent);
  ExpectConservation();
}

TEST_F(RollupTest, KraydVerifyAcceptsHonestAndRejectsEditedDatadir) {
  ASSERT_EQ(SendTransfers(4, 0).size(), 4u);
  ASSERT_EQ(WaitBatches(2).size(), 2u);
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);

  std::string out;
  int rc = KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + RegtestGenesisPath()},
                                   dir_ + "/verify1.log", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("verify: OK: 2 batches"), std::string::npos) << out;
  // The last progress line carries rate and ETA (kray/core/progress.h).
  EXPECT_NE(out.find("batch 2/2: "), std::string::npos) << out;
  EXPECT_NE(out.find(" batches/s, "), std::string::npos) << out;
  EXPECT_NE(out.find(" txs/s, elapsed "), std::string::npos) << out;
  EXPECT_NE(out.find(", ETA 0s)"), std::string::npos) << out;

  // Behind the node's back: move 1000 KRAY from dev1 to dev2 (totals unchanged,
  // so only the state root can catch it).
  std::string db = datadir_ + "/krayd.sqlite";
  std::string py = "import sqlite3; c = sqlite3.connect('" + db +
                   "'); "
                   "c.execute(\"UPDATE balances SET available = available - 1000 WHERE account_id = '" +
                   dev1_.account_id +
                   "' AND asset = 'KRAY'\"); "
                   "c.execute(\"UPDATE balances SET available = available + 1000 WHERE account_id = '" +
                   dev2_.account_id + "' AND asset = 'KRAY'\"); c.commit()";
  std::string script = dir_ + "/edit.py";
  FILE* f = fopen(script.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fwrite(py.data(), 1, py.size(), f);
  fclose(f);
  CmdResult ed = RunCmd("python3 " + script);
  ASSERT_EQ(ed.rc, 0) << ed.out;

  // The node commits the edited row into the next batch's root.
  StartNode(Flags());
  ASSERT_EQ(SendTransfers(2, 4).size(), 2u);
  ASSERT_EQ(WaitBatches(3).size(), 3u);
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);

  std::string out2;
  rc = KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + RegtestGenesisPath()},
                               dir_ + "/verify2.log", &out2);
  EXPECT_NE(rc, 0) << out2;
  EXPECT_NE(out2.find("verify_state_root_mismatch"), std::string::npos) << out2;
  EXPECT_NE(out2.find("batch 3"), std::string::npos) << out2;
  EXPECT_EQ(out2.find("batch 2:"), std::string::npos) << out2;
  EXPECT_NE(out2.find(dev1_.account_id), std::string::npos) << out2;

  // From outside, against the live node: the fraud-proof path (exit 2).
  StartNode(Flags());
  CmdResult vc = RunCmd(Cli("verifychain"));
  EXPECT_EQ(vc.rc, 2) << vc.out;
  EXPECT_NE(vc.out.find("FAILED at batch 3"), std::string::npos) << vc.out;
}

TEST_F(RollupTest, CliVerifyChainAndProofs) {
  ASSERT_EQ(SendTransfers(4, 0).size(), 4u);
  std::vector<json> b = WaitBatches(2);
  ASSERT_EQ(b.size(), 2u);

  CmdResult vc = RunCmd(Cli("verifychain"));
  EXPECT_EQ(vc.rc, 0) << vc.out;
  EXPECT_NE(vc.out.find("\"verdict\": \"ok\""), std::string::npos) << vc.out;
  EXPECT_NE(vc.out.find("batch 2/2"), std::string::npos) << vc.out;

  // Proof of dev2 against batch 1: root = batch 1 state root.
  json p = GetJson("/api/account/" + dev2_.address + "/proof?batch=1");
  EXPECT_EQ(p["account_id"], dev2_.account_id);
  EXPECT_EQ(p["batch"], 1);
  EXPECT_EQ(p["included"], true);
  EXPECT_EQ(p["root"], b[0]["state_root"]);
  EXPECT_FALSE(p["leaf_data"].get<std::string>().empty());
  EXPECT_TRUE(p["proof"]["siblings"].is_array());
  EXPECT_EQ(p["proof"]["terminal"]["type"], "leaf");
  EXPECT_EQ(GetJson("/api/account/" + dev2_.address + "/proof?batch=2")["root"], b[1]["state_root"]);

  CmdResult online = RunCmd(Cli("verifyproof " + dev2_.address + " -batch=1"));
  EXPECT_EQ(online.rc, 0) << online.out;

  std::string file = dir_ + "/proof.json";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::string body = p.dump();
  fwrite(body.data(), 1, body.size(), f);
  fclose(f);
  CmdResult good = RunCmd(Cli("verifyproof -file=" + file + " -root=" + b[0]["state_root"].get<std::string>()));
  EXPECT_EQ(good.rc, 0) << good.out;
  CmdResult wrong = RunCmd(Cli("verifyproof -file=" + file + " -root=" + b[1]["state_root"].get<std::string>()));
  EXPECT_NE(wrong.rc, 0) << wrong.out;
  EXPECT_NE(wrong.out.find("proof INVALID against root"), std::string::npos) << wrong.out;
  ExpectConservation();
}

}  // namespace
}  // namespace kray::test
