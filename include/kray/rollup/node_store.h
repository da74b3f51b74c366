// NodeStore implementations for the sparse Merkle tree (smt.h).
//
//  - MemoryNodeStore: nodes in memory (tests, benchmarks, verification
//    replay), in a NodeMap (node_map.h).
//  - SqliteNodeStore: the table rollup_smt_pages (schema/rollup/002), nodes
//    grouped in pages of four levels: a page is rooted at a depth divisible
//    by 4 and holds that position and the 14 below it down to three more
//    levels, so a leaf's path is ~log2(N)/4 rows instead of ~log2(N).
//    Versioned: a row (page, version) holds the whole page as it was when
//    batch `version` was open; the tree as of batch N is the newest row with
//    version <= N per page, so proofs against any past batch root are served
//    without recomputation. Writes are buffered per page until Flush().
//    The rollup index stores only the pages above kRollupDerivedDepth: the
//    nodes below it are derived from the leaf preimages (DeriveBelow).
//  - CachedNodeStore: a write-back cache in front of another store; the
//    rollup keeps the current tree in it and flushes it at a due check
//    and at every batch close (rollup.h, RollupOptions).
// None of them is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kray/rollup/node_map.h"
#include "kray/rollup/smt.h"

namespace kray::store {
class Database;
}

namespace kray::rollup {

class MemoryNodeStore : public NodeStore {
 public:
  Result<Node> Get(const NodePos& pos) override;
  Status Put(const NodePos& pos, const Node& node) override;
  Status Erase(const NodePos& pos) override;
  std::size_t size() const { return nodes_.size(); }

 private:
  NodeMap<Node> nodes_;
};

// The rollup index's tree is stored as pages down to this depth; each
// subtree rooted there is derived from its leaves' preimages
// (leaf_rows.h) when read. Storing the pages below depth 16 was ~2.4 rows
// per changed leaf at a million accounts, two thirds of the index's writes
// (docs/BENCHMARKS.md, rounds 23 and 24); from 100k accounts on, the 4,369
// pages above depth 16 were nearly all rewritten at every persist, a page
// row of ~1 KB each and a WAL frame of its own (thirty-seventh round: at 1M
// accounts the index thread 21.3 -> 15 µs and the checkpoint threads
// 14.6 -> 9 µs per transfer with 12 instead of 16). At most 273 pages are
// now stored; a derived subtree holds ~N/4,096 leaves (~244 at a million),
// which a proof or a read after a restart reads from their rows.
inline constexpr int kRollupDerivedDepth = 12;

class SqliteNodeStore : public NodeStore {
 public:
  // Reads see rows with version <= read_version; writes go to write_version.
  // Writes go out early once `max_buffered_pages` pages are buffered.
  SqliteNodeStore(store::Database& db, std::int64_t read_version, std::int64_t write_version,
                  std::size_t max_buffered_pages = kMaxBufferedPages)
      : db_(&db), read_version_(read_version), write_version_(write_version), max_buffered_(max_buffered_pages) {}
  // Call after Flush(): pages still buffered are dropped.
  void Reset(store::Database& db, std::int64_t read_version, std::int64_t write_version) {
    db_ = &db;
    read_version_ = read_version;
    write_version_ = write_version;
    dirty_.clear();
    last_read_.reset();
    derived_.reset();
  }
  // Pages rooted at `depth` (a positive multiple of kPageLevels) or deeper
  // are neither written nor read: Put and Erase there do nothing, and Get
  // computes the node from the leaves' preimages as of read_version
  // (leaf_rows.h: per key the newest row with version <= read_version; data
  // NULL = no leaf), each leaf being (key, state::LeafValueHash(data)), the way the
  // rollup writes its tree. So whoever writes through this store must write
  // the leaves' rows at write_version in the transaction of Flush(), and a
  // position is read back right only while no change to its subtree is
  // buffered (a CachedNodeStore in front holds those). 0: off (the default).
  void DeriveBelow(int depth) {
    derive_below_ = depth;
    derived_.reset();
  }
  // Keeps in memory the newest row of each page rooted above `depth` (a
  // multiple of kPageLevels), as written or read at write_version, so that
  // updating such a page does not read it back from the table first: at
  // most 2^(depth - kPageLevels) * 16/15 pages (69,905 for depth 20, about
  // 70 MB when full), while a million leaves make ~1.1 million pages. Only
  // for the one store that writes the table, whose writes are the newest;
  // call ForgetKeptPages() after a rolled-back write. 0: off (the default).
  void KeepPagesAbove(int depth) {
    keep_above_ = depth;
    kept_.clear();
  }
  void ForgetKeptPages() { kept_.clear(); }
  std::size_t kept_pages() const { return kept_.size(); }
  Result<Node> Get(const NodePos& pos) override;
  // Buffered (see the constructor).
  Status Put(const NodePos& pos, const Node& node) override;
  Status Erase(const NodePos& pos) override;
  // Writes every changed page at write_version (inside the caller's
  // transaction), in the index's order.
  Status Flush() override;

