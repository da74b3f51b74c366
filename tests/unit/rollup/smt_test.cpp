// Sparse Merkle tree: incremental updates vs. full rebuild, proofs, golden roots.
#include "kray/rollup/smt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "kray/crypto/hash.h"
#include "kray/rollup/leaf_rows.h"
#include "kray/rollup/node_store.h"
#include "kray/rollup/rollup.h"
#include "kray/state/leaves.h"
#include "kray/store/database.h"
#include "smt_test_util.h"

namespace kray::rollup {
namespace {

using namespace smt_test;

// Golden roots, computed independently from the encoding in docs/ROLLUP.md
// by a 15-line Python script (hashlib), for key_i = SHA256("key<i>"),
// value_i = SHA256("value<i>").
TEST(SmtTest, GoldenRoots) {
  const std::pair<int, const char*> golden[] = {
      {0, "0000000000000000000000000000000000000000000000000000000000000000"},
      {1, "9fa518c1a2ea4a69f72e6b06df454b4607dc052d8f9c45e627ae66ffe00db1a6"},
      {2, "550d802db2cd83569e51e96eeeafcf457c82f8f92338ce35452faac6e398a35e"},
      {5, "6f776e2bccb00e5cabfd41f412b4712e4092bff7d21fb89395da0d382ef8cb84"},
      {100, "24a77a17d289cf5316a82d081e08fedfd02168995e3d7ec88d61529e4d2144e7"},
  };
  for (auto [n, hex] : golden) {
    MemoryNodeStore store;
    SparseMerkleTree tree(store);
    std::vector<SmtUpdate> ups;
    std::vector<std::pair<Hash256, Hash256>> leaves;
    for (int i = 0; i < n; ++i) {
      ups.push_back({H("key" + std::to_string(i)), H("value" + std::to_string(i))});
      leaves.push_back({H("key" + std::to_string(i)), H("value" + std::to_string(i))});
    }
    ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
    EXPECT_EQ(ToHex(Root(tree)), hex) << n;
    EXPECT_EQ(ToHex(SmtRootOf(leaves)), hex) << n;
  }
}

TEST(SmtTest, SingleLeafIsLeafHash) {
  MemoryNodeStore store;
  SparseMerkleTree tree(store);
  Hash256 k = H("a"), v = H("b");
  ASSERT_TRUE(tree.ApplyUpdates({{k, v}}).ok());
  EXPECT_EQ(Root(tree), SmtLeafHash(k, v));
  ASSERT_TRUE(tree.ApplyUpdates({{k, std::nullopt}}).ok());
  EXPECT_EQ(Root(tree), kEmptyHash);
  EXPECT_EQ(store.size(), 0u);  // deleting the last leaf leaves no node behind
}

// Random insert/update/delete sequences checked against a full rebuild after
// every batch, plus the number of stored nodes (no garbage left behind).
TEST(SmtTest, RandomOperationsMatchFullRebuild) {
  std::mt19937_64 rng(20261124);
  int cases = 0;
  for (int round = 0; round < 40; ++round) {
    MemoryNodeStore store;
    SparseMerkleTree tree(store);
    std::map<Hash256, Hash256> model;
    std::vector<Hash256> universe;
    // Small universes with shared prefixes stress collapsing/splitting.
    int usize = 2 + static_cast<int>(rng() % 200);
    for (int i = 0; i < usize; ++i) {
      Hash256 k = H("r" + std::to_string(round) + "k" + std::to_string(i));
      if (i % 3 == 0 && !universe.empty()) {  // neighbour of an earlier key: long common prefix
        k = universe[rng() % universe.size()];
        k[31] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        k[20 + rng() % 10] ^= static_cast<std::uint8_t>(rng() % 2);
      }
      universe.push_back(k);
    }
    for (int batch = 0; batch < 30; ++batch) {
      std::vector<SmtUpdate> ups;
      int n = 1 + static_cast<int>(rng() % 25);
      for (int i = 0; i < n; ++i) {
        const Hash256& k = universe[rng() % universe.size()];
        ups.push_back(RandomChange(rng, k, 4, model));
      }
      ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
      ASSERT_EQ(Root(tree), NaiveRoot(model)) << "round " << round << " batch " << batch;
      ++cases;
      // Every stored key reads back; a random absent key reads as absent.
      for (int probe = 0; probe < 3; ++probe) {
        const Hash256& k = universe[rng() % universe.size()];
        auto got = tree.Get(k);
        ASSERT_TRUE(got.ok());
        auto it = model.find(k);
        if (it == model.end()) {
          EXPECT_FALSE(got->has_value());
        } else {
          ASSERT_TRUE(got->has_value());
          EXPECT_EQ(**got, it->second);
        }
      }
    }
    // Node count of a compact tree rebuilt from scratch must equal ours.
    MemoryNodeStore fresh;
    SparseMerkleTree rebuilt(fresh);
    std::vector<SmtUpdate> all;
    for (auto& [k, v] : model) all.push_back({k, v});
    ASSERT_TRUE(rebuilt.ApplyUpdates(all).ok());
    EXPECT_EQ(fresh.size(), store.size()) << "stale nodes left in round " << round;
  }
  EXPECT_GE(cases, 1000);
}

TEST(SmtTest, ProofsVerifyAndTamperedProofsFail) {
  MemoryNodeStore store;
  SparseMerkleTree tree(store);
  std::vector<SmtUpdate> ups;
  for (int i = 0; i < 300; ++i) ups.push_back({H("p" + std::to_string(i)), H("v" + std::to_string(i))});
  ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
  Hash256 root = Root(tree);
  for (int i = 0; i < 300; i += 7) {
    Hash256 k = H("p" + std::to_string(i)), v = H("v" + std::to_string(i));
    auto proof = tree.Prove(k);
    ASSERT_TRUE(proof.ok());
    ASSERT_TRUE(proof->Includes());
    EXPECT_TRUE(VerifySmtProof(root, k, v, *proof).ok());
    EXPECT_FALSE(VerifySmtProof(root, k, std::nullopt, *proof).ok());
    EXPECT_FALSE(VerifySmtProof(root, k, H("wrong"), *proof).ok());
    Hash256 other_root = root;
    other_root[0] ^= 1;
    EXPECT_FALSE(VerifySmtProof(other_root, k, v, *proof).ok());
    ASSERT_FALSE(proof->siblings.empty());
    for (std::size_t s = 0; s < proof->siblings.size(); ++s) {
      SmtProof bad = *proof;
      bad.siblings[s][s % 32] ^= 0x40;
      EXPECT_FALSE(VerifySmtProof(root, k, v, bad).ok());
    }
    SmtProof shorter = *proof;
    shorter.siblings.pop_back();
    EXPECT_FALSE(VerifySmtProof(root, k, v, shorter).ok());
    SmtProof flipped = *proof;
    flipped.leaf_value_hash[3] ^= 1;
    EXPECT_FALSE(VerifySmtProof(root, k, v, flipped).ok());
  }
  // Non-inclusion: absent keys prove absent, and cannot be shown present.
  int via_leaf = 0, via_empty = 0;
  for (int i = 0; i < 200; ++i) {
    Hash256 k = H("absent" + std::to_string(i));
    auto proof = tree.Prove(k);
    ASSERT_TRUE(proof.ok());
    ASSERT_FALSE(proof->Includes());
    (proof->terminal_is_leaf ? via_leaf : via_empty)++;
    EXPECT_TRUE(VerifySmtProof(root, k, std::nullopt, *proof).ok());
    EXPECT_FALSE(VerifySmtProof(root, k, H("x"), *proof).ok());
    if (proof->terminal_is_leaf) {
      // Reusing another key's proof for this key must fail.
      SmtProof stolen = *proof;
      stolen.key = proof->leaf_key;
      EXPECT_FALSE(VerifySmtProof(root, k, std::nullopt, stolen).ok());
      EXPECT_FALSE(VerifySmtProof(root, proof->leaf_key, std::nullopt, stolen).ok());
    }
  }
  EXPECT_GT(via_leaf, 0);
  EXPECT_GT(via_empty, 0);
  SmtProof huge;
  huge.siblings.resize(257);
  EXPECT_FALSE(VerifySmtProof(root, huge.key, std::nullopt, huge).ok());
}

TEST(SmtTest, NodePosEncodingRoundTrips) {
  NodePos p = NodePos::Root();
  Hash256 k = H("walk");
  for (int d = 0; d < 256; ++d) {
    auto dec = NodePos::Decode(p.Encode());
    ASSERT_TRUE(dec.has_value());
    EXPECT_EQ(*dec, p);
    p = p.Child(KeyBit(k, d));
  }
  EXPECT_EQ(p.prefix, k);
  EXPECT_FALSE(NodePos::Decode(Bytes{0x01}).has_value());
  EXPECT_FALSE(NodePos::Decode(Bytes{0x01, 0x01}).has_value());        // depth 257
  EXPECT_FALSE(NodePos::Decode(Bytes{0x00, 0x01, 0x40}).has_value());  // bit beyond depth set
}

// The SQLite store (through the write-back cache) gives the same roots, and
// old versions stay readable for historical proofs.
TEST(SmtTest, SqliteVersionedStoreKeepsHistory) {
  auto db = store::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE(MigrateRollupIndex(**db).ok());
  std::mt19937_64 rng(7);
  std::map<Hash256, Hash256> model;
  std::vector<Hash256> roots;
  std::vector<std::map<Hash256, Hash256>> snapshots;
  SqliteNodeStore sql(**db, 0, 0);
  CachedNodeStore cache(&sql);
  for (std::int64_t version = 1; version <= 12; ++version) {
    sql.Reset(**db, version, version);
    SparseMerkleTree tree(cache);
    std::vector<SmtUpdate> ups;
    for (int i = 0; i < 40; ++i) {
      ups.push_back(RandomChange(rng, H("s" + std::to_string(rng() % 120)), 5, model));
    }
    ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
    ASSERT_TRUE(cache.Flush().ok());
    if (version % 4 == 0) cache.Clear();  // force reads from SQLite
    roots.push_back(Root(tree));
    snapshots.push_back(model);
    ASSERT_EQ(roots.back(), NaiveRoot(model));
  }
  for (std::size_t i = 0; i < roots.size(); ++i) {
    SqliteNodeStore past(**db, static_cast<std::int64_t>(i + 1), static_cast<std::int64_t>(i + 1));
    SparseMerkleTree tree(past);
    EXPECT_EQ(Root(tree), roots[i]) << "version " << i + 1;
    for (auto& [k, v] : snapshots[i]) {
      auto proof = tree.Prove(k);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifySmtProof(roots[i], k, v, *proof).ok());
      break;
    }
  }
}

// A backing store that records what the write-back cache writes to it.
class RecordingStore : public NodeStore {
 public:
  Result<Node> Get(const NodePos& pos) override { return memory.Get(pos); }
  Status Put(const NodePos& pos, const Node& node) override {
    writes.push_back(pos);
    return memory.Put(pos, node);
  }
  Status Erase(const NodePos& pos) override {
    writes.push_back(pos);
    erased.push_back(pos);
    return memory.Erase(pos);
  }
  MemoryNodeStore memory;
  std::vector<NodePos> writes, erased;
};

// The position at `depth` on the path of `key`.
NodePos PathPos(const Hash256& key, int depth) {
  NodePos p = NodePos::Root();
  for (int b = 0; b < depth; ++b) p = p.Child(KeyBit(key, b));
  return p;
}

std::vector<NodePos> Sorted(std::vector<NodePos> v) {
  std::sort(v.begin(), v.end(), [](const NodePos& x, const NodePos& y) { return x.Encode() < y.Encode(); });
  return v;
}

// A flush writes each changed node once and nothing that did not change
// since the last flush.
TEST(SmtTest, CacheFlushWritesOnlyChangedNodes) {
  RecordingStore backing;
  CachedNodeStore cache(&backing);
  std::mt19937_64 rng(11);
  std::vector<NodePos> positions;
  for (int i = 0; i < 300; ++i) {
    Hash256 key = H("pos" + std::to_string(i));
    positions.push_back(PathPos(key, static_cast<int>(rng() % 24)));
    ASSERT_TRUE(cache.Put(positions.back(), Node{Node::kLeaf, key, H("v" + std::to_string(i))}).ok());
  }
  ASSERT_TRUE(cache.Flush().ok());
  std::vector<NodePos> expected = Sorted(positions);
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  ASSERT_GT(expected.size(), 250u);
  EXPECT_EQ(Sorted(backing.writes), expected);

  backing.writes.clear();
  ASSERT_TRUE(cache.Flush().ok());
  EXPECT_TRUE(backing.writes.empty()) << "a second flush rewrote clean nodes";

  // The same value again is no change; another value and an erase are, and
  // are written once however often they are repeated. Erasing a position
  // the store does not hold writes nothing.
  auto current = cache.Get(expected[3]);
  ASSERT_TRUE(current.ok());
  ASSERT_TRUE(cache.Put(expected[3], *current).ok());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(cache.Put(expected[7], Node{Node::kLeaf, H("k"), H("new" + std::to_string(round))}).ok());
    ASSERT_TRUE(cache.Erase(expected[1]).ok());
  }
  ASSERT_TRUE(cache.Erase(PathPos(H("absent"), 200)).ok());
  ASSERT_TRUE(cache.Flush().ok());
  EXPECT_EQ(Sorted(backing.writes), Sorted({expected[1], expected[7]}));
  EXPECT_EQ(backing.erased, std::vector<NodePos>{expected[1]});
  auto now = backing.memory.Get(expected[7]);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->b, H("new2"));

  // After Clear() nothing is pending: a flush writes nothing.
  ASSERT_TRUE(cache.Put(expected[9], Node{Node::kLeaf, H("k9"), H("x")}).ok());
  cache.Clear();
  backing.writes.clear();
  ASSERT_TRUE(cache.Flush().ok());
  EXPECT_TRUE(backing.writes.empty());
}

