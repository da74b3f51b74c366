// Handlers over a real Ledger (temp datadir, regtest genesis), driven through
// the Router exactly as the HTTP server drives them (minus the socket).
#include "kray/api/handlers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

#include "../../../src/api/op_json.h"
#include "kray/api/json_util.h"
#include "kray/api/rate_limiter.h"
#include "kray/api/router.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/core_module.h"
#include "kray/state/ledger.h"
#include "kray/state/tx_message.h"
#include "kray/testsupport/keys.h"

namespace kray::api {
namespace {

namespace fs = std::filesystem;

// The two funded development accounts of config/genesis.regtest.json.
constexpr const char* kAddrA = "bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj";
constexpr const char* kAddrB = "bcrt1p7vj0cv366fkpahwzunnmslxu3nxk827tyxp9cyylmnmwuwdvtq4swmmrvf";

crypto::SecretKey DevKey(const char* seed) {
  return crypto::Sha256(AsBytes(seed));
}

class HandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kray_api_handlers_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    state::LedgerOptions o;
    o.datadir = (dir_ / "data").string();
    o.genesis_path = std::string(KRAY_SOURCE_DIR) + "/config/genesis.regtest.json";
    o.synchronous = "NORMAL";
    auto l = state::Ledger::Open(o, registry_);
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    ctx_.ledger = ledger_.get();
    ctx_.version = "test";
    ctx_.rpctoken = "tok";
    RegisterAllRoutes(router_, ctx_);
  }
  void TearDown() override {
    ledger_.reset();
    fs::remove_all(dir_);
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "", std::string auth = "") {
    return Built(RawCall(std::move(method), std::move(target), std::move(body), std::move(auth)));
  }

  // The response as the handler passed it to its Reply, not yet built.
  HttpResponse RawCall(std::string method, std::string target, std::string body = "", std::string auth = "",
                       std::thread::id* replied_on = nullptr) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = ParseQuery(target.substr(q + 1));
    req.body = std::move(body);
    req.authorization = std::move(auth);
    std::promise<HttpResponse> p;
    auto f = p.get_future();
    router_.Dispatch(req, [&p, replied_on](HttpResponse r) {
      if (replied_on) *replied_on = std::this_thread::get_id();
      p.set_value(std::move(r));
    });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }

  std::string Transfer(const char* seed, const char* from, const char* to, Amount amount, std::uint64_t nonce) {
    auto msg = state::LegacyTransferMessage(from, to, amount, nonce);
    auto sig = crypto::SchnorrSign(DevKey(seed), msg);
    Json j = {{"from_account", from},
              {"to_account", to},
              {"amount", std::to_string(amount)},
              {"nonce", nonce},
              {"signature", ToHex(*sig)}};
    return j.dump();
  }

  fs::path dir_;
  state::ModuleRegistry registry_;
  std::unique_ptr<state::Ledger> ledger_;
  ApiContext ctx_;
  Router router_;
};

TEST_F(HandlersTest, HealthReportsChainId) {
  auto r = Call("GET", "/health");
  ASSERT_EQ(r.status, 200);
  auto j = Json::parse(r.body);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["network"], "kray-regtest-1");
  EXPECT_EQ(j["stats"]["accounts"], 2);
}

