// The market module on a real ledger: every operation, both legs of every
// trade, the escrow as a conservation term, the inscription registry, and
// the attacks the issue names (docs/MARKET.md).
#include <future>
#include <thread>

#include "kray/core/asset.h"
#include "kray/state/executor.h"
#include "kray/state/leaves.h"
#include "kray/state/tx_message.h"
#include "market_fixture.h"

namespace kray::market::testing {
namespace {

constexpr Amount kKray0 = 1000000000;  // each dev account's genesis KRAY
constexpr Amount kDog0 = 100000000000;

std::string Code(const Result<state::Receipt>& r) {
  return r.ok() ? "ok" : r.error().code;
}

// --- genesis ----------------------------------------------------------------

TEST_F(MarketTest, GenesisSectionRegistersInscriptionsAndTheFee) {
  Inscription i1 = InscriptionNow(kIns1), i2 = InscriptionNow(kIns2), i3 = InscriptionNow(kIns3);
  EXPECT_EQ(i1.owner, a_.account_id);  // named by address
  EXPECT_EQ(i2.owner, a_.account_id);  // named by id
  EXPECT_EQ(i3.owner, b_.account_id);
  EXPECT_EQ(i1.origin, "genesis");  // the default
  EXPECT_EQ(i2.origin, "l1:deadbeef");
  EXPECT_EQ(i2.content_type, "text/plain;charset=utf-8");
  EXPECT_EQ(i1.listing_id, 0u);
  auto config = Read([](store::Database& db) { return LoadConfig(db); });
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->fee_bps, 250u);
  EXPECT_EQ(config->fee_account, fee_.account_id);
  // The fee account named by an address the core allocation did not create
  // exists now (without a key).
  auto fee_acct = ledger_->GetAccount(fee_.account_id);
  ASSERT_TRUE(fee_acct.ok());
  EXPECT_TRUE(fee_acct->pubkey_hex.empty());
  auto owned = Read([&](store::Database& db) { return InscriptionsOf(db, a_.account_id, "", 10); });
  ASSERT_TRUE(owned.ok());
  ASSERT_EQ(owned->size(), 2u);
  EXPECT_EQ((*owned)[0].inscription_id, kIns1);
}

TEST_F(MarketTest, NoSectionMeansNoFeeAndNoConfigLeaf) {
  TempDir other("kray-market-nosection-");
  auto l = state::Ledger::Open(Options(other, WriteGenesis(other, "")), Registry());
  ASSERT_TRUE(l.ok()) << l.error().message;
  Status s = (*l)->WithReader([](store::Database& db) -> Status {
    auto c = LoadConfig(db);
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c->fee_bps, 0u);
    auto leaf = Registry().FindLeafType(kConfigLeaf)->encode(db, "config");
    EXPECT_TRUE(leaf.ok());
    EXPECT_FALSE(leaf->has_value());
    return Ok();
  });
  EXPECT_TRUE(s.ok());
}

TEST(MarketGenesis, BadSectionsAreRefusedNamingTheEntry) {
  TestKey a = test::DevAccount(1);
  std::string good =
      "{\"inscription_id\": \"" + kIns1 + "\", \"owner\": \"" + a.address + "\", \"content_type\": \"x\"}";
  struct Case {
    std::string section, needle;
  } cases[] = {
      {"[]", "object"},
      {"{\"colour\": 1}", "colour"},
      {"{\"fee_bps\": 10001, \"fee_account\": \"" + a.address + "\"}", "fee_bps"},
      {"{\"fee_bps\": -1}", "fee_bps"},
      {"{\"fee_bps\": 5}", "fee_account"},
      {"{\"fee_account\": \"kray_00000000000000000000000000000000\"}", "does not exist"},
      {"{\"fee_account\": \"nope\"}", "fee_account"},
      {"{\"inscriptions\": {}}", "array"},
      {"{\"inscriptions\": [" + good + "," + good + "]}", "duplicate"},
      {"{\"inscriptions\": [{\"inscription_id\": \"" + std::string(64, 'A') + "i0\", \"owner\": \"" + a.address +
           "\", \"content_type\": \"x\"}]}",
       "inscriptions[0]"},
      {"{\"inscriptions\": [{\"inscription_id\": \"" + kIns1 + "\", \"content_type\": \"x\"}]}", "owner"},
      {"{\"inscriptions\": [{\"inscription_id\": \"" + kIns1 + "\", \"owner\": \"" + a.address + "\"}]}",
       "content_type"},
      {"{\"inscriptions\": [{\"inscription_id\": \"" + kIns1 + "\", \"owner\": \"" + a.address +
           "\", \"content_type\": \"x\", \"sat\": 5}]}",
       "sat"},
  };
  for (const auto& c : cases) {
    TempDir dir("kray-market-genesis-");
    auto l = state::Ledger::Open(Options(dir, WriteGenesis(dir, c.section)), Registry());
    ASSERT_FALSE(l.ok()) << c.section;
    EXPECT_EQ(l.error().code, "invalid_genesis") << c.section;
    EXPECT_NE(l.error().message.find(c.needle), std::string::npos) << c.section << " -> " << l.error().message;
  }
}

// --- rune listings ---------------------------------------------------------