// Pages: a position's page and slot, and the row encoding, which refuses
// anything but its own output.
TEST(SmtTest, PagesGroupFourLevelsAndRoundTrip) {
  Hash256 key = H("page");
  for (int depth = 0; depth <= 40; ++depth) {
    NodePos pos = PathPos(key, depth);
    NodePos root = SqliteNodeStore::PageOf(pos);
    EXPECT_EQ(root, PathPos(key, depth - depth % 4)) << depth;
    int slot = SqliteNodeStore::SlotOf(pos);
    int below = depth % 4, bits = 0;
    for (int i = depth - below; i < depth; ++i) bits = bits * 2 + KeyBit(key, i);
    EXPECT_EQ(slot, (1 << below) - 1 + bits) << depth;
  }
  for (int depth = 250; depth <= 256; ++depth) {  // the last bytes of the prefix
    NodePos pos = PathPos(key, depth);
    EXPECT_EQ(SqliteNodeStore::PageOf(pos), PathPos(key, depth - depth % 4)) << depth;
    EXPECT_LT(SqliteNodeStore::SlotOf(pos), SqliteNodeStore::kPageSlots) << depth;
  }
  EXPECT_EQ(SqliteNodeStore::SlotOf(NodePos::Root()), 0);
  EXPECT_EQ(SqliteNodeStore::SlotOf(NodePos::Root().Child(1).Child(1).Child(1)), 14);
  EXPECT_EQ(SqliteNodeStore::PageOf(NodePos::Root().Child(1).Child(1).Child(1).Child(1)).depth, 4);

  SqliteNodeStore::Page page;
  page.present = (1 << 0) | (1 << 5) | (1 << 14);
  page.slots[0] = Node{Node::kInternal, H("l"), H("r")};
  page.slots[5] = Node{Node::kLeaf, H("k"), H("v")};
  page.slots[14] = Node{Node::kInternal, H("a"), H("b")};
  Bytes blob = SqliteNodeStore::EncodePage(page);
  ASSERT_EQ(blob.size(), 2u + 3 * 65);
  auto back = SqliteNodeStore::DecodePage(blob);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->present, page.present);
  for (int i : {0, 5, 14}) EXPECT_EQ(back->slots[i], page.slots[i]);
  EXPECT_TRUE(SqliteNodeStore::DecodePage(SqliteNodeStore::EncodePage({})).ok());

  Bytes longer = blob, shorter(blob.begin(), blob.end() - 1), past = blob, kind = blob;
  longer.push_back(0);
  past[0] |= 0x80;   // slot 15 does not exist
  kind[2 + 65] = 3;  // slot 5's kind
  for (const Bytes& bad : {longer, shorter, past, kind, Bytes{0x00}})
    EXPECT_FALSE(SqliteNodeStore::DecodePage(bad).ok()) << ToHex(bad);
}

