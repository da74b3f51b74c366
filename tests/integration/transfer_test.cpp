// Happy paths against the real krayd: transfers (legacy and v1 signatures),
// account creation, routing and CORS.
#include <cstdlib>

#include "kray/core/bytes.h"
#include "kray/state/tx_message.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

Amount Credits(const json& v) {
  return std::stoull(v.get<std::string>());
}
Amount AssetAvail(const json& bal, const std::string& asset) {
  if (!bal["balances"].contains(asset)) return 0;
  return Credits(bal["balances"][asset]["available"]);
}

TEST_F(NodeTest, TestKeysMatchGenesis) {
  json g = json::parse(ReadFile(RegtestGenesisPath()));
  EXPECT_EQ(g["accounts"][0]["l1_address"], dev1_.address);
  EXPECT_EQ(g["accounts"][0]["pubkey"], ToHex(dev1_.pub));
  EXPECT_EQ(g["accounts"][1]["l1_address"], dev2_.address);
  json h = GetJson("/health");
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["network"], "kray-regtest-1");
}

// krayd is linked with mimalloc (src/app/CMakeLists.txt) and it serves the
// process's malloc: a build that drops the library, or links it after libc,
// says otherwise at start-up.
TEST_F(NodeTest, MimallocServesTheNodesAllocations) {
  ASSERT_EQ(node_.Stop(), 0);
  StartNode({"-loglevel=info"});
  const std::string log = ReadFile(node_.log_path());
  EXPECT_NE(log.find("memory allocator: mimalloc 2."), std::string::npos) << log.substr(0, 2000);
  // 2 MiB pages asked for where the kernel offers transparent huge pages,
  // and only there (main.cpp, TuneAllocator; docs/BENCHMARKS.md,
  // sixty-second round), unless the environment decides.
  if (std::getenv("MIMALLOC_LARGE_OS_PAGES") == nullptr) {
    const std::string thp = ReadFile("/sys/kernel/mm/transparent_hugepage/enabled");
    const bool offered = thp.find("[always]") != std::string::npos || thp.find("[madvise]") != std::string::npos;
    EXPECT_EQ(log.find(", large OS pages requested") != std::string::npos, offered) << "THP: " << thp << "\n"
                                                                                    << log.substr(0, 2000);
  }
}

// A second krayd on a running node's datadir exits 1 with a clear error and
// changes nothing; the first keeps serving.
TEST_F(NodeTest, ASecondNodeOnTheSameDatadirIsRefused) {
  const std::string before = StateSnapshot();
  std::string out;
  EXPECT_EQ(KraydProcess::RunToExit({"-datadir=" + datadir_, "-genesis=" + GenesisPath(), "-port=0"},
                                    dir_ + "/second.log", &out),
            1)
      << out;
  EXPECT_NE(out.find("cannot lock datadir"), std::string::npos) << out;
  EXPECT_EQ(StateSnapshot(), before);
  EXPECT_EQ(Get("/health").status, 200);
}

TEST_F(NodeTest, LegacyTransferFullPath) {
  json b1 = Balance(dev1_.account_id), b2 = Balance(dev2_.account_id);
  ASSERT_EQ(b1["nonce"], 0);
  Amount k1 = Credits(b1["balance_credits"]), k2 = Credits(b2["balance_credits"]);
  json stats0 = GetJson("/api/transaction/stats");

  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 2500, 0).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json rec = json::parse(r.body);
  EXPECT_EQ(rec["status"], "confirmed");
  EXPECT_EQ(rec["amount"], "2500");
  EXPECT_EQ(rec["gas_fee"], "1");  // transfer gas: 1 credit
  EXPECT_EQ(rec["new_nonce"], 1);
  EXPECT_EQ(rec["from"], dev1_.account_id);
  EXPECT_EQ(rec["to"], dev2_.account_id);
  std::string hash = rec["tx_hash"];
  EXPECT_EQ(hash.size(), 64u);

  b1 = Balance(dev1_.account_id);
  b2 = Balance(dev2_.account_id);
  EXPECT_EQ(Credits(b1["balance_credits"]), k1 - 2500 - 1);
  EXPECT_EQ(Credits(b2["balance_credits"]), k2 + 2500);
  EXPECT_EQ(b1["nonce"], 1);
  EXPECT_EQ(b2["nonce"], 0);

  // Gas split: 1 credit -> burn 1 (odd extra credit burned), pool 0.
  json stats = GetJson("/api/transaction/stats");
  EXPECT_EQ(stats["total_transactions"].get<std::uint64_t>(), stats0["total_transactions"].get<std::uint64_t>() + 1);
  EXPECT_EQ(Credits(stats["gas_burned_credits"]) + Credits(stats["fee_pool_credits"]),
            Credits(stats0["gas_burned_credits"]) + Credits(stats0["fee_pool_credits"]) + 1);

  json tx = GetJson("/api/transaction/" + hash);
  EXPECT_EQ(tx["tx_hash"], hash);
  EXPECT_EQ(tx["amount"], "2500");
  EXPECT_EQ(tx["sig_scheme"], "legacy");
  EXPECT_EQ(tx["status"], "confirmed");

  for (const auto& who : {dev1_.account_id, dev2_.address}) {
    json h = GetJson("/api/account/" + who + "/transactions?limit=10");
    ASSERT_TRUE(h["transactions"].is_array());
    bool found = false;
    for (const auto& t : h["transactions"]) found |= t["tx_hash"] == hash;
    EXPECT_TRUE(found) << who << " history lacks " << hash;
  }

  // Second transfer with nonce 1, naming the recipient by L1 address.
  r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.address, 7, 1).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Balance(dev1_.address)["nonce"], 2);
  EXPECT_EQ(Credits(Balance(dev2_.account_id)["balance_credits"]), k2 + 2507);
}