TEST_F(MarketTest, ListThenBuyMovesBothLegsAndTheFee) {
  auto listed = Do(a_, "market_list", {{"asset", "DOG"}, {"amount", "1000"}, {"price_credits", "10001"}});
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(listed->op->gas_fee, 10u);  // GasFor(kMarketList)
  EXPECT_EQ(ResultField(*listed, "listing_id"), "1");
  // The escrow left the seller's spendable balance and is the module's term.
  EXPECT_EQ(Avail(a_, "DOG"), kDog0 - 1000);
  EXPECT_EQ(Term("DOG", "market.listings"), 1000u);
  EXPECT_NE(std::find(listed->op->touched.begin(), listed->op->touched.end(), state::LeafId{kListingLeaf, "1"}),
            listed->op->touched.end());
  ExpectConserved();

  auto bought = Do(b_, "market_buy", {{"listing_id", "1"}});
  ASSERT_TRUE(bought.ok()) << bought.error().message;
  EXPECT_EQ(bought->op->gas_fee, 5u);  // GasFor(kMarketBuy)
  // fee = floor(10001 * 250 / 10000) = 250: the seller gets 9751.
  EXPECT_EQ(ResultField(*bought, "fee_credits"), "250");
  EXPECT_EQ(Avail(b_, "KRAY"), kKray0 - 10001 - 5);
  EXPECT_EQ(Avail(b_, "DOG"), kDog0 + 1000);
  EXPECT_EQ(Avail(a_, "KRAY"), kKray0 - 10 + 9751);
  EXPECT_EQ(Avail(a_, "DOG"), kDog0 - 1000);
  EXPECT_EQ(Avail(fee_, "KRAY"), 250u);
  EXPECT_EQ(Term("DOG", "market.listings"), 0u);
  Listing l = ListingNow(1);
  EXPECT_EQ(l.status, ListingStatus::kSold);
  EXPECT_EQ(l.buyer, b_.account_id);
  EXPECT_EQ(l.closed_at, bought->op->timestamp);
  EXPECT_EQ(l.fee_bps, 250u);
}

TEST_F(MarketTest, SoldOrCancelledListingsAreFinal) {
  std::uint64_t sold = ListRune(a_, "DOG", 10, 100);
  std::uint64_t gone = ListRune(a_, "DOG", 20, 200);
  ASSERT_TRUE(Do(b_, "market_buy", {{"listing_id", std::to_string(sold)}}).ok());
  ASSERT_TRUE(Do(a_, "market_cancel", {{"listing_id", std::to_string(gone)}}).ok());
  EXPECT_EQ(Avail(a_, "DOG"), kDog0 - 10);  // the cancelled escrow came back
  std::uint64_t nonce_b = Nonce(b_), nonce_a = Nonce(a_);
  auto again = Do(b_, "market_buy", {{"listing_id", std::to_string(sold)}});
  EXPECT_EQ(Code(again), "listing_sold");
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(Code(Do(b_, "market_buy", {{"listing_id", std::to_string(gone)}})), "listing_cancelled");
  EXPECT_EQ(Code(Do(a_, "market_cancel", {{"listing_id", std::to_string(sold)}})), "listing_sold");
  EXPECT_EQ(Code(Do(a_, "market_cancel", {{"listing_id", std::to_string(gone)}})), "listing_cancelled");
  auto unknown = Do(b_, "market_buy", {{"listing_id", "99"}});
  EXPECT_EQ(Code(unknown), "listing_not_found");
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
  // A refused operation consumes neither nonce nor gas.
  EXPECT_EQ(Nonce(b_), nonce_b);
  EXPECT_EQ(Nonce(a_), nonce_a);
}