// A write buffer smaller than the pages changed writes part of them early,
// in the same transaction, and reads them back: same roots and history.
TEST(SmtTest, PagesWrittenEarlyReadBackTheSame) {
  auto db = store::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE(MigrateRollupIndex(**db).ok());
  std::mt19937_64 rng(3);
  std::map<Hash256, Hash256> model;
  std::vector<std::map<Hash256, Hash256>> snapshots;
  for (std::int64_t version = 0; version < 5; ++version) {
    SqliteNodeStore sql(**db, version, version, /*max_buffered_pages=*/3);
    CachedNodeStore cache(&sql);
    SparseMerkleTree tree(cache);
    std::vector<SmtUpdate> ups;
    for (int i = 0; i < 200; ++i) {
      ups.push_back(RandomChange(rng, H("e" + std::to_string(rng() % 300)), version > 0 ? 3 : 0, model));
    }
    store::Transaction tx(**db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
    ASSERT_TRUE(cache.Flush().ok());
    ASSERT_TRUE(tx.Commit().ok());
    snapshots.push_back(model);
  }
  for (std::size_t version = 0; version < snapshots.size(); ++version) {
    SqliteNodeStore sql(**db, static_cast<std::int64_t>(version), static_cast<std::int64_t>(version));
    SparseMerkleTree tree(sql);
    Hash256 root = NaiveRoot(snapshots[version]);
    EXPECT_EQ(Root(tree), root) << "version " << version;
    for (int i = 0; i < 300; ++i) {  // every key: present ones and erased ones
      SCOPED_TRACE("version " + std::to_string(version) + " key " + std::to_string(i));
      ExpectProofMatches(tree, root, snapshots[version], H("e" + std::to_string(i)));
    }
  }
}

// Pages kept in memory (SqliteNodeStore::KeepPagesAbove) change nothing in
// what is written: the same updates, over versions, cache clears and a
// rolled-back write, leave the same rows as a store that reads every page
// back from the table.
std::vector<std::tuple<Bytes, std::int64_t, Bytes>> PageRows(store::Database& db) {
  std::vector<std::tuple<Bytes, std::int64_t, Bytes>> rows;
  auto st = db.Prepare("SELECT page, version, nodes FROM rollup_smt_pages ORDER BY page, version");
  EXPECT_TRUE(st.ok());
  if (!st.ok()) return rows;
  EXPECT_TRUE(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
                rows.emplace_back(r.Blob(0), r.Int64(1), r.Blob(2));
                return Ok();
              }).ok());
  return rows;
}

