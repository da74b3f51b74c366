// The marketplace against the real krayd (docs/API.md, "Marketplace"): both
// legs of every trade, racing buys, cancelled and expired listings, offers,
// sweeps, every endpoint's errors, kray-cli producing every market
// operation, and `krayd verify` replaying the history.
#include "kray/market/market.h"

#include <sys/stat.h>

#include <barrier>
#include <fstream>
#include <set>
#include <thread>

#include "kray/core/bytes.h"
#include "kray/state/module.h"
#include "kray/testsupport/node.h"
#include "kray/testsupport/ops.h"

namespace kray::test {
namespace {

const std::string kIns1 = std::string(64, 'a') + "i0";  // dev 1's
const std::string kIns2 = std::string(64, 'b') + "i7";  // dev 1's
const std::string kIns3 = std::string(64, 'c') + "i0";  // dev 2's

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(market::MarketModule()).ok());
    return reg;
  }();
  return r;
}

TestKey FeeKey() {
  return KeyFromSeed("market-itest-fee");
}

Amount Credits(const json& v) {
  return std::stoull(v.get<std::string>());
}

class MarketNodeTest : public NodeTest {
 protected:
  // Started with a genesis holding a "market" section (250 bps fee, three
  // inscriptions) and small batches, so verify checks batch roots too.
  void SetUp() override {
    dev1_ = DevAccount(1);
    dev2_ = DevAccount(2);
    dir_ = MakeTempDir("kray-market-itest-");
    ASSERT_FALSE(dir_.empty());
    datadir_ = dir_ + "/data";
    genesis_ = dir_ + "/genesis.json";
    std::ifstream in(RegtestGenesisPath());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::string section = "{\"fee_bps\": 250, \"fee_account\": \"" + FeeKey().address +
                          "\", \"inscriptions\": [{\"inscription_id\": \"" + kIns1 + "\", \"owner\": \"" +
                          dev1_.address + "\", \"content_type\": \"image/png\"}, {\"inscription_id\": \"" + kIns2 +
                          "\", \"owner\": \"" + dev1_.address + "\", \"content_type\": \"text/plain\"}, " +
                          "{\"inscription_id\": \"" + kIns3 + "\", \"owner\": \"" + dev2_.address +
                          "\", \"content_type\": \"image/webp\"}]}";
    text.insert(text.rfind('}'), ",\n  \"market\": " + section + "\n");
    std::ofstream(genesis_) << text;
    std::string why;
    ASSERT_TRUE(node_.Start(datadir_, genesis_, {"-maxbatchtxs=4"}, &why)) << why;
    http_ = std::make_unique<net::HttpClient>("127.0.0.1", node_.port());
  }

  std::uint64_t NonceOf(const TestKey& k) { return Balance(k.account_id)["nonce"].get<std::uint64_t>(); }