TEST_F(MarketTest, NobodyBuysTheirOwnOrCancelsAnothersListing) {
  std::uint64_t id = ListRune(a_, "DOG", 10, 100);
  std::string before = std::to_string(Avail(a_, "KRAY")) + "/" + std::to_string(Avail(b_, "KRAY"));
  EXPECT_EQ(Code(Do(a_, "market_buy", {{"listing_id", std::to_string(id)}})), "own_listing");
  auto theft = Do(b_, "market_cancel", {{"listing_id", std::to_string(id)}});
  EXPECT_EQ(Code(theft), "not_seller");
  EXPECT_EQ(theft.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(ListingNow(id).status, ListingStatus::kActive);
  EXPECT_EQ(std::to_string(Avail(a_, "KRAY")) + "/" + std::to_string(Avail(b_, "KRAY")), before);
}

TEST_F(MarketTest, ListingNeedsTheRunesAndBuyingNeedsPricePlusGas) {
  EXPECT_EQ(
      Code(Do(a_, "market_list", {{"asset", "DOG"}, {"amount", std::to_string(kDog0 + 1)}, {"price_credits", "5"}})),
      "insufficient_balance");
  // A price no account can pay, up to 2^63-1: price + gas overflows u64
  // arithmetic only in 128 bits; the buyer is refused and nothing changes.
  std::uint64_t id = ListRune(a_, "DOG", 1, kMaxAmount);
  std::uint64_t nonce = Nonce(b_);
  auto r = Do(b_, "market_buy", {{"listing_id", std::to_string(id)}});
  EXPECT_EQ(Code(r), "insufficient_balance");
  EXPECT_NE(r.error().message.find("more than 9223372036854775807"), std::string::npos) << r.error().message;
  EXPECT_EQ(Nonce(b_), nonce);
  EXPECT_EQ(Avail(b_, "KRAY"), kKray0);
  // Exactly the balance is not enough: gas is on top.
  std::uint64_t exact = ListRune(a_, "DOG", 1, kKray0);
  EXPECT_EQ(Code(Do(b_, "market_buy", {{"listing_id", std::to_string(exact)}})), "insufficient_balance");
  std::uint64_t fits = ListRune(a_, "DOG", 1, kKray0 - 5);
  ASSERT_EQ(Code(Do(b_, "market_buy", {{"listing_id", std::to_string(fits)}})), "ok");
  EXPECT_EQ(Avail(b_, "KRAY"), 0u);
}

TEST_F(MarketTest, ExpiredListingIsInertUntilTheSellerReclaimsIt) {
  std::int64_t now = ledger_->Now();
  EXPECT_EQ(
      Code(Do(a_, "market_list",
              {{"asset", "DOG"}, {"amount", "5"}, {"price_credits", "9"}, {"expires_at", std::to_string(now - 1)}})),
      "invalid_expiry");
  std::uint64_t id = ListRune(a_, "DOG", 5, 9, now + 2);
  std::uint64_t forever = ListRune(a_, "DOG", 6, 9, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto late = Do(b_, "market_buy", {{"listing_id", std::to_string(id)}});
  EXPECT_EQ(Code(late), "listing_expired");
  EXPECT_EQ(late.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(ListingNow(id).StatusAt(ledger_->Now()), "expired");
  EXPECT_EQ(ListingNow(forever).StatusAt(ledger_->Now()), "active");
  // Still escrowed (the module holds it) until the seller reclaims it.
  EXPECT_EQ(Term("DOG", "market.listings"), 11u);
  EXPECT_EQ(Code(Do(b_, "market_cancel", {{"listing_id", std::to_string(id)}})), "not_seller");
  auto reclaimed = Do(a_, "market_cancel", {{"listing_id", std::to_string(id)}});
  ASSERT_TRUE(reclaimed.ok());
  EXPECT_EQ(ResultField(*reclaimed, "was_expired"), "true");
  EXPECT_EQ(Avail(a_, "DOG"), kDog0 - 6);
  EXPECT_EQ(Term("DOG", "market.listings"), 6u);
}

// --- inscriptions ----------------------------------------------------------

TEST_F(MarketTest, InscriptionEscrowOwnershipAndTransfer) {
  EXPECT_EQ(Code(Do(b_, "market_list", {{"inscription_id", kIns1}, {"price_credits", "5"}})), "not_owner");
  auto unknown = Do(a_, "market_list", {{"inscription_id", std::string(64, 'e') + "i0"}, {"price_credits", "5"}});
  EXPECT_EQ(Code(unknown), "inscription_not_found");
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);

  std::uint64_t id = ListInscription(a_, kIns1, 5000);
  EXPECT_EQ(InscriptionNow(kIns1).listing_id, id);
  // Listed once only; escrowed means it cannot leave either.
  EXPECT_EQ(Code(Do(a_, "market_list", {{"inscription_id", kIns1}, {"price_credits", "1"}})), "inscription_escrowed");
  EXPECT_EQ(Code(Do(a_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", b_.account_id}})),
            "inscription_escrowed");

  auto bought = Do(b_, "market_buy", {{"listing_id", std::to_string(id)}});
  ASSERT_TRUE(bought.ok()) << bought.error().message;
  Inscription now = InscriptionNow(kIns1);
  EXPECT_EQ(now.owner, b_.account_id);
  EXPECT_EQ(now.listing_id, 0u);
  EXPECT_EQ(Avail(a_, "KRAY"), kKray0 - 10 + 5000 - 125);  // 250 bps of 5000
  EXPECT_NE(std::find(bought->op->touched.begin(), bought->op->touched.end(), state::LeafId{kInscriptionLeaf, kIns1}),
            bought->op->touched.end());

  // The former owner cannot move it; the new one can, to an address that has
  // no account yet (created without a key, as a transfer does).
  EXPECT_EQ(Code(Do(a_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", a_.account_id}})),
            "self_transfer");
  EXPECT_EQ(Code(Do(a_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", b_.account_id}})),
            "not_owner");
  TestKey fresh = test::KeyFromSeed("market-inscription-recipient");
  auto moved = Do(b_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", fresh.address}});
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->op->gas_fee, 1u);
  EXPECT_EQ(moved->op->Evidence("to_account_address"), fresh.address);
  EXPECT_EQ(InscriptionNow(kIns1).owner, fresh.account_id);
  EXPECT_TRUE(ledger_->GetAccount(fresh.account_id).ok());
  // To an unknown account id (not an address): 404, nothing created.
  auto nowhere =
      Do(a_, "inscription_transfer", {{"inscription_id", kIns2}, {"to_account", "kray_" + std::string(32, '7')}});
  EXPECT_EQ(Code(nowhere), "account_not_found");
  EXPECT_EQ(InscriptionNow(kIns2).owner, a_.account_id);
}

TEST_F(MarketTest, CancelledInscriptionListingReturnsTheItem) {
  std::uint64_t id = ListInscription(a_, kIns2, 10);
  ASSERT_TRUE(Do(a_, "market_cancel", {{"listing_id", std::to_string(id)}}).ok());
  EXPECT_EQ(InscriptionNow(kIns2).listing_id, 0u);
  EXPECT_EQ(InscriptionNow(kIns2).owner, a_.account_id);
  // It can be listed again, under a new id.
  EXPECT_EQ(ListInscription(a_, kIns2, 11), id + 1);
}

// --- offers ----------------------------------------------------------------

TEST_F(MarketTest, RuneOfferEscrowsThePriceAndAcceptMovesBoth) {
  auto offered = Do(b_, "market_offer", {{"asset", "DOG"}, {"amount", "700"}, {"price_credits", "4000"}});
  ASSERT_TRUE(offered.ok()) << offered.error().message;
  EXPECT_EQ(offered->op->gas_fee, 10u);
  std::string id = ResultField(*offered, "offer_id");
  EXPECT_EQ(id, "1");
  EXPECT_EQ(Avail(b_, "KRAY"), kKray0 - 4000 - 10);
  EXPECT_EQ(Term("KRAY", "market.offers"), 4000u);
  EXPECT_EQ(Code(Do(b_, "market_offer_accept", {{"offer_id", id}})), "own_offer");
  auto accepted = Do(a_, "market_offer_accept", {{"offer_id", id}});
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(accepted->op->gas_fee, 5u);
  EXPECT_EQ(Avail(a_, "DOG"), kDog0 - 700);
  EXPECT_EQ(Avail(b_, "DOG"), kDog0 + 700);
  EXPECT_EQ(Avail(a_, "KRAY"), kKray0 - 5 + 4000 - 100);
  EXPECT_EQ(Avail(fee_, "KRAY"), 100u);
  EXPECT_EQ(Term("KRAY", "market.offers"), 0u);
  EXPECT_EQ(Code(Do(a_, "market_offer_accept", {{"offer_id", id}})), "offer_accepted");
  EXPECT_EQ(Code(Do(b_, "market_offer_cancel", {{"offer_id", id}})), "offer_accepted");
  auto missing = Do(a_, "market_offer_accept", {{"offer_id", "77"}});
  EXPECT_EQ(Code(missing), "offer_not_found");
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

TEST_F(MarketTest, OfferAcceptNeedsTheItem) {
  TestKey poor = test::KeyFromSeed("market-poor");
  ASSERT_TRUE(ledger_
                  ->SubmitSync(*test::SignOperation(ledger_->params(), ledger_->registry(),
                                                    test::TransferRequest(a_.account_id, poor.address, 1000, 0), a_))
                  .ok());
  ASSERT_TRUE(ledger_->SubmitSync(*test::AccountCreate(ledger_->params(), ledger_->registry(), poor)).ok());
  auto offered = Do(b_, "market_offer", {{"asset", "DOG"}, {"amount", "5"}, {"price_credits", "50"}});
  ASSERT_TRUE(offered.ok());
  // Someone holding no DOG cannot accept a DOG offer.
  EXPECT_EQ(Code(Do(poor, "market_offer_accept", {{"offer_id", ResultField(*offered, "offer_id")}})),
            "insufficient_balance");
  // Nor can anyone but the owner accept an inscription offer.
  auto on_ins = Do(b_, "market_offer", {{"inscription_id", kIns1}, {"price_credits", "900"}});
  ASSERT_TRUE(on_ins.ok()) << on_ins.error().message;
  std::string oid = ResultField(*on_ins, "offer_id");
  EXPECT_EQ(Code(Do(poor, "market_offer_accept", {{"offer_id", oid}})), "not_owner");
  // The owner while the inscription is listed: cancel the listing first.
  std::uint64_t lid = ListInscription(a_, kIns1, 2000);
  EXPECT_EQ(Code(Do(a_, "market_offer_accept", {{"offer_id", oid}})), "inscription_escrowed");
  ASSERT_TRUE(Do(a_, "market_cancel", {{"listing_id", std::to_string(lid)}}).ok());
  ASSERT_TRUE(Do(a_, "market_offer_accept", {{"offer_id", oid}}).ok());
  EXPECT_EQ(InscriptionNow(kIns1).owner, b_.account_id);
  // An offer on what you already own, or on nothing, is refused.
  EXPECT_EQ(Code(Do(b_, "market_offer", {{"inscription_id", kIns1}, {"price_credits", "1"}})), "own_inscription");
  EXPECT_EQ(Code(Do(b_, "market_offer", {{"inscription_id", std::string(64, 'f') + "i1"}, {"price_credits", "1"}})),
            "inscription_not_found");
  // An offer needs its price + gas in KRAY.
  EXPECT_EQ(Code(Do(poor, "market_offer", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "991"}})),
            "insufficient_balance");
}

TEST_F(MarketTest, OfferCancelAndExpiry) {
  auto o = Do(b_, "market_offer",
              {{"asset", "DOG"},
               {"amount", "1"},
               {"price_credits", "300"},
               {"expires_at", std::to_string(ledger_->Now() + 2)}});
  ASSERT_TRUE(o.ok()) << o.error().message;
  std::string id = ResultField(*o, "offer_id");
  EXPECT_EQ(Code(Do(a_, "market_offer_cancel", {{"offer_id", id}})), "not_buyer");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(Code(Do(a_, "market_offer_accept", {{"offer_id", id}})), "offer_expired");
  EXPECT_EQ(Term("KRAY", "market.offers"), 300u);
  auto back = Do(b_, "market_offer_cancel", {{"offer_id", id}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ResultField(*back, "was_expired"), "true");
  EXPECT_EQ(Avail(b_, "KRAY"), kKray0 - 10 - 2);
  EXPECT_EQ(Code(Do(b_, "market_offer_cancel", {{"offer_id", id}})), "offer_cancelled");
  EXPECT_EQ(Code(Do(a_, "market_offer_accept", {{"offer_id", id}})), "offer_cancelled");
}

// --- sweep -----------------------------------------------------------------

TEST_F(MarketTest, SweepBuysCheapestPerUnitFirstWithinTheCap) {
  std::uint64_t l1 = ListRune(a_, "DOG", 100, 1000);   // 10 / unit
  std::uint64_t l2 = ListRune(a_, "DOG", 100, 500);    // 5 / unit
  std::uint64_t l3 = ListRune(a_, "DOG", 1000, 8000);  // 8 / unit
  std::uint64_t l4 = ListRune(a_, "DOG", 10, 50);      // 5 / unit, newer than l2
  std::uint64_t own = ListRune(b_, "DOG", 100, 1);     // the buyer's own: skipped
  ASSERT_TRUE(l1 && l2 && l3 && l4 && own);
  // The cheapest (l2, l4, l3) cost 8550; with a cap of 8549 the sweep stops
  // before l3 (the first that would exceed the cap ends it).
  auto capped = Do(b_, "market_sweep", {{"asset", "DOG"}, {"max_listings", "3"}, {"max_total_credits", "8549"}});
  ASSERT_TRUE(capped.ok()) << capped.error().message;
  EXPECT_EQ(capped->op->gas_fee, 20u);
  EXPECT_EQ(ResultField(*capped, "listing_ids"), std::to_string(l2) + "," + std::to_string(l4));
  EXPECT_EQ(ResultField(*capped, "total_price_credits"), "550");
  EXPECT_EQ(ResultField(*capped, "amount"), "110");
  EXPECT_EQ(Avail(b_, "DOG"), kDog0 - 100 + 110);
  // Now l3 is the cheapest; max_listings bounds the count.
  auto counted = Do(b_, "market_sweep", {{"asset", "DOG"}, {"max_listings", "1"}, {"max_total_credits", "100000"}});
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(ResultField(*counted, "listing_ids"), std::to_string(l3));
  EXPECT_EQ(ListingNow(l3).buyer, b_.account_id);
  EXPECT_EQ(ListingNow(l1).status, ListingStatus::kActive);
  // Nothing of another seller fits: 409, nothing changes.
  std::uint64_t nonce = Nonce(b_);
  auto empty = Do(b_, "market_sweep", {{"asset", "DOG"}, {"max_listings", "5"}, {"max_total_credits", "999"}});
  EXPECT_EQ(Code(empty), "sweep_empty");
  EXPECT_EQ(Nonce(b_), nonce);
  // Seller proceeds: 550 + 8000 minus 250 bps of each listing's price.
  EXPECT_EQ(Avail(a_, "KRAY"), kKray0 - 4 * 10 + (500 - 12) + (50 - 1) + (8000 - 200));
  EXPECT_EQ(Term("DOG", "market.listings"), 200u);  // l1 and the buyer's own
}

TEST_F(MarketTest, SweepNeedsTheTotalPlusGas) {
  ListRune(a_, "DOG", 1, kKray0 - 19);
  auto r =
      Do(b_, "market_sweep", {{"asset", "DOG"}, {"max_listings", "1"}, {"max_total_credits", std::to_string(kKray0)}});
  EXPECT_EQ(Code(r), "insufficient_balance");
  ListRune(a_, "DOG", 1, 1);
  // Still refused as a whole: the cheapest-first prefix (1, then kKray0-19)
  // is what the buyer asked for, not whatever fits.
  r = Do(b_, "market_sweep", {{"asset", "DOG"}, {"max_listings", "2"}, {"max_total_credits", std::to_string(kKray0)}});
  EXPECT_EQ(Code(r), "insufficient_balance");
  EXPECT_EQ(Avail(b_, "KRAY"), kKray0);
}

// --- what is signed --------------------------------------------------------

TEST_F(MarketTest, RequestsAreCheckedBeforeAnythingIsQueued) {
  struct Case {
    std::string type;
    FieldList fields;
    std::string code;
  } cases[] = {
      {"market_list",
       {{"asset", "DOG"}, {"amount", "1"}, {"inscription_id", kIns1}, {"price_credits", "1"}},
       "invalid_field"},
      {"market_list", {{"price_credits", "1"}}, "missing_field"},
      {"market_list", {{"asset", "DOG"}, {"price_credits", "1"}}, "missing_field"},
      {"market_list", {{"asset", "DOG"}, {"amount", "1"}}, "missing_field"},
      {"market_list", {{"asset", "KRAY"}, {"amount", "1"}, {"price_credits", "1"}}, "not_a_rune"},
      {"market_list", {{"asset", "BTC"}, {"amount", "1"}, {"price_credits", "1"}}, "not_a_rune"},
      {"market_list", {{"asset", "NOPE"}, {"amount", "1"}, {"price_credits", "1"}}, "unknown_asset"},
      {"market_list", {{"asset", "DOG"}, {"amount", "0"}, {"price_credits", "1"}}, "invalid_amount"},
      {"market_list", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "0"}}, "invalid_amount"},
      {"market_list", {{"asset", "DOG"}, {"amount", "-1"}, {"price_credits", "1"}}, "invalid_amount"},
      {"market_list", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "9223372036854775808"}}, "invalid_amount"},
      {"market_list", {{"inscription_id", kIns1}, {"amount", "1"}, {"price_credits", "1"}}, "invalid_field"},
      {"market_list",
       {{"inscription_id", std::string(64, 'a') + "i01"}, {"price_credits", "1"}},
       "invalid_inscription_id"},
      {"market_list",
       {{"inscription_id", std::string(63, 'a') + "i0"}, {"price_credits", "1"}},
       "invalid_inscription_id"},
      {"market_list", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "1"}, {"colour", "red"}}, "unknown_field"},
      {"market_list",
       {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "1"}, {"expires_at", "x"}},
       "invalid_field"},
      {"market_buy", {{"listing_id", "0"}}, "invalid_field"},
      {"market_buy", {{"listing_id", "01"}}, "invalid_field"},
      {"market_buy", {}, "missing_field"},
      {"market_cancel", {{"listing_id", "abc"}}, "invalid_field"},
      {"market_offer", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "0"}}, "invalid_amount"},
      {"market_offer_accept", {{"offer_id", "0"}}, "invalid_field"},
      {"market_offer_cancel", {}, "missing_field"},
      {"market_sweep", {{"asset", "DOG"}, {"max_listings", "0"}, {"max_total_credits", "1"}}, "invalid_field"},
      {"market_sweep", {{"asset", "DOG"}, {"max_listings", "51"}, {"max_total_credits", "1"}}, "invalid_field"},
      {"market_sweep", {{"asset", "DOG"}, {"max_listings", "1"}, {"max_total_credits", "0"}}, "invalid_amount"},
      {"market_sweep", {{"asset", "KRAY"}, {"max_listings", "1"}, {"max_total_credits", "1"}}, "not_a_rune"},
      {"inscription_transfer", {{"inscription_id", kIns1}, {"to_account", "bob"}}, "invalid_account"},
      {"inscription_transfer",
       {{"inscription_id", "x"}, {"to_account", "kray_" + std::string(32, '1')}},
       "invalid_inscription_id"},
  };
  for (const auto& c : cases) {
    auto op = Signed(*ledger_, a_, c.type, c.fields);
    ASSERT_FALSE(op.ok()) << c.type << " " << c.code;
    EXPECT_EQ(op.error().code, c.code) << c.type << ": " << op.error().message;
    EXPECT_EQ(op.error().kind, ErrorKind::kInvalidInput) << c.type;
  }
  // Operations carry no evidence (a record with some is refused on replay),
  // except a transfer's recipient address, which must name the recipient.
  std::vector<std::pair<std::string, FieldList>> valid = {
      {"market_list", {{"asset", "DOG"}, {"amount", "1"}, {"price_credits", "1"}}},
      {"market_buy", {{"listing_id", "1"}}},
      {"market_cancel", {{"listing_id", "1"}}},
      {"market_sweep", {{"asset", "DOG"}, {"max_listings", "1"}, {"max_total_credits", "1"}}},
      {"market_offer", {{"inscription_id", kIns3}, {"price_credits", "1"}}},
      {"market_offer_accept", {{"offer_id", "1"}}},
      {"market_offer_cancel", {{"offer_id", "1"}}},
      {"inscription_transfer", {{"inscription_id", kIns1}, {"to_account", b_.address}}},
  };
  for (const auto& [type, fields] : valid) {
    auto op = Signed(*ledger_, a_, type, fields);
    ASSERT_TRUE(op.ok()) << type << ": " << op.error().message;
    state::Operation with = *op;
    state::SetField(with.evidence, "note", "x");
    EXPECT_EQ(state::ValidateOperation(ledger_->params(), ledger_->registry(), with).error().code, "invalid_evidence")
        << type;
  }
  auto moved = Signed(*ledger_, a_, "inscription_transfer", {{"inscription_id", kIns1}, {"to_account", b_.address}});
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->Evidence("to_account_address"), b_.address);
  state::SetField(moved->evidence, "to_account_address", test::KeyFromSeed("someone-else").address);
  EXPECT_EQ(state::ValidateOperation(ledger_->params(), ledger_->registry(), *moved).error().code, "invalid_evidence");
}