TEST_F(NodeTest, V1TransferOfNonKrayAsset) {
  json b1 = Balance(dev1_.account_id), b2 = Balance(dev2_.account_id);
  Amount dog1 = AssetAvail(b1, "DOG"), dog2 = AssetAvail(b2, "DOG");
  Amount k1 = Credits(b1["balance_credits"]);
  auto r = Post("/api/transaction/send", V1Transfer(dev1_, dev2_.account_id, "DOG", 12345, 0).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json rec = json::parse(r.body);
  EXPECT_EQ(rec["asset"], "DOG");
  // tx_hash is the v1 message (deterministic, no clock).
  Hash256 msg =
      state::TransferMessageV1("kray-regtest-1", "transfer", dev1_.account_id, dev2_.account_id, "DOG", 12345, 0, "");
  EXPECT_EQ(rec["tx_hash"], ToHex(msg));
  b1 = Balance(dev1_.account_id);
  b2 = Balance(dev2_.account_id);
  EXPECT_EQ(AssetAvail(b1, "DOG"), dog1 - 12345);
  EXPECT_EQ(AssetAvail(b2, "DOG"), dog2 + 12345);
  EXPECT_EQ(Credits(b1["balance_credits"]), k1 - 1);  // gas in KRAY
  EXPECT_EQ(GetJson("/api/transaction/" + rec["tx_hash"].get<std::string>())["sig_scheme"], "v1");

  // A legacy signature is refused for a non-KRAY asset (it does not bind the asset).
  json bad = LegacyTransfer(dev1_, dev2_.account_id, 5, 1);
  bad["asset"] = "DOG";
  bad["sig_scheme"] = "legacy";
  r = Post("/api/transaction/send", bad.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 1);
}

TEST_F(NodeTest, TransferToNewAddressCreatesKeylessAccount) {
  TestKey fresh = RandomKey();
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, fresh.address, 1000, 0).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json b = Balance(fresh.account_id);
  EXPECT_EQ(b["balance_credits"], "1000");
  EXPECT_EQ(b["has_pubkey"], false);
  // Binding the key later keeps the balance.
  r = Post("/api/account/create", json{{"l1_address", fresh.address}, {"pubkey", ToHex(fresh.pub)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Balance(fresh.address)["balance_credits"], "1000");
  // ...and the new key can spend.
  r = Post("/api/transaction/send", LegacyTransfer(fresh, dev1_.account_id, 10, 0).dump());
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(NodeTest, BatchEachItemHasItsOwnResult) {
  Amount k2 = Credits(Balance(dev2_.account_id)["balance_credits"]);
  json bad_amount = LegacyTransfer(dev1_, dev2_.account_id, 5, 2);
  bad_amount["amount"] = "1.5";
  json txs =
      json::array({LegacyTransfer(dev1_, dev2_.account_id, 10, 0), V1Transfer(dev1_, dev2_.account_id, "KRAY", 20, 1),
                   bad_amount,                                      // 400 at parse time
                   LegacyTransfer(dev1_, dev2_.account_id, 30, 1),  // replays nonce 1: 409
                   LegacyTransfer(dev1_, dev2_.account_id, 40, 2)});
  auto r = Post("/api/transaction/batch", json{{"transactions", txs}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  ASSERT_EQ(j["results"].size(), 5u) << r.body;
  EXPECT_EQ(j["accepted"], 3);
  EXPECT_EQ(j["rejected"], 2);
  EXPECT_EQ(j["results"][0]["ok"], true);
  EXPECT_EQ(j["results"][1]["ok"], true);
  EXPECT_EQ(j["results"][2]["code"], "invalid_amount");
  EXPECT_EQ(j["results"][2]["http_status"], 400);
  EXPECT_EQ(j["results"][3]["code"], "nonce_conflict");
  EXPECT_EQ(j["results"][3]["http_status"], 409);
  EXPECT_EQ(j["results"][4]["ok"], true);
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 3);
  EXPECT_EQ(Credits(Balance(dev2_.account_id)["balance_credits"]), k2 + 70);
  // Every accepted item is retrievable by hash.
  for (int i : {0, 1, 4}) GetJson("/api/transaction/" + j["results"][i]["tx_hash"].get<std::string>());
}

// A body krayd reads without a tree (flat: src/api/flat_json.h) and one it
// reads with nlohmann's (an escape sends any body there) mean the same: the
// same receipts and balances, for /send and for /batch.
TEST_F(NodeTest, EscapedAndFlatBodiesMeanTheSame) {
  const Amount k2 = Credits(Balance(dev2_.account_id)["balance_credits"]);
  // "kray_…" with its first letter written as \u006b.
  auto escaped = [](const json& body) {
    std::string text = body.dump();
    const std::string to = "\"to_account\":\"k";
    const auto at = text.find(to);
    EXPECT_NE(at, std::string::npos) << text;
    return text.replace(at + to.size() - 1, 1, "\\u006b");
  };
  const std::string tree_body = escaped(LegacyTransfer(dev1_, dev2_.account_id, 10, 0));
  ASSERT_NE(tree_body.find("\\u006b"), std::string::npos);
  auto tree = Post("/api/transaction/send", tree_body);
  auto flat = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 10, 1).dump());
  ASSERT_EQ(tree.status, 200) << tree.body;
  ASSERT_EQ(flat.status, 200) << flat.body;
  json a = json::parse(tree.body), b = json::parse(flat.body);
  for (const char* key : {"status", "from", "to", "amount", "gas_fee", "op", "auth"}) EXPECT_EQ(a[key], b[key]) << key;
  EXPECT_EQ(a["to"], dev2_.account_id);

  // A batch with one escaped item goes to the tree whole; one without, flat.
  const std::string tree_batch = "{\"transactions\":[" + escaped(LegacyTransfer(dev1_, dev2_.account_id, 10, 2)) + "," +
                                 LegacyTransfer(dev1_, dev2_.account_id, 10, 3).dump() + "]}";
  const std::string flat_batch = json{{"transactions", json::array({LegacyTransfer(dev1_, dev2_.account_id, 10, 4),
                                                                    LegacyTransfer(dev1_, dev2_.account_id, 10, 5)})}}
                                     .dump();
  for (const auto& body : {tree_batch, flat_batch}) {
    auto r = Post("/api/transaction/batch", body);
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["accepted"], 2) << r.body;
    for (const auto& item : j["results"]) EXPECT_EQ(item["to"], dev2_.account_id) << r.body;
  }
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 6);
  EXPECT_EQ(Credits(Balance(dev2_.account_id)["balance_credits"]), k2 + 60);
}