TEST(SmtTest, KeptPagesWriteWhatTheTableWould) {
  std::unique_ptr<store::Database> dbs[2];
  for (auto& db : dbs) {
    auto opened = store::Database::Open(":memory:");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    db = std::move(*opened);
    ASSERT_TRUE(MigrateRollupIndex(*db).ok());
  }
  SqliteNodeStore plain(*dbs[0], 0, 0), kept(*dbs[1], 0, 0);
  kept.KeepPagesAbove(8);  // the pages at depths 0 and 4
  CachedNodeStore plain_cache(&plain), kept_cache(&kept);
  std::mt19937_64 rng(11);
  for (std::int64_t version = 0; version < 10; ++version) {
    SCOPED_TRACE("version " + std::to_string(version));
    const bool roll_back = version == 6;
    std::vector<SmtUpdate> ups;
    std::map<Hash256, Hash256> unused;
    for (int i = 0; i < 60; ++i) ups.push_back(RandomChange(rng, H("k" + std::to_string(rng() % 400)), 4, unused));
    for (int which = 0; which < 2; ++which) {
      SqliteNodeStore& sql = which ? kept : plain;
      CachedNodeStore& cache = which ? kept_cache : plain_cache;
      sql.Reset(*dbs[which], version, version);
      store::Transaction tx(*dbs[which]);
      ASSERT_TRUE(tx.ok());
      SparseMerkleTree tree(cache);
      ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
      ASSERT_TRUE(cache.Flush().ok());
      if (roll_back) {
        tx.Rollback();
        cache.Clear();
        sql.Reset(*dbs[which], version, version);
        sql.ForgetKeptPages();  // what the rollup does when a write fails
      } else {
        ASSERT_TRUE(tx.Commit().ok());
      }
      if (version % 3 == 2) cache.Clear();  // read back through the store
    }
    EXPECT_EQ(PageRows(*dbs[0]), PageRows(*dbs[1]));
  }
  EXPECT_GT(kept.kept_pages(), 1u);
  EXPECT_LE(kept.kept_pages(), 17u);
}

