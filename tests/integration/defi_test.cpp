// The AMM endpoints against the real krayd (docs/API.md "DeFi"): every
// endpoint, every error with its status and code (and no state change), the
// documented signing rule, LP shares as balances and transfers, and
// `kray-cli op` producing and sending every defi operation.
#include "kray/defi/defi.h"

#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "kray/core/bytes.h"
#include "kray/state/executor.h"
#include "kray/state/tx_message.h"
#include "kray/testsupport/node.h"
#include "kray/testsupport/ops.h"

namespace kray::test {
namespace {

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(defi::DefiModule()).ok());
    return reg;
  }();
  return r;
}

class DefiTest : public NodeTest {
 protected:
  // A request body as a wallet sends it: `fields` plus the signer (by
  // address, as the wallet names it), its next nonce and a v1 signature
  // over exactly those fields (docs/SIGNING.md, "One rule").
  json Signed(const std::string& op, const TestKey& key, const json& fields,
              std::optional<std::uint64_t> nonce = std::nullopt) {
    const state::OperationType* type = Registry().FindOperation(op);
    EXPECT_NE(type, nullptr) << op;
    state::OperationRequest r;
    r.type = op;
    r.signer = key.address;
    r.nonce = nonce ? *nonce : Balance(key.account_id)["nonce"].get<std::uint64_t>();
    for (const auto& [k, v] : fields.items()) r.fields.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    auto signed_op = SignOperation(ChainParams{}, Registry(), r, key);
    std::string signature;
    if (signed_op.ok()) {
      signature = ToHex(signed_op->signature);
    } else {
      // Bad input the node must refuse before anything else: sign the fields
      // exactly as sent, so the refusal cannot be blamed on the signature.
      state::Fields raw(r.fields.begin(), r.fields.end());
      EXPECT_TRUE(state::NormalizeFields(raw).ok());
      Hash256 msg = state::SigningMessageV1(kRegtestChainId, op, key.account_id, *r.nonce, raw);
      signature = ToHex(*crypto::SchnorrSign(key.secret, msg));
    }
    json body = fields;
    body[std::string(type->signer_field())] = key.address;
    body["nonce"] = *r.nonce;
    body["signature"] = signature;
    return body;
  }
  json PostJson(const std::string& path, const json& body, int expect_status = 200) {
    auto r = Post(path, body.dump());
    EXPECT_EQ(r.status, expect_status) << path << " " << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }
  // Status and code of a refused request, and that it changed nothing.
  void ExpectError(const std::string& path, const json& body, int status, const std::string& code) {
    std::string before = Snapshot();
    auto r = Post(path, body.dump());
    EXPECT_EQ(r.status, status) << path << " " << body.dump() << " -> " << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_EQ(j.value("code", ""), code) << r.body;
    EXPECT_FALSE(j.value("error", "").empty());
    EXPECT_EQ(Snapshot(), before) << path << " changed state";
  }
  std::string Snapshot() { return StateSnapshot() + GetJson("/api/defi/pools").dump(); }

  json CreateKrayBtc() {
    return PostJson("/api/defi/pool/create",
                    Signed("pool_create", dev1_,
                           {{"token_a", "KRAY"}, {"token_b", "BTC"}, {"amount_a", "1000000"}, {"amount_b", 2000000}}));
  }
};