TEST_F(NodeTest, AccountCreate) {
  TestKey k = RandomKey();
  json body{{"l1_address", k.address}, {"pubkey", ToHex(k.pub)}};
  auto r = Post("/api/account/create", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json a = json::parse(r.body);
  EXPECT_EQ(a["account_id"], k.account_id);
  EXPECT_EQ(a["l1_address"], k.address);
  EXPECT_EQ(a["nonce"], 0);
  // Idempotent.
  r = Post("/api/account/create", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["account_id"], k.account_id);
  // 33-byte compressed form of the same key is accepted too.
  auto comp = crypto::PubKeyFromSecret(k.secret).value();
  r = Post("/api/account/create", json{{"l1_address", k.address}, {"pubkey", ToHex(comp)}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;

  // Mismatched key: a valid key that is not this address's BIP-86 internal key.
  TestKey other = RandomKey();
  TestKey k2 = RandomKey();
  r = Post("/api/account/create", json{{"l1_address", k2.address}, {"pubkey", ToHex(other.pub)}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "pubkey_address_mismatch");
  GetJson("/api/account/" + k2.account_id + "/balance", 404);
}

TEST_F(NodeTest, LiteralRoutesBeatParameterised) {
  json p = GetJson("/api/transaction/pending");
  EXPECT_FALSE(p.contains("code")) << p.dump();
  json s = GetJson("/api/transaction/stats");
  EXPECT_TRUE(s.contains("total_transactions")) << s.dump();
  // /api/account/list is operator-only: without the token it is 401, not an account lookup.
  auto r = Get("/api/account/list");
  EXPECT_EQ(r.status, 401) << r.body;
  r = Get("/api/account/list", /*auth=*/true);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_GE(json::parse(r.body)["accounts"].size(), 2u);
}

TEST_F(NodeTest, CorsHeaders) {
  auto r = Get("/health");
  ASSERT_EQ(r.status, 200);
  auto origin = r.Header("Access-Control-Allow-Origin");
  ASSERT_TRUE(origin.has_value());
  EXPECT_EQ(*origin, "*");
  auto pre = http_->Request("OPTIONS", "/api/transaction/send", "",
                            {{"Origin", "chrome-extension://abc"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(pre.ok());
  EXPECT_LT(pre->status, 300) << pre->body;
  EXPECT_TRUE(pre->Header("Access-Control-Allow-Methods").has_value());
  EXPECT_TRUE(pre->Header("Access-Control-Allow-Origin").has_value());
}

}  // namespace
}  // namespace kray::test