// Subtrees derived from the leaves' rows (SqliteNodeStore::DeriveBelow)
// read as the stored tree would: every version's root and every key's
// proof, through cache clears and from fresh stores at past versions, while
// no page at or below the depth is written.
Bytes Data(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

void WriteLeaf(store::Database& db, LeafHeads& heads, const Hash256& key, std::int64_t version,
               const std::optional<Bytes>& data) {
  auto written = heads.Write(db, key, version, data);
  ASSERT_TRUE(written.ok()) << written.error().message;
}

TEST(SmtTest, DerivedSubtreesReadAsTheStoredTree) {
  for (int derive : {4, 8}) {
    SCOPED_TRACE("derived below depth " + std::to_string(derive));
    auto db = store::Database::Open(":memory:");
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(MigrateRollupIndex(**db).ok());
    InsertRollupState(**db);
    LeafHeads heads;
    SqliteNodeStore sql(**db, 0, 0, /*max_buffered_pages=*/2);
    sql.DeriveBelow(derive);
    sql.KeepPagesAbove(derive);
    CachedNodeStore cache(&sql);
    std::mt19937_64 rng(derive);
    std::map<Hash256, Hash256> model;
    std::vector<std::map<Hash256, Hash256>> snapshots;
    for (std::int64_t version = 0; version < 12; ++version) {
      sql.Reset(**db, version, version);
      std::map<Hash256, std::optional<Bytes>> rows;
      std::vector<SmtUpdate> ups;
      for (int i = 0; i < (version == 0 ? 300 : 50); ++i) {
        Hash256 key = H("d" + std::to_string(rng() % 400));
        if (version > 0 && rng() % 4 == 0) {
          model.erase(key);
          rows[key] = std::nullopt;
          ups.push_back({key, std::nullopt});
        } else {
          Bytes data = Data("value " + std::to_string(rng()));
          model[key] = state::LeafValueHash(data);
          ups.push_back({key, model[key]});
          rows[key] = std::move(data);
        }
      }
      store::Transaction tx(**db);
      ASSERT_TRUE(tx.ok());
      SparseMerkleTree tree(cache);
      ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
      ASSERT_TRUE(cache.Flush().ok());
      for (const auto& [key, data] : rows) WriteLeaf(**db, heads, key, version, data);
      // Heads folded every fourth version (the last one's left above the fold).
      if (version % 4 == 2) FoldHeads(**db, heads, version);
      ASSERT_TRUE(tx.Commit().ok());
      ASSERT_EQ(Root(tree), NaiveRoot(model)) << "version " << version;
      snapshots.push_back(model);
      if (version % 3 == 1) cache.Clear();  // the next updates read the derived nodes back
    }
    for (std::size_t version = 0; version < snapshots.size(); ++version) {
      SqliteNodeStore past(**db, static_cast<std::int64_t>(version), static_cast<std::int64_t>(version));
      past.DeriveBelow(derive);
      SparseMerkleTree tree(past);
      Hash256 root = NaiveRoot(snapshots[version]);
      EXPECT_EQ(Root(tree), root) << "version " << version;
      for (int i = 0; i < 400; ++i) {
        SCOPED_TRACE("version " + std::to_string(version) + " key " + std::to_string(i));
        ExpectProofMatches(tree, root, snapshots[version], H("d" + std::to_string(i)));
      }
    }
    // Pages rooted at `derive` or deeper: none (page = u16be(depth) || prefix).
    const std::string deep = derive == 4 ? "x'0004'" : "x'0008'";
    EXPECT_EQ(CountRows(**db, "SELECT COUNT(*) FROM rollup_smt_pages WHERE page >= " + deep), 0);
    EXPECT_GT(CountRows(**db, "SELECT COUNT(*) FROM rollup_smt_pages"), 0);
  }
}

// A derived subtree is only as good as the leaves' rows: one deleted or
// edited is refused (its subtree no longer hashes to what the stored parent
// holds), never turned into a proof of something else.
TEST(SmtTest, DerivedSubtreeWithoutItsLeafRowIsRefused) {
  auto db = store::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE(MigrateRollupIndex(**db).ok());
  InsertRollupState(**db);
  LeafHeads heads;
  SqliteNodeStore sql(**db, 1, 1);
  sql.DeriveBelow(4);
  std::map<Hash256, Hash256> model;
  std::vector<SmtUpdate> ups;
  for (int i = 0; i < 100; ++i) {
    Bytes data = Data("v" + std::to_string(i));
    Hash256 key = H("x" + std::to_string(i));
    model[key] = state::LeafValueHash(data);
    ups.push_back({key, model[key]});
    WriteLeaf(**db, heads, key, 1, data);
  }
  FoldHeads(**db, heads, 1);  // the heads in rollup_leaf_head, for the edit below
  CachedNodeStore cache(&sql);
  SparseMerkleTree tree(cache);
  ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
  ASSERT_TRUE(cache.Flush().ok());
  const Hash256 root = NaiveRoot(model);
  ASSERT_EQ(Root(tree), root);
  for (const char* edit :
       {"UPDATE rollup_leaf_versions SET data = x'00' WHERE key = ?1", "DELETE FROM rollup_leaf_head WHERE key = ?1"}) {
    SCOPED_TRACE(edit);
    auto st = (*db)->Prepare(edit);
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, H("x7"));
    ASSERT_TRUE(st->Run().ok());
    SqliteNodeStore edited(**db, 1, 1);
    edited.DeriveBelow(4);
    SparseMerkleTree read(edited);
    ASSERT_EQ(Root(read), root);  // the stored top
    auto proof = read.Prove(H("x7"));
    ASSERT_FALSE(proof.ok());
    EXPECT_NE(proof.error().message.find("do not hash to the stored tree"), std::string::npos) << proof.error().message;
    // A leaf elsewhere in the tree is still proven.
    for (int i = 0; i < 100; ++i) {
      Hash256 key = H("x" + std::to_string(i));
      if ((key[0] >> 4) == (H("x7")[0] >> 4)) continue;  // under the same depth-4 subtree
      ExpectProofMatches(read, root, model, key);
      break;
    }
  }
}