// The signature covers the listing: a buy signed for one listing cannot be
// pointed at another, and a replay of the same buy is a spent nonce.
TEST_F(MarketTest, ABuySignedForOneListingCannotBuyAnother) {
  std::uint64_t cheap = ListRune(a_, "DOG", 1, 10);
  std::uint64_t dear = ListRune(a_, "DOG", 1000000, 900000);
  auto op = Signed(*ledger_, b_, "market_buy", {{"listing_id", std::to_string(cheap)}});
  ASSERT_TRUE(op.ok());
  state::Operation forged = *op;
  state::SetField(forged.fields, "listing_id", std::to_string(dear));
  ASSERT_TRUE(state::ValidateOperation(ledger_->params(), ledger_->registry(), forged).ok());
  auto r = ledger_->SubmitSync(forged);
  EXPECT_EQ(Code(r), "invalid_signature");
  EXPECT_EQ(r.error().kind, ErrorKind::kUnauthorized);
  EXPECT_EQ(ListingNow(dear).status, ListingStatus::kActive);
  ASSERT_TRUE(ledger_->SubmitSync(*op).ok());
  EXPECT_EQ(Code(ledger_->SubmitSync(*op)), "nonce_conflict");
  // Signed by the seller's key for the buyer's account: not the buyer's key.
  auto stolen = Signed(*ledger_, b_, "market_buy", {{"listing_id", std::to_string(dear)}});
  ASSERT_TRUE(stolen.ok());
  auto msg =
      state::SigningMessageV1(ledger_->params().chain_id, "market_buy", b_.account_id, stolen->nonce, stolen->fields);
  auto sig = crypto::SchnorrSign(a_.secret, msg);
  stolen->signature.assign(sig->begin(), sig->end());
  EXPECT_EQ(Code(ledger_->SubmitSync(*stolen)), "invalid_signature");
}

