// Node stores for the sparse Merkle tree (see include/kray/rollup/node_store.h).
#include "kray/rollup/node_store.h"

#include <algorithm>

#include "kray/rollup/leaf_rows.h"
#include "kray/state/leaves.h"
#include "kray/store/database.h"

namespace kray::rollup {

Result<Node> MemoryNodeStore::Get(const NodePos& pos) {
  const Node* n = nodes_.Find(pos);
  return n ? *n : Node{};
}

Status MemoryNodeStore::Put(const NodePos& pos, const Node& node) {
  if (node.kind == Node::kEmpty) {
    nodes_.Erase(pos);
  } else {
    *nodes_.TryEmplace(pos).first = node;
  }
  return Ok();
}

Status MemoryNodeStore::Erase(const NodePos& pos) {
  nodes_.Erase(pos);
  return Ok();
}

// ---------------------------------------------------------------------------

namespace {
constexpr const char* kLoadSql =
    "SELECT nodes FROM rollup_smt_pages WHERE page = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1";
constexpr const char* kWriteSql = "INSERT OR REPLACE INTO rollup_smt_pages (page, version, nodes) VALUES (?1, ?2, ?3)";
constexpr std::size_t kNodeBytes = 1 + 32 + 32;

// The order of encoded positions in the index: depth, then prefix.
bool IndexLess(const NodePos& x, const NodePos& y) {
  return x.depth != y.depth ? x.depth < y.depth : x.prefix < y.prefix;
}

bool ToHash(const Bytes& b, Hash256& out) {
  if (b.size() != out.size()) return false;
  std::copy(b.begin(), b.end(), out.begin());
  return true;
}
}  // namespace

NodePos SqliteNodeStore::AncestorAt(const NodePos& pos, int depth) {
  NodePos up;
  up.depth = static_cast<std::uint16_t>(depth);
  const int full_bytes = depth / 8, rest_bits = depth % 8;
  std::copy(pos.prefix.begin(), pos.prefix.begin() + full_bytes, up.prefix.begin());
  if (rest_bits) up.prefix[full_bytes] = pos.prefix[full_bytes] & static_cast<std::uint8_t>(0xff00 >> rest_bits);
  return up;
}

NodePos SqliteNodeStore::PageOf(const NodePos& pos) {
  return AncestorAt(pos, pos.depth - pos.depth % kPageLevels);
}

int SqliteNodeStore::SlotOf(const NodePos& pos) {
  const int below = pos.depth % kPageLevels, first = pos.depth - below;
  int path = 0;
  for (int i = 0; i < below; ++i) path = (path << 1) | KeyBit(pos.prefix, first + i);
  return (1 << below) - 1 + path;
}

Bytes SqliteNodeStore::EncodePage(const Page& page) {
  Bytes out;
  out.reserve(2 + kPageSlots * kNodeBytes);
  out.push_back(static_cast<std::uint8_t>(page.present >> 8));
  out.push_back(static_cast<std::uint8_t>(page.present & 0xff));
  for (int i = 0; i < kPageSlots; ++i) {
    if (!(page.present >> i & 1)) continue;
    const Node& n = page.slots[i];
    out.push_back(n.kind);
    out.insert(out.end(), n.a.begin(), n.a.end());
    out.insert(out.end(), n.b.begin(), n.b.end());
  }
  return out;
}

Result<SqliteNodeStore::Page> SqliteNodeStore::DecodePage(ByteSpan blob) {
  auto bad = [](const char* why) { return Error::Internal(std::string("rollup_smt_pages: ") + why); };
  if (blob.size() < 2) return bad("page row too short");
  Page page;
  page.present = static_cast<std::uint16_t>(blob[0] << 8 | blob[1]);
  if (page.present >> kPageSlots) return bad("page row names a slot past the page");
  std::size_t at = 2;
  for (int i = 0; i < kPageSlots; ++i) {
    if (!(page.present >> i & 1)) continue;
    if (blob.size() - at < kNodeBytes) return bad("page row shorter than its nodes");
    Node& n = page.slots[i];
    if (blob[at] != Node::kLeaf && blob[at] != Node::kInternal) return bad("unknown node kind");
    n.kind = static_cast<Node::Kind>(blob[at]);
    std::copy_n(blob.begin() + at + 1, 32, n.a.begin());
    std::copy_n(blob.begin() + at + 33, 32, n.b.begin());
    at += kNodeBytes;
  }
  if (at != blob.size()) return bad("page row longer than its nodes");
  return page;
}

// The blob of the newest row with a version <= `version`, if any.
Result<std::optional<Bytes>> SqliteNodeStore::LoadRow(const NodePos& page_root, std::int64_t version) {
  auto st = db_->Use(kLoadSql);
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  Bytes key = page_root.Encode();
  s.BindBlob(1, key).Bind(2, version);
  auto row = s.Step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<Bytes>();
  return std::optional<Bytes>(s.Blob(0));
}

Result<SqliteNodeStore::Page> SqliteNodeStore::Load(const NodePos& page_root, std::int64_t version) {
  auto blob = LoadRow(page_root, version);
  if (!blob.ok()) return std::move(blob).error();
  return *blob ? DecodePage(**blob) : Page{};
}

Result<SqliteNodeStore::Page> SqliteNodeStore::LoadNewest(const NodePos& page_root) {
  const bool keep = page_root.depth < keep_above_;
  if (keep) {
    if (auto it = kept_.find(page_root); it != kept_.end()) return DecodePage(it->second);
  }
  auto blob = LoadRow(page_root, write_version_);
  if (!blob.ok()) return std::move(blob).error();
  if (!*blob) return Page{};  // kept once written
  auto page = DecodePage(**blob);
  if (page.ok() && keep) kept_.insert_or_assign(page_root, std::move(**blob));
  return page;
}

Result<Node> SqliteNodeStore::Get(const NodePos& pos) {
  if (Derived(pos)) return GetDerived(pos);
  NodePos root = PageOf(pos);
  const int slot = SlotOf(pos);
  // Buffered pages hold write_version's content: visible to reads at that
  // version only (the rows written early are, through Load, the same way).
  if (read_version_ == write_version_) {
    if (auto it = dirty_.find(root); it != dirty_.end()) return it->second.slots[slot];
  }
  // A path read (a proof, a cache miss) asks for the positions of one page
  // in a row: keep the last page read.
  if (!last_read_ || last_read_->first != root) {
    auto page = read_version_ == write_version_ ? LoadNewest(root) : Load(root, read_version_);
    if (!page.ok()) return std::move(page).error();
    last_read_.emplace(root, *page);
  }
  return last_read_->second.slots[slot];
}

Status SqliteNodeStore::Set(const NodePos& pos, const Node& node) {
  derived_.reset();  // the caller is writing the leaves it was derived from
  if (Derived(pos)) return Ok();
  NodePos root = PageOf(pos);
  auto it = dirty_.find(root);
  if (it == dirty_.end()) {
    // Pages written early are read back by Load, in the caller's transaction.
    if (dirty_.size() >= max_buffered_) KRAY_TRY(Flush());
    auto page = LoadNewest(root);
    if (!page.ok()) return std::move(page).error();
    it = dirty_.emplace(root, *page).first;
  }
  last_read_.reset();
  const int slot = SlotOf(pos);
  Page& page = it->second;
  page.slots[slot] = node.kind == Node::kEmpty ? Node{} : node;
  if (node.kind == Node::kEmpty) {
    page.present = static_cast<std::uint16_t>(page.present & ~(1u << slot));
  } else {
    page.present = static_cast<std::uint16_t>(page.present | (1u << slot));
  }
  return Ok();
}

Status SqliteNodeStore::Put(const NodePos& pos, const Node& node) {
  return Set(pos, node);
}

Status SqliteNodeStore::Erase(const NodePos& pos) {
  return Set(pos, Node{});
}

Status SqliteNodeStore::Flush() {
  std::vector<const std::pair<const NodePos, Page>*> pages;
  pages.reserve(dirty_.size());
  for (const auto& entry : dirty_) pages.push_back(&entry);
  std::sort(pages.begin(), pages.end(), [](const auto* x, const auto* y) { return IndexLess(x->first, y->first); });
  for (const auto* entry : pages) {
    auto st = db_->Use(kWriteSql);
    if (!st.ok()) return std::move(st).error();
    Bytes key = entry->first.Encode(), blob = EncodePage(entry->second);
    (*st)->BindBlob(1, key).Bind(2, write_version_).BindBlob(3, blob);
    KRAY_TRY((*st)->Run());
    if (entry->first.depth < keep_above_) kept_.insert_or_assign(entry->first, std::move(blob));
  }
  dirty_.clear();
  derived_.reset();
  return Ok();
}

// ---------------------------------------------------------------------------
// Derived subtrees (DeriveBelow).

Result<Node> SqliteNodeStore::GetDerived(const NodePos& pos) {
  NodePos root = AncestorAt(pos, derive_below_);
  if (!derived_ || derived_->first != root) KRAY_TRY(Derive(root));
  const auto& nodes = derived_->second;
  auto it = nodes.find(pos);
  return it == nodes.end() ? Node{} : it->second;
}

namespace {
// The nodes of the subtree at `pos` holding exactly the sorted, distinct
// leaves [b, e), below `pos` into `out`; returns the node at `pos` (as
// SparseMerkleTree::Build lays them out: a lone leaf at the highest position).
Node DeriveSubtree(const NodePos& pos, const std::pair<Hash256, Hash256>* b, const std::pair<Hash256, Hash256>* e,
                   std::unordered_map<NodePos, Node, NodePosHash>& out) {
  if (b == e) return Node{};
  if (e - b == 1) return Node{Node::kLeaf, b->first, b->second};
  // Distinct keys split before depth 256.
  const auto* m = std::partition_point(b, e, [&](const auto& l) { return KeyBit(l.first, pos.depth) == 0; });
  Node node{Node::kInternal, {}, {}};
  for (int bit = 0; bit < 2; ++bit) {
    NodePos cp = pos.Child(bit);
    Node child = bit ? DeriveSubtree(cp, m, e, out) : DeriveSubtree(cp, b, m, out);
    if (child.kind != Node::kEmpty) out.emplace(cp, child);
    (bit ? node.b : node.a) = child.Hash();
  }
  return node;
}
}  // namespace

// Every node of the subtree rooted at `root` (depth derive_below_) at
// read_version. Below a parent that is not an internal node nothing is
// stored (a lone leaf sits higher up), which only the parent shows. The
// parent also holds the subtree's hash: leaf rows that were deleted or
// edited are refused here, before a wrong node reaches a proof or a root.
Status SqliteNodeStore::Derive(const NodePos& root) {
  auto parent = Get(AncestorAt(root, root.depth - 1));
  if (!parent.ok()) return std::move(parent).error();
  std::unordered_map<NodePos, Node, NodePosHash> nodes;
  if (parent->kind == Node::kInternal) {
    auto leaves = LoadLeaves(root);
    if (!leaves.ok()) return std::move(leaves).error();
    const auto* b = leaves->data();
    Node top = DeriveSubtree(root, b, b + leaves->size(), nodes);
    const Hash256& expected = KeyBit(root.prefix, root.depth - 1) ? parent->b : parent->a;
    if (top.Hash() != expected) {
      return Error::Internal("rollup index: the leaves under " + ToHex(root.Encode()) + " at version " +
                             std::to_string(read_version_) + " do not hash to the stored tree");
    }
    if (top.kind != Node::kEmpty) nodes.emplace(root, top);
  }
  derived_.emplace(root, std::move(nodes));
  return Ok();
}

// The leaves (key, value hash) under `root` at read_version, sorted by key:
// each key's newest row at or below read_version (ReadLeavesIn).
Result<std::vector<std::pair<Hash256, Hash256>>> SqliteNodeStore::LoadLeaves(const NodePos& root) {
  const Bytes low(root.prefix.begin(), root.prefix.end());
  Bytes below = low;  // exclusive bound: the range's last key followed by a 0 byte
  for (int i = root.depth; i < kSmtDepth; ++i) below[i >> 3] |= static_cast<std::uint8_t>(0x80 >> (i & 7));
  below.push_back(0);
  auto rows = ReadLeavesIn(*db_, low, below, read_version_);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<std::pair<Hash256, Hash256>> leaves;
  leaves.reserve(rows->size());
  for (const auto& [key, data] : *rows) leaves.emplace_back(key, state::LeafValueHash(data));
  return leaves;
}

Status ConvertNodeRowsToPages(store::Database& db) {
  auto legacy = db.Use("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'rollup_smt_nodes'");
  if (!legacy.ok()) return std::move(legacy).error();
  auto found = (*legacy)->Step();
  if (!found.ok()) return std::move(found).error();
  if (!*found || (*legacy)->Int64(0) == 0) return Ok();
  (*legacy)->Reset();
  KRAY_TRY(
      db.Exec("CREATE TEMP TABLE smt_convert (page BLOB, version INTEGER, slot INTEGER, kind INTEGER, a BLOB, b "
              "BLOB)"));
  {
    // Each node row, tagged with its page and slot.
    // Not the nodes the rollup derives (kRollupDerivedDepth; pos starts u16be(depth)).
    auto rows = db.Prepare("SELECT pos, version, kind, a, b FROM rollup_smt_nodes WHERE pos < x'0010'");
    if (!rows.ok()) return std::move(rows).error();
    auto ins = db.Prepare("INSERT INTO temp.smt_convert VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!ins.ok()) return std::move(ins).error();
    KRAY_TRY(store::ForEachRow(*rows, [&](const store::Statement& r) -> Status {
      Bytes pos_bytes = r.Blob(0);
      auto pos = NodePos::Decode(pos_bytes);
      if (!pos) return Error::Internal("rollup_smt_nodes: malformed position");
      Bytes page = SqliteNodeStore::PageOf(*pos).Encode(), a = r.Blob(3), b = r.Blob(4);
      ins->Reset();
      ins->BindBlob(1, page).Bind(2, r.Int64(1)).Bind(3, static_cast<std::int64_t>(SqliteNodeStore::SlotOf(*pos)));
      ins->Bind(4, r.Int64(2)).BindBlob(5, a).BindBlob(6, b);
      return ins->Run();
    }));
  }
  {
    // Per page, in version order: the page after each version's rows.
    auto rows = db.Prepare("SELECT page, version, slot, kind, a, b FROM temp.smt_convert ORDER BY page, version, slot");
    if (!rows.ok()) return std::move(rows).error();
    auto out = db.Prepare(kWriteSql);
    if (!out.ok()) return std::move(out).error();
    bool have_page = false;
    Bytes page_key;
    std::int64_t version = 0;
    SqliteNodeStore::Page page;
    auto emit = [&]() -> Status {
      Bytes blob = SqliteNodeStore::EncodePage(page);
      out->Reset();
      out->BindBlob(1, page_key).Bind(2, version).BindBlob(3, blob);
      return out->Run();
    };
    KRAY_TRY(store::ForEachRow(*rows, [&](const store::Statement& r) -> Status {
      Bytes key = r.Blob(0);
      std::int64_t v = r.Int64(1);
      if (have_page && (key != page_key || v != version)) KRAY_TRY(emit());
      if (!have_page || key != page_key) page = SqliteNodeStore::Page{};
      have_page = true;
      page_key = std::move(key);
      version = v;
      const int slot = static_cast<int>(r.Int64(2));
      const std::int64_t kind = r.Int64(3);
      if (kind == Node::kEmpty) {
        page.slots[slot] = Node{};
        page.present = static_cast<std::uint16_t>(page.present & ~(1u << slot));
        return Ok();
      }
      Node& n = page.slots[slot];
      if ((kind != Node::kLeaf && kind != Node::kInternal) || !ToHash(r.Blob(4), n.a) || !ToHash(r.Blob(5), n.b))
        return Error::Internal("rollup_smt_nodes: malformed node row");
      n.kind = static_cast<Node::Kind>(kind);
      page.present = static_cast<std::uint16_t>(page.present | (1u << slot));
      return Ok();
    }));
    if (have_page) KRAY_TRY(emit());
  }
  KRAY_TRY(db.Exec("DROP TABLE temp.smt_convert"));
  return db.Exec("DROP TABLE rollup_smt_nodes");
}

// ---------------------------------------------------------------------------

Result<Node> CachedNodeStore::Get(const NodePos& pos) {
  if (const Entry* e = cache_.Find(pos)) return e->node;
  auto n = backing_->Get(pos);
  if (!n.ok()) return std::move(n).error();
  *cache_.TryEmplace(pos).first = Entry{*n, false};
  return n;
}

void CachedNodeStore::Set(const NodePos& pos, const Node& node) {
  auto [e, inserted] = cache_.TryEmplace(pos);
  if (!inserted && e->node == node) return;
  e->node = node;
  if (!e->dirty) {
    e->dirty = true;
    dirty_.push_back(pos);
  }
}

Status CachedNodeStore::Put(const NodePos& pos, const Node& node) {
  // A position not cached is written even if the backing store holds the
  // same node: we do not know (harmless if identical).
  Set(pos, node);
  return Ok();
}

Status CachedNodeStore::Erase(const NodePos& pos) {
  if (!cache_.Find(pos)) {
    auto n = backing_->Get(pos);
    if (!n.ok()) return std::move(n).error();
    if (n->kind == Node::kEmpty) return Ok();
  }
  Set(pos, Node{});
  return Ok();
}

Status CachedNodeStore::Flush() {
  // Only what changed since the last flush: at a million accounts the cache
  // holds the whole tree (~2.4 million nodes), and a flush every second that
  // walked it cost more than the writes.
  for (const NodePos& pos : dirty_) {
    Entry* e = cache_.Find(pos);
    if (!e) return Error::Internal("node cache: a dirty node is missing");
    KRAY_TRY(e->node.kind == Node::kEmpty ? backing_->Erase(pos) : backing_->Put(pos, e->node));
    e->dirty = false;
  }
  dirty_.clear();
  return backing_->Flush();
}

}  // namespace kray::rollup