  // A REST body for `op` signed by `k` (the one rule: the body's fields other
  // than signature, nonce, sig_scheme and the signer field are signed).
  // Uses the node's own request code, as kray-cli does.
  json Body(const TestKey& k, const std::string& op, const json& fields, std::optional<std::uint64_t> nonce = {}) {
    const state::OperationType* type = Registry().FindOperation(op);
    EXPECT_NE(type, nullptr) << op;
    state::OperationRequest r;
    r.type = op;
    r.signer = k.account_id;
    r.nonce = nonce ? *nonce : NonceOf(k);
    for (const auto& [key, v] : fields.items())
      r.fields.emplace_back(key, v.is_string() ? v.get<std::string>() : v.dump());
    ChainParams params;
    // A request the node's code refuses cannot be signed here either; it is
    // sent with a well-formed signature that the node never gets to check.
    auto signed_op = SignOperation(params, Registry(), r, k);
    json body = fields;
    body[std::string(type->signer_field())] = k.account_id;
    body["nonce"] = r.nonce.value();
    body["signature"] = signed_op.ok() ? ToHex(signed_op->signature) : ToHex(Bytes(64, 0x22));
    return body;
  }
  // POSTs and returns (status, parsed body).
  std::pair<int, json> Send(const std::string& path, const json& body) {
    auto r = Post("/api/marketplace/" + path, body.dump());
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
    json j = json::parse(r.body, nullptr, false);
    EXPECT_EQ(j["code"], code) << target << " -> " << r.body;
  }
  // Balances, nonces and the market's own view: what a rejected write must not move.
  std::string Snapshot() {
    return StateSnapshot() + GetJson("/api/marketplace/stats").dump() +
           GetJson("/api/marketplace/user/" + dev1_.account_id + "/inscriptions").dump();
  }
  Amount Avail(const std::string& who, const std::string& asset) {
    return Credits(Balance(who)["balances"][asset]["available"]);
  }
  std::uint64_t ListRune(const TestKey& k, Amount amount, Amount price) {
    json r = Ok("list",
                Body(k, "market_list",
                     {{"asset", "DOG"}, {"amount", std::to_string(amount)}, {"price_credits", std::to_string(price)}}));
    return std::stoull(r["result"]["listing_id"].get<std::string>());
  }
  // A new funded account with a bound key.
  TestKey Funded(const std::string& seed) {
    TestKey k = KeyFromSeed(seed);
    json t = LegacyTransfer(dev1_, k.address, 100000, NonceOf(dev1_));
    EXPECT_EQ(Post("/api/transaction/send", t.dump()).status, 200);
    EXPECT_EQ(Post("/api/account/create", json{{"l1_address", k.address}, {"pubkey", ToHex(k.pub)}}.dump()).status,
              200);
    return k;
  }

  std::string genesis_;
};

TEST_F(MarketNodeTest, ListThenBuyMovesBothLegs) {
  json listed =
      Ok("list", Body(dev1_, "market_list", {{"asset", "DOG"}, {"amount", 1000}, {"price_credits", "10001"}}));
  EXPECT_EQ(listed["op"], "market_list");
  EXPECT_EQ(listed["gas_fee"], "10");
  EXPECT_EQ(listed["signer"], dev1_.account_id);
  std::string id = listed["result"]["listing_id"];
  EXPECT_EQ(Avail(dev1_.account_id, "DOG"), 100000000000u - 1000);
  json page = GetJson("/api/marketplace/listings?type=rune");
  ASSERT_EQ(page["listings"].size(), 1u);
  EXPECT_EQ(page["listings"][0]["listing_id"], std::stoi(id));
  EXPECT_EQ(page["listings"][0]["status"], "active");
  EXPECT_EQ(page["listings"][0]["amount"], "1000");
  EXPECT_EQ(page["listings"][0]["price_credits"], "10001");
  EXPECT_EQ(page["listings"][0]["unit_price_credits"], "1000100");  // per whole DOG (5 decimals)

  json bought = Ok("buy", Body(dev2_, "market_buy", {{"listing_id", id}}));
  EXPECT_EQ(bought["result"]["fee_credits"], "250");
  EXPECT_EQ(bought["result"]["seller"], dev1_.account_id);
  EXPECT_EQ(Avail(dev2_.account_id, "DOG"), 100000000000u + 1000);
  EXPECT_EQ(Avail(dev2_.account_id, "KRAY"), 1000000000u - 10001 - 5);
  EXPECT_EQ(Avail(dev1_.account_id, "KRAY"), 1000000000u - 10 + 10001 - 250);
  EXPECT_EQ(Avail(FeeKey().account_id, "KRAY"), 250u);
  json one = GetJson("/api/marketplace/listing/" + id);
  EXPECT_EQ(one["status"], "sold");
  EXPECT_EQ(one["buyer"], dev2_.account_id);
  EXPECT_EQ(one["closed_at"], bought["confirmed_at"]);
  EXPECT_TRUE(GetJson("/api/marketplace/listings")["listings"].empty());
  json stats = GetJson("/api/marketplace/stats");
  EXPECT_EQ(stats["volume"]["rune"]["trades"], 1);
  EXPECT_EQ(stats["volume"]["total_credits"], "10001");
  EXPECT_EQ(stats["listings"]["rune"]["sold"], 1);
  EXPECT_EQ(stats["fee_bps"], 250);
  // Gas of the market's operations by op name (docs/MARKET.md).
  for (auto [op, gas] : std::vector<std::pair<std::string, std::string>>{
           {"market_list", "10"}, {"market_buy", "5"}, {"market_sweep", "20"}, {"inscription_transfer", "1"}}) {
    auto est = Post("/api/transaction/estimate-gas", json{{"op", op}}.dump());
    EXPECT_EQ(est.status, 200) << est.body;
    EXPECT_EQ(json::parse(est.body)["gas_fee_credits"], gas) << op;
  }
  // The buy is in both accounts' histories and found by hash.
  json tx = GetJson("/api/transaction/" + bought["tx_hash"].get<std::string>());
  EXPECT_EQ(tx["type"], "market_buy");
  EXPECT_EQ(tx["fields"]["listing_id"], id);
  json hist = GetJson("/api/account/" + dev1_.account_id + "/transactions?limit=1");
  EXPECT_EQ(hist["transactions"][0]["tx_hash"], bought["tx_hash"]);
}