TEST_F(MarketTest, RacingBuysOfOneListingExactlyOneWins) {
  TestKey c = test::KeyFromSeed("market-racer");
  ASSERT_TRUE(ledger_
                  ->SubmitSync(*test::SignOperation(ledger_->params(), ledger_->registry(),
                                                    test::TransferRequest(a_.account_id, c.address, 50000, 0), a_))
                  .ok());
  ASSERT_TRUE(ledger_->SubmitSync(*test::AccountCreate(ledger_->params(), ledger_->registry(), c)).ok());
  for (int round = 0; round < 5; ++round) {
    std::uint64_t id = ListRune(a_, "DOG", 10, 1000);
    auto ob = Signed(*ledger_, b_, "market_buy", {{"listing_id", std::to_string(id)}});
    auto oc = Signed(*ledger_, c, "market_buy", {{"listing_id", std::to_string(id)}});
    ASSERT_TRUE(ob.ok() && oc.ok());
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    auto buy = [&](state::Operation op) {
      start.wait();
      return ledger_->SubmitSync(std::move(op));
    };
    auto fb = std::async(std::launch::async, buy, *ob);
    auto fc = std::async(std::launch::async, buy, *oc);
    go.set_value();
    auto rb = fb.get(), rc = fc.get();
    EXPECT_NE(rb.ok(), rc.ok()) << Code(rb) << " / " << Code(rc);
    EXPECT_EQ(rb.ok() ? Code(rc) : Code(rb), "listing_sold");
    EXPECT_EQ(ListingNow(id).buyer, rb.ok() ? b_.account_id : c.account_id);
  }
}