  static constexpr int kPageLevels = 4;
  static constexpr int kPageSlots = (1 << kPageLevels) - 1;  // 1 + 2 + 4 + 8 positions
  // Default bound of the write buffer (~1 KiB per page): a genesis changes
  // every page of the tree.
  static constexpr std::size_t kMaxBufferedPages = 1 << 16;
  struct Page {
    std::uint16_t present = 0;  // bit i: slots[i] holds a node
    std::array<Node, kPageSlots> slots{};
  };
  // The page row's blob: u16be(present) then, per present slot in order,
  // kind || a || b (65 bytes). Decode refuses anything else.
  static Bytes EncodePage(const Page& page);
  static Result<Page> DecodePage(ByteSpan blob);
  // The page a position belongs to (its root position) and its slot there.
  static NodePos PageOf(const NodePos& pos);
  // The ancestor of `pos` at `depth` (<= pos.depth).
  static NodePos AncestorAt(const NodePos& pos, int depth);
  static int SlotOf(const NodePos& pos);

 private:
  Result<std::optional<Bytes>> LoadRow(const NodePos& page_root, std::int64_t version);
  Result<Page> Load(const NodePos& page_root, std::int64_t version);
  Result<Page> LoadNewest(const NodePos& page_root);  // at write_version, through kept_
  Status Set(const NodePos& pos, const Node& node);
  bool Derived(const NodePos& pos) const { return derive_below_ && pos.depth >= derive_below_; }
  Result<Node> GetDerived(const NodePos& pos);
  Status Derive(const NodePos& root);
  Result<std::vector<std::pair<Hash256, Hash256>>> LoadLeaves(const NodePos& root);

  store::Database* db_;
  std::int64_t read_version_, write_version_;
  std::size_t max_buffered_;
  std::unordered_map<NodePos, Page, NodePosHash> dirty_;  // page root -> content at write_version
  std::optional<std::pair<NodePos, Page>> last_read_;     // at read_version; dropped on any write
  int keep_above_ = 0;
  std::unordered_map<NodePos, Bytes, NodePosHash> kept_;  // page root -> newest row's blob
  int derive_below_ = 0;
  // The last derived subtree, at read_version: its root and its nodes.
  std::optional<std::pair<NodePos, std::unordered_map<NodePos, Node, NodePosHash>>> derived_;
};

// Rewrites the node rows of an index created before schema 002 (table
// rollup_smt_nodes, one row per node and version) as pages, with the same
// history, then drops that table; does nothing if it is gone. Call inside a
// transaction.
Status ConvertNodeRowsToPages(store::Database& db);

class CachedNodeStore : public NodeStore {
 public:
  explicit CachedNodeStore(NodeStore* backing) : backing_(backing) {}
  CachedNodeStore(const CachedNodeStore&) = delete;  // the whole tree at 1M accounts: never copied by accident
  CachedNodeStore& operator=(const CachedNodeStore&) = delete;
  void SetBacking(NodeStore* backing) { backing_ = backing; }
  Result<Node> Get(const NodePos& pos) override;
  Status Put(const NodePos& pos, const Node& node) override;
  Status Erase(const NodePos& pos) override;
  // Writes every dirty entry to the backing store, then flushes it.
  Status Flush() override;
  // Forgets everything (after a rollback, or to bound memory when clean).
  void Clear() {
    dirty_.clear();
    cache_.clear();
  }
  std::size_t size() const { return cache_.size(); }
  // Entries changed since the last Flush().
  std::size_t dirty_count() const { return dirty_.size(); }

 private:
  struct Entry {
    Node node;
    bool dirty = false;
  };
  void Set(const NodePos& pos, const Node& node);

  NodeStore* backing_;
  NodeMap<Entry> cache_;
  // The dirty positions, each once, so a flush costs what changed, not the
  // cache.
  std::vector<NodePos> dirty_;
};

}  // namespace kray::rollup