TEST_F(MarketNodeTest, ConcurrentBuysOfOneListingExactlyOneSucceeds) {
  std::vector<TestKey> buyers = {dev2_, Funded("market-racer-1"), Funded("market-racer-2")};
  for (int round = 0; round < 3; ++round) {
    std::uint64_t id = ListRune(dev1_, 10, 1000);
    std::vector<json> bodies;
    for (const auto& b : buyers) bodies.push_back(Body(b, "market_buy", {{"listing_id", std::to_string(id)}}));
    std::barrier sync(static_cast<std::ptrdiff_t>(bodies.size()));
    std::vector<net::HttpResponse> out(bodies.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      threads.emplace_back([&, i] {
        net::HttpClient c("127.0.0.1", node_.port());
        (void)c.Get("/health");  // connect first so the race is on the requests
        sync.arrive_and_wait();
        auto r = c.Post("/api/marketplace/buy", bodies[i].dump());
        if (r.ok()) out[i] = *r;
      });
    }
    for (auto& t : threads) t.join();
    int wins = 0;
    std::string winner;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].status == 200) {
        ++wins;
        winner = buyers[i].account_id;
      } else {
        EXPECT_EQ(out[i].status, 409) << out[i].body;
        EXPECT_EQ(json::parse(out[i].body)["code"], "listing_sold") << out[i].body;
      }
    }
    EXPECT_EQ(wins, 1);
    EXPECT_EQ(GetJson("/api/marketplace/listing/" + std::to_string(id))["buyer"], winner);
  }
}

TEST_F(MarketNodeTest, CancelThenBuyFails) {
  std::uint64_t id = ListRune(dev1_, 500, 700);
  std::string sid = std::to_string(id);
  Fails("cancel", Body(dev2_, "market_cancel", {{"listing_id", sid}}, NonceOf(dev2_)), 409, "not_seller");
  json cancelled = Ok("cancel", Body(dev1_, "market_cancel", {{"listing_id", sid}}));
  EXPECT_EQ(cancelled["result"]["was_expired"], "false");
  EXPECT_EQ(Avail(dev1_.account_id, "DOG"), 100000000000u);
  Fails("buy", Body(dev2_, "market_buy", {{"listing_id", sid}}), 409, "listing_cancelled");
  Fails("cancel", Body(dev1_, "market_cancel", {{"listing_id", sid}}), 409, "listing_cancelled");
  json mine = GetJson("/api/marketplace/user/" + dev1_.address + "/listings?status=cancelled");
  ASSERT_EQ(mine["listings"].size(), 1u);
  EXPECT_EQ(mine["account_id"], dev1_.account_id);
  EXPECT_TRUE(GetJson("/api/marketplace/user/" + dev1_.account_id + "/listings?status=active")["listings"].empty());
}