TEST_F(HandlersTest, SendTransferThenReplayIsRejected) {
  auto body = Transfer("krayd-dev-account-1", kAddrA, kAddrB, 1500, 0);
  auto r = Call("POST", "/api/transaction/send", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Json::parse(r.body);
  EXPECT_EQ(j["status"], "confirmed");
  EXPECT_EQ(j["amount"], "1500");
  EXPECT_EQ(j["gas_fee"], "1");
  EXPECT_EQ(j["new_nonce"], 1);
  std::string hash = j["tx_hash"];

  auto replay = Call("POST", "/api/transaction/send", body);
  EXPECT_EQ(replay.status, 409);
  EXPECT_EQ(Json::parse(replay.body)["code"], "nonce_conflict");

  auto tx = Call("GET", "/api/transaction/" + hash);
  ASSERT_EQ(tx.status, 200);
  EXPECT_EQ(Json::parse(tx.body)["sig_scheme"], "legacy");

  auto bal_text = Call("GET", std::string("/api/account/") + kAddrB + "/balance").body;
  auto bal = Json::parse(bal_text);
  EXPECT_EQ(bal.dump(), bal_text);  // written without a tree, the bytes nlohmann would write
  std::vector<std::string> keys;
  for (const auto& item : bal.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"account_id", "balance_credits", "balance_kray", "balances", "has_pubkey",
                                            "l1_address", "locked_credits", "locked_kray", "nonce", "staked_credits",
                                            "staked_kray", "total_credits", "total_kray"}));
  EXPECT_EQ(bal["balance_credits"], "1000001500");
  EXPECT_EQ(bal["balance_kray"], "1000001.500");
  EXPECT_EQ(bal["total_credits"], "1000001500");
  EXPECT_EQ(bal["total_kray"], "1000001.500");
  EXPECT_EQ(bal["has_pubkey"], true);
  EXPECT_EQ(bal["nonce"], 0);
  EXPECT_EQ(bal["balances"]["KRAY"],
            (Json{{"available", "1000001500"}, {"staked", "0"}, {"locked", "0"}, {"decimals", 3}}));
  EXPECT_TRUE(bal["balances"]["BTC"]["decimals"].is_number());

  auto txs = Json::parse(Call("GET", std::string("/api/account/") + kAddrA + "/transactions?limit=1").body);
  ASSERT_EQ(txs["transactions"].size(), 1u);
  EXPECT_EQ(txs["transactions"][0]["tx_hash"], hash);
}

TEST_F(HandlersTest, BadInputIs400NeverCrash) {
  struct Case {
    std::string body, code;
  } cases[] = {
      {"{bad", "invalid_json"},
      {"[]", "invalid_json"},
      {R"({"to_account":"x"})", "missing_field"},
      {R"({"from_account":1,"to_account":"x","amount":1,"nonce":0,"signature":"00"})", "invalid_type"},
      {std::string(R"({"from_account":")") + kAddrA + R"(","to_account":")" + kAddrB +
           R"(","amount":1.5,"nonce":0,"signature":"00"})",
       "invalid_amount"},
      {std::string(R"({"from_account":")") + kAddrA + R"(","to_account":")" + kAddrB +
           R"(","amount":"1","nonce":0,"signature":"zz"})",
       "invalid_signature_format"},
      {std::string(R"({"from_account":")") + kAddrA + R"(","to_account":")" + kAddrB +
           R"(","amount":"1","nonce":0,"signature":")" + std::string(128, '0') + R"(","asset":"NOPE"})",
       "unknown_asset"},
  };
  for (const auto& c : cases) {
    auto r = Call("POST", "/api/transaction/send", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(Json::parse(r.body)["code"], c.code) << c.body;
  }
  auto sig = Call("POST", "/api/transaction/send", Transfer("krayd-dev-account-2", kAddrA, kAddrB, 5, 0));
  EXPECT_EQ(sig.status, 401);
}

