// A ledger running the market module on the regtest genesis plus a "market"
// section (fee 250 bps to a fee account, three inscriptions), with helpers
// that sign and submit marketplace operations the way wallets do
// (state::BuildOperation, the one signing rule).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "kray/market/market.h"
#include "kray/market/reads.h"
#include "kray/state/conservation.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::market::testing {

using test::TempDir;
using test::TestKey;

// Inscription ids allocated by the test genesis: two to dev 1, one to dev 2.
inline const std::string kIns1 = std::string(64, 'a') + "i0";
inline const std::string kIns2 = std::string(64, 'b') + "i7";
inline const std::string kIns3 = std::string(64, 'c') + "i0";

inline const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(MarketModule()).ok());
    return reg;
  }();
  return r;
}

inline TestKey FeeKey() {
  return test::KeyFromSeed("market-fee-collector");
}

// The market section of the test genesis (JSON text).
inline std::string MarketSection() {
  TestKey a = test::DevAccount(1), b = test::DevAccount(2);
  return "{\"fee_bps\": 250, \"fee_account\": \"" + FeeKey().address +
         "\", \"inscriptions\": ["
         "{\"inscription_id\": \"" +
         kIns1 + "\", \"owner\": \"" + a.address +
         "\", \"content_type\": \"image/png\"},"
         "{\"inscription_id\": \"" +
         kIns2 + "\", \"owner\": \"" + a.account_id +
         "\", \"content_type\": \"text/plain;charset=utf-8\", \"origin\": \"l1:deadbeef\"},"
         "{\"inscription_id\": \"" +
         kIns3 + "\", \"owner\": \"" + b.address + "\", \"content_type\": \"image/webp\"}]}";
}

// The regtest genesis with `section` as its "market" key ("" = none).
inline std::string WriteGenesis(const TempDir& dir, const std::string& section, const std::string& name = "g.json") {
  std::ifstream in(test::RegtestGenesisPath());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (!section.empty()) text.insert(text.rfind('}'), ",\n  \"market\": " + section + "\n");
  std::ofstream(dir.file(name)) << text;
  return dir.file(name);
}

inline state::LedgerOptions Options(const TempDir& dir, const std::string& genesis) {
  state::LedgerOptions o;
  o.datadir = dir.file("data");
  o.genesis_path = genesis;
  o.synchronous = "NORMAL";
  return o;
}

using FieldList = std::vector<std::pair<std::string, std::string>>;

// A signed request of `type` by `key` at its next nonce (or `nonce`).
inline Result<state::Operation> Signed(state::Ledger& ledger, const TestKey& key, const std::string& type,
                                       FieldList fields, std::optional<std::uint64_t> nonce = std::nullopt) {
  state::OperationRequest r;
  r.type = type;
  r.signer = key.account_id;
  if (!nonce) {
    auto a = ledger.GetAccount(key.account_id);
    if (!a.ok()) return std::move(a).error();
    nonce = a->nonce;
  }
  r.nonce = *nonce;
  r.fields = std::move(fields);
  return test::SignOperation(ledger.params(), ledger.registry(), r, key);
}

inline Result<state::Receipt> Submit(state::Ledger& ledger, const TestKey& key, const std::string& type,
                                     FieldList fields) {
  auto op = Signed(ledger, key, type, std::move(fields));
  if (!op.ok()) return std::move(op).error();
  return ledger.SubmitSync(std::move(*op));
}

inline std::string ResultField(const state::Receipt& r, const std::string& key) {
  return std::string(state::FindField(r.result, key).value_or(""));
}

class MarketTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(MarketSection()); }
  void TearDown() override {
    if (ledger_) ExpectConserved();
  }

  void Open(const std::string& section) {
    ledger_.reset();
    auto l = state::Ledger::Open(Options(dir_, WriteGenesis(dir_, section)), Registry());
    ASSERT_TRUE(l.ok()) << l.error().code << ": " << l.error().message;
    ledger_ = std::move(*l);
  }

  void ExpectConserved() {
    auto rep = ledger_->CheckConservation();
    ASSERT_TRUE(rep.ok()) << rep.error().code << ": " << rep.error().message;
    EXPECT_TRUE(rep->ok) << rep->ToString();
  }
  // The module's term for `asset` in the conservation report (0 if none).
  Amount Term(const std::string& asset, const std::string& name) {
    auto rep = ledger_->CheckConservation();
    EXPECT_TRUE(rep.ok());
    for (const auto& l : rep->lines)
      if (l.asset == asset) {
        auto it = l.extra.find(name);
        return it == l.extra.end() ? 0 : it->second;
      }
    return 0;
  }

  Amount Avail(const TestKey& k, const std::string& asset) {
    auto a = ledger_->GetAccount(k.account_id);
    return a.ok() ? a->BalanceOf(asset).available : 0;
  }
  std::uint64_t Nonce(const TestKey& k) { return ledger_->GetAccount(k.account_id)->nonce; }

  Result<state::Receipt> Do(const TestKey& k, const std::string& type, FieldList fields) {
    return Submit(*ledger_, k, type, std::move(fields));
  }
  // A rune listing by `k`; returns its id (0 on failure).
  std::uint64_t ListRune(const TestKey& k, const std::string& asset, Amount amount, Amount price,
                         std::int64_t expires_at = 0) {
    auto r = Do(k, "market_list",
                {{"asset", asset},
                 {"amount", std::to_string(amount)},
                 {"price_credits", std::to_string(price)},
                 {"expires_at", std::to_string(expires_at)}});
    EXPECT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    return r.ok() ? std::stoull(ResultField(*r, "listing_id")) : 0;
  }
  std::uint64_t ListInscription(const TestKey& k, const std::string& id, Amount price) {
    auto r = Do(k, "market_list", {{"inscription_id", id}, {"price_credits", std::to_string(price)}});
    EXPECT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    return r.ok() ? std::stoull(ResultField(*r, "listing_id")) : 0;
  }

  template <class F>
  auto Read(F fn) -> decltype(fn(std::declval<store::Database&>())) {
    using R = decltype(fn(std::declval<store::Database&>()));
    std::optional<R> out;
    Status s = ledger_->WithReader([&](store::Database& db) -> Status {
      out.emplace(fn(db));
      return Ok();
    });
    EXPECT_TRUE(s.ok());
    return std::move(*out);
  }
  Inscription InscriptionNow(const std::string& id) {
    auto i = Read([&](store::Database& db) { return FindInscription(db, id); });
    EXPECT_TRUE(i.ok() && i->has_value());
    return i.ok() && i->has_value() ? **i : Inscription{};
  }
  Listing ListingNow(std::uint64_t id) {
    auto l = Read([&](store::Database& db) { return FindListing(db, id); });
    EXPECT_TRUE(l.ok() && l->has_value());
    return l.ok() && l->has_value() ? **l : Listing{};
  }

  TempDir dir_{"kray-market-test-"};
  std::unique_ptr<state::Ledger> ledger_;
  TestKey a_ = test::DevAccount(1), b_ = test::DevAccount(2), fee_ = FeeKey();
};

}  // namespace kray::market::testing
