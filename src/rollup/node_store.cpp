// Node stores for the sparse Merkle tree (see include/kray/rollup/node_store.h).
#include "kray/rollup/node_store.h"

#include <algorithm>

#include "kray/store/database.h"

namespace kray::rollup {

Result<Node> MemoryNodeStore::Get(const NodePos& pos) {
  auto it = nodes_.find(pos);
  if (it == nodes_.end()) return Node{};
  return it->second;
}

Status MemoryNodeStore::Put(const NodePos& pos, const Node& node) {
  if (node.kind == Node::kEmpty) {
    nodes_.erase(pos);
  } else {
    nodes_[pos] = node;
  }
  return Ok();
}

Status MemoryNodeStore::Erase(const NodePos& pos) {
  nodes_.erase(pos);
  return Ok();
}

// ---------------------------------------------------------------------------

namespace {
constexpr const char* kGetSql =
    "SELECT kind, a, b FROM rollup_smt_nodes WHERE pos = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1";
constexpr const char* kPutSql =
    "INSERT OR REPLACE INTO rollup_smt_nodes (pos, version, kind, a, b) VALUES (?1, ?2, ?3, ?4, ?5)";

bool ToHash(const Bytes& b, Hash256& out) {
  if (b.size() != out.size()) return false;
  std::copy(b.begin(), b.end(), out.begin());
  return true;
}
}  // namespace

Result<Node> SqliteNodeStore::Get(const NodePos& pos) {
  auto st = db_->Use(kGetSql);
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  Bytes key = pos.Encode();
  s.BindBlob(1, key).Bind(2, read_version_);
  auto row = s.Step();
  if (!row.ok()) return std::move(row).error();
  Node n;
  if (*row) {
    std::int64_t kind = s.Int64(0);
    if (kind == Node::kLeaf || kind == Node::kInternal) {
      n.kind = static_cast<Node::Kind>(kind);
      if (!ToHash(s.Blob(1), n.a) || !ToHash(s.Blob(2), n.b))
        return Error::Internal("rollup_smt_nodes: malformed node row");
    } else if (kind != Node::kEmpty) {
      return Error::Internal("rollup_smt_nodes: unknown node kind");
    }
  }
  return n;
}

Status SqliteNodeStore::Put(const NodePos& pos, const Node& node) {
  auto st = db_->Use(kPutSql);
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  Bytes key = pos.Encode();
  s.BindBlob(1, key).Bind(2, write_version_).Bind(3, static_cast<std::int64_t>(node.kind));
  if (node.kind == Node::kEmpty) {
    s.BindNull(4).BindNull(5);
  } else {
    s.BindBlob(4, node.a).BindBlob(5, node.b);
  }
  return s.Run();
}

Status SqliteNodeStore::Erase(const NodePos& pos) {
  return Put(pos, Node{});
}

// ---------------------------------------------------------------------------

Result<Node> CachedNodeStore::Get(const NodePos& pos) {
  auto it = cache_.find(pos);
  if (it != cache_.end()) return it->second.node;
  auto n = backing_->Get(pos);
  if (!n.ok()) return std::move(n).error();
  cache_.emplace(pos, Entry{*n, false});
  return n;
}

void CachedNodeStore::Set(const NodePos& pos, const Node& node) {
  auto [it, inserted] = cache_.try_emplace(pos);
  if (!inserted && it->second.node == node) return;
  it->second.node = node;
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_.push_back(&*it);
  }
}

Status CachedNodeStore::Put(const NodePos& pos, const Node& node) {
  // A position not cached is written even if the backing store holds the
  // same node: we do not know (harmless if identical).
  Set(pos, node);
  return Ok();
}

Status CachedNodeStore::Erase(const NodePos& pos) {
  if (!cache_.contains(pos)) {
    auto n = backing_->Get(pos);
    if (!n.ok()) return std::move(n).error();
    if (n->kind == Node::kEmpty) return Ok();
  }
  Set(pos, Node{});
  return Ok();
}

Status CachedNodeStore::Flush() {
  // Only what changed since the last flush: at a million accounts the cache
  // holds the whole tree (~2.4 million nodes) and a flush every second that
  // walked it cost more than the writes. In the order of the store's index
  // (depth, then prefix), so that its B-tree is walked once.
  std::sort(dirty_.begin(), dirty_.end(), [](const CacheSlot* x, const CacheSlot* y) {
    return x->first.depth != y->first.depth ? x->first.depth < y->first.depth : x->first.prefix < y->first.prefix;
  });
  for (CacheSlot* slot : dirty_) {
    const Node& node = slot->second.node;
    KRAY_TRY(node.kind == Node::kEmpty ? backing_->Erase(slot->first) : backing_->Put(slot->first, node));
    slot->second.dirty = false;
  }
  dirty_.clear();
  return Ok();
}

}  // namespace kray::rollup
