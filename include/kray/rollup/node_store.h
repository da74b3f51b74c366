// NodeStore implementations for the sparse Merkle tree (smt.h).
//
//  - MemoryNodeStore: a hash map (tests, benchmarks, verification replay).
//  - SqliteNodeStore: the table rollup_smt_nodes (schema/002_rollup.sql),
//    versioned: a row (pos, version) holds the node written while batch
//    `version` was open (kind 0 = tombstone: erased at that version). The
//    tree as of batch N is the newest row with version <= N per position, so
//    proofs against any past batch root are served without recomputation.
//  - CachedNodeStore: a write-back cache in front of another store; the
//    rollup keeps the current tree in it and flushes once per group.
// None of them is thread-safe.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

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
  std::unordered_map<NodePos, Node, NodePosHash> nodes_;
};

class SqliteNodeStore : public NodeStore {
 public:
  // Reads see rows with version <= read_version; writes go to write_version.
  SqliteNodeStore(store::Database& db, std::int64_t read_version, std::int64_t write_version)
      : db_(&db), read_version_(read_version), write_version_(write_version) {}
  void Reset(store::Database& db, std::int64_t read_version, std::int64_t write_version) {
    db_ = &db;
    read_version_ = read_version;
    write_version_ = write_version;
  }
  Result<Node> Get(const NodePos& pos) override;
  Status Put(const NodePos& pos, const Node& node) override;
  Status Erase(const NodePos& pos) override;  // writes a tombstone

 private:
  store::Database* db_;
  std::int64_t read_version_, write_version_;
};

class CachedNodeStore : public NodeStore {
 public:
  explicit CachedNodeStore(NodeStore* backing) : backing_(backing) {}
  void SetBacking(NodeStore* backing) { backing_ = backing; }
  Result<Node> Get(const NodePos& pos) override;
  Status Put(const NodePos& pos, const Node& node) override;
  Status Erase(const NodePos& pos) override;
  // Writes every dirty entry to the backing store.
  Status Flush();
  // Forgets everything (after a rollback, or to bound memory when clean).
  void Clear() {
    dirty_.clear();
    cache_.clear();
  }
  std::size_t size() const { return cache_.size(); }

 private:
  struct Entry {
    Node node;
    bool dirty = false;
  };
  using CacheSlot = std::pair<const NodePos, Entry>;
  void Set(const NodePos& pos, const Node& node);

  NodeStore* backing_;
  std::unordered_map<NodePos, Entry, NodePosHash> cache_;
  // The dirty entries, each once (an unordered_map's elements keep their
  // address across rehashing), so a flush costs what changed, not the cache.
  std::vector<CacheSlot*> dirty_;
};

}  // namespace kray::rollup
