// The history index's filters (see history_index.h, PrefixFilter): one per
// complete generation of its file, for ids and for account keys, so that a
// lookup probes only the generations that may hold what it looks for.
#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <utility>

#include "history_index.h"
#include "history_keys.h"

namespace kray::state {

using history_keys::IdPrefix;
using history_keys::Mix;

HistoryIndex::PrefixFilter::PrefixFilter(std::size_t entries)
    : words_(std::bit_ceil(std::max<std::size_t>(1, (entries + 3) / 4))) {}  // 16 bits, 4 entries a word

namespace {
constexpr int kFilterProbes = 8;
// An accounts filter's room: 16 accounts per operation of a generation, at
// most 2^25 (64 MB). A generation touching more distinct accounts gets a
// filter with more false "may hold"s, not a larger one, so an edited file
// cannot make the node load a filter of any size.
std::size_t MaxAccountFilterEntries(int generation_bits) {
  return std::min(std::size_t{1} << 25, std::size_t{16} << generation_bits);
}
// The filter's bit positions for `prefix` (double hashing; the prefix is
// already a hash's bytes, and a ground one only costs its own lookups a probe).
template <typename F>
void ForEachFilterBit(std::int64_t prefix, std::size_t bits, F&& f) {
  const auto h1 = static_cast<std::uint64_t>(prefix);
  const std::uint64_t h2 = Mix(h1) | 1;
  for (int i = 0; i < kFilterProbes; ++i) f(static_cast<std::size_t>((h1 + i * h2) & (bits - 1)));
}
}  // namespace

void HistoryIndex::PrefixFilter::Add(std::int64_t prefix) {
  ForEachFilterBit(prefix, words_.size() * 64, [&](std::size_t b) { words_[b / 64] |= std::uint64_t{1} << (b % 64); });
}

bool HistoryIndex::PrefixFilter::MayHold(std::int64_t prefix) const {
  bool all = true;
  ForEachFilterBit(prefix, words_.size() * 64, [&](std::size_t b) { all &= (words_[b / 64] >> (b % 64)) & 1; });
  return all;
}

ByteSpan HistoryIndex::PrefixFilter::bytes() const {
  return {reinterpret_cast<const std::uint8_t*>(words_.data()), words_.size() * sizeof(std::uint64_t)};
}

bool HistoryIndex::PrefixFilter::Load(ByteSpan bytes) {
  if (bytes.size() != words_.size() * sizeof(std::uint64_t)) return false;
  std::memcpy(words_.data(), bytes.data(), bytes.size());
  return true;
}

std::shared_ptr<const HistoryIndex::Filters> HistoryIndex::filters() const {
  std::lock_guard lock(filters_mu_);
  return filters_;
}

Status HistoryIndex::AddFilters(std::uint64_t indexed_seq, Filters& filters) {
  const auto complete = static_cast<std::size_t>((indexed_seq + 1) >> generation_bits_);
  for (std::size_t gen = filters.size(); gen < complete; ++gen) {
    auto built = BuildFilters(static_cast<std::int64_t>(gen));
    if (!built.ok()) return std::move(built).error();
    auto ins = db_->Use("INSERT OR REPLACE INTO op_id_filters (gen, filter, accounts) VALUES (?1, ?2, ?3)");
    if (!ins.ok()) return std::move(ins).error();
    (*ins)->Bind(1, static_cast<std::int64_t>(gen)).BindBlob(2, (*built)->ids.bytes());
    (*ins)->BindBlob(3, (*built)->accounts.bytes());
    KRAY_TRY((*ins)->Run());
    filters.push_back(std::move(*built));
  }
  return Ok();
}

Result<std::shared_ptr<const HistoryIndex::GenerationFilters>> HistoryIndex::BuildFilters(std::int64_t gen) {
  auto ids = db_->Use("SELECT prefix FROM op_ids WHERE gen = ?1");
  if (!ids.ok()) return std::move(ids).error();
  (*ids)->Bind(1, gen);
  auto id_prefixes = store::CollectRows<std::int64_t>(**ids, [](const store::Statement& s) { return s.Int64(0); });
  if (!id_prefixes.ok()) return std::move(id_prefixes).error();
  // In key order, so a key's rows are adjacent: one entry per account.
  auto keys = db_->Use("SELECT DISTINCT key FROM account_ops WHERE gen = ?1");
  if (!keys.ok()) return std::move(keys).error();
  (*keys)->Bind(1, gen);
  auto key_prefixes = store::CollectRows<std::int64_t>(**keys, [](const store::Statement& s) {
    Hash256 key{};
    const Bytes b = s.Blob(0);
    std::copy_n(b.begin(), std::min(b.size(), key.size()), key.begin());
    return IdPrefix(key);
  });
  if (!key_prefixes.ok()) return std::move(key_prefixes).error();
  auto out = std::make_shared<GenerationFilters>(
      GenerationFilters{PrefixFilter(std::size_t{1} << generation_bits_),
                        PrefixFilter(std::min(key_prefixes->size(), MaxAccountFilterEntries(generation_bits_)))});
  for (std::int64_t p : *id_prefixes) out->ids.Add(p);
  for (std::int64_t p : *key_prefixes) out->accounts.Add(p);
  return std::shared_ptr<const GenerationFilters>(std::move(out));
}

// The filters of the complete generations, from the file. A filter is
// written with the pass that completes its generation, so only an edited
// file lacks one or holds one of the wrong size: that one (and every later
// one) is built again.
Status HistoryIndex::LoadFilters() {
  const std::uint64_t indexed = indexed_seq_.load(std::memory_order_acquire);
  const auto complete = static_cast<std::size_t>((indexed + 1) >> generation_bits_);
  auto filters = std::make_shared<Filters>();
  auto st = db_->Use("SELECT gen, filter, accounts FROM op_id_filters ORDER BY gen");
  if (!st.ok()) return std::move(st).error();
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& s) -> Status {
    if (filters->size() >= complete || s.Int64(0) != static_cast<std::int64_t>(filters->size())) return Ok();
    const Bytes accounts = s.Blob(2);  // 16 bits an entry
    if (accounts.size() / 2 > MaxAccountFilterEntries(generation_bits_)) return Ok();
    auto loaded = std::make_shared<GenerationFilters>(
        GenerationFilters{PrefixFilter(std::size_t{1} << generation_bits_), PrefixFilter(accounts.size() / 2)});
    if (loaded->ids.Load(s.Blob(1)) && loaded->accounts.Load(accounts)) filters->push_back(std::move(loaded));
    return Ok();
  }));
  if (filters->size() < complete) {
    store::Transaction tx(*db_);
    KRAY_TRY(tx.status());
    KRAY_TRY(AddFilters(indexed, *filters));
    KRAY_TRY(tx.Commit());
  }
  std::lock_guard lock(filters_mu_);
  filters_ = std::move(filters);
  return Ok();
}

}  // namespace kray::state
