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

NodePos SqliteNodeStore::PageOf(const NodePos& pos) {
  NodePos root;
  root.depth = static_cast<std::uint16_t>(pos.depth - pos.depth % kPageLevels);
  const int full_bytes = root.depth / 8, rest_bits = root.depth % 8;
  std::copy(pos.prefix.begin(), pos.prefix.begin() + full_bytes, root.prefix.begin());
  if (rest_bits) root.prefix[full_bytes] = pos.prefix[full_bytes] & static_cast<std::uint8_t>(0xff00 >> rest_bits);
  return root;
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
  return Ok();
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
    auto rows = db.Prepare("SELECT pos, version, kind, a, b FROM rollup_smt_nodes");
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
  // holds the whole tree (~2.4 million nodes), and a flush every second that
  // walked it cost more than the writes.
  for (CacheSlot* slot : dirty_) {
    const Node& node = slot->second.node;
    KRAY_TRY(node.kind == Node::kEmpty ? backing_->Erase(slot->first) : backing_->Put(slot->first, node));
    slot->second.dirty = false;
  }
  dirty_.clear();
  return backing_->Flush();
}

}  // namespace kray::rollup