TEST_F(MarketNodeTest, ExpiredListingCannotBeBoughtAndIsReclaimed) {
  std::int64_t expires = GetJson("/health")["timestamp_unix"].get<std::int64_t>() + 2;
  json listed = Ok("list", Body(dev1_, "market_list",
                                {{"inscription_id", kIns1}, {"price_credits", "100"}, {"expires_at", expires}}));
  std::string id = listed["result"]["listing_id"];
  EXPECT_EQ(GetJson("/api/marketplace/inscription/" + kIns1)["escrowed"], true);
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  Fails("buy", Body(dev2_, "market_buy", {{"listing_id", id}}), 409, "listing_expired");
  EXPECT_EQ(GetJson("/api/marketplace/listing/" + id)["status"], "expired");
  EXPECT_EQ(GetJson("/api/marketplace/user/" + dev1_.account_id + "/listings?status=expired")["listings"].size(), 1u);
  json back = Ok("cancel", Body(dev1_, "market_cancel", {{"listing_id", id}}));
  EXPECT_EQ(back["result"]["was_expired"], "true");
  EXPECT_EQ(GetJson("/api/marketplace/inscription/" + kIns1)["escrowed"], false);
}

TEST_F(MarketNodeTest, OfferThenAccept) {
  // An inscription offer: the price is escrowed, the owner accepts.
  json offered = Ok("offer", Body(dev2_, "market_offer", {{"inscription_id", kIns1}, {"price_credits", 4000}}));
  std::string oid = offered["result"]["offer_id"];
  EXPECT_EQ(Avail(dev2_.account_id, "KRAY"), 1000000000u - 4000 - 10);
  json received = GetJson("/api/marketplace/user/" + dev1_.account_id + "/offers?role=received&status=active");
  ASSERT_EQ(received["offers"].size(), 1u);
  EXPECT_EQ(received["offers"][0]["offer_id"], std::stoi(oid));
  EXPECT_EQ(received["offers"][0]["inscription_id"], kIns1);
  EXPECT_EQ(GetJson("/api/marketplace/offers?inscription_id=" + kIns1)["offers"].size(), 1u);
  Fails("offer/accept", Body(dev2_, "market_offer_accept", {{"offer_id", oid}}), 409, "own_offer");
  json accepted = Ok("offer/accept", Body(dev1_, "market_offer_accept", {{"offer_id", oid}}));
  EXPECT_EQ(accepted["result"]["buyer"], dev2_.account_id);
  json ins = GetJson("/api/marketplace/inscription/" + kIns1);
  EXPECT_EQ(ins["owner"], dev2_.account_id);
  EXPECT_EQ(Avail(dev1_.account_id, "KRAY"), 1000000000u - 5 + 4000 - 100);
  EXPECT_EQ(GetJson("/api/marketplace/offer/" + oid)["status"], "accepted");
  EXPECT_EQ(GetJson("/api/marketplace/user/" + dev2_.account_id + "/inscriptions")["count"], 2);
  // A rune offer the buyer withdraws.
  json rune = Ok("offer", Body(dev2_, "market_offer", {{"asset", "DOG"}, {"amount", 5}, {"price_credits", 50}}));
  std::string rid = rune["result"]["offer_id"];
  Fails("offer/cancel", Body(dev1_, "market_offer_cancel", {{"offer_id", rid}}), 409, "not_buyer");
  Ok("offer/cancel", Body(dev2_, "market_offer_cancel", {{"offer_id", rid}}));
  Fails("offer/accept", Body(dev1_, "market_offer_accept", {{"offer_id", rid}}), 409, "offer_cancelled");
  json made = GetJson("/api/marketplace/user/" + dev2_.account_id + "/offers");
  EXPECT_EQ(made["offers"].size(), 2u);
  EXPECT_EQ(made["offers"][0]["status"], "cancelled");  // newest first
  EXPECT_EQ(made["offers"][1]["status"], "accepted");
}