// --- audit -----------------------------------------------------------------

TEST_F(MarketTest, AuditCountsEscrowsAndCatchesABrokenRegistry) {
  ListRune(a_, "DOG", 321, 5);
  ListInscription(a_, kIns1, 5);
  ASSERT_TRUE(Do(b_, "market_offer", {{"inscription_id", kIns2}, {"price_credits", "77"}}).ok());
  EXPECT_EQ(Term("DOG", "market.listings"), 321u);
  EXPECT_EQ(Term("KRAY", "market.offers"), 77u);
  ExpectConserved();
  std::string path = ledger_->store_path();
  ledger_.reset();
  auto check = [&](const std::string& sql) {
    auto db = store::Database::Open(path);
    EXPECT_TRUE(db.ok());
    EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
    return state::CheckConservation(**db, Registry());
  };
  // An escrowed rune amount edited behind the node's back breaks conservation.
  auto more = check("UPDATE market_listings SET amount = amount + 1 WHERE listing_id = 1");
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(more->ok) << more->ToString();
  EXPECT_TRUE(check("UPDATE market_listings SET amount = amount - 1 WHERE listing_id = 1")->ok);
  // An inscription released from its listing while the listing stays active.
  auto loose = check("UPDATE market_inscriptions SET listing_id = NULL WHERE inscription_id = '" + kIns1 + "'");
  ASSERT_TRUE(loose.ok()) << loose.error().message;  // a verdict, not a failure to read
  EXPECT_FALSE(loose->ok);
  ASSERT_EQ(loose->violations.size(), 1u);
  EXPECT_NE(loose->violations[0].find("market_items_inconsistent"), std::string::npos) << loose->violations[0];
  EXPECT_NE(loose->ToString().find("invariant VIOLATED"), std::string::npos);
  // ...or handed to someone else while escrowed.
  EXPECT_TRUE(check("UPDATE market_inscriptions SET listing_id = 2 WHERE inscription_id = '" + kIns1 + "'")->ok);
  auto moved =
      check("UPDATE market_inscriptions SET owner = '" + b_.account_id + "' WHERE inscription_id = '" + kIns1 + "'");
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(moved->ok);
  ASSERT_EQ(moved->violations.size(), 1u);
  EXPECT_NE(moved->violations[0].find("market_items_inconsistent"), std::string::npos) << moved->violations[0];
}

