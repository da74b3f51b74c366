// Rollup against the real krayd (docs/ROLLUP.md): batches close on
// -maxbatchtxs / -batchinterval, chain their roots, serve every operation as
// recorded, survive a restart, and `krayd verify` / `kray-cli
// verifychain|verifyproof` accept an honest history and reject a dishonest
// one, including the four verifier holes of the old design.
#include <chrono>
#include <cstdio>
#include <thread>

#include "kray/api/http.h"
#include "kray/api/router.h"
#include "kray/api/server.h"
#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/json.h"
#include "kray/state/operation.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

using namespace std::chrono_literals;

// Runs a shell command, capturing stdout and stderr together.
ShellResult RunCmd(const std::string& cmd) {
  return RunShell(cmd + " 2>&1");
}

void WriteText(const std::string& path, const std::string& text) {
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
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

  // Sends `n` legacy transfers dev1 -> `to` starting at `nonce`; returns hashes.
  std::vector<std::string> SendTransfers(int n, std::uint64_t nonce, const std::string& to = "") {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      auto r = Post("/api/transaction/send",
                    LegacyTransfer(dev1_, to.empty() ? dev2_.account_id : to, 100 + i, nonce + i).dump());
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

  // Polls until there are at least `n` batches (or `timeout` passes): the
  // index closes batches on its own thread, off the request path.
  std::vector<json> WaitBatches(std::size_t n, std::chrono::milliseconds timeout = 8000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<json> b;
    while (true) {
      b = Batches();
      if (b.size() >= n || std::chrono::steady_clock::now() > deadline) return b;
      std::this_thread::sleep_for(50ms);
    }
  }

  // Checks the chain invariants of `batches` and that every operation is
  // served in order (across pages) with the tx root of its records; returns
  // all operation ids.
  std::vector<std::string> CheckChain(const std::vector<json>& batches) {
    std::vector<std::string> all;
    std::string prev = GetJson("/api/rollup/state-root")["genesis_root"];
    std::int64_t prev_last = 0;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const json& b = batches[i];
      SCOPED_TRACE("batch " + b["number"].dump());
      EXPECT_EQ(b["number"].get<std::int64_t>(), static_cast<std::int64_t>(i + 1));
      EXPECT_EQ(b["prev_state_root"], prev);
      prev = b["state_root"];
      EXPECT_EQ(b["first_seq"].get<std::int64_t>(), prev_last + 1);
      prev_last = b["last_seq"].get<std::int64_t>();
      EXPECT_EQ(b["anchor"]["status"], "built");
      EXPECT_TRUE(b["anchor"]["txid"].is_null());
      std::vector<state::Operation> ops;
      std::string after;
      for (int page = 0; page < 100; ++page) {
        auto body = Get("/api/rollup/batch/" + b["number"].dump() + "/operations?limit=1" + after).body;
        auto p = rollup::BatchOperationsFromJson(body);
        EXPECT_TRUE(p.ok()) << body;
        if (!p.ok()) break;
        for (auto& op : p->ops) ops.push_back(std::move(op));
        if (!p->next_after) break;
        after = "&after=" + std::to_string(*p->next_after);
      }
      EXPECT_EQ(ops.size(), b["tx_count"].get<std::size_t>());
      for (const auto& op : ops) {
        EXPECT_FALSE(op.signature.empty());
        all.push_back(op.hash);
      }
      EXPECT_EQ(ToHex(rollup::OperationsTxRoot(ops)), b["tx_root"].get<std::string>());
    }
    return all;
  }

  std::string Cli(const std::string& args, std::uint16_t port = 0) {
    return KrayCliPath() + " -rpcport=" + std::to_string(port ? port : node_.port()) + " " + args;
  }

  int VerifyDatadir(std::string* out) {
    return KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + RegtestGenesisPath()},
                                   dir_ + "/verify.log", out);
  }

  void StopNode() {
    http_.reset();
    ASSERT_EQ(node_.Stop(), 0) << ReadFile(node_.log_path());
  }
};