TEST_F(MarketNodeTest, SweepWithAPriceCap) {
  std::uint64_t dear = ListRune(dev1_, 100, 1000);  // 10 / unit
  std::uint64_t cheap = ListRune(dev1_, 100, 500);  // 5 / unit
  std::uint64_t mid = ListRune(dev1_, 100, 800);    // 8 / unit
  json swept =
      Ok("sweep", Body(dev2_, "market_sweep", {{"asset", "DOG"}, {"max_listings", 3}, {"max_total_credits", 1500}}));
  EXPECT_EQ(swept["gas_fee"], "20");
  EXPECT_EQ(swept["result"]["listing_ids"], std::to_string(cheap) + "," + std::to_string(mid));
  EXPECT_EQ(swept["result"]["total_price_credits"], "1300");
  EXPECT_EQ(Avail(dev2_.account_id, "DOG"), 100000000000u + 200);
  EXPECT_EQ(Avail(dev2_.account_id, "KRAY"), 1000000000u - 1300 - 20);
  EXPECT_EQ(GetJson("/api/marketplace/listing/" + std::to_string(dear))["status"], "active");
  json floor = GetJson("/api/marketplace/stats")["floor"]["runes"]["DOG"];
  EXPECT_EQ(floor["listing_id"], dear);
  EXPECT_EQ(floor["unit_price_credits"], "1000000");
  Fails("sweep", Body(dev2_, "market_sweep", {{"asset", "DOG"}, {"max_listings", 3}, {"max_total_credits", 999}}), 409,
        "sweep_empty");
}