// --- committed state -------------------------------------------------------

// The leaf layouts documented in docs/ROLLUP.md, byte for byte.
TEST_F(MarketTest, LeafEncodingsAreTheDocumentedLayouts) {
  std::uint64_t id = ListRune(a_, "DOG", 1000, 10001, 4000000000);
  Listing l = ListingNow(id);
  Bytes expected{0x22};
  state::PutU64(expected, id);
  state::PutLp(expected, a_.account_id);
  expected.push_back(0);  // rune
  state::PutLp(expected, "DOG");
  state::PutU64(expected, 1000);
  state::PutLp(expected, "");
  state::PutU64(expected, 10001);
  state::PutU32(expected, 250);
  state::PutU64(expected, static_cast<std::uint64_t>(l.created_at));
  state::PutU64(expected, 4000000000);
  expected.push_back(0);  // active
  state::PutLp(expected, "");
  state::PutU64(expected, 0);
  Bytes ins{0x21};
  state::PutLp(ins, kIns2);
  state::PutLp(ins, a_.account_id);
  state::PutLp(ins, "text/plain;charset=utf-8");
  state::PutLp(ins, "l1:deadbeef");
  state::PutU64(ins, 0);
  Bytes config{0x20};
  state::PutU32(config, 250);
  state::PutLp(config, fee_.account_id);
  Status s = ledger_->WithReader([&](store::Database& db) -> Status {
    auto got = Registry().FindLeafType(kListingLeaf)->encode(db, std::to_string(id));
    EXPECT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(ToHex(**got), ToHex(expected));
    auto gi = Registry().FindLeafType(kInscriptionLeaf)->encode(db, kIns2);
    EXPECT_EQ(ToHex(**gi), ToHex(ins));
    auto gc = Registry().FindLeafType(kConfigLeaf)->encode(db, "config");
    EXPECT_EQ(ToHex(**gc), ToHex(config));
    // Ids that are not canonical name no leaf.
    EXPECT_FALSE(Registry().FindLeafType(kListingLeaf)->encode(db, "0" + std::to_string(id))->has_value());
    EXPECT_FALSE(Registry().FindLeafType(kOfferLeaf)->encode(db, "1")->has_value());
    return Ok();
  });
  EXPECT_TRUE(s.ok());
  auto offer = Do(b_, "market_offer", {{"inscription_id", kIns1}, {"price_credits", "42"}});
  ASSERT_TRUE(offer.ok());
  Bytes o{0x23};
  state::PutU64(o, 1);
  state::PutLp(o, b_.account_id);
  o.push_back(1);  // inscription
  state::PutLp(o, "");
  state::PutU64(o, 0);
  state::PutLp(o, kIns1);
  state::PutU64(o, 42);
  state::PutU32(o, 250);
  state::PutU64(o, static_cast<std::uint64_t>(offer->op->timestamp));
  state::PutU64(o, 0);
  o.push_back(0);
  state::PutLp(o, "");
  state::PutU64(o, 0);
  s = ledger_->WithReader([&](store::Database& db) -> Status {
    EXPECT_EQ(ToHex(**Registry().FindLeafType(kOfferLeaf)->encode(db, "1")), ToHex(o));
    return Ok();
  });
  EXPECT_TRUE(s.ok());
}

// --- reads -----------------------------------------------------------------

