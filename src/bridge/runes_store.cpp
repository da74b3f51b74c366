// MemoryRunesStore and the undo record encoding.
#include "kray/bridge/runes_store.h"

#include <algorithm>

#include "kray/bitcoin/serialize.h"

namespace kray::bridge {
namespace {

using bitcoin::ByteReader;
using bitcoin::ByteWriter;

constexpr std::uint8_t kUndoVersion = 1;
// Lower bounds of encoded sizes, used to bound counts by the remaining input.
constexpr std::size_t kOutPointSize = 36;
constexpr std::size_t kRuneIdSize = 12;
constexpr std::size_t kAmountSize = 16;
constexpr std::size_t kMinEntrySize = kRuneIdSize + 16 + 4 + 1 + 1 + 16 + 1 + 1 + 32 + 16 + 16;

Error Malformed(const char* why) {
  return Error::Invalid("runes_undo_malformed", std::string("runes undo record: ") + why);
}

void WriteU128(ByteWriter& w, u128 v) {
  w.WriteU64LE(static_cast<std::uint64_t>(v));
  w.WriteU64LE(static_cast<std::uint64_t>(v >> 64));
}
void WriteOutPoint(ByteWriter& w, const OutPoint& o) {
  w.WriteBytes(o.txid);
  w.WriteU32LE(o.n);
}
void WriteRuneId(ByteWriter& w, const RuneId& id) {
  w.WriteU64LE(id.block);
  w.WriteU32LE(id.tx);
}
template <class T, class F>
void WriteOptional(ByteWriter& w, const std::optional<T>& v, F write) {
  w.WriteU8(v ? 1 : 0);
  if (v) write(*v);
}
void WriteEntry(ByteWriter& w, const RuneEntry& e) {
  WriteRuneId(w, e.id);
  WriteU128(w, e.rune.value);
  w.WriteU32LE(e.spacers);
  w.WriteU8(e.divisibility);
  WriteOptional(w, e.symbol, [&](char32_t c) { w.WriteU32LE(static_cast<std::uint32_t>(c)); });
  WriteU128(w, e.premine);
  WriteOptional(w, e.terms, [&](const bitcoin::Terms& t) {
    WriteOptional(w, t.amount, [&](u128 v) { WriteU128(w, v); });
    WriteOptional(w, t.cap, [&](u128 v) { WriteU128(w, v); });
    for (const auto* h : {&t.height_start, &t.height_end, &t.offset_start, &t.offset_end})
      WriteOptional(w, *h, [&](std::uint64_t v) { w.WriteU64LE(v); });
  });
  w.WriteU8(e.turbo ? 1 : 0);
  w.WriteBytes(e.etching_txid);
  WriteU128(w, e.mints);
  WriteU128(w, e.burned);
}

// Readers: false on running out of input or a bad value.
bool ReadU128(ByteReader& r, u128& v) {
  auto lo = r.ReadU64LE();
  auto hi = r.ReadU64LE();
  if (!lo || !hi) return false;
  v = (u128{*hi} << 64) | *lo;
  return true;
}
bool ReadHash(ByteReader& r, Hash256& h) {
  auto s = r.ReadSpan(32);
  if (!s) return false;
  std::copy(s->begin(), s->end(), h.begin());
  return true;
}
bool ReadOutPoint(ByteReader& r, OutPoint& o) {
  if (!ReadHash(r, o.txid)) return false;
  auto n = r.ReadU32LE();
  if (!n) return false;
  o.n = *n;
  return true;
}
bool ReadRuneId(ByteReader& r, RuneId& id) {
  auto b = r.ReadU64LE();
  auto t = r.ReadU32LE();
  if (!b || !t) return false;
  id = {*b, *t};
  return true;
}
bool ReadFlag(ByteReader& r, bool& flag) {
  auto f = r.ReadU8();
  if (!f || *f > 1) return false;
  flag = *f == 1;
  return true;
}
bool ReadOptU128(ByteReader& r, std::optional<u128>& v) {
  bool present = false;
  if (!ReadFlag(r, present)) return false;
  v.reset();
  if (!present) return true;
  u128 x = 0;
  if (!ReadU128(r, x)) return false;
  v = x;
  return true;
}
bool ReadOptU64(ByteReader& r, std::optional<std::uint64_t>& v) {
  bool present = false;
  if (!ReadFlag(r, present)) return false;
  v.reset();
  if (!present) return true;
  auto x = r.ReadU64LE();
  if (!x) return false;
  v = *x;
  return true;
}
bool ReadEntry(ByteReader& r, RuneEntry& e) {
  if (!ReadRuneId(r, e.id) || !ReadU128(r, e.rune.value)) return false;
  auto spacers = r.ReadU32LE();
  auto div = r.ReadU8();
  if (!spacers || !div) return false;
  e.spacers = *spacers;
  e.divisibility = *div;
  bool has_symbol = false;
  if (!ReadFlag(r, has_symbol)) return false;
  if (has_symbol) {
    auto c = r.ReadU32LE();
    if (!c) return false;
    e.symbol = static_cast<char32_t>(*c);
  }
  if (!ReadU128(r, e.premine)) return false;
  bool has_terms = false;
  if (!ReadFlag(r, has_terms)) return false;
  if (has_terms) {
    bitcoin::Terms t;
    if (!ReadOptU128(r, t.amount) || !ReadOptU128(r, t.cap) || !ReadOptU64(r, t.height_start) ||
        !ReadOptU64(r, t.height_end) || !ReadOptU64(r, t.offset_start) || !ReadOptU64(r, t.offset_end))
      return false;
    e.terms = t;
  }
  return ReadFlag(r, e.turbo) && ReadHash(r, e.etching_txid) && ReadU128(r, e.mints) && ReadU128(r, e.burned);
}

// A CompactSize count, bounded by what the remaining input can hold.
bool ReadCount(ByteReader& r, std::size_t min_item, std::uint64_t& n) {
  auto c = r.ReadCompactSize();
  if (!c.ok() || *c > r.remaining() / min_item) return false;
  n = *c;
  return true;
}

bool ReadBalances(ByteReader& r, RuneBalances& balances) {
  std::uint64_t n = 0;
  if (!ReadCount(r, kRuneIdSize + kAmountSize, n)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    RuneAmount a;
    if (!ReadRuneId(r, a.id) || !ReadU128(r, a.amount)) return false;
    balances.push_back(a);
  }
  return true;
}

}  // namespace

Bytes SerializeRunesBlockUndo(const RunesBlockUndo& u) {
  ByteWriter w;
  w.WriteU8(kUndoVersion);
  w.WriteU32LE(u.block.height);
  w.WriteBytes(u.block.hash);
  w.WriteBytes(u.prev_hash);
  w.WriteCompactSize(u.spent.size());
  for (const auto& [outpoint, balances] : u.spent) {
    WriteOutPoint(w, outpoint);
    w.WriteCompactSize(balances.size());
    for (const RuneAmount& a : balances) {
      WriteRuneId(w, a.id);
      WriteU128(w, a.amount);
    }
  }
  w.WriteCompactSize(u.created.size());
  for (const OutPoint& o : u.created) WriteOutPoint(w, o);
  w.WriteCompactSize(u.entries_before.size());
  for (const RuneEntry& e : u.entries_before) WriteEntry(w, e);
  w.WriteCompactSize(u.entries_created.size());
  for (const RuneId& id : u.entries_created) WriteRuneId(w, id);
  return w.Take();
}

Result<RunesBlockUndo> ParseRunesBlockUndo(ByteSpan data) {
  ByteReader r(data);
  RunesBlockUndo u;
  auto version = r.ReadU8();
  if (!version || *version != kUndoVersion) return Malformed("unknown version");
  auto height = r.ReadU32LE();
  if (!height || !ReadHash(r, u.block.hash) || !ReadHash(r, u.prev_hash)) return Malformed("truncated block");
  u.block.height = *height;
  std::uint64_t n = 0;
  if (!ReadCount(r, kOutPointSize + 1, n)) return Malformed("bad spent count");
  for (std::uint64_t i = 0; i < n; ++i) {
    std::pair<OutPoint, RuneBalances> s;
    if (!ReadOutPoint(r, s.first) || !ReadBalances(r, s.second)) return Malformed("truncated spent outpoint");
    u.spent.push_back(std::move(s));
  }
  if (!ReadCount(r, kOutPointSize, n)) return Malformed("bad created count");
  for (std::uint64_t i = 0; i < n; ++i) {
    OutPoint o;
    if (!ReadOutPoint(r, o)) return Malformed("truncated created outpoint");
    u.created.push_back(o);
  }
  if (!ReadCount(r, kMinEntrySize, n)) return Malformed("bad entry count");
  for (std::uint64_t i = 0; i < n; ++i) {
    RuneEntry e;
    if (!ReadEntry(r, e)) return Malformed("truncated entry");
    u.entries_before.push_back(std::move(e));
  }
  if (!ReadCount(r, kRuneIdSize, n)) return Malformed("bad created entry count");
  for (std::uint64_t i = 0; i < n; ++i) {
    RuneId id;
    if (!ReadRuneId(r, id)) return Malformed("truncated created entry");
    u.entries_created.push_back(id);
  }
  if (!r.empty()) return Malformed("trailing bytes");
  return u;
}

Bytes SerializeRuneEntry(const RuneEntry& entry) {
  ByteWriter w;
  WriteEntry(w, entry);
  return w.Take();
}

Result<RuneEntry> ParseRuneEntry(ByteSpan data) {
  ByteReader r(data);
  RuneEntry e;
  if (!ReadEntry(r, e) || !r.empty()) return Error::Invalid("runes_entry_malformed", "stored rune entry is malformed");
  return e;
}

Result<std::optional<IndexedBlock>> MemoryRunesStore::Tip() {
  return tip_;
}

Result<std::optional<RuneEntry>> MemoryRunesStore::Entry(const RuneId& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::optional<RuneEntry>();
  return std::optional<RuneEntry>(it->second);
}

Result<std::vector<RuneEntry>> MemoryRunesStore::Entries() {
  std::vector<RuneEntry> out;
  for (const auto& [id, e] : entries_) out.push_back(e);
  return out;
}

Result<RuneBalances> MemoryRunesStore::Balances(const OutPoint& outpoint) {
  auto it = balances_.find(outpoint);
  if (it == balances_.end()) return RuneBalances{};
  return it->second;
}

Result<std::vector<std::pair<OutPoint, u128>>> MemoryRunesStore::Holders(const RuneId& id) {
  std::vector<std::pair<OutPoint, u128>> out;
  for (const auto& [outpoint, balances] : balances_) {
    for (const RuneAmount& a : balances) {
      if (a.id == id) out.emplace_back(outpoint, a.amount);
    }
  }
  return out;
}

Result<std::optional<RunesBlockUndo>> MemoryRunesStore::Undo(std::uint32_t height) {
  auto it = undo_.find(height);
  if (it == undo_.end()) return std::optional<RunesBlockUndo>();
  auto u = ParseRunesBlockUndo(it->second);
  if (!u.ok()) return std::move(u).error();
  return std::optional<RunesBlockUndo>(std::move(*u));
}

Status MemoryRunesStore::Write(const RunesWriteBatch& batch) {
  // Nothing below can fail, so applying in place is atomic.
  if (batch.set_tip) tip_ = batch.tip;
  for (const RuneEntry& e : batch.put_entries) entries_[e.id] = e;
  for (const RuneId& id : batch.erase_entries) entries_.erase(id);
  for (const auto& [outpoint, balances] : batch.put_balances) balances_[outpoint] = balances;
  for (const OutPoint& o : batch.erase_balances) balances_.erase(o);
  if (batch.put_undo) undo_[batch.put_undo->block.height] = SerializeRunesBlockUndo(*batch.put_undo);
  for (std::uint32_t h : batch.erase_undo) undo_.erase(h);
  return Ok();
}

}  // namespace kray::bridge