TEST_F(MarketNodeTest, EveryEndpointsErrors) {
  std::uint64_t listing = ListRune(dev1_, 10, 100);
  std::string lid = std::to_string(listing);
  json o = Ok("offer", Body(dev2_, "market_offer", {{"asset", "DOG"}, {"amount", 1}, {"price_credits", 10}}));
  std::string oid = o["result"]["offer_id"];
  struct Write {
    std::string path, op, signer_field;
    json fields;
    const TestKey* key;
  };
  std::vector<Write> writes = {
      {"list", "market_list", "seller_account", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "5"}}, &dev1_},
      {"buy", "market_buy", "buyer_account", {{"listing_id", lid}}, &dev2_},
      {"cancel", "market_cancel", "seller_account", {{"listing_id", lid}}, &dev1_},
      {"sweep",
       "market_sweep",
       "buyer_account",
       {{"asset", "DOG"}, {"max_listings", "1"}, {"max_total_credits", "500"}},
       &dev2_},
      {"offer", "market_offer", "buyer_account", {{"inscription_id", kIns1}, {"price_credits", "5"}}, &dev2_},
      {"offer/accept", "market_offer_accept", "seller_account", {{"offer_id", oid}}, &dev1_},
      {"offer/cancel", "market_offer_cancel", "buyer_account", {{"offer_id", oid}}, &dev2_},
      {"inscription/transfer",
       "inscription_transfer",
       "from_account",
       {{"inscription_id", kIns2}, {"to_account", dev2_.account_id}},
       &dev1_},
  };
  for (const auto& w : writes) {
    SCOPED_TRACE(w.path);
    json good = Body(*w.key, w.op, w.fields);
    Fails(w.path, json::array(), 400, "invalid_json");
    auto bad_json = Post("/api/marketplace/" + w.path, "{\"nonce\": ");
    EXPECT_EQ(bad_json.status, 400);
    for (const std::string& drop : {w.signer_field, std::string("signature"), std::string("nonce")}) {
      json b = good;
      b.erase(drop);
      Fails(w.path, b, 400, "missing_field");
    }
    json b = good;
    b["signature"] = "zz";
    Fails(w.path, b, 400, "invalid_signature_format");
    b = good;
    b["signature"] = ToHex(Bytes(64, 0x11));
    Fails(w.path, b, 401, "invalid_signature");
    b = good;
    b["colour"] = "red";
    Fails(w.path, b, 400, "unknown_field");
    b = good;
    b[w.signer_field] = "not-an-account";
    Fails(w.path, b, 400, "invalid_account");
    Fails(w.path, Body(*w.key, w.op, w.fields, good["nonce"].get<std::uint64_t>() + 1), 409, "nonce_conflict");
    // Another account's key cannot act for the signer named in the body.
    const TestKey& other = w.key == &dev1_ ? dev2_ : dev1_;
    b = Body(other, w.op, w.fields);
    b[w.signer_field] = w.key->account_id;
    b["nonce"] = NonceOf(*w.key);
    Fails(w.path, b, 401, "invalid_signature");
  }
  // State conflicts and unknown entities, per endpoint.
  Fails("list", Body(dev2_, "market_list", {{"inscription_id", kIns1}, {"price_credits", "5"}}), 409, "not_owner");
  Fails("list", Body(dev1_, "market_list", {{"inscription_id", std::string(64, 'd') + "i0"}, {"price_credits", "5"}}),
        404, "inscription_not_found");
  Fails("list", Body(dev1_, "market_list", {{"asset", "BTC"}, {"amount", "1"}, {"price_credits", "5"}}), 400,
        "not_a_rune");
  Fails("list", Body(dev1_, "market_list", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "1.5"}}), 400,
        "invalid_amount");
  Fails("list",
        Body(dev1_, "market_list", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "5"}, {"expires_at", "1"}}),
        400, "invalid_expiry");
  Fails("buy", Body(dev1_, "market_buy", {{"listing_id", lid}}), 409, "own_listing");
  Fails("buy", Body(dev2_, "market_buy", {{"listing_id", "999"}}), 404, "listing_not_found");
  Fails("cancel", Body(dev1_, "market_cancel", {{"listing_id", "999"}}), 404, "listing_not_found");
  Fails("sweep", Body(dev2_, "market_sweep", {{"asset", "DOG"}, {"max_listings", "51"}, {"max_total_credits", "5"}}),
        400, "invalid_field");
  Fails("offer", Body(dev1_, "market_offer", {{"inscription_id", kIns1}, {"price_credits", "5"}}), 409,
        "own_inscription");
  Fails("offer",
        Body(dev2_, "market_offer", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "9223372036854775807"}}), 409,
        "insufficient_balance");
  Fails("offer/accept", Body(dev1_, "market_offer_accept", {{"offer_id", "999"}}), 404, "offer_not_found");
  Fails("offer/cancel", Body(dev2_, "market_offer_cancel", {{"offer_id", "999"}}), 404, "offer_not_found");
  Fails("inscription/transfer",
        Body(dev2_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", dev1_.account_id}}), 409,
        "not_owner");
  Fails("inscription/transfer",
        Body(dev1_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", dev1_.address}}), 400,
        "self_transfer");
  Fails("inscription/transfer",
        Body(dev1_, "inscription_transfer",
             {{"inscription_id", std::string(64, 'd') + "i0"}, {"to_account", dev2_.address}}),
        404, "inscription_not_found");
  // Reads.
  GetFails("/api/marketplace/listings?type=car", 400, "invalid_field");
  GetFails("/api/marketplace/listings?sort=cheap", 400, "invalid_field");
  GetFails("/api/marketplace/listings?limit=0", 400, "invalid_field");
  GetFails("/api/marketplace/listings?limit=501", 400, "invalid_field");
  GetFails("/api/marketplace/listings?offset=10001", 400, "invalid_field");
  GetFails("/api/marketplace/listings?sort=price&before=3", 400, "invalid_field");
  GetFails("/api/marketplace/listing/0", 400, "invalid_field");
  GetFails("/api/marketplace/listing/abc", 400, "invalid_field");
  GetFails("/api/marketplace/listing/999", 404, "listing_not_found");
  GetFails("/api/marketplace/offer/999", 404, "offer_not_found");
  GetFails("/api/marketplace/offers?before=-1", 400, "invalid_field");
  GetFails("/api/marketplace/inscription/nope", 400, "invalid_inscription_id");
  GetFails("/api/marketplace/inscription/" + std::string(64, 'd') + "i0", 404, "inscription_not_found");
  GetFails("/api/marketplace/user/nobody/listings", 400, "invalid_account");
  GetFails("/api/marketplace/user/" + dev1_.account_id + "/listings?status=gone", 400, "invalid_field");
  GetFails("/api/marketplace/user/" + dev1_.account_id + "/offers?status=sold", 400, "invalid_field");
  GetFails("/api/marketplace/user/" + dev1_.account_id + "/offers?role=spy", 400, "invalid_field");
  GetFails("/api/marketplace/user/" + dev1_.account_id + "/inscriptions?limit=0", 400, "invalid_field");
  auto wrong_method = Get("/api/marketplace/buy");
  EXPECT_EQ(wrong_method.status, 405);
  // Listings of an account that has none: an empty page, not an error.
  EXPECT_TRUE(GetJson("/api/marketplace/user/" + FeeKey().address + "/listings")["listings"].empty());
}

// kray-cli op produces, signs and sends every market operation (the same
// request code as the node), and krayd verify replays the whole history.
TEST_F(MarketNodeTest, CliProducesEveryMarketOperationAndVerifyReplaysThem) {
  auto key_file = [&](const std::string& name, const TestKey& k) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << ToHex(k.secret) << "\n";
    EXPECT_EQ(chmod(path.c_str(), 0600), 0);
    return path;
  };
  std::string k1 = key_file("dev1.key", dev1_), k2 = key_file("dev2.key", dev2_);
  auto cli = [&](const std::string& key, const std::string& args) {
    ShellResult r = RunShell(KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " -keyfile=" + key + " op " +
                             args + " 2>&1");
    EXPECT_EQ(r.rc, 0) << args << ": " << r.out;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j.value("status", ""), "confirmed") << args << ": " << r.out;
    return j.is_object() ? j : json::object();
  };
  json types = json::parse(RunShell(KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " optypes").out);
  std::set<std::string> listed;
  for (const auto& t : types["operations"]) listed.insert(t["op"].get<std::string>());
  for (const char* op : {"market_list", "market_buy", "market_cancel", "market_sweep", "market_offer",
                         "market_offer_accept", "market_offer_cancel", "inscription_transfer"})
    EXPECT_TRUE(listed.count(op)) << op;

  json l1 = cli(k1, "market_list asset=DOG amount=100 price_credits=1000");
  json l2 = cli(k1, "market_list inscription_id=" + kIns1 + " price_credits=3000");
  cli(k2, "market_buy listing_id=" + l1["result"]["listing_id"].get<std::string>());
  cli(k1, "market_cancel listing_id=" + l2["result"]["listing_id"].get<std::string>());
  cli(k1, "market_list asset=DOG amount=10 price_credits=20");
  cli(k1, "market_list asset=DOG amount=10 price_credits=30");
  json swept = cli(k2, "market_sweep asset=DOG max_listings=5 max_total_credits=100");
  EXPECT_EQ(swept["result"]["count"], "2");
  json o1 = cli(k2, "market_offer inscription_id=" + kIns1 + " price_credits=2500");
  cli(k1, "market_offer_accept offer_id=" + o1["result"]["offer_id"].get<std::string>());
  json o2 = cli(k2, "market_offer asset=DOG amount=3 price_credits=9");
  cli(k2, "market_offer_cancel offer_id=" + o2["result"]["offer_id"].get<std::string>());
  TestKey fresh = KeyFromSeed("market-cli-recipient");
  json moved = cli(k2, "inscription_transfer inscription_id=" + kIns1 + " to_account=" + fresh.address);
  EXPECT_EQ(moved["result"]["owner"], fresh.account_id);
  EXPECT_EQ(GetJson("/api/marketplace/inscription/" + kIns1)["owner"], fresh.account_id);
  // An error is one line and changes nothing.
  ShellResult bad = RunShell(KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " -keyfile=" + k1 +
                             " op market_buy listing_id=1 2>&1");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("listing_sold"), std::string::npos) << bad.out;

  json kept = cli(k1, "market_list asset=DOG amount=7 price_credits=70");  // an escrow at the end
  ExpectConservation();
  http_.reset();
  ASSERT_EQ(node_.Stop(), 0);
  stopped_ = true;
  std::string out;
  int rc =
      KraydProcess::RunToExit({"verify", "-datadir=" + datadir_, "-genesis=" + genesis_}, dir_ + "/verify.log", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("verify: OK: 3 batches, 13 operations"), std::string::npos) << out;
  rc = KraydProcess::RunToExit({"checkconservation", "-datadir=" + datadir_}, dir_ + "/cons.log", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("market.listings=7"), std::string::npos) << out;
}

}  // namespace
}  // namespace kray::test