// Schemas 004 and 007 drop the pages an index stored below
// kRollupDerivedDepth before (at depth 16 and deeper, then at 12), and keep
// the ones above.
TEST(SmtTest, Schema004DropsThePagesNowDerived) {
  auto db = store::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Migrate("rollup", RollupMigrations().first(3)).ok());
  Bytes empty_page = SqliteNodeStore::EncodePage({});
  for (int depth : {0, 12, 16, 20, 256}) {
    NodePos pos;
    pos.depth = static_cast<std::uint16_t>(depth);
    pos.prefix = H("page");
    pos = SqliteNodeStore::AncestorAt(pos, depth);
    auto st = (*db)->Prepare("INSERT INTO rollup_smt_pages (page, version, nodes) VALUES (?1, 1, ?2)");
    ASSERT_TRUE(st.ok());
    Bytes key = pos.Encode();
    st->BindBlob(1, key).BindBlob(2, empty_page);
    ASSERT_TRUE(st->Run().ok());
  }
  ASSERT_TRUE((*db)->Migrate("rollup", RollupMigrations().first(4)).ok());
  EXPECT_EQ(CountRows(**db, "SELECT COUNT(*) FROM rollup_smt_pages"), 2);  // depths 0 and 12
  EXPECT_EQ(CountRows(**db, "SELECT COUNT(*) FROM rollup_smt_pages WHERE page < x'0010'"), 2);
  // Schema 007 drops the pages at depth 12 as well (kRollupDerivedDepth).
  ASSERT_TRUE(MigrateRollupIndex(**db).ok());
  EXPECT_EQ(CountRows(**db, "SELECT COUNT(*) FROM rollup_smt_pages"), 1);  // depth 0
  EXPECT_EQ(CountRows(**db, "SELECT COUNT(*) FROM rollup_smt_pages WHERE page < x'000c'"), 1);
  static_assert(kRollupDerivedDepth == 12, "a migration must drop the pages the index now derives");
}