TEST_F(RollupTest, TransfersAcrossSeveralBatches) {
  std::vector<std::string> sent = SendTransfers(6, 0);
  ASSERT_EQ(sent.size(), 6u);
  std::vector<json> b = WaitBatches(3);
  ASSERT_EQ(b.size(), 3u);
  std::size_t total = 0;
  for (const auto& x : b) total += x["tx_count"].get<std::size_t>();
  EXPECT_EQ(total, sent.size());
  EXPECT_EQ(CheckChain(b), sent);  // every operation, in submission order
  json sr = GetJson("/api/rollup/state-root");
  EXPECT_EQ(sr["last_batch"], 3);
  GetJson("/api/rollup/batch/4", 404);
  // Every operation names the batch that holds it.
  EXPECT_EQ(GetJson("/api/transaction/" + sent[0])["batch_id"], 1);
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
  // Two more empty intervals (plus slack): still one batch.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(Batches().size(), 1u);
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

class RollupPruneTest : public RollupTest {
 protected:
  std::vector<std::string> Flags() override { return {"-maxbatchtxs=2", "-batchinterval=3600", "-rollupprune=2"}; }
};

// -rollupprune=2: proofs at the newest two batches (and the head), 404
// batch_pruned below them; the chain, the CLI's verifychain and krayd verify
// are unaffected, across a kill -9.
TEST_F(RollupPruneTest, ServesProofsAtTheNewestBatchesOnly) {
  ASSERT_EQ(SendTransfers(8, 0).size(), 8u);
  std::vector<json> b = WaitBatches(4);
  ASSERT_EQ(b.size(), 4u);
  json st;
  for (int i = 0; i < 100; ++i) {
    st = GetJson("/api/rollup/state-root");
    if (st["oldest_proof_batch"] == 3) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(st["oldest_proof_batch"], 3);
  for (int n : {0, 1, 2}) {
    auto r = Get("/api/account/" + dev2_.address + "/proof?batch=" + std::to_string(n));
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(json::parse(r.body)["code"], "batch_pruned") << r.body;
  }
  EXPECT_EQ(GetJson("/api/account/" + dev2_.address + "/proof?batch=3")["root"], b[2]["state_root"]);
  EXPECT_EQ(GetJson("/api/account/" + dev2_.address + "/proof?batch=4")["root"], b[3]["state_root"]);
  EXPECT_EQ(GetJson("/api/rollup/batch/1")["state_root"], b[0]["state_root"]);  // headers stay
  ShellResult proof = RunCmd(Cli("verifyproof " + dev2_.address + " -batch=4"));
  EXPECT_EQ(proof.rc, 0) << proof.out;
  ShellResult vc = RunCmd(Cli("verifychain"));
  EXPECT_EQ(vc.rc, 0) << vc.out;
  http_.reset();
  node_.Kill9();
  StartNode(Flags());
  EXPECT_EQ(GetJson("/api/rollup/state-root")["oldest_proof_batch"], 3);
  ASSERT_EQ(SendTransfers(2, 8).size(), 2u);
  ASSERT_EQ(WaitBatches(5).size(), 5u);
  for (int i = 0; i < 100 && GetJson("/api/rollup/state-root")["oldest_proof_batch"] != 4; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(Get("/api/account/" + dev2_.address + "/proof?batch=3").status, 404);
  EXPECT_EQ(Get("/api/account/" + dev2_.address + "/proof?batch=4").status, 200);
  CheckChain(Batches());
  StopNode();
  std::string out;
  EXPECT_EQ(VerifyDatadir(&out), 0) << out;
  StartNode(Flags());
  ExpectConservation();
}

TEST_F(RollupTest, RestartBetweenBatchesAndAfterKill9) {
  std::vector<std::string> sent = SendTransfers(4, 0);
  ASSERT_EQ(sent.size(), 4u);
  std::vector<json> before = WaitBatches(2);
  ASSERT_EQ(before.size(), 2u);
  StopNode();
  StartNode(Flags());
  std::vector<json> after = Batches();
  ASSERT_EQ(after.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(after[i]["state_root"], before[i]["state_root"]);
    EXPECT_EQ(after[i]["tx_root"], before[i]["tx_root"]);
  }
  // kill -9 right after acknowledged transfers: the index catches up from
  // the operation log at the next start (the batch after a crash may then
  // hold more than maxbatchtxs operations).
  std::vector<std::string> more = SendTransfers(3, 4);
  ASSERT_EQ(more.size(), 3u);
  http_.reset();
  node_.Kill9();
  StartNode(Flags());
  SendTransfers(1, 7);
  for (int i = 0; i < 100; ++i) {
    after = Batches();
    if (!after.empty() && after.back()["last_seq"] == 8) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(after.size(), 3u);
  EXPECT_EQ(after.back()["last_seq"], 8);
  EXPECT_EQ(after[2]["prev_state_root"], before[1]["state_root"]);
  sent.insert(sent.end(), more.begin(), more.end());
  auto chain = CheckChain(after);
  ASSERT_GE(chain.size(), sent.size());
  EXPECT_EQ(std::vector<std::string>(chain.begin(), chain.begin() + static_cast<long>(sent.size())), sent);
  StopNode();
  std::string out;
  EXPECT_EQ(VerifyDatadir(&out), 0) << out;
  StartNode(Flags());
  ExpectConservation();
}

// Edits made behind the node's back are found by replay: `krayd verify`
// compares the replayed head with the store, and once the node commits the
// edited rows into a batch, both verifiers name that batch.
TEST_F(RollupTest, KraydVerifyAcceptsHonestAndRejectsEditedDatadir) {
  ASSERT_EQ(SendTransfers(4, 0).size(), 4u);
  ASSERT_EQ(WaitBatches(2).size(), 2u);
  StopNode();
  std::string out;
  EXPECT_EQ(VerifyDatadir(&out), 0) << out;
  EXPECT_NE(out.find("verify: OK: 2 batches"), std::string::npos) << out;
  // The last progress line carries rate and ETA (kray/core/progress.h).
  EXPECT_NE(out.find("batch 2/2: "), std::string::npos) << out;
  EXPECT_NE(out.find(" batches/s, "), std::string::npos) << out;
  EXPECT_NE(out.find(", ETA 0s)"), std::string::npos) << out;

  // A balance row with no account is no leaf: the store's conservation sums
  // show it. Then it goes again.
  auto edit = [&](const std::string& sql) {
    auto db = store::Database::Open(datadir_ + "/krayd.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  };
  edit(
      "INSERT INTO account_rows (account_id, asset, available, staked, locked) VALUES ('kray_nobody', 'KRAY', 1000, 0, "
      "0)");
  EXPECT_NE(VerifyDatadir(&out), 0) << out;
  EXPECT_NE(out.find("verify_conservation_failed: head:"), std::string::npos) << out;
  edit("DELETE FROM account_rows WHERE account_id = 'kray_nobody'");
  EXPECT_EQ(VerifyDatadir(&out), 0) << out;

  // Move 1000 KRAY from dev1 to dev2 in the store (totals unchanged).
  {
    auto db = store::Database::Open(datadir_ + "/krayd.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE account_rows SET available = available - 1000 WHERE account_id = '" +
                           dev1_.account_id + "' AND asset = 'KRAY'")
                    .ok());
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE account_rows SET available = available + 1000 WHERE account_id = '" +
                           dev2_.account_id + "' AND asset = 'KRAY'")
                    .ok());
  }
  EXPECT_NE(VerifyDatadir(&out), 0) << out;
  EXPECT_NE(out.find("verify_head_mismatch"), std::string::npos) << out;

  // The node commits the edited rows into the next batch's root.
  StartNode(Flags());
  ASSERT_EQ(SendTransfers(2, 4).size(), 2u);
  ASSERT_EQ(WaitBatches(3).size(), 3u);
  StopNode();
  EXPECT_NE(VerifyDatadir(&out), 0) << out;
  EXPECT_NE(out.find("verify_state_root_mismatch"), std::string::npos) << out;
  EXPECT_NE(out.find("batch 3"), std::string::npos) << out;
  EXPECT_NE(out.find(dev1_.account_id), std::string::npos) << out;

  // From outside, against the live node: the fraud-proof path (exit 2).
  StartNode(Flags());
  ShellResult vc = RunCmd(Cli("verifychain"));
  EXPECT_EQ(vc.rc, 2) << vc.out;
  EXPECT_NE(vc.out.find("FAILED at batch 3"), std::string::npos) << vc.out;
  EXPECT_NE(vc.out.find("\"verdict\": \"divergence\""), std::string::npos) << vc.out;
}

// Hole 1: an honest legacy transfer naming its recipient by an all-uppercase
// address. The old verifychain reported invalid_signature: a false fraud proof.
TEST_F(RollupTest, UppercaseLegacyRecipientIsNoFraud) {
  std::string upper = dev2_.address;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ASSERT_EQ(SendTransfers(2, 0, upper).size(), 2u);
  ASSERT_EQ(WaitBatches(1).size(), 1u);
  ShellResult vc = RunCmd(Cli("verifychain"));
  EXPECT_EQ(vc.rc, 0) << vc.out;
  StopNode();
  std::string out;
  EXPECT_EQ(VerifyDatadir(&out), 0) << out;
  StartNode(Flags());
}

// Hole 2: a dishonest node records a legacy-signed KRAY transfer as a BTC
// transfer (id recomputed, balances moved to match) before its batch closes,
// so the published roots commit to the forgery. Both verifiers must refuse.
TEST_F(RollupTest, LegacyTransferRewrittenAsBtcIsCaught) {
  ASSERT_EQ(SendTransfers(1, 0).size(), 1u);
  StopNode();
  {
    auto db = store::Database::Open(datadir_ + "/krayd.sqlite");
    ASSERT_TRUE(db.ok());
    auto fields = state::Fields{{"amount", "100"}, {"asset", "BTC"}, {"data", ""}, {"to", dev2_.account_id}};
    std::string hash = ToHex(state::SigningMessageV1(kRegtestChainId, "transfer", dev1_.account_id, 0, fields));
    auto st = (*db)->Prepare("UPDATE operations SET fields = ?1, hash = ?2 WHERE seq = 1");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, state::EncodeFields(fields)).BindBlob(2, *FromHexFixed<32>(hash));
    ASSERT_TRUE(st->Run().ok());
    for (auto [who, asset, delta] : {std::tuple{dev1_.account_id, "KRAY", 100},
                                     {dev2_.account_id, "KRAY", -100},
                                     {dev1_.account_id, "BTC", -100},
                                     {dev2_.account_id, "BTC", 100}}) {
      ASSERT_TRUE((*db)
                      ->Exec("UPDATE account_rows SET available = available + " + std::to_string(delta) +
                             " WHERE account_id = '" + who + "' AND asset = '" + asset + "'")
                      .ok());
    }
  }
  {
    // The index re-derives operation 1's leaves from the edited store.
    auto db = store::Database::Open(datadir_ + "/rollup.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE rollup_state SET applied_seq = 0 WHERE id = 1").ok());
  }
  StartNode(Flags());
  ASSERT_EQ(SendTransfers(1, 1).size(), 1u);  // closes batch 1 over the forgery
  ASSERT_EQ(WaitBatches(1).size(), 1u);
  ShellResult vc = RunCmd(Cli("verifychain"));
  EXPECT_EQ(vc.rc, 2) << vc.out;
  EXPECT_NE(vc.out.find("legacy_signature_not_allowed"), std::string::npos) << vc.out;
  StopNode();
  std::string out;
  EXPECT_NE(VerifyDatadir(&out), 0) << out;
  EXPECT_NE(out.find("legacy_signature_not_allowed"), std::string::npos) << out;
  stopped_ = true;  // the store is forged: conservation is not the point here
}

// Hole 4: a node serving a proof of another account, or of another batch,
// for the one asked about. kray-cli verifyproof must refuse both.
TEST_F(RollupTest, VerifyProofRefusesAProofForAnotherAccountOrBatch) {
  ASSERT_EQ(SendTransfers(4, 0).size(), 4u);
  ASSERT_EQ(WaitBatches(2).size(), 2u);
  std::string dev1_at_2 = Get("/api/account/" + dev1_.account_id + "/proof?batch=2").body;
  std::string dev2_at_1 = Get("/api/account/" + dev2_.account_id + "/proof?batch=1").body;
  std::string health = Get("/health").body, batch2 = Get("/api/rollup/batch/2").body;
  ShellResult honest = RunCmd(Cli("verifyproof " + dev2_.address + " -batch=2"));
  EXPECT_EQ(honest.rc, 0) << honest.out;

  // A dishonest node: genuine data, the wrong proof.
  std::string served;
  api::Router router;
  auto fixed = [](const std::string& body) {
    return [body](const api::HttpRequest&, api::Reply reply) {
      reply(api::HttpResponse{200, body, "application/json", {}, {}, {}});
    };
  };
  router.Add("GET", "/health", fixed(health));
  router.Add("GET", "/api/rollup/batch/2", fixed(batch2));
  router.Add("GET", "/api/account/:address/proof", [&served](const api::HttpRequest&, api::Reply reply) {
    reply(api::HttpResponse{200, served, "application/json", {}, {}, {}});
  });
  api::ServerOptions so;
  so.port = 0;
  so.handle_signals = false;
  api::HttpServer fake(so, router, nullptr);
  auto port = fake.Listen();
  ASSERT_TRUE(port.ok());
  std::thread serve([&] { fake.Run(); });
  served = dev1_at_2;  // another account, right batch
  ShellResult other_account = RunCmd(Cli("verifyproof " + dev2_.address + " -batch=2", *port));
  served = dev2_at_1;  // right account, another batch
  ShellResult other_batch = RunCmd(Cli("verifyproof " + dev2_.address + " -batch=2", *port));
  fake.Stop();
  serve.join();
  EXPECT_NE(other_account.rc, 0) << other_account.out;
  EXPECT_NE(other_account.out.find("INVALID"), std::string::npos) << other_account.out;
  EXPECT_NE(other_batch.rc, 0) << other_batch.out;
  EXPECT_NE(other_batch.out.find("INVALID"), std::string::npos) << other_batch.out;
}

// The genesis as applied, its hash and root: the bytes nlohmann would write,
// the same bytes on every request (built once and shared, not copied three
// times per request), and HEAD gives their length.
TEST_F(RollupTest, GenesisEndpointServesTheFileAsApplied) {
  const std::string file = ReadFile(RegtestGenesisPath());
  ASSERT_FALSE(file.empty());
  auto first = Get("/api/rollup/genesis");
  ASSERT_EQ(first.status, 200) << first.body;
  json j = json::parse(first.body);
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j["genesis"].get<std::string>(), file);
  EXPECT_EQ(j["genesis_hash"], ToHex(crypto::Sha256(AsBytes(file))));
  EXPECT_EQ(j["genesis_root"], GetJson("/api/rollup/state-root")["genesis_root"]);
  EXPECT_EQ(first.body, j.dump());  // members sorted, nlohmann's escapes
  ASSERT_EQ(SendTransfers(2, 0).size(), 2u);
  auto second = Get("/api/rollup/genesis");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, first.body);
  ExpectConservation();
}