TEST_F(DefiTest, EveryEndpointEndToEnd) {
  // The operations are listed with their fields, gas and signer fields.
  json types = GetJson("/api/operation/types");
  std::map<std::string, json> by_name;
  for (const auto& t : types["operations"]) by_name[t["op"]] = t;
  for (auto [op, gas, signer] : {std::tuple{"pool_create", "20", "creator_account"},
                                 {"liquidity_add", "20", "account_id"},
                                 {"liquidity_remove", "20", "account_id"},
                                 {"swap", "5", "account_id"},
                                 {"swap_route", "20", "account_id"}}) {
    ASSERT_TRUE(by_name.count(op)) << op;
    EXPECT_EQ(by_name[op]["gas"], gas) << op;
    EXPECT_EQ(by_name[op]["signer_field"], signer) << op;
    EXPECT_EQ(by_name[op]["auth"], "signed");
  }
  EXPECT_EQ(GetJson("/api/defi/pools")["count"], 0);

  // pool/create: both sides really debited, LP units minted.
  json created = CreateKrayBtc();
  EXPECT_EQ(created["status"], "confirmed");
  EXPECT_EQ(created["gas_fee"], "20");
  EXPECT_EQ(created["result"]["pool_id"], "pool_kray_btc");
  EXPECT_EQ(created["result"]["liquidity"], "1413213");
  json bal = Balance(dev1_.account_id);
  EXPECT_EQ(bal["balances"]["KRAY"]["available"], "998999980");
  EXPECT_EQ(bal["balances"]["BTC"]["available"], "98000000");
  EXPECT_EQ(bal["balances"]["LP:pool_kray_btc"]["available"], "1413213");

  // pool/:id and pools.
  json pool = GetJson("/api/defi/pool/pool_kray_btc");
  EXPECT_EQ(pool["token_a"], "KRAY");
  EXPECT_EQ(pool["token_b"], "BTC");
  EXPECT_EQ(pool["reserve_a"], "1000000");
  EXPECT_EQ(pool["reserve_b"], "2000000");
  EXPECT_EQ(pool["lp_supply"], "1414213");
  EXPECT_EQ(pool["price_a_in_b"], "0.00002");
  EXPECT_EQ(pool["price_b_in_a"], "50000");
  EXPECT_EQ(pool["tvl"]["KRAY"], "1000.000");
  EXPECT_EQ(pool["tvl"]["BTC"], "0.02000000");
  EXPECT_EQ(pool["fee_rate"], "0.003");
  EXPECT_EQ(pool["swap_count"], 0);
  EXPECT_EQ(GetJson("/api/defi/pools?active=true")["count"], 1);
  EXPECT_EQ(GetJson("/api/defi/pools?active=false")["count"], 0);

  // quote, then the swap it quotes.
  json quote = PostJson("/api/defi/quote", {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", 10000}});
  EXPECT_EQ(quote["amount_out"], "19743");
  EXPECT_EQ(quote["spot_price"], "0.00002");
  EXPECT_EQ(quote["effective_price"], "0.000019743");
  EXPECT_EQ(quote["price_impact"], "1.285");
  EXPECT_EQ(quote["minimum_received"], "19644");
  json swapped = PostJson("/api/defi/swap", Signed("swap", dev2_,
                                                   {{"pool_id", "pool_kray_btc"},
                                                    {"token_in", "KRAY"},
                                                    {"amount_in", "10000"},
                                                    {"min_amount_out", quote["minimum_received"]}}));
  EXPECT_EQ(swapped["result"]["amount_out"], "19743");
  EXPECT_EQ(swapped["gas_fee"], "5");
  bal = Balance(dev2_.account_id);
  EXPECT_EQ(bal["balances"]["KRAY"]["available"], "999989995");
  EXPECT_EQ(bal["balances"]["BTC"]["available"], "100019743");
  EXPECT_EQ(GetJson("/api/defi/pool/pool_kray_btc")["swap_count"], 1);
  EXPECT_EQ(GetJson("/api/defi/pool/pool_kray_btc")["volume_24h"]["KRAY"], "10000");

  // A second pool and a route through both; the path quote equals it.
  PostJson("/api/defi/pool/create",
           Signed("pool_create", dev1_,
                  {{"token_a", "DOG"}, {"token_b", "KRAY"}, {"amount_a", "50000000"}, {"amount_b", "1000000"}}));
  json rq = PostJson("/api/defi/quote", {{"path", "DOG,KRAY,BTC"}, {"amount_in", "1000000"}, {"slippage_bps", 100}});
  EXPECT_EQ(rq["pools"], json::array({"pool_kray_dog", "pool_kray_btc"}));
  json routed =
      PostJson("/api/defi/swap/route",
               Signed("swap_route", dev2_,
                      {{"path", "DOG,KRAY,BTC"}, {"amount_in", "1000000"}, {"min_amount_out", rq["amount_out"]}}));
  EXPECT_EQ(routed["result"]["amount_out"], rq["amount_out"]);
  EXPECT_EQ(routed["gas_fee"], "20");

  // liquidity/add and liquidity/remove.
  json added = PostJson("/api/defi/liquidity/add", Signed("liquidity_add", dev2_,
                                                          {{"pool_id", "pool_kray_btc"},
                                                           {"amount_a", "100000"},
                                                           {"amount_b", "500000"},
                                                           {"min_amount_a", "100000"},
                                                           {"min_amount_b", "0"}}));
  const std::string minted = added["result"]["liquidity"];
  EXPECT_EQ(Balance(dev2_.account_id)["balances"]["LP:pool_kray_btc"]["available"], minted);
  json removed = PostJson(
      "/api/defi/liquidity/remove",
      Signed("liquidity_remove", dev2_,
             {{"pool_id", "pool_kray_btc"}, {"liquidity", minted}, {"min_amount_a", "1"}, {"min_amount_b", "1"}}));
  EXPECT_EQ(removed["status"], "confirmed");
  EXPECT_EQ(Balance(dev2_.account_id)["balances"]["LP:pool_kray_btc"]["available"], "0");

  // LP shares move like any asset (a v1 transfer of the LP asset).
  json send = V1Transfer(dev1_, dev2_.account_id, "LP:pool_kray_btc", 5000, Balance(dev1_.account_id)["nonce"]);
  PostJson("/api/transaction/send", send);
  EXPECT_EQ(Balance(dev2_.account_id)["balances"]["LP:pool_kray_btc"]["available"], "5000");

  // TWAP: after a second has passed there is history to average.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  json twap = GetJson("/api/defi/pool/pool_kray_btc/twap?window=60");
  EXPECT_EQ(twap["pool_id"], "pool_kray_btc");
  EXPECT_GE(twap["window"].get<int>(), 1);
  EXPECT_EQ(twap["requested_window"], 60);
  EXPECT_FALSE(twap["price_a_in_b"].get<std::string>().empty());
  EXPECT_EQ(GetJson("/api/defi/pool/pool_kray_btc/twap")["requested_window"], 3600);

  // The operations are in the signer's history with their results.
  json history = GetJson("/api/account/" + dev2_.account_id + "/transactions?limit=10");
  std::set<std::string> seen;
  for (const auto& t : history["transactions"]) seen.insert(t["type"]);
  for (const char* t : {"swap", "swap_route", "liquidity_add", "liquidity_remove"}) EXPECT_TRUE(seen.count(t)) << t;
}

TEST_F(DefiTest, EveryErrorHasItsStatusAndChangesNothing) {
  CreateKrayBtc();
  auto swap = [&](const std::string& pool, const std::string& in, const std::string& amount, const std::string& min) {
    return Signed("swap", dev2_, {{"pool_id", pool}, {"token_in", in}, {"amount_in", amount}, {"min_amount_out", min}});
  };
  // Unknown pool: 404 for a swap, a route, a read, a twap.
  ExpectError("/api/defi/swap", swap("pool_kray_dog", "KRAY", "1000", "0"), 404, "pool_not_found");
  ExpectError("/api/defi/swap/route",
              Signed("swap_route", dev2_, {{"path", "BTC,KRAY,DOG"}, {"amount_in", "1000"}, {"min_amount_out", "0"}}),
              404, "pool_not_found");
  auto missing = Get("/api/defi/pool/pool_kray_dog");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["code"], "pool_not_found");
  EXPECT_EQ(Get("/api/defi/pool/pool_kray_dog/twap?window=60").status, 404);
  EXPECT_EQ(Get("/api/defi/pool/pool_btc_kray").status, 400);  // not the canonical id of a pair
  // Same token twice, zero amounts, bad paths.
  ExpectError("/api/defi/pool/create",
              Signed("pool_create", dev1_,
                     {{"token_a", "DOG"}, {"token_b", "DOG"}, {"amount_a", "5000"}, {"amount_b", "5000"}}),
              400, "same_token");
  ExpectError(
      "/api/defi/pool/create",
      Signed("pool_create", dev1_, {{"token_a", "KRAY"}, {"token_b", "DOG"}, {"amount_a", "0"}, {"amount_b", "5000"}}),
      400, "invalid_amount");
  ExpectError("/api/defi/swap", swap("pool_kray_btc", "KRAY", "0", "0"), 400, "invalid_amount");
  ExpectError("/api/defi/swap/route",
              Signed("swap_route", dev2_, {{"path", "KRAY,BTC,KRAY"}, {"amount_in", "1000"}, {"min_amount_out", "0"}}),
              400, "repeated_pool");
  ExpectError("/api/defi/swap", swap("pool_kray_btc", "DOG", "1000", "0"), 400, "token_not_in_pool");
  // Slippage: 409 naming the amount that would have come out.
  {
    std::string before = Snapshot();
    auto r = Post("/api/defi/swap", swap("pool_kray_btc", "KRAY", "10000", "19744").dump());
    EXPECT_EQ(r.status, 409) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["code"], "slippage_exceeded");
    EXPECT_NE(j["error"].get<std::string>().find("19743"), std::string::npos) << r.body;
    EXPECT_EQ(j["details"]["amount_out"], "19743") << r.body;  // machine-readable too
    EXPECT_EQ(j["details"]["min_amount_out"], "19744") << r.body;
    EXPECT_EQ(Snapshot(), before);
  }
  ExpectError("/api/defi/swap", swap("pool_kray_btc", "BTC", "1", "0"), 409, "insufficient_output_amount");
  ExpectError("/api/defi/swap", swap("pool_kray_btc", "BTC", "100000001", "0"), 409, "insufficient_balance");
  ExpectError("/api/defi/pool/create",
              Signed("pool_create", dev2_,
                     {{"token_a", "KRAY"}, {"token_b", "BTC"}, {"amount_a", "5000"}, {"amount_b", "5000"}}),
              409, "pool_exists");
  ExpectError("/api/defi/liquidity/remove",
              Signed("liquidity_remove", dev2_,
                     {{"pool_id", "pool_kray_btc"}, {"liquidity", "1"}, {"min_amount_a", "0"}, {"min_amount_b", "0"}}),
              409, "insufficient_balance");
  // Bad signature (401), replayed nonce (409), unknown field (400).
  json good = swap("pool_kray_btc", "KRAY", "10000", "0");
  json forged = good;
  forged["amount_in"] = "10001";  // the signature covered 10000
  ExpectError("/api/defi/swap", forged, 401, "invalid_signature");
  json other_pool = good;
  other_pool["pool_id"] = "pool_kray_dog";  // signed for pool_kray_btc
  ExpectError("/api/defi/swap", other_pool, 401, "invalid_signature");
  PostJson("/api/defi/swap", good);
  ExpectError("/api/defi/swap", good, 409, "nonce_conflict");
  json extra = swap("pool_kray_btc", "KRAY", "10000", "0");
  extra["colour"] = "red";
  ExpectError("/api/defi/swap", extra, 400, "unknown_field");
  json unsigned_swap = swap("pool_kray_btc", "KRAY", "10000", "0");
  unsigned_swap.erase("signature");
  ExpectError("/api/defi/swap", unsigned_swap, 400, "missing_field");
  ExpectError("/api/defi/swap", json{{"pool_id", "pool_kray_btc"}}, 400, "missing_field");
  EXPECT_EQ(Post("/api/defi/swap", "{bad").status, 400);
  // Reads.
  ExpectError("/api/defi/quote", {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "-1"}}, 400,
              "invalid_amount");
  ExpectError("/api/defi/quote",
              {{"pool_id", "pool_kray_btc"}, {"path", "KRAY,BTC"}, {"amount_in", "1"}, {"token_in", "KRAY"}}, 400,
              "invalid_field");
  ExpectError("/api/defi/quote", {{"pool_id", "pool_kray_btc"}, {"amount_in", "1"}}, 400, "missing_field");
  ExpectError("/api/defi/quote", {{"path", "KRAY,DOG"}, {"amount_in", "1"}}, 404, "pool_not_found");
  ExpectError("/api/defi/quote",
              {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "1"}, {"slippage_bps", 10001}}, 400,
              "invalid_field");
  ExpectError("/api/defi/quote", {{"pool", "pool_kray_btc"}, {"amount_in", "1"}}, 400, "unknown_field");
  EXPECT_EQ(Get("/api/defi/pool/pool_kray_btc/twap?window=0").status, 400);
  EXPECT_EQ(Get("/api/defi/pool/pool_kray_btc/twap?window=abc").status, 400);
  EXPECT_EQ(Get("/api/defi/pools?active=maybe").status, 400);
}