// An index written before pages (schema 001: one row per node and version)
// is converted with its whole history: every batch's root and proofs read
// the same afterwards.
class LegacyNodeStore : public NodeStore {
 public:
  LegacyNodeStore(store::Database& db, std::int64_t version) : db_(db), version_(version) {}
  Result<Node> Get(const NodePos& pos) override {
    auto st = db_.Use(
        "SELECT kind, a, b FROM rollup_smt_nodes WHERE pos = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1");
    if (!st.ok()) return std::move(st).error();
    Bytes key = pos.Encode();
    (*st)->BindBlob(1, key).Bind(2, version_);
    auto row = (*st)->Step();
    if (!row.ok()) return std::move(row).error();
    Node n;
    if (*row && (*st)->Int64(0) != 0) {
      n.kind = static_cast<Node::Kind>((*st)->Int64(0));
      Bytes a = (*st)->Blob(1), b = (*st)->Blob(2);
      std::copy(a.begin(), a.end(), n.a.begin());
      std::copy(b.begin(), b.end(), n.b.begin());
    }
    return n;
  }
  Status Put(const NodePos& pos, const Node& node) override {
    auto st = db_.Use("INSERT OR REPLACE INTO rollup_smt_nodes (pos, version, kind, a, b) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st.ok()) return std::move(st).error();
    Bytes key = pos.Encode();
    (*st)->BindBlob(1, key).Bind(2, version_).Bind(3, static_cast<std::int64_t>(node.kind));
    if (node.kind == Node::kEmpty) {
      (*st)->BindNull(4).BindNull(5);
    } else {
      (*st)->BindBlob(4, node.a).BindBlob(5, node.b);
    }
    return (*st)->Run();
  }
  Status Erase(const NodePos& pos) override { return Put(pos, Node{}); }

 private:
  store::Database& db_;
  std::int64_t version_;
};

TEST(SmtTest, NodeRowsOfAnOlderIndexConvertToPagesWithTheirHistory) {
  auto db = store::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  // Schema 001 only, as an index created by an older krayd.
  auto migrations = RollupMigrations();
  ASSERT_TRUE((*db)->Migrate("rollup", migrations.first(1)).ok());
  std::mt19937_64 rng(5);
  std::map<Hash256, Hash256> model;
  std::vector<Hash256> roots;
  std::vector<std::map<Hash256, Hash256>> snapshots;
  for (std::int64_t version = 0; version <= 9; ++version) {
    LegacyNodeStore legacy(**db, version);
    SparseMerkleTree tree(legacy);
    std::vector<SmtUpdate> ups;
    for (int i = 0; i < (version == 0 ? 300 : 60); ++i) {
      ups.push_back(RandomChange(rng, H("c" + std::to_string(rng() % 400)), version > 0 ? 4 : 0, model));
    }
    ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
    roots.push_back(Root(tree));
    snapshots.push_back(model);
    ASSERT_EQ(roots.back(), NaiveRoot(model));
  }
  ASSERT_TRUE(MigrateRollupIndex(**db).ok());
  {
    auto legacy_table = (*db)->Use("SELECT COUNT(*) FROM sqlite_master WHERE name = 'rollup_smt_nodes'");
    ASSERT_TRUE(legacy_table.ok());
    ASSERT_TRUE((*legacy_table)->Step().ok());
    EXPECT_EQ((*legacy_table)->Int64(0), 0) << "the node rows were not dropped";
  }
  for (std::size_t version = 0; version < roots.size(); ++version) {
    SqliteNodeStore pages(**db, static_cast<std::int64_t>(version), static_cast<std::int64_t>(version));
    SparseMerkleTree tree(pages);
    EXPECT_EQ(Root(tree), roots[version]) << "version " << version;
    for (int probe = 0; probe < 400; probe += 7) {
      SCOPED_TRACE("version " + std::to_string(version) + " key " + std::to_string(probe));
      ExpectProofMatches(tree, roots[version], snapshots[version], H("c" + std::to_string(probe)));
    }
  }
  // A second migration finds nothing to convert.
  EXPECT_TRUE(MigrateRollupIndex(**db).ok());
}

}  // namespace
}  // namespace kray::rollup
