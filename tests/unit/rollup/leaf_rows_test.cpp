// The leaves' preimages kept by version and their heads (leaf_rows.h,
// schema/rollup/005, 006 and 008).
#include "kray/rollup/leaf_rows.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>

#include "kray/rollup/rollup.h"
#include "kray/store/database.h"
#include "smt_test_util.h"

namespace kray::rollup {
namespace {

using smt_test::CountRows;
using smt_test::FoldHeads;
using smt_test::H;
using smt_test::InsertRollupState;

Bytes Data(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

std::unique_ptr<store::Database> OpenIndex() {
  auto db = store::Database::Open(":memory:");
  EXPECT_TRUE(db.ok());
  EXPECT_TRUE(MigrateRollupIndex(**db).ok());
  InsertRollupState(**db);
  return std::move(*db);
}

void Write(store::Database& db, LeafHeads& heads, const Hash256& key, std::int64_t version,
           const std::optional<Bytes>& data) {
  auto written = heads.Write(db, key, version, data);
  ASSERT_TRUE(written.ok()) << written.error().message;
}

// What a read at `version` must return: the newest write <= version.
std::optional<Bytes> Expected(const std::map<std::int64_t, std::optional<Bytes>>& writes, std::int64_t version) {
  auto it = writes.upper_bound(version);
  if (it == writes.begin()) return std::nullopt;
  return std::prev(it)->second;
}

using Writes = std::map<Hash256, std::map<std::int64_t, std::optional<Bytes>>>;

// An index migrated up to schema `n` only (a file an older krayd wrote).
std::unique_ptr<store::Database> OpenIndexAtSchema(std::size_t n) {
  auto db = store::Database::Open(":memory:");
  EXPECT_TRUE(db.ok());
  EXPECT_TRUE((*db)->Migrate("rollup", RollupMigrations().first(n)).ok());
  InsertRollupState(**db, /*open_batch=*/9);  // the tests' rows are at versions 0..8
  return std::move(*db);
}

// After a migration: every head written so far is folded (schema 008), every
// key reads at versions 0..9 as written, and the index goes on writing after
// the migrated rows.
void ExpectEveryVersionReadsAsWritten(store::Database& db, const Writes& writes) {
  EXPECT_EQ(CountRows(db, "SELECT heads_through FROM rollup_state"),
            CountRows(db, "SELECT max(version) FROM rollup_leaf_versions"));
  auto heads = LeafHeads::Load(db);
  ASSERT_TRUE(heads.ok()) << heads.error().message;
  EXPECT_EQ(heads->unfolded_keys(), 0u);
  for (const auto& [key, w] : writes) {
    for (std::int64_t version = 0; version < 10; ++version) {
      auto got = ReadLeafAt(db, key, version);
      ASSERT_TRUE(got.ok()) << got.error().message;
      EXPECT_EQ(*got, Expected(w, version)) << "version " << version;
    }
    Write(db, *heads, key, 9, Data("nine"));
    auto at8 = ReadLeafAt(db, key, 8);
    ASSERT_TRUE(at8.ok());
    EXPECT_EQ(*at8, Expected(w, 8));
  }
}

// Every read of the index against the model: each key at every version
// (ReadLeafAt), and all keys at every version in one range (ReadLeavesIn).
void ExpectReadsMatch(store::Database& db, const Writes& writes, std::int64_t versions) {
  for (std::int64_t version = 0; version < versions; ++version) {
    std::vector<std::pair<Hash256, Bytes>> expected;
    for (const auto& [key, w] : writes) {
      auto want = Expected(w, version);
      auto got = ReadLeafAt(db, key, version);
      ASSERT_TRUE(got.ok()) << got.error().message;
      EXPECT_EQ(*got, want) << "version " << version;
      if (want) expected.emplace_back(key, *want);
    }
    const Bytes low(32, 0x00);
    Bytes below(32, 0xff);
    below.push_back(0);
    auto all = ReadLeavesIn(db, low, below, version);
    ASSERT_TRUE(all.ok()) << all.error().message;
    EXPECT_EQ(*all, expected) << "version " << version;
  }
}

// Keys written at random versions (some deleted, some rewritten within a
// version) read back at every version as the newest write at or below it:
// with the heads folded every third version, after a reload of the heads
// (a restart) and with the last versions above the fold.
TEST(LeafRowsTest, ReadsAtEveryVersionAreTheNewestWriteAtOrBelowIt) {
  auto db = OpenIndex();
  LeafHeads heads;
  std::mt19937_64 rng(7);
  Writes writes;
  for (std::int64_t version = 0; version < 20; ++version) {
    for (int i = 0; i < 30; ++i) {
      Hash256 key = H("k" + std::to_string(rng() % 40));
      std::optional<Bytes> data;
      if (rng() % 5) data = Data("v" + std::to_string(rng()));
      Write(*db, heads, key, version, data);
      writes[key][version] = data;
    }
    if (version % 3 == 2) FoldHeads(*db, heads, version);
    if (version == 10) {  // a restart: the heads above the fold read back from the rows
      auto loaded = LeafHeads::Load(*db);
      ASSERT_TRUE(loaded.ok()) << loaded.error().message;
      EXPECT_EQ(loaded->through(), 8);
      EXPECT_EQ(loaded->unfolded_keys(), heads.unfolded_keys());
      heads = std::move(*loaded);
    }
    if (version == 13) ExpectReadsMatch(*db, writes, 15);  // the open version too
  }
  EXPECT_EQ(heads.through(), 17);
  ExpectReadsMatch(*db, writes, 21);
  std::int64_t folded = 0;
  for (const auto& [key, w] : writes) folded += w.begin()->first <= 17;
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM rollup_leaf_head"), folded);
  std::int64_t rows = 0;
  for (const auto& [key, w] : writes) rows += static_cast<std::int64_t>(w.size());
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM rollup_leaf_versions"), rows);  // one per key and version
  auto none = ReadLeafAt(*db, H("never written"), 5);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// The index thread holds the folded heads in memory (LeafHeads::HeadIndex):
// thousands of keys, many sharing their first two bytes (one bucket of its
// index) or at the ends of the key space, written at the fold position
// first (the genesis version: merged into the index as they come) and then
// above it, folded and reloaded; each new row must name the key's true
// previous version, which every read at every version walks.
TEST(LeafRowsTest, TheHeadsHeldInMemoryNameEachKeysPreviousVersion) {
  auto db = OpenIndex();
  LeafHeads heads;
  FoldHeads(*db, heads, 0);  // as at the genesis: version 0 writes its heads as it goes
  std::vector<Hash256> keys;
  for (int i = 0; i < 6000; ++i) keys.push_back(H("key " + std::to_string(i)));
  for (int i = 0; i < 300; ++i) {
    Hash256 same_bucket = H("bucket " + std::to_string(i));
    same_bucket[0] = 0xab;
    same_bucket[1] = 0xcd;
    keys.push_back(same_bucket);
    Hash256 low{}, high;
    high.fill(0xff);
    low[31] = static_cast<std::uint8_t>(i);
    high[31] = static_cast<std::uint8_t>(i);
    low[30] = high[30] = static_cast<std::uint8_t>(i >> 8);
    keys.push_back(low);
    keys.push_back(high);
  }
  std::mt19937_64 rng(11);
  Writes writes;
  auto write = [&](const Hash256& key, std::int64_t version) {
    std::optional<Bytes> data;
    if (rng() % 7) data = Data(ToHex(key) + " at " + std::to_string(version));
    Write(*db, heads, key, version, data);
    writes[key][version] = data;
  };
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (i % 5) write(keys[i], 0);  // past the 4,096 at which they are merged into the index
  for (std::int64_t version = 1; version <= 12; ++version) {
    for (int n = 0; n < 1500; ++n) write(keys[rng() % keys.size()], version);
    if (version % 4 == 0) FoldHeads(*db, heads, version);
    if (version == 6) {  // a restart: the folded heads read back from rollup_leaf_head
      auto loaded = LeafHeads::Load(*db);
      ASSERT_TRUE(loaded.ok()) << loaded.error().message;
      heads = std::move(*loaded);
    }
  }
  ExpectReadsMatch(*db, writes, 13);
}

// KeysAt: the keys with a row at the newest version written (what the open
// batch has changed, for maxbatchleaves), a rewrite within the version
// counted once, a new version counted from zero, and the open batch's
// count read back by Load.
TEST(LeafRowsTest, KeysAtCountsEachKeysFirstRowAtTheNewestVersion) {
  auto db = OpenIndex();
  auto heads = LeafHeads::Load(*db);
  ASSERT_TRUE(heads.ok());
  EXPECT_EQ(heads->KeysAt(0), 0u);
  Write(*db, *heads, H("k1"), 0, Data("a"));
  Write(*db, *heads, H("k2"), 0, Data("b"));
  FoldHeads(*db, *heads, 0);  // batch 0 closed: batch 1 is open
  Write(*db, *heads, H("k1"), 1, Data("a1"));
  Write(*db, *heads, H("k1"), 1, Data("a2"));    // rewritten: still one key
  Write(*db, *heads, H("k3"), 1, std::nullopt);  // a deletion is a row too
  EXPECT_EQ(heads->KeysAt(1), 2u);
  EXPECT_EQ(heads->KeysAt(0), 0u);  // counted for the newest version only
  auto loaded = LeafHeads::Load(*db);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->KeysAt(1), 2u);
  ASSERT_TRUE(db->Exec("UPDATE rollup_state SET open_batch = 2").ok());
  Write(*db, *loaded, H("k2"), 2, Data("b2"));
  EXPECT_EQ(loaded->KeysAt(2), 1u);
  EXPECT_EQ(loaded->KeysAt(1), 0u);
  auto reloaded = LeafHeads::Load(*db);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_EQ(reloaded->KeysAt(2), 1u);
  EXPECT_EQ(reloaded->KeysAt(1), 0u);  // rows of a closed batch are not the open one's
}

TEST(LeafRowsTest, AWriteOlderThanTheKeysNewestRowIsRefused) {
  auto db = OpenIndex();
  LeafHeads heads;
  Write(*db, heads, H("a"), 5, Data("five"));
  auto older = heads.Write(*db, H("a"), 3, Data("three"));  // its head noted in memory
  ASSERT_FALSE(older.ok());
  EXPECT_NE(older.error().message.find("newer than 3"), std::string::npos) << older.error().message;
  FoldHeads(*db, heads, 5);
  older = heads.Write(*db, H("a"), 4, Data("four"));  // its head in rollup_leaf_head
  ASSERT_FALSE(older.ok());
  EXPECT_NE(older.error().message.find("newer than 4"), std::string::npos) << older.error().message;
  auto got = ReadLeafAt(*db, H("a"), 9);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Data("five"));
}

// A fold covers every version written, never the open batch's successors,
// and records its position.
TEST(LeafRowsTest, AFoldBelowARowWrittenPastTheOpenBatchOrWithoutTheStateRowIsRefused) {
  auto db = OpenIndex();
  LeafHeads heads;
  Write(*db, heads, H("a"), 4, Data("four"));
  auto early = heads.Fold(*db, 3);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message.find("has a row at version 4"), std::string::npos) << early.error().message;
  // A fold position past the open batch (an edit) is refused at load.
  ASSERT_TRUE(db->Exec("UPDATE rollup_state SET heads_through = 5, open_batch = 4").ok());
  auto ahead = LeafHeads::Load(*db);
  ASSERT_FALSE(ahead.ok());
  EXPECT_NE(ahead.error().message.find("heads_through 5 is past the open batch 4"), std::string::npos)
      << ahead.error().message;
  ASSERT_TRUE(db->Exec("UPDATE rollup_state SET heads_through = 4").ok());
  EXPECT_TRUE(LeafHeads::Load(*db).ok());
  ASSERT_TRUE(db->Exec("DELETE FROM rollup_state").ok());
  auto stateless = heads.Fold(*db, 4);
  ASSERT_FALSE(stateless.ok());
  EXPECT_NE(stateless.error().message.find("no rollup_state row"), std::string::npos) << stateless.error().message;
}

// An edited index (a row deleted from the middle of a key's history, a
// head naming itself) is refused at the read that needs it, not misread.
TEST(LeafRowsTest, ABrokenHistoryIsRefusedNotMisread) {
  auto db = OpenIndex();
  LeafHeads heads;
  for (std::int64_t v : {1, 4, 6}) Write(*db, heads, H("a"), v, Data("at " + std::to_string(v)));
  FoldHeads(*db, heads, 6);
  ASSERT_TRUE(db->Exec("DELETE FROM rollup_leaf_versions WHERE version = 4").ok());
  auto at6 = ReadLeafAt(*db, H("a"), 6);  // the head: still read
  ASSERT_TRUE(at6.ok());
  EXPECT_EQ(*at6, Data("at 6"));
  for (std::int64_t v : {2, 4, 5}) {
    auto broken = ReadLeafAt(*db, H("a"), v);
    ASSERT_FALSE(broken.ok()) << v;
    EXPECT_NE(broken.error().message.find("has no row at version 4"), std::string::npos) << broken.error().message;
  }
  // The table's CHECK refuses such a row; an edit can switch it off.
  ASSERT_TRUE(db->Exec("PRAGMA ignore_check_constraints = ON").ok());
  ASSERT_TRUE(db->Exec("UPDATE rollup_leaf_versions SET prev = 6 WHERE version = 6").ok());
  auto loop = ReadLeafAt(*db, H("a"), 5);
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message.find("names a later one"), std::string::npos) << loop.error().message;
  ASSERT_TRUE(db->Exec("UPDATE rollup_leaf_head SET version = 7").ok());  // a head naming no row
  for (std::int64_t v : {5, 9}) {
    auto headless = ReadLeafAt(*db, H("a"), v);
    ASSERT_FALSE(headless.ok()) << v;
    EXPECT_NE(headless.error().message.find("has no row at version 7, which its head names"), std::string::npos)
        << headless.error().message;
  }
  // The index thread reads the heads at its start (a running one holds them).
  auto reloaded = LeafHeads::Load(*db);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  auto write = reloaded->Write(*db, H("a"), 7, Data("seven"));
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.error().message.find("which its head names"), std::string::npos) << write.error().message;
  // A fold position set far back would make each read look in every version
  // since: refused instead.
  ASSERT_TRUE(db->Exec("UPDATE rollup_state SET heads_through = -1").ok());
  ASSERT_TRUE(db->Exec("INSERT INTO rollup_leaf_versions (version, key, data) VALUES (600, x'00', NULL)").ok());
  const Bytes low(32, 0x00), below(33, 0xff);
  auto one = ReadLeafAt(*db, H("a"), 700);
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.error().message.find("versions behind the leaves' rows"), std::string::npos) << one.error().message;
  auto range = ReadLeavesIn(*db, low, below, 700);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message.find("versions behind the leaves' rows"), std::string::npos) << range.error().message;
  ASSERT_TRUE(db->Exec("UPDATE rollup_state SET open_batch = 700").ok());
  auto load = LeafHeads::Load(*db);  // nor every row since read into memory
  ASSERT_FALSE(load.ok());
  EXPECT_NE(load.error().message.find("versions behind the leaves' rows"), std::string::npos) << load.error().message;
}