TEST_F(MarketTest, ReadsFilterPageAndSummarise) {
  std::uint64_t l1 = ListRune(a_, "DOG", 100, 3000);  // 30 / unit
  std::uint64_t l2 = ListRune(a_, "DOG", 100, 2000);  // 20 / unit: the floor
  std::uint64_t l3 = ListInscription(a_, kIns1, 500);
  std::uint64_t l4 = ListInscription(a_, kIns2, 600);
  std::uint64_t l5 = ListRune(b_, "DOG", 1, 50);  // 50 / unit
  ASSERT_TRUE(Do(a_, "market_buy", {{"listing_id", std::to_string(l5)}}).ok());
  ASSERT_TRUE(Do(a_, "market_cancel", {{"listing_id", std::to_string(l1)}}).ok());
  std::uint64_t l6 = ListRune(a_, "DOG", 5, 5, ledger_->Now() + 2);
  std::uint64_t l7 = ListRune(a_, "DOG", 1, 30);  // the lowest price, but 30 / unit
  ASSERT_TRUE(Do(b_, "market_offer", {{"inscription_id", kIns1}, {"price_credits", "10"}}).ok());
  ASSERT_TRUE(Do(b_, "market_offer", {{"asset", "DOG"}, {"amount", "3"}, {"price_credits", "11"}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  std::int64_t now = ledger_->Now();
  auto ids = [](const Result<std::vector<Listing>>& r) {
    std::vector<std::uint64_t> out;
    if (r.ok())
      for (const auto& l : *r) out.push_back(l.listing_id);
    return out;
  };
  using V = std::vector<std::uint64_t>;
  ListingQuery active;
  EXPECT_EQ(ids(Read([&](store::Database& db) { return ListListings(db, active, now); })), (V{l7, l4, l3, l2}));
  ListingQuery by_price;
  by_price.order = ListingOrder::kPrice;
  EXPECT_EQ(ids(Read([&](store::Database& db) { return ListListings(db, by_price, now); })), (V{l7, l3, l4, l2}));
  ListingQuery runes;
  runes.kind = ItemKind::kRune;
  EXPECT_EQ(ids(Read([&](store::Database& db) { return ListListings(db, runes, now); })), (V{l7, l2}));
  ListingQuery page;
  page.limit = 2;
  page.before = l4;
  EXPECT_EQ(ids(Read([&](store::Database& db) { return ListListings(db, page, now); })), (V{l3, l2}));
  page.before = 0;
  page.offset = 2;
  EXPECT_EQ(ids(Read([&](store::Database& db) { return ListListings(db, page, now); })), (V{l3, l2}));
  ListingQuery mine;
  mine.seller = a_.account_id;
  for (auto [filter, want] : std::vector<std::pair<StatusFilter, V>>{{StatusFilter::kAll, V{l7, l6, l4, l3, l2, l1}},
                                                                     {StatusFilter::kExpired, V{l6}},
                                                                     {StatusFilter::kCancelled, V{l1}},
                                                                     {StatusFilter::kCompleted, V{}}}) {
    mine.status = filter;
    EXPECT_EQ(ids(Read([&](store::Database& db) { return ListListings(db, mine, now); })), want);
  }
  mine.seller = b_.account_id;
  mine.status = StatusFilter::kCompleted;
  EXPECT_EQ(ids(Read([&](store::Database& db) { return ListListings(db, mine, now); })), (V{l5}));

  OfferQuery made;
  made.buyer = b_.account_id;
  EXPECT_EQ(Read([&](store::Database& db) { return ListOffers(db, made, now); })->size(), 2u);
  OfferQuery received;
  received.owner = a_.account_id;  // owns kIns1: the inscription offer only
  auto rec = Read([&](store::Database& db) { return ListOffers(db, received, now); });
  ASSERT_EQ(rec->size(), 1u);
  EXPECT_EQ((*rec)[0].item.inscription_id, kIns1);

  auto stats = Read([&](store::Database& db) { return GetMarketStats(db, now); });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->listings["rune"]["active"], 2u);
  EXPECT_EQ(stats->listings["rune"]["expired"], 1u);
  EXPECT_EQ(stats->listings["rune"]["sold"], 1u);
  EXPECT_EQ(stats->listings["rune"]["cancelled"], 1u);
  EXPECT_EQ(stats->listings["inscription"]["active"], 2u);
  EXPECT_EQ(stats->offers["inscription"]["active"], 1u);
  EXPECT_EQ(stats->offers["rune"]["accepted"], 0u);
  ASSERT_EQ(stats->volume.size(), 1u);
  EXPECT_EQ(stats->volume[0].kind, "rune");
  EXPECT_EQ(stats->volume[0].trades, 1u);
  EXPECT_EQ(U128String(stats->volume[0].volume), "50");
  ASSERT_EQ(stats->rune_floors.size(), 1u);
  EXPECT_EQ(stats->rune_floors[0].listing_id, l2);
  ASSERT_TRUE(stats->inscription_floor.has_value());
  EXPECT_EQ(stats->inscription_floor->listing_id, l3);
  EXPECT_EQ(stats->config.fee_bps, 250u);
}

// --- pure helpers ------------------------------------------------------------

TEST(MarketMath, FeesUnitPricesAndIds) {
  EXPECT_EQ(FeeFor(10001, 250), 250u);
  EXPECT_EQ(FeeFor(39, 250), 0u);  // rounds down, in the seller's favour
  EXPECT_EQ(FeeFor(kMaxAmount, 10000), kMaxAmount);
  EXPECT_EQ(FeeFor(kMaxAmount, 9999), static_cast<Amount>(static_cast<u128>(kMaxAmount) * 9999 / 10000));
  EXPECT_EQ(FeeFor(kMaxAmount, 0), 0u);
  Listing a, b;
  a.listing_id = 1, a.price = kMaxAmount, a.item.amount = kMaxAmount - 1;  // just over 1 / unit
  b.listing_id = 2, b.price = kMaxAmount - 1, b.item.amount = kMaxAmount - 2;
  EXPECT_TRUE(CheaperPerUnit(a, b));  // (2^63-1)/(2^63-2) < (2^63-2)/(2^63-3)
  EXPECT_FALSE(CheaperPerUnit(b, a));
  b.price = a.price, b.item.amount = a.item.amount;
  EXPECT_TRUE(CheaperPerUnit(a, b));  // a tie goes to the older listing
  EXPECT_EQ(U128String(UnitPrice(2000, 100, 5)), "2000000");
  EXPECT_EQ(U128String(UnitPrice(kMaxAmount, 1, 8)), "922337203685477580700000000");
  EXPECT_EQ(U128String(static_cast<u128>(kMaxAmount) * kMaxAmount), "85070591730234615847396907784232501249");
  EXPECT_TRUE(IsInscriptionId(std::string(64, '0') + "i0"));
  EXPECT_TRUE(IsInscriptionId(std::string(64, 'f') + "i4294967295"));
  for (const std::string& bad : {std::string(64, '0') + "i4294967296", std::string(64, '0') + "i", std::string(64, '0'),
                                 std::string(64, '0') + "i00", std::string(64, 'F') + "i0", std::string(65, '0') + "i0",
                                 std::string(64, '0') + "o0", std::string(64, '0') + "i-1"})
    EXPECT_FALSE(IsInscriptionId(bad)) << bad;
}

TEST(MarketRegistry, TypesAndLeavesAreRegistered) {
  const auto& r = Registry();
  for (const char* op : {"market_list", "market_buy", "market_cancel", "market_sweep", "market_offer",
                         "market_offer_accept", "market_offer_cancel", "inscription_transfer"}) {
    const state::OperationType* t = r.FindOperation(op);
    ASSERT_NE(t, nullptr) << op;
    EXPECT_EQ(t->auth(), state::Auth::kSigned) << op;
    EXPECT_TRUE(t->consumes_nonce()) << op;
  }
  EXPECT_EQ(r.FindOperation("market_list")->gas(), GasFor(TxType::kMarketList));
  EXPECT_EQ(r.FindOperation("market_buy")->gas(), GasFor(TxType::kMarketBuy));
  EXPECT_EQ(r.FindOperation("market_list")->signer_field(), "seller_account");
  EXPECT_EQ(r.FindOperation("market_buy")->signer_field(), "buyer_account");
  for (std::uint8_t leaf : {kConfigLeaf, kInscriptionLeaf, kListingLeaf, kOfferLeaf}) {
    EXPECT_NE(r.FindLeafType(leaf), nullptr);
    EXPECT_GE(leaf, 0x20);
    EXPECT_LE(leaf, 0x2f);
  }
}

}  // namespace
}  // namespace kray::market::testing
