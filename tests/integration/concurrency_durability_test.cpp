// Races (one nonce/balance spent twice at once), crash durability (kill -9
// after acknowledged transfers), graceful shutdown and genesis pinning.
#include <signal.h>

#include <atomic>
#include <barrier>
#include <fstream>
#include <thread>

#include "kray/core/bytes.h"
#include "kray/store/database.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

Amount Credits(const json& v) {
  return std::stoull(v.get<std::string>());
}

// What krayd.sqlite holds behind the node: `account`'s stored nonce (its
// own row as written back) and the account_redo records left, read with a
// read-only connection of its own.
struct StoredRows {
  std::int64_t nonce = -1;
  std::int64_t records = -1;
};
StoredRows ReadStoredRows(const std::string& datadir, const std::string& account) {
  store::OpenOptions ro;
  ro.read_only = true;
  auto db = store::Database::Open(datadir + "/krayd.sqlite", ro);
  if (!db.ok()) return {};
  auto nonce = store::QueryInt(**db, "SELECT nonce FROM accounts WHERE account_id='" + account + "'", -1);
  auto records = store::QueryInt(**db, "SELECT COUNT(*) FROM account_redo", -1);
  return {nonce.ok() ? *nonce : -1, records.ok() ? *records : -1};
}

// Sends two bodies at the same instant from two threads on two connections.
std::pair<net::HttpResponse, net::HttpResponse> Race(std::uint16_t port, const json& a, const json& b) {
  std::barrier sync(2);
  net::HttpResponse ra, rb;
  auto run = [&](const json& body, net::HttpResponse& out) {
    net::HttpClient c("127.0.0.1", port);
    (void)c.Get("/health");  // connect first so the race is on the requests
    sync.arrive_and_wait();
    auto r = c.Post("/api/transaction/send", body.dump());
    if (r.ok()) out = *r;
  };
  std::thread t1(run, std::cref(a), std::ref(ra));
  std::thread t2(run, std::cref(b), std::ref(rb));
  t1.join();
  t2.join();
  return {ra, rb};
}

TEST_F(NodeTest, ConcurrentSameNonceExactlyOneWins) {
  TestKey x = RandomKey(), y = RandomKey();
  Amount k1 = Credits(Balance(dev1_.account_id)["balance_credits"]);
  for (std::uint64_t round = 0; round < 5; ++round) {
    auto [ra, rb] =
        Race(node_.port(), LegacyTransfer(dev1_, x.address, 100, round), LegacyTransfer(dev1_, y.address, 200, round));
    int wins = (ra.status == 200) + (rb.status == 200);
    EXPECT_EQ(wins, 1) << ra.body << " | " << rb.body;
    const auto& loser = ra.status == 200 ? rb : ra;
    EXPECT_EQ(loser.status, 409) << loser.body;
    EXPECT_EQ(json::parse(loser.body)["code"], "nonce_conflict");
  }
  json b1 = Balance(dev1_.account_id);
  EXPECT_EQ(b1["nonce"], 5);
  Amount xs = 0, ys = 0;
  auto bx = Get("/api/account/" + x.account_id + "/balance");
  if (bx.status == 200) xs = Credits(json::parse(bx.body)["balance_credits"]);
  auto by = Get("/api/account/" + y.account_id + "/balance");
  if (by.status == 200) ys = Credits(json::parse(by.body)["balance_credits"]);
  EXPECT_EQ(xs + ys + 5 /*gas*/, k1 - Credits(b1["balance_credits"]));
  EXPECT_EQ(xs % 100, 0u);
  EXPECT_EQ((xs / 100) + (ys / 200), 5u);
}

TEST_F(NodeTest, ConcurrentSameBalanceExactlyOneWins) {
  for (int round = 0; round < 3; ++round) {
    TestKey s = RandomKey();
    ASSERT_EQ(Post("/api/account/create", json{{"l1_address", s.address}, {"pubkey", ToHex(s.pub)}}.dump()).status,
              200);
    ASSERT_EQ(Post("/api/transaction/send",
                   LegacyTransfer(dev1_, s.account_id, 1000, static_cast<std::uint64_t>(round)).dump())
                  .status,
              200);
    // Each alone is affordable (900 + 1 gas), both together are not.
    auto [ra, rb] = Race(node_.port(), LegacyTransfer(s, dev2_.account_id, 900, 0),
                         V1Transfer(s, dev2_.account_id, "KRAY", 900, 0));
    EXPECT_EQ((ra.status == 200) + (rb.status == 200), 1) << ra.body << " | " << rb.body;
    json bs = Balance(s.account_id);
    EXPECT_EQ(bs["balance_credits"], "99");
    EXPECT_EQ(bs["nonce"], 1);
  }
}

TEST_F(NodeTest, Kill9AfterAcknowledgedTransfersLosesNothing) {
  constexpr int kN = 25;
  std::vector<std::string> hashes;
  Amount k1 = Credits(Balance(dev1_.account_id)["balance_credits"]);
  Amount k2 = Credits(Balance(dev2_.account_id)["balance_credits"]);
  Amount sent = 0;
  for (int i = 0; i < kN; ++i) {
    Amount amt = 100 + static_cast<Amount>(i);
    auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, amt, i).dump());
    ASSERT_EQ(r.status, 200) << r.body;
    hashes.push_back(json::parse(r.body)["tx_hash"]);
    sent += amt;
  }
  http_.reset();
  node_.Kill9();
  StartNode();
  for (const auto& h : hashes) {
    json tx = GetJson("/api/transaction/" + h);
    EXPECT_EQ(tx["status"], "confirmed") << h;
  }
  json b1 = Balance(dev1_.account_id), b2 = Balance(dev2_.account_id);
  EXPECT_EQ(b1["nonce"], kN);
  EXPECT_EQ(Credits(b1["balance_credits"]), k1 - sent - kN);
  EXPECT_EQ(Credits(b2["balance_credits"]), k2 + sent);
  ExpectConservation();
  // The node keeps working after recovery.
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 1, kN).dump());
  EXPECT_EQ(r.status, 200) << r.body;
}