// A head is the key's newest version only (schema/rollup/006), written at a
// fold (008) for the versions above the fold position and when the version
// changes for those at or below it: rewriting a key within its version
// leaves the head row alone and keeps the version's `prev`.
TEST(LeafRowsTest, AHeadIsTheNewestVersionOnlyWrittenAtAFold) {
  auto db = OpenIndex();
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM pragma_table_info('rollup_leaf_head')"), 2);
  ASSERT_TRUE(db->Exec("CREATE TEMP TABLE head_writes (n INTEGER)").ok());
  ASSERT_TRUE(db->Exec("CREATE TEMP TRIGGER count_head_writes AFTER INSERT ON main.rollup_leaf_head "
                       "BEGIN INSERT INTO head_writes VALUES (1); END")
                  .ok());
  LeafHeads heads;
  Write(*db, heads, H("a"), 1, Data("one"));
  Write(*db, heads, H("a"), 3, Data("three"));
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM head_writes"), 0);  // above the fold: noted only
  EXPECT_EQ(heads.unfolded_keys(), 1u);
  FoldHeads(*db, heads, 3);
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM head_writes"), 1);
  EXPECT_EQ(CountRows(*db, "SELECT heads_through FROM rollup_state"), 3);
  EXPECT_EQ(heads.unfolded_keys(), 0u);
  // At the fold position (an index upgraded with its open batch's rows):
  // rewrites within version 3 make no head write.
  Write(*db, heads, H("a"), 3, Data("three again"));
  Write(*db, heads, H("a"), 3, std::nullopt);
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM head_writes"), 1);
  Write(*db, heads, H("a"), 4, Data("four"));
  Write(*db, heads, H("a"), 4, Data("four"));
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM head_writes"), 1);
  EXPECT_EQ(CountRows(*db, "SELECT version FROM rollup_leaf_head"), 3);
  FoldHeads(*db, heads, 4);
  EXPECT_EQ(CountRows(*db, "SELECT COUNT(*) FROM head_writes"), 2);
  EXPECT_EQ(CountRows(*db, "SELECT version FROM rollup_leaf_head"), 4);
  EXPECT_EQ(CountRows(*db, "SELECT prev FROM rollup_leaf_versions WHERE version = 3"), 1);
  EXPECT_EQ(CountRows(*db, "SELECT prev FROM rollup_leaf_versions WHERE version = 4"), 3);
  const std::pair<std::int64_t, std::optional<Bytes>> expected[] = {
      {0, std::nullopt}, {1, Data("one")}, {2, Data("one")}, {3, std::nullopt}, {4, Data("four")}, {9, Data("four")}};
  for (const auto& [version, data] : expected) {
    auto got = ReadLeafAt(*db, H("a"), version);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, data) << "version " << version;
  }
}

