// SqliteRunesStore against MemoryRunesStore: the same random runes histories
// (etchings, mints, edicts, splits, cenotaphs, burns) driven through two
// indexes, one per store; after every block and every undo, every read must
// be identical. Plus atomicity inside an outer transaction and durability
// across a reopen.
#include "kray/bridge/runes_store_sqlite.h"

#include <gtest/gtest.h>

#include <random>

#include "kray/bridge/runes_index.h"
#include "kray/store/database.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::bridge {
namespace {

using bitcoin::Block;
using bitcoin::Edict;
using bitcoin::Etching;
using bitcoin::Runestone;
using bitcoin::Terms;
using bitcoin::Transaction;

Bytes P2tr(std::uint8_t tag) {
  Bytes s = {0x51, 0x20};
  s.resize(34, tag);
  return s;
}

std::unique_ptr<store::Database> OpenDb(const std::string& path) {
  auto db = store::Database::Open(path);
  EXPECT_TRUE(db.ok());
  EXPECT_TRUE((*db)->Migrate("bridge_scan", BridgeScanMigrations()).ok());
  return std::move(*db);
}

// Everything a store holds, through its own reads.
// Undo records are left out with max_height 0: pruned ones do not come back
// when a block is undone, so they differ from the historical state.
std::string Dump(RunesStore& s, const std::vector<RuneId>& ids, const std::vector<OutPoint>& outpoints,
                 std::uint32_t max_height) {
  std::string out;
  auto tip = s.Tip();
  out += *tip ? "tip " + std::to_string((*tip)->height) + " " + ToHex((*tip)->hash) + "\n" : "no tip\n";
  auto entries = s.Entries();
  for (const auto& e : *entries) out += bitcoin::RuneIdToString(e.id) + " " + ToHex(SerializeRuneEntry(e)) + "\n";
  for (const auto& id : ids) {
    auto holders = s.Holders(id);
    for (const auto& [o, a] : *holders)
      out += "  " + ToHex(o.txid) + ":" + std::to_string(o.n) + "=" + bitcoin::U128ToString(a) + "\n";
  }
  for (const auto& o : outpoints) {
    auto b = s.Balances(o);
    for (const auto& a : *b) out += "b " + std::to_string(o.n) + " " + bitcoin::U128ToString(a.amount) + "\n";
  }
  for (std::uint32_t h = 1; h <= max_height; ++h) {
    auto u = s.Undo(h);
    if (*u) out += "undo " + std::to_string(h) + " " + ToHex(SerializeRunesBlockUndo(**u)) + "\n";
  }
  return out;
}

TEST(SqliteRunesStore, MatchesTheMemoryStoreThroughRandomHistoriesAndUndo) {
  test::TempDir dir;
  for (std::uint32_t seed : {11u, 12u, 13u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto db = OpenDb(dir.file("runes-" + std::to_string(seed) + ".sqlite"));
    SqliteRunesStore sql(*db);
    MemoryRunesStore mem;
    const RuneId a{10, 1}, b{10, 2};
    RunesIndexOptions o;
    o.runes = {{a, std::nullopt}, {b, std::nullopt}};
    o.max_reorg_depth = 8;
    auto ix_sql = RunesIndex::Make(sql, o, nullptr);
    auto ix_mem = RunesIndex::Make(mem, o, nullptr);
    ASSERT_TRUE(ix_sql.ok() && ix_mem.ok());
    std::mt19937 rng(seed);
    auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
    std::vector<OutPoint> pool, all;
    int fresh = 0;
    Hash256 prev{};
    std::vector<std::string> states;
    for (std::uint32_t height = 10; height < 40; ++height) {
      Block blk;
      blk.header.prev_block = prev;
      blk.header.nonce = height;
      Transaction cb;
      bitcoin::TxIn cin;
      cin.prevout.n = 0xffffffff;
      cin.script_sig = {0x02, static_cast<std::uint8_t>(height), static_cast<std::uint8_t>(seed)};
      cb.vin.push_back(cin);
      cb.vout.push_back({1, P2tr(0xcb)});
      blk.txs.push_back(cb);
      for (std::uint32_t i = 0, n = height == 10 ? 2 : 1 + pick(5); i < n; ++i) {
        Transaction t;
        bitcoin::TxIn in;
        in.prevout.txid[0] = 0xf0;
        in.prevout.txid[1] = static_cast<std::uint8_t>(fresh++);
        in.prevout.txid[2] = static_cast<std::uint8_t>(seed);
        t.vin.push_back(in);
        for (std::uint32_t k = pick(3); k > 0 && !pool.empty(); --k) {
          const std::uint32_t j = pick(static_cast<std::uint32_t>(pool.size()));
          bitcoin::TxIn spend;
          spend.prevout = pool[j];
          t.vin.push_back(spend);
          pool.erase(pool.begin() + j);
        }
        const std::uint32_t nout = 1 + pick(4);
        for (std::uint32_t k = 0; k < nout; ++k) t.vout.push_back({1000, P2tr(static_cast<std::uint8_t>(k))});
        Runestone rs;
        if (height == 10) {
          rs.etching = Etching{};
          rs.etching->premine = i == 0 ? u128{1} << 90 : 1000000;
          rs.etching->terms = Terms{};
          rs.etching->terms->amount = 77;
          rs.etching->terms->cap = 50;
          rs.edicts = {Edict{RuneId{}, pick(1000), pick(nout)}};
        } else {
          const RuneId ids[] = {a, b, RuneId{}};
          for (std::uint32_t e = pick(4); e > 0; --e)
            rs.edicts.push_back(Edict{ids[pick(3)], u128{pick(3) == 0 ? 0u : pick(5000)}, pick(nout + 2)});
          if (pick(2) == 0) rs.mint = pick(2) ? a : b;
        }
        t.vout.push_back({0, bitcoin::EncipherRunestone(rs)});
        const Hash256 txid = bitcoin::Txid(t);
        for (std::uint32_t k = 0; k < nout; ++k) {
          pool.push_back({txid, k});
          all.push_back({txid, k});
        }
        blk.txs.push_back(t);
      }
      std::vector<Hash256> ids;
      for (const auto& t : blk.txs) ids.push_back(bitcoin::Txid(t));
      blk.header.merkle_root = bitcoin::ComputeMerkleRoot(ids);
      ASSERT_TRUE(ix_mem->ConnectBlock(height, blk).ok());
      auto s = ix_sql->ConnectBlock(height, blk);
      ASSERT_TRUE(s.ok()) << s.error().message;
      ASSERT_TRUE(ix_sql->CheckSupply().ok());
      prev = bitcoin::BlockHash(blk.header);
      states.push_back(Dump(sql, {a, b}, all, 0));
      ASSERT_EQ(Dump(sql, {a, b}, all, 60), Dump(mem, {a, b}, all, 60)) << "after block " << height;
    }
    // Undo as far as records are kept (8 blocks), comparing each state.
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(ix_mem->DisconnectTip().ok());
      ASSERT_TRUE(ix_sql->DisconnectTip().ok());
      ASSERT_EQ(Dump(sql, {a, b}, all, 60), Dump(mem, {a, b}, all, 60));
      ASSERT_EQ(Dump(sql, {a, b}, all, 0), states[states.size() - 2 - static_cast<std::size_t>(i)]);
    }
    EXPECT_EQ(ix_sql->DisconnectTip().error().code, "runes_reorg_too_deep");
    // Durable: a new connection reads the same state.
    const std::string before = Dump(sql, {a, b}, all, 60);
    db.reset();
    auto again = OpenDb(dir.file("runes-" + std::to_string(seed) + ".sqlite"));
    SqliteRunesStore reopened(*again);
    EXPECT_EQ(Dump(reopened, {a, b}, all, 60), before);
  }
}

TEST(SqliteRunesStore, WritesInsideAnOuterTransactionRollBackWithIt) {
  test::TempDir dir;
  auto db = OpenDb(dir.file("r.sqlite"));
  SqliteRunesStore s(*db);
  RunesWriteBatch b;
  b.set_tip = true;
  b.tip = IndexedBlock{5, Hash256{1}};
  OutPoint o;
  o.txid[0] = 7;
  b.put_balances = {{o, {{RuneId{5, 1}, (u128{1} << 100) + 3}}}};
  {
    store::Transaction tx(*db);
    ASSERT_TRUE(s.Write(b).ok());
    EXPECT_EQ((*s.Tip())->height, 5u);
    // not committed: rolled back at scope end
  }
  EXPECT_FALSE(s.Tip()->has_value());
  EXPECT_TRUE(s.Balances(o)->empty());
  ASSERT_TRUE(s.Write(b).ok());  // its own transaction
  EXPECT_EQ((*s.Balances(o))[0].amount, (u128{1} << 100) + 3);
  // A corrupt entry blob is an error, never a crash.
  ASSERT_TRUE(db->Exec("INSERT INTO runes_entries (rune_block, rune_tx, entry) VALUES (9, 9, x'00')").ok());
  EXPECT_EQ(s.Entry(RuneId{9, 9}).error().code, "runes_entry_malformed");
}

}  // namespace
}  // namespace kray::bridge
