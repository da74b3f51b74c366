// NodeMap: the nodes of a sparse Merkle tree held in memory, by position.
//
// A hash map keyed by position costs two or three cache misses per lookup
// once the tree outgrows the caches, and a leaf's path is a lookup per level:
// at a million leaves (~2.4 million nodes) the rollup spent 12 µs per changed
// leaf in its node cache, 9× what it spent at ten thousand (docs/BENCHMARKS.md,
// round 25). Here the positions above kTopDepth sit in one array indexed by
// position (the hot top of every path), and every deeper position sits in the
// bucket of its ancestor at kTopDepth, so the rest of a path is one small
// bucket: its keys packed in one vector, its values in another.
//
// Hashed keys make buckets hold ~N / 65,536 leaves (about 15 at a million),
// searched linearly. What hashing does not spread goes to a plain hash map:
// positions deeper than kTopDepth + 56 (two keys sharing more than 72
// leading bits) and whatever a bucket gets past kMaxBucketSize entries (keys
// ground to share their first 16 bits: a linear search must not become the
// cost of such a bucket). Any tree is held correctly; only speed differs.
//
// Pointers returned stay valid until the next insertion or erasure. Not
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kray/rollup/smt.h"

namespace kray::rollup {

template <class V>
class NodeMap {
 public:
  static constexpr int kTopDepth = 16;

  // The value at `pos`, or nullptr.
  V* Find(const NodePos& pos) {
    if (pos.depth < kTopDepth) {
      if (top_.empty()) return nullptr;
      auto& slot = top_[TopIndex(pos)];
      return slot ? &*slot : nullptr;
    }
    if (pos.depth > kMaxBucketDepth) {
      auto it = deep_.find(pos);
      return it == deep_.end() ? nullptr : &it->second;
    }
    if (buckets_.empty()) return nullptr;
    Bucket& b = buckets_[BucketIndex(pos)];
    const std::uint64_t key = BucketKey(pos);
    for (std::size_t i = 0; i < b.keys.size(); ++i)
      if (b.keys[i] == key) return &b.values[i];
    if (!b.spilled) return nullptr;
    auto it = deep_.find(pos);
    return it == deep_.end() ? nullptr : &it->second;
  }

  // The value at `pos`, value-initialised first if absent (second: it was).
  std::pair<V*, bool> TryEmplace(const NodePos& pos) {
    if (V* v = Find(pos)) return {v, false};
    ++size_;
    if (pos.depth < kTopDepth) {
      if (top_.empty()) top_.resize(kTopSlots);
      return {&top_[TopIndex(pos)].emplace(), true};
    }
    if (pos.depth > kMaxBucketDepth) return {&deep_[pos], true};
    if (buckets_.empty()) buckets_.resize(kBuckets);
    Bucket& b = buckets_[BucketIndex(pos)];
    if (b.keys.size() >= kMaxBucketSize) {
      b.spilled = true;
      return {&deep_[pos], true};
    }
    b.keys.push_back(BucketKey(pos));
    b.values.emplace_back();
    return {&b.values.back(), true};
  }

  // Removes the value at `pos`; false if there was none.
  bool Erase(const NodePos& pos) {
    V* v = Find(pos);
    if (!v) return false;
    --size_;
    if (pos.depth < kTopDepth) {
      top_[TopIndex(pos)].reset();
    } else if (pos.depth > kMaxBucketDepth || !InBucket(v, buckets_[BucketIndex(pos)])) {
      deep_.erase(pos);
    } else {
      Bucket& b = buckets_[BucketIndex(pos)];
      const auto i = static_cast<std::size_t>(v - b.values.data());
      b.keys[i] = b.keys.back();
      b.values[i] = std::move(b.values.back());
      b.keys.pop_back();
      b.values.pop_back();
    }
    return true;
  }

  std::size_t size() const { return size_; }

  // Forgets everything and returns the memory.
  void clear() {
    top_ = {};
    buckets_ = {};
    deep_ = {};
    size_ = 0;
  }

 private:
  static constexpr std::size_t kTopSlots = (std::size_t{1} << kTopDepth) - 1;
  static constexpr std::size_t kBuckets = std::size_t{1} << kTopDepth;
  static constexpr int kMaxBucketDepth = kTopDepth + 56;  // BucketKey's bits
  static constexpr std::size_t kMaxBucketSize = 512;      // hashed keys: ~15 per bucket at 1M leaves

  struct Bucket {
    std::vector<std::uint64_t> keys;
    std::vector<V> values;
    bool spilled = false;  // some of its positions went to deep_
  };

  static bool InBucket(const V* v, const Bucket& b) {
    return std::less_equal<const V*>()(b.values.data(), v) &&
           std::less<const V*>()(v, b.values.data() + b.values.size());
  }

  // The first `bits` (≤ 64) bits of the prefix from bit `from` (a multiple
  // of 8), as a number.
  static std::uint64_t PrefixBits(const NodePos& pos, int from, int bits) {
    if (bits == 0) return 0;
    std::uint64_t w = 0;
    for (int i = 0; i < 8; ++i) w = (w << 8) | pos.prefix[static_cast<std::size_t>(from / 8 + i)];
    return w >> (64 - bits);
  }
  // Level by level: the root at 0, depth d's positions from 2^d - 1.
  static std::size_t TopIndex(const NodePos& pos) {
    return (std::size_t{1} << pos.depth) - 1 + static_cast<std::size_t>(PrefixBits(pos, 0, pos.depth));
  }
  static std::size_t BucketIndex(const NodePos& pos) { return static_cast<std::size_t>(PrefixBits(pos, 0, kTopDepth)); }
  // The depth below kTopDepth and the prefix bits below the bucket's.
  static std::uint64_t BucketKey(const NodePos& pos) {
    const int rel = pos.depth - kTopDepth;
    return (static_cast<std::uint64_t>(rel) << 56) | PrefixBits(pos, kTopDepth, rel);
  }

  std::vector<std::optional<V>> top_;  // kTopSlots once anything is stored above kTopDepth
  std::vector<Bucket> buckets_;        // kBuckets once anything is stored at or below it
  std::unordered_map<NodePos, V, NodePosHash> deep_;
  std::size_t size_ = 0;
};

}  // namespace kray::rollup