// Schema 006 keeps of each head the version only, and every version reads
// as before.
TEST(LeafRowsTest, Schema006KeepsWhatEveryVersionRead) {
  auto opened = OpenIndexAtSchema(5);
  store::Database& db = *opened;
  // The schema-005 layout, as its writer left it: each key's rows chained by
  // `prev`, its head a copy of the newest one.
  Writes writes;
  std::mt19937_64 rng(13);
  for (int k = 0; k < 20; ++k) {
    const Hash256 key = H("h" + std::to_string(k));
    std::optional<std::int64_t> prev;
    std::optional<Bytes> data;
    for (std::int64_t version = 0; version < 8; ++version) {
      if (rng() % 3 == 0) continue;
      data.reset();
      if (rng() % 4) data = Data("d" + std::to_string(rng()));
      auto st = db.Prepare("INSERT INTO rollup_leaf_versions (version, key, data, prev) VALUES (?1, ?2, ?3, ?4)");
      ASSERT_TRUE(st.ok());
      st->Bind(1, version).BindBlob(2, key);
      data ? st->BindBlob(3, *data) : st->BindNull(3);
      prev ? st->Bind(4, *prev) : st->BindNull(4);
      ASSERT_TRUE(st->Run().ok());
      writes[key][version] = data;
      prev = version;
    }
    if (!prev) continue;
    auto head = db.Prepare(
        "INSERT INTO rollup_leaf_head (key, version, data, prev) SELECT key, version, data, prev "
        "FROM rollup_leaf_versions WHERE key = ?1 AND version = ?2");
    ASSERT_TRUE(head.ok());
    head->BindBlob(1, key).Bind(2, *prev);
    ASSERT_TRUE(head->Run().ok());
  }
  ASSERT_TRUE(MigrateRollupIndex(db).ok());
  EXPECT_EQ(CountRows(db, "SELECT COUNT(*) FROM pragma_table_info('rollup_leaf_head')"), 2);
  EXPECT_EQ(CountRows(db, "SELECT COUNT(*) FROM rollup_leaf_head"), static_cast<std::int64_t>(writes.size()));
  ExpectEveryVersionReadsAsWritten(db, writes);
}

// Schema 005 moves an index's rows, kept by key before, into the table
// kept by version and the heads, with every version reading as before.
TEST(LeafRowsTest, Schema005KeepsWhatEveryVersionRead) {
  auto opened = OpenIndexAtSchema(4);
  store::Database& db = *opened;
  Writes writes;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    Hash256 key = H("m" + std::to_string(rng() % 25));
    std::int64_t version = static_cast<std::int64_t>(rng() % 9);
    std::optional<Bytes> data;
    if (rng() % 4) data = Data("d" + std::to_string(rng()));
    auto st = db.Prepare("INSERT OR REPLACE INTO rollup_leaf_data (key, version, data) VALUES (?1, ?2, ?3)");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, key).Bind(2, version);
    if (data)
      st->BindBlob(3, *data);
    else
      st->BindNull(3);
    ASSERT_TRUE(st->Run().ok());
    writes[key][version] = data;
  }
  ASSERT_TRUE(MigrateRollupIndex(db).ok());
  EXPECT_EQ(CountRows(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'rollup_leaf_data'"), 0);
  ExpectEveryVersionReadsAsWritten(db, writes);
}

}  // namespace
}  // namespace kray::rollup