TEST_F(HandlersTest, BatchGivesPerItemResults) {
  Json items = Json::array();
  items.push_back(Json::parse(Transfer("krayd-dev-account-1", kAddrA, kAddrB, 10, 0)));
  items.push_back(Json::parse(Transfer("krayd-dev-account-1", kAddrA, kAddrB, 10, 0)));  // replay
  items.push_back(Json{{"from_account", kAddrA}});
  items.push_back(Json::parse(Transfer("krayd-dev-account-1", kAddrA, kAddrB, 20, 1)));
  auto r = Call("POST", "/api/transaction/batch", Json{{"transactions", items}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Json::parse(r.body);
  EXPECT_EQ(j["accepted"], 2);
  EXPECT_EQ(j["rejected"], 2);
  EXPECT_EQ(j["results"][0]["ok"], true);
  // The replay is refused either while the first is queued or once it has committed.
  EXPECT_THAT(j["results"][1]["code"].get<std::string>(), ::testing::AnyOf("already_pending", "nonce_conflict"));
  EXPECT_EQ(j["results"][2]["code"], "missing_field");
  EXPECT_EQ(j["results"][3]["new_nonce"], 2);
  EXPECT_EQ(Call("POST", "/api/transaction/batch", R"({"transactions":[]})").status, 400);
}

// The sequencer answers committed writes by handing the receipt over: the
// JSON is built by the connection's thread (HttpResponse::build), not by the
// thread every writer waits on.
TEST_F(HandlersTest, CommittedWritesAreFormattedOffTheSequencer) {
  std::thread::id replied_on;
  // The sequencer is idle: /send applies the transfer on this thread (no
  // hand-off) and still leaves the formatting to the connection (Later).
  auto raw =
      RawCall("POST", "/api/transaction/send", Transfer("krayd-dev-account-1", kAddrA, kAddrB, 10, 0), "", &replied_on);
  EXPECT_EQ(replied_on, std::this_thread::get_id()) << "handed to the sequencer although it was idle";
  ASSERT_TRUE(raw.build) << "formatted where it was applied: " << raw.body;
  EXPECT_TRUE(raw.body.empty());
  auto built = Built(raw);
  ASSERT_EQ(built.status, 200) << built.body;
  EXPECT_EQ(Json::parse(built.body)["new_nonce"], 1);

  Json items = Json::array({Json::parse(Transfer("krayd-dev-account-1", kAddrA, kAddrB, 10, 1))});
  raw = RawCall("POST", "/api/transaction/batch", Json{{"transactions", items}}.dump(), "", &replied_on);
  EXPECT_NE(replied_on, std::this_thread::get_id()) << "a batch is queued for the sequencer";
  ASSERT_TRUE(raw.build) << "formatted on the sequencer thread: " << raw.body;
  built = Built(raw);
  ASSERT_EQ(built.status, 200) << built.body;
  EXPECT_EQ(Json::parse(built.body)["accepted"], 1);

  // Refused before the sequencer (signed by the wrong key): answered on the
  // caller's thread.
  raw =
      RawCall("POST", "/api/transaction/send", Transfer("krayd-dev-account-2", kAddrA, kAddrB, 10, 2), "", &replied_on);
  EXPECT_EQ(replied_on, std::this_thread::get_id());
  EXPECT_EQ(Built(raw).status, 401);
}

// A build that throws is a bug: answered 500 internal_error, never thrown
// into the server.
TEST(HttpResponseBuild, AThrowingBuildIs500) {
  auto r = Built(Later([]() -> HttpResponse { throw std::runtime_error("boom"); }));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Json::parse(r.body)["code"], "internal_error");
  EXPECT_FALSE(r.build);
}

// Every batch item costs a token: a batch larger than the bucket gets 429
// for the items it could not pay for, and those are not processed.
TEST_F(HandlersTest, BatchItemsEachTakeARateLimitToken) {
  RateLimiter limiter(1, 3);  // 3 tokens
  ctx_.limiter = &limiter;
  // The server took one token for the request itself.
  ASSERT_TRUE(limiter.Allow("").allowed);
  Json items = Json::array();
  for (std::uint64_t n = 0; n < 4; ++n)
    items.push_back(Json::parse(Transfer("krayd-dev-account-1", kAddrA, kAddrB, 10, n)));
  auto r = Call("POST", "/api/transaction/batch", Json{{"transactions", items}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Json::parse(r.body);
  EXPECT_EQ(j["accepted"], 3);  // the request's own token + the 2 left
  EXPECT_EQ(j["results"][3]["code"], "rate_limited");
  EXPECT_EQ(j["results"][3]["http_status"], 429);
  EXPECT_EQ(ledger_->GetAccount(std::string(kAddrA))->nonce, 3u);  // the fourth was never applied
  ctx_.limiter = nullptr;
}

TEST_F(HandlersTest, BatchSizeIsCapped) {
  ctx_.max_batch_items = 2;
  Json items = Json::array();
  for (std::uint64_t n = 0; n < 3; ++n)
    items.push_back(Json::parse(Transfer("krayd-dev-account-1", kAddrA, kAddrB, 10, n)));
  auto r = Call("POST", "/api/transaction/batch", Json{{"transactions", items}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["code"], "batch_too_large");
  EXPECT_EQ(ledger_->GetAccount(std::string(kAddrA))->nonce, 0u);
}

// Unsigned (public) account creation has its own bucket; a signed create
// (proof of possession) does not use it.
TEST_F(HandlersTest, PublicOperationsHaveTheirOwnLimit) {
  RateLimiter limiter(0.001, 2);
  ctx_.public_limiter = &limiter;
  auto create = [&](const test::TestKey& k) {
    return Call("POST", "/api/account/create", Json{{"l1_address", k.address}, {"pubkey", ToHex(k.pub)}}.dump());
  };
  EXPECT_EQ(create(test::KeyFromSeed("c1")).status, 200);
  EXPECT_EQ(create(test::KeyFromSeed("c2")).status, 200);
  auto third = create(test::KeyFromSeed("c3"));
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(Json::parse(third.body)["code"], "rate_limited");
  int retry_after = 0;
  for (const auto& [k, v] : third.headers)
    if (k == "Retry-After") {
      ++retry_after;
      EXPECT_GT(std::stoi(v), 100);  // one token per 1000 s
    }
  EXPECT_EQ(retry_after, 1);
  EXPECT_FALSE(ledger_->GetAccount(test::KeyFromSeed("c3").account_id).ok());
  // The same through the generic endpoint.
  auto c4 = test::KeyFromSeed("c4");
  auto generic = Call("POST", "/api/operation/submit",
                      Json{{"op", "account_create"}, {"l1_address", c4.address}, {"pubkey", ToHex(c4.pub)}}.dump());
  EXPECT_EQ(generic.status, 429);
  EXPECT_FALSE(ledger_->GetAccount(c4.account_id).ok());
  ctx_.public_limiter = nullptr;
}

TEST_F(HandlersTest, LiteralTransactionRoutes) {
  auto p = Call("GET", "/api/transaction/pending");
  ASSERT_EQ(p.status, 200);
  EXPECT_TRUE(Json::parse(p.body)["pending"].is_array());
  auto s = Call("GET", "/api/transaction/stats");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(Json::parse(s.body)["total_transactions"], 0);
  auto g = Call("POST", "/api/transaction/estimate-gas", R"({"tx_type":"withdrawal"})");
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(Json::parse(g.body)["gas_fee_credits"], "100");
  EXPECT_EQ(Json::parse(g.body)["gas_fee_kray"], "0.100");
  EXPECT_EQ(Call("POST", "/api/transaction/estimate-gas", R"({"tx_type":"warp"})").status, 400);
  EXPECT_EQ(Call("GET", "/api/transaction/" + std::string(64, 'a')).status, 404);
  EXPECT_EQ(Call("GET", "/api/transaction/xyz").status, 400);
}

TEST_F(HandlersTest, OperatorEndpointsNeedTheToken) {
  EXPECT_EQ(Call("GET", "/api/account/list").status, 401);
  EXPECT_EQ(Call("GET", "/api/account/list", "", "Bearer wrong").status, 401);
  EXPECT_EQ(Call("GET", "/api/account/list", "", "Bearer tokX").status, 401);
  EXPECT_EQ(Call("GET", "/api/account/list", "", "Bearer to").status, 401);  // a prefix of the token
  EXPECT_EQ(Call("GET", "/api/account/list", "", "Bearer t").status, 401);
  EXPECT_EQ(Call("GET", "/api/account/list", "", "Bearer tok ").status, 401);
  EXPECT_EQ(Call("GET", "/api/account/list", "", "tok").status, 401);
  EXPECT_EQ(Call("GET", "/api/account/list", "", "Bearer TOK").status, 401);  // the token is case-sensitive
  EXPECT_EQ(Call("GET", "/api/account/list", "", "bearer tok").status, 200);  // the scheme is not
  EXPECT_EQ(Call("GET", "/api/account/list", "", "BEARER tok").status, 200);
  auto ok = Call("GET", "/api/account/list", "", "Bearer tok");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(Json::parse(ok.body)["count"], 2);
  auto c = Call("GET", "/api/node/conservation", "", "Bearer tok");
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(Json::parse(c.body)["ok"], true);

  ctx_.rpctoken.clear();  // no token configured: disabled, not open
  auto off = Call("GET", "/api/account/list", "", "Bearer ");
  EXPECT_EQ(off.status, 503);
  EXPECT_EQ(Json::parse(off.body)["code"], "operator_disabled");
}

TEST_F(HandlersTest, AccountErrors) {
  EXPECT_EQ(Call("GET", "/api/account/foo/balance").status, 400);
  EXPECT_EQ(Call("GET", "/api/account/kray_00000000000000000000000000000000/balance").status, 404);
  auto create =
      Call("POST", "/api/account/create",
           Json{{"l1_address", kAddrA}, {"pubkey", "52a084a2c921c04920b0177026f427f6a7fa8e90b16df9a3823fa409175e598c"}}
               .dump());
  EXPECT_EQ(create.status, 400);
  EXPECT_EQ(Json::parse(create.body)["code"], "pubkey_address_mismatch");
}

// The request body -> canonical operation: the legacy scheme is the default
// only for a plain KRAY transfer; everything else defaults to v1.
TEST(RequestFromBody, SchemeDefaults) {
  ChainParams params;
  state::ModuleRegistry registry;
  const auto& transfer = *registry.FindOperation(state::kTransferOp);
  Json base = {{"from_account", kAddrA},
               {"to_account", kAddrB},
               {"amount", 1},
               {"nonce", 0},
               {"signature", std::string(128, '0')}};
  auto build = [&](const Json& body) -> Result<state::Operation> {
    auto req = RequestFromBody(body, transfer);
    if (!req.ok()) return std::move(req).error();
    return state::BuildOperation(params, registry, *req);
  };
  auto plain = build(base);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->scheme, state::SigScheme::kLegacy);
  EXPECT_EQ(plain->Field("asset"), "KRAY");
  EXPECT_EQ(plain->Field("amount"), "1");  // a JSON integer becomes its decimal string
  for (auto [k, v] : {std::pair<const char*, const char*>{"asset", "BTC"}, {"data", "memo"}}) {
    Json j = base;
    j[k] = v;
    auto t = build(j);
    ASSERT_TRUE(t.ok()) << k;
    EXPECT_EQ(t->scheme, state::SigScheme::kV1) << k;
  }
  Json forced = base;
  forced["sig_scheme"] = "v1";
  EXPECT_EQ(build(forced)->scheme, state::SigScheme::kV1);
  forced["sig_scheme"] = "v2";
  EXPECT_EQ(build(forced).error().code, "invalid_field");
  Json unknown = base;
  unknown["colour"] = "red";  // a field the operation does not declare cannot be signed unambiguously
  EXPECT_EQ(build(unknown).error().code, "unknown_field");
  Json leading_zero = base;
  leading_zero["amount"] = "01";
  EXPECT_EQ(build(leading_zero).error().code, "invalid_amount");
  Json negative = base;
  negative["amount"] = -1;
  EXPECT_EQ(build(negative).error().code, "invalid_amount");
}

}  // namespace
}  // namespace kray::api
