// NodeMap (the in-memory layout of the tree's nodes) against a plain map, at
// every kind of depth it treats apart; trees whose keys share long prefixes;
// the keys a tree update reports as changed.
#include "kray/rollup/node_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "kray/rollup/node_store.h"
#include "smt_test_util.h"

namespace kray::rollup {
namespace {

using namespace smt_test;

// The position of `key`'s path at `depth`.
NodePos PathAt(const Hash256& key, int depth) {
  NodePos pos = NodePos::Root();
  for (int i = 0; i < depth; ++i) pos = pos.Child(KeyBit(key, i));
  return pos;
}

// `key` with bit `i` flipped: the two share exactly i leading bits.
Hash256 FlipBit(Hash256 key, int i) {
  key[static_cast<std::size_t>(i / 8)] ^= static_cast<std::uint8_t>(0x80 >> (i % 8));
  return key;
}

// Keys in families sharing 0 to 255 leading bits, so that nodes sit above,
// at and below NodeMap's top depth and past its bucket keys (depth > 72).
std::vector<Hash256> CloseKeys() {
  std::vector<Hash256> keys;
  for (int f = 0; f < 6; ++f) {
    const Hash256 base = H("family" + std::to_string(f));
    keys.push_back(base);
    for (int bit : {3, 15, 16, 17, 40, 71, 72, 73, 100, 200, 255}) keys.push_back(FlipBit(base, bit));
  }
  return keys;
}

using ModelKey = std::tuple<int, Hash256>;  // depth, prefix

// Random insertions, overwrites, erasures and lookups of the positions of
// `keys` at `depths`, each checked against a plain map, then every position
// touched looked up again. Returns the positions touched; `model` ends as
// what the map holds.
std::vector<NodePos> CheckAgainstAPlainMap(NodeMap<std::uint64_t>& map, std::map<ModelKey, std::uint64_t>& model,
                                           const std::vector<Hash256>& keys, const std::vector<int>& depths, int rounds,
                                           std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<NodePos> seen;
  for (int round = 0; round < rounds; ++round) {
    const Hash256& key = keys[rng() % keys.size()];
    const NodePos pos = PathAt(key, depths[rng() % depths.size()]);
    const ModelKey mk{pos.depth, pos.prefix};
    seen.push_back(pos);
    switch (rng() % 3) {
      case 0: {  // insert or overwrite
        const std::uint64_t v = rng();
        auto [slot, inserted] = map.TryEmplace(pos);
        EXPECT_EQ(inserted, !model.contains(mk));
        if (!inserted) {
          EXPECT_EQ(*slot, model[mk]);
        }
        *slot = v;
        model[mk] = v;
        break;
      }
      case 1:  // erase
        EXPECT_EQ(map.Erase(pos), model.erase(mk) == 1);
        break;
      default: {  // find
        const std::uint64_t* found = map.Find(pos);
        auto it = model.find(mk);
        EXPECT_EQ(found != nullptr, it != model.end());
        if (found && it != model.end()) {
          EXPECT_EQ(*found, it->second);
        }
      }
    }
    EXPECT_EQ(map.size(), model.size());
  }
  for (const NodePos& pos : seen) {
    auto it = model.find(ModelKey{pos.depth, pos.prefix});
    const std::uint64_t* found = map.Find(pos);
    EXPECT_EQ(found != nullptr, it != model.end());
    if (found && it != model.end()) {
      EXPECT_EQ(*found, it->second);
    }
  }
  return seen;
}

TEST(NodeMapTest, MatchesAPlainMapAtEveryDepth) {
  NodeMap<std::uint64_t> map;
  std::map<ModelKey, std::uint64_t> model;
  const auto seen = CheckAgainstAPlainMap(map, model, CloseKeys(),
                                          {0, 1, 8, 15, 16, 17, 30, 71, 72, 73, 74, 100, 199, 200, 255, 256}, 20000, 7);
  EXPECT_GT(model.size(), 100u);
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  for (const NodePos& pos : seen) EXPECT_EQ(map.Find(pos), nullptr);
  *map.TryEmplace(seen.front()).first = 5;
  EXPECT_EQ(*map.Find(seen.front()), 5u);
}

// Keys ground to share their first 16 bits: all in one bucket.
std::vector<Hash256> OneBucketKeys(int n) {
  std::vector<Hash256> keys;
  for (int i = 0; i < n; ++i) {
    Hash256 k = H("ground" + std::to_string(i));
    k[0] = 0xab;
    k[1] = 0xcd;
    keys.push_back(k);
  }
  return keys;
}

// Past its bound a bucket's positions go to the hash map, and are still
// found, overwritten and erased there, as are those it kept.
TEST(NodeMapTest, ABucketPastItsBoundSpills) {
  NodeMap<std::uint64_t> map;
  std::map<ModelKey, std::uint64_t> model;
  CheckAgainstAPlainMap(map, model, OneBucketKeys(1500), {16, 17, 20, 24, 30, 40, 72, 73, 100}, 30000, 9);
  EXPECT_GT(model.size(), 1000u);  // well past the bound, all in one bucket
}

// Keys sharing up to 255 bits: the tree in a MemoryNodeStore, behind a
// CachedNodeStore (warm, then cold over the same backing store), has the root
// the definition gives, and proves every key.
TEST(NodeMapTest, TreesOfKeysSharingLongPrefixes) {
  const std::vector<Hash256> keys = CloseKeys();
  MemoryNodeStore backing;
  CachedNodeStore cache(&backing);
  SparseMerkleTree tree(cache);
  std::map<Hash256, Hash256> model;
  std::mt19937_64 rng(11);
  for (int round = 0; round < 12; ++round) {
    std::vector<SmtUpdate> ups;
    for (const Hash256& k : keys)
      if (rng() % 2) ups.push_back(RandomChange(rng, k, round % 3 == 2 ? 2 : 5, model));
    ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
    ASSERT_TRUE(cache.Flush().ok());
    const Hash256 root = Root(tree);
    ASSERT_EQ(root, NaiveRoot(model)) << "round " << round;
    CachedNodeStore cold(&backing);
    SparseMerkleTree again(cold);
    ASSERT_EQ(Root(again), root);
    for (const Hash256& k : keys) {
      ExpectProofMatches(tree, root, model, k);
      ExpectProofMatches(again, root, model, k);
    }
  }
}

// A tree of 1,500 keys in one depth-16 subtree, grown and shrunk.
TEST(NodeMapTest, TreesInOneCrowdedBucket) {
  const std::vector<Hash256> keys = OneBucketKeys(1500);
  MemoryNodeStore store;
  SparseMerkleTree tree(store);
  std::map<Hash256, Hash256> model;
  std::mt19937_64 rng(17);
  for (int round = 0; round < 4; ++round) {
    std::vector<SmtUpdate> ups;
    for (const Hash256& k : keys) ups.push_back(RandomChange(rng, k, round == 3 ? 2 : 6, model));
    ASSERT_TRUE(tree.ApplyUpdates(ups).ok());
    const Hash256 root = Root(tree);
    ASSERT_EQ(root, NaiveRoot(model)) << "round " << round;
    for (int i = 0; i < 50; ++i) ExpectProofMatches(tree, root, model, keys[rng() % keys.size()]);
  }
}

TEST(NodeMapTest, UpdatesReportTheKeysTheyChanged) {
  MemoryNodeStore store;
  SparseMerkleTree tree(store);
  const Hash256 a = H("a"), b = H("b"), c = H("c"), d = H("d"), e = H("e");
  ASSERT_TRUE(tree.ApplyUpdates({{a, H("1")}, {b, H("2")}, {c, H("3")}}).ok());
  std::vector<Hash256> changed;
  ASSERT_TRUE(tree.ApplyUpdates({{a, H("1")},        // same value
                                 {b, H("9")},        // new value...
                                 {c, std::nullopt},  // erased
                                 {d, std::nullopt},  // erasing what is absent
                                 {e, H("5")},        // new key
                                 {b, H("2")}},       // ...then back: the last wins
                                &changed)
                  .ok());
  std::vector<Hash256> expected{c, e};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(changed, expected);
}

// Random batches over keys with long shared prefixes and random ones: the
// reported keys are exactly those whose value the model says changed.
TEST(NodeMapTest, ReportedChangesMatchTheModel) {
  std::vector<Hash256> keys = CloseKeys();
  for (int i = 0; i < 200; ++i) keys.push_back(H("k" + std::to_string(i)));
  MemoryNodeStore backing;
  CachedNodeStore cache(&backing);
  SparseMerkleTree tree(cache);
  std::map<Hash256, Hash256> model;
  std::mt19937_64 rng(13);
  for (int round = 0; round < 30; ++round) {
    const std::map<Hash256, Hash256> before = model;
    std::vector<SmtUpdate> ups;
    for (int i = 0; i < 120; ++i) {
      const Hash256& k = keys[rng() % keys.size()];
      if (rng() % 4 == 0) {  // re-send what it holds (or erase the absent)
        auto it = model.find(k);
        ups.push_back({k, it == model.end() ? std::nullopt : std::optional<Hash256>(it->second)});
      } else {
        ups.push_back(RandomChange(rng, k, 4, model));
      }
    }
    std::vector<Hash256> changed;
    ASSERT_TRUE(tree.ApplyUpdates(ups, &changed).ok());
    std::vector<Hash256> expected;
    for (const Hash256& k : keys) {
      auto x = before.find(k);
      auto y = model.find(k);
      const bool same = (x == before.end()) == (y == model.end()) && (x == before.end() || x->second == y->second);
      if (!same) expected.push_back(k);
    }
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    ASSERT_EQ(changed, expected) << "round " << round;
    ASSERT_EQ(Root(tree), NaiveRoot(model));
  }
}

}  // namespace
}  // namespace kray::rollup