// kray-cli op produces, signs and sends every defi operation.
TEST_F(DefiTest, CliSendsEveryDefiOperation) {
  std::string key = dir_ + "/dev1.key";
  std::ofstream(key) << ToHex(dev1_.secret) << "\n";
  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  auto cli = [&](const std::string& args) {
    ShellResult r = RunShell(KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " -keyfile=" + key + " " +
                             args + " 2>&1");
    json j = json::parse(r.out, nullptr, false);
    EXPECT_EQ(r.rc, 0) << args << ": " << r.out;
    return j.is_discarded() ? json::object() : j;
  };
  EXPECT_EQ(cli("op pool_create token_a=KRAY token_b=BTC amount_a=1000000 amount_b=2000000")["result"]["pool_id"],
            "pool_kray_btc");
  EXPECT_EQ(cli("op pool_create token_a=KRAY token_b=DOG amount_a=1000000 amount_b=50000000")["status"], "confirmed");
  EXPECT_EQ(
      cli("op swap pool_id=pool_kray_btc token_in=KRAY amount_in=10000 min_amount_out=19743")["result"]["amount_out"],
      "19743");
  EXPECT_EQ(cli("op swap_route path=DOG,KRAY,BTC amount_in=100000 min_amount_out=1")["op"], "swap_route");
  json added = cli("op liquidity_add pool_id=pool_kray_btc amount_a=1000 amount_b=5000 min_amount_a=0 min_amount_b=0");
  EXPECT_EQ(added["op"], "liquidity_add");
  json removed = cli("op liquidity_remove pool_id=pool_kray_btc liquidity=500 min_amount_a=1 min_amount_b=1 deadline=" +
                     std::to_string(GetJson("/health")["timestamp_unix"].get<std::int64_t>() + 600));
  EXPECT_EQ(removed["op"], "liquidity_remove");
  // A refusal is one line and a non-zero exit.
  ShellResult bad =
      RunShell(KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " -keyfile=" + key +
               " op swap pool_id=pool_kray_btc token_in=KRAY amount_in=10000 min_amount_out=99999999 2>&1");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("slippage_exceeded"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace kray::test