TEST_F(RollupTest, CliVerifyChainAndProofs) {
  ASSERT_EQ(SendTransfers(4, 0).size(), 4u);
  std::vector<json> b = WaitBatches(2);
  ASSERT_EQ(b.size(), 2u);

  ShellResult vc = RunCmd(Cli("verifychain"));
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
  EXPECT_EQ(p["proof"]["terminal"]["type"], "leaf");
  EXPECT_EQ(GetJson("/api/account/" + dev2_.address + "/proof?batch=2")["root"], b[1]["state_root"]);

  ShellResult online = RunCmd(Cli("verifyproof " + dev2_.address + " -batch=1"));
  EXPECT_EQ(online.rc, 0) << online.out;
  ShellResult latest = RunCmd(Cli("verifyproof " + dev2_.account_id));
  EXPECT_EQ(latest.rc, 0) << latest.out;

  std::string file = dir_ + "/proof.json";
  WriteText(file, p.dump());
  ShellResult good = RunCmd(
      Cli("verifyproof " + dev2_.address + " -file=" + file + " -root=" + b[0]["state_root"].get<std::string>()));
  EXPECT_EQ(good.rc, 0) << good.out;
  ShellResult wrong = RunCmd(
      Cli("verifyproof " + dev2_.address + " -file=" + file + " -root=" + b[1]["state_root"].get<std::string>()));
  EXPECT_NE(wrong.rc, 0) << wrong.out;
  EXPECT_NE(wrong.out.find("proof INVALID against root"), std::string::npos) << wrong.out;
  ShellResult someone_else = RunCmd(
      Cli("verifyproof " + dev1_.address + " -file=" + file + " -root=" + b[0]["state_root"].get<std::string>()));
  EXPECT_NE(someone_else.rc, 0) << someone_else.out;
  ExpectConservation();
}

}  // namespace
}  // namespace kray::test