// The account rows' write-back (src/state/unwritten_rows.h): with a sweep
// far longer than the test, the transfers' rows are still records when
// krayd is killed. Reads saw them before; the offline tools, run on the
// datadir as the kill left it, see them; the restart writes them back.
TEST_F(NodeTest, Kill9WithAccountRowsNotWrittenBackLosesNothing) {
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  // A sweep of 300 s reaches dev2's range (kray_18f...) after ~29 s and
  // dev1's (kray_3f3...) after ~74 s: long after this test.
  StartNode({"-writeback=300"});
  constexpr int kN = 30;
  Amount k1 = Credits(Balance(dev1_.account_id)["balance_credits"]);
  Amount k2 = Credits(Balance(dev2_.account_id)["balance_credits"]);
  Amount sent = 0;
  for (int i = 0; i < kN; ++i) {
    Amount amt = 1000 + static_cast<Amount>(i);
    auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, amt, i).dump());
    ASSERT_EQ(r.status, 200) << r.body;
    sent += amt;
    // Each read sees the transfer just confirmed, from the unwritten rows.
    json b2 = Balance(dev2_.account_id);
    ASSERT_EQ(Credits(b2["balance_credits"]), k2 + sent);
    ASSERT_EQ(Balance(dev1_.account_id)["nonce"], i + 1);
  }
  ExpectConservation();
  http_.reset();
  node_.Kill9();

  // The store's rows are behind: the records hold the transfers' rows.
  StoredRows stored = ReadStoredRows(datadir_, dev1_.account_id);
  EXPECT_GT(stored.records, 0);
  EXPECT_EQ(stored.nonce, 0);
  std::string out;
  EXPECT_EQ(KraydProcess::RunToExit({"checkconservation", "-datadir=" + datadir_}, datadir_ + ".cc.log", &out), 0)
      << out;
  EXPECT_NE(out.find("conservation: OK"), std::string::npos) << out;
  EXPECT_EQ(KraydProcess::RunToExit({"verify", "-datadir=" + datadir_}, datadir_ + ".verify.log", &out), 0) << out;

  StartNode();
  EXPECT_NE(ReadFile(node_.log_path()).find("had not written back (it did not stop cleanly)"), std::string::npos);
  EXPECT_EQ(ReadStoredRows(datadir_, dev1_.account_id).nonce, kN);
  json b1 = Balance(dev1_.account_id), b2 = Balance(dev2_.account_id);
  EXPECT_EQ(b1["nonce"], kN);
  EXPECT_EQ(Credits(b1["balance_credits"]), k1 - sent - kN);
  EXPECT_EQ(Credits(b2["balance_credits"]), k2 + sent);
  ExpectConservation();
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 1, kN).dump());
  EXPECT_EQ(r.status, 200) << r.body;
  // A clean stop writes every row back.
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  stored = ReadStoredRows(datadir_, dev1_.account_id);
  EXPECT_EQ(stored.records, 0);
  EXPECT_EQ(stored.nonce, kN + 1);
  StartNode();
}

// With no load the sweep goes on by itself: the rows are written back, the
// records deleted within a few sweeps, and the images in memory forgotten.
TEST_F(NodeTest, AnIdleNodeWritesTheAccountRowsBack) {
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  StartNode({"-writeback=1"});
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 5, 0).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  StoredRows stored;
  for (int i = 0; i < 100 && (stored.nonce != 1 || stored.records != 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stored = ReadStoredRows(datadir_, dev1_.account_id);
  }
  EXPECT_EQ(stored.nonce, 1);
  EXPECT_EQ(stored.records, 0);
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 1);
  std::string metrics;
  for (int i = 0; i < 100 && metrics.find("\nkrayd_state_unwritten_accounts 0\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    metrics = Get("/metrics", true).body;
  }
  EXPECT_NE(metrics.find("\nkrayd_state_unwritten_accounts 0\n"), std::string::npos) << metrics;
}

TEST_F(NodeTest, GracefulSigtermExitsZeroAndKeepsState) {
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 42, 0).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  std::string hash = json::parse(r.body)["tx_hash"];
  http_.reset();
  EXPECT_EQ(node_.Stop(), 0) << ReadFile(node_.log_path());
  StartNode();
  EXPECT_EQ(GetJson("/api/transaction/" + hash)["amount"], "42");
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 1);
}

TEST_F(NodeTest, RestartWithDifferentGenesisIsRefused) {
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  json g = json::parse(ReadFile(RegtestGenesisPath()));
  g["timestamp"] = g["timestamp"].get<std::int64_t>() + 1;
  std::string other = dir_ + "/other-genesis.json";
  std::ofstream(other) << g.dump(2);
  std::string out;
  int rc = KraydProcess::RunToExit(
      {"-datadir=" + datadir_, "-genesis=" + other, "-port=0", "-portfile=" + dir_ + "/refused.port"},
      dir_ + "/refused.log", &out);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(rc, -2) << "krayd kept running with a different genesis";
  EXPECT_NE(out.find("genesis"), std::string::npos) << out;
  // The original genesis still starts fine and the state is intact.
  StartNode();
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 0);
}

}  // namespace
}  // namespace kray::test
