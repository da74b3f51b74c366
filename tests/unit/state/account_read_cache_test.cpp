// AccountReadCache: what a reader read from a snapshot older than a commit
// must never be kept; invalidated accounts are read again; memory is bounded.
// The ledger-level test reads while groups commit and checks every read
// against what the caller was already answered.
#include "../../../src/state/account_read_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kray/state/ledger.h"
#include "test_util.h"

namespace kray::state {
namespace {

Account WithNonce(const std::string& id, std::uint64_t nonce) {
  Account a;
  a.account_id = id;
  a.nonce = nonce;
  return a;
}

TEST(AccountReadCache, AReadThatRacedACommitIsNotKept) {
  AccountReadCache cache(1000);
  AccountReadCache::Ticket t;
  ASSERT_FALSE(cache.Find("kray_a", &t));
  // The reader's snapshot predates this commit, which wrote kray_a.
  cache.BeginWrite({"kray_a"});
  cache.EndWrite({"kray_a"});
  cache.Insert(t, WithNonce("kray_a", 1));
  AccountReadCache::Ticket again;
  EXPECT_FALSE(cache.Find("kray_a", &again)) << "kept an account read before a commit that changed it";
  // A read after the commit is kept, and served until the next write.
  cache.Insert(again, WithNonce("kray_a", 2));
  AccountReadCache::Ticket unused;
  auto hit = cache.Find("kray_a", &unused);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->nonce, 2u);
  // From BeginWrite (just before the COMMIT) it is no longer served, and
  // nothing read meanwhile is kept, even with a ticket taken meanwhile.
  cache.BeginWrite({"kray_b", "kray_a", "kray_a"});
  AccountReadCache::Ticket during;
  EXPECT_FALSE(cache.Find("kray_a", &during)) << "served while its write was in flight";
  cache.Insert(during, WithNonce("kray_a", 2));
  EXPECT_FALSE(cache.Find("kray_a", &unused)) << "kept a read made while a write was in flight";
  cache.EndWrite({"kray_b", "kray_a", "kray_a"});
  EXPECT_FALSE(cache.Find("kray_a", &unused));
}

TEST(AccountReadCache, HoldsAtMostItsBound) {
  AccountReadCache cache(64);  // 2 per shard
  std::size_t kept = 0;
  for (int i = 0; i < 1000; ++i) {
    AccountReadCache::Ticket t;
    std::string id = "kray_" + std::to_string(i);
    ASSERT_FALSE(cache.Find(id, &t));
    cache.Insert(t, WithNonce(id, 0));
  }
  for (int i = 0; i < 1000; ++i) {
    AccountReadCache::Ticket t;
    kept += cache.Find("kray_" + std::to_string(i), &t).has_value();
  }
  EXPECT_GT(kept, 0u);
  EXPECT_LE(kept, 64u);
}

// Readers race the sequencer: every balance read after a transfer was
// answered shows at least that transfer (never a cached older state), and
// at the end the cached and stored states agree.
TEST(AccountReadCache, ReadsNeverGoBehindAnAnsweredTransfer) {
  testing::TempDir dir;
  ModuleRegistry registry;
  auto l = Ledger::Open(testing::Options(dir), registry);
  ASSERT_TRUE(l.ok()) << l.error().message;
  Ledger& ledger = **l;
  testing::Key a = testing::Dev1(), b = testing::Dev2();
  // The sender's account row and the recipient's balance row change: both
  // paths by which a group names the accounts it wrote.
  const Amount b_before = ledger.GetAccount(b.account_id)->BalanceOf("KRAY").available;  // cached now
  std::atomic<std::uint64_t> answered{0};                                                // transfers answered so far
  std::atomic<bool> stop{false};
  std::atomic<int> behind{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        std::uint64_t floor = answered.load();
        auto sender = ledger.GetAccount(a.account_id);
        if (!sender.ok() || sender->nonce < floor) ++behind;
        auto recipient = ledger.GetAccount(b.account_id);
        if (!recipient.ok() || recipient->BalanceOf("KRAY").available < b_before + floor) ++behind;
      }
    });
  }
  constexpr int kTransfers = 300;
  for (int i = 0; i < kTransfers; ++i) {
    auto r = testing::Transfer(ledger, a, a.account_id, b.account_id, 1, static_cast<std::uint64_t>(i));
    ASSERT_TRUE(r.ok()) << r.error().message;
    answered = static_cast<std::uint64_t>(i + 1);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(behind, 0);
  EXPECT_EQ(ledger.GetAccount(a.account_id)->nonce, static_cast<std::uint64_t>(kTransfers));
  auto bal = ledger.GetAccount(b.account_id)->BalanceOf("KRAY").available;
  EXPECT_EQ(bal, b_before + kTransfers);
  ASSERT_TRUE(ledger.CheckConservation()->ok);
  // The same account read through a fresh Ledger (no cache) agrees.
  l->reset();
  auto fresh = Ledger::Open(testing::Options(dir), registry);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ((*fresh)->GetAccount(b.account_id)->BalanceOf("KRAY").available, bal);
}

}  // namespace
}  // namespace kray::state
