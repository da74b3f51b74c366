// The key preload (Ledger::Impl::PreloadKeys): every bound key read into the
// signature-check cache after the ledger opens, with its stored point where
// one is (schema/core/004_key_points.sql), and what an edited or missing
// point does.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::Dev1;
using testing::Dev2;
using testing::Key;
using testing::Options;
using testing::TempDir;

const ModuleRegistry& CoreOnly() {
  static const ModuleRegistry r;
  return r;
}

// A store upgraded from before schema core/004: no points, and the fill
// that migration 005 marks still to do.
void AsIfBoundBeforeCore004(const TempDir& dir) {
  auto db = store::Database::Open(dir.file("data") + "/krayd.sqlite");
  ASSERT_TRUE(db.ok());
  ASSERT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'key_points_fill'"), 0);
  ASSERT_TRUE((*db)
                  ->Exec("DELETE FROM key_points; CREATE TABLE key_points_fill (id INTEGER PRIMARY KEY); "
                         "INSERT INTO key_points_fill VALUES (1)")
                  .ok());
}

// Every bound key is read into the signature-check cache after the ledger
// opens, in chunks of 4,096 accounts in account-id order; keyless accounts
// are skipped. Keys from the first and the last chunk verify, each for its
// own account only. Every key has its point: from the genesis, and after
// an upgrade from the one-time fill (two chunks of its own).
TEST(LedgerKeyPreload, EveryBoundKeyIsPreloadedAfterOpenAcrossChunks) {
  constexpr int kKeyed = 4500;
  std::vector<Key> keys;
  keys.reserve(kKeyed);
  std::string j = "{\"chain_id\":\"kray-regtest-1\",\"timestamp\":1764000000,\"accounts\":[";
  for (int i = 0; i < kKeyed; ++i) {
    keys.push_back(testing::KeyFromSeed("preload-" + std::to_string(i)));
    j += std::string(i ? "," : "") + "{\"l1_address\":\"" + keys.back().address + "\",\"pubkey\":\"" +
         ToHex(keys.back().pub) + "\",\"balances\":{\"KRAY\":\"1000\"}}";
  }
  const Key keyless = testing::KeyFromSeed("preload-keyless");
  j += ",{\"l1_address\":\"" + keyless.address + "\",\"balances\":{\"KRAY\":\"5\"}}]}";
  TempDir dir;
  std::ofstream(dir.file("genesis.json")) << j;
  auto preloaded_within_10s = [](const Ledger& ledger) {
    for (int i = 0; i < 1000 && ledger.metrics().keys_preloaded.value() < kKeyed; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return ledger.metrics().keys_preloaded.value();
  };
  for (int open = 0; open < 3; ++open) {  // a first start, a restart, a start after an upgrade
    if (open == 2) {
      ASSERT_NO_FATAL_FAILURE(AsIfBoundBeforeCore004(dir));
    }
    auto ledger = Ledger::Open(Options(dir, dir.file("genesis.json")), CoreOnly());
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    EXPECT_EQ(preloaded_within_10s(**ledger), static_cast<std::uint64_t>(kKeyed));
    auto by_id = [](const Key& x, const Key& y) { return x.account_id < y.account_id; };
    const Key& first = *std::min_element(keys.begin(), keys.end(), by_id);  // first chunk
    const Key& last = *std::max_element(keys.begin(), keys.end(), by_id);   // second chunk
    for (const Key* signer : {&first, &last}) {
      const Key& other = signer == &first ? last : first;
      auto sent = testing::Transfer(**ledger, *signer, signer->account_id, other.account_id, 1, open);
      ASSERT_TRUE(sent.ok()) << sent.error().message;
      // A key preloaded for one account does not sign for another.
      EXPECT_EQ(testing::Transfer(**ledger, other, signer->account_id, other.account_id, 1, open + 1).error().code,
                "invalid_signature");
    }
    EXPECT_EQ((*ledger)->metrics().keys_preloaded_from_points.value(), static_cast<std::uint64_t>(kKeyed));
    auto rep = (*ledger)->CheckConservation();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok) << rep->ToString();
  }
  auto db = store::Database::Open(dir.file("data") + "/krayd.sqlite");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'key_points_fill'"), 0);
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM key_points"), kKeyed);
  for (const Key* k : {&keys.front(), &keys.back()}) {
    auto st = (*db)->Prepare("SELECT y FROM key_points WHERE account_id = ?1");
    ASSERT_TRUE(st.ok());
    st->Bind(1, k->account_id);
    ASSERT_TRUE(*st->Step());
    const auto y = *crypto::EvenY(k->pub);
    EXPECT_EQ(st->Blob(0), Bytes(y.begin(), y.end()));
  }
}

// The stored points are not trusted: with one account's y edited (no longer
// a point with its x) and another's row gone (a key bound before schema
// core/004), both keys are kept as bytes and parsed at first use; each
// still signs for its own account only, and another account's y in the row
// of the first cannot make another key its own.
TEST(LedgerKeyPreload, AnEditedOrMissingPointIsParsedFromTheKeyInstead) {
  TempDir dir;
  const Key a = Dev1(), b = Dev2();
  { ASSERT_TRUE(Ledger::Open(Options(dir), CoreOnly()).ok()); }
  for (const char* edit : {"UPDATE key_points SET y = (SELECT y FROM key_points WHERE account_id = ?2) "
                           "WHERE account_id = ?1",
                           "UPDATE key_points SET y = zeroblob(32) WHERE account_id = ?1",
                           "UPDATE key_points SET y = x'00' WHERE account_id = ?1"}) {
    SCOPED_TRACE(edit);
    {
      auto db = store::Database::Open(dir.file("data") + "/krayd.sqlite");
      ASSERT_TRUE(db.ok());
      auto st = (*db)->Prepare(edit);
      ASSERT_TRUE(st.ok());
      st->Bind(1, a.account_id);
      if (std::string(edit).find("?2") != std::string::npos) st->Bind(2, b.account_id);
      ASSERT_TRUE(st->Run().ok());
      ASSERT_TRUE((*db)->Exec("DELETE FROM key_points WHERE account_id = '" + b.account_id + "'").ok());
    }
    auto ledger = Ledger::Open(Options(dir), CoreOnly());
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    for (int i = 0; i < 1000 && (*ledger)->metrics().keys_preloaded.value() < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ((*ledger)->metrics().keys_preloaded.value(), 2u);
    EXPECT_EQ((*ledger)->metrics().keys_preloaded_from_points.value(), 0u);
    const std::uint64_t nonce = (*ledger)->GetAccount(a.account_id)->nonce;
    EXPECT_EQ(testing::Transfer(**ledger, b, a.account_id, b.account_id, 1, nonce).error().code, "invalid_signature");
    ASSERT_TRUE(testing::Transfer(**ledger, a, a.account_id, b.account_id, 1, nonce).ok());
    const std::uint64_t b_nonce = (*ledger)->GetAccount(b.account_id)->nonce;
    EXPECT_EQ(testing::Transfer(**ledger, a, b.account_id, a.account_id, 1, b_nonce).error().code, "invalid_signature");
    ASSERT_TRUE(testing::Transfer(**ledger, b, b.account_id, a.account_id, 1, b_nonce).ok());
    auto rep = (*ledger)->CheckConservation();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok) << rep->ToString();
  }
}

}  // namespace
}  // namespace kray::state
