// The history index (see history_index.h).
#include "history_index.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <compare>
#include <cstring>
#include <random>
#include <span>
#include <tuple>
#include <utility>

#include "history_keys.h"
#include "kray/state/leaves.h"
#include "kray/state/operation.h"

namespace kray::state {

std::span<const store::Migration> HistoryMigrations();  // schema/history/*.sql, embedded at build time

using history_keys::IdPrefix;
using history_keys::Mix;

namespace {

std::int64_t Clamp(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX));
}

Result<std::uint64_t> ReadIndexedSeq(store::Database& db) {
  auto v = store::QueryInt(db, "SELECT indexed_seq FROM history_state WHERE id = 1");
  if (!v.ok()) return std::move(v).error();
  return static_cast<std::uint64_t>(*v);
}

// The first column as an unsigned integer (a seq or a count).
std::uint64_t SeqColumn(const store::Statement& r) {
  return static_cast<std::uint64_t>(r.Int64(0));
}

// A row of account_ops, in the table's key order.
struct Row {
  std::int64_t gen;
  Hash256 key;  // account key
  std::uint64_t seq;
  auto operator<=>(const Row&) const = default;
};

// A row of op_ids, in the table's key order.
struct IdRow {
  std::int64_t gen;
  std::int64_t prefix;
  std::uint64_t seq;
  auto operator<=>(const IdRow&) const = default;
};

}  // namespace

HistoryIndex::HistoryIndex(std::unique_ptr<store::Database> db, std::unique_ptr<store::Database> state,
                           std::string path, int interval_ms, int write_intervals, int generation_bits)
    : db_(std::move(db)),
      state_(std::move(state)),
      readers_(4, 4096, std::move(path)),
      interval_ms_(interval_ms),
      write_intervals_(std::max(1, write_intervals)),
      generation_bits_(std::clamp(generation_bits, 0, 24)),  // a filter: 2^(bits+1) bytes
      filters_(std::make_shared<const Filters>()) {}

Result<std::unique_ptr<HistoryIndex>> HistoryIndex::Open(const std::string& path, const std::string& state_path,
                                                         int interval_ms, int write_intervals, int generation_bits) {
  store::OpenOptions oo;
  // Derived from the log and rebuilt from it, so it needs no durability of
  // its own; it syncs each pass all the same, because only a connection that
  // syncs every commit may hand its WAL frames to the kernel in a few large
  // writes (src/store/wal_vfs.h). A pass writes thousands of frames, which
  // unbatched were two pwrite calls each, ~11,000 a second at 50 connections;
  // one fdatasync per pass (one every 2 s under load) costs less.
  oo.synchronous = store::Synchronous::kFull;
  oo.batch_wal_writes = true;
  oo.paced_wal_sync = true;  // a pass can be megabytes: not in one flush next to the sequencer's
  oo.cache_size_kib = 16384;
  auto db = store::Database::Open(path, oo);
  if (!db.ok()) return std::move(db).error();
  KRAY_TRY((*db)->Migrate("history", HistoryMigrations()));
  store::OpenOptions ro;
  ro.read_only = true;
  ro.cache_size_kib = 4096;
  auto state = store::Database::Open(state_path, ro);
  if (!state.ok()) return std::move(state).error();
  std::unique_ptr<HistoryIndex> index(
      new HistoryIndex(std::move(*db), std::move(*state), path, interval_ms, write_intervals, generation_bits));
  KRAY_TRY(index->CheckPosition());
  return index;
}

HistoryIndex::~HistoryIndex() {
  Stop();
}

// The operation the index says it indexed last must be in the log with the
// same id; otherwise the file belongs to another log (a datadir whose
// krayd.sqlite was replaced) and starts over; so does a file whose ids were
// filed under generations of another size.
Status HistoryIndex::CheckPosition() {
  auto row = db_->Use("SELECT indexed_seq, indexed_hash, generation_bits FROM history_state WHERE id = 1");
  if (!row.ok()) return std::move(row).error();
  auto pos = store::FirstRow<std::tuple<std::uint64_t, Bytes, std::int64_t>>(**row, [](const store::Statement& s) {
    return std::make_tuple(static_cast<std::uint64_t>(s.Int64(0)), s.Blob(1), s.Int64(2));
  });
  if (!pos.ok()) return std::move(pos).error();
  if (!*pos) return Error::Internal("history.sqlite has no history_state row");
  const auto [seq, hash, bits] = **pos;
  // Ids filed under other generations would not be found where lookups probe.
  bool matches = seq == 0 || bits == generation_bits_;
  if (matches && seq != 0) {
    auto st = state_->Use("SELECT hash FROM operations WHERE seq = ?1");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, Clamp(seq));
    auto logged = store::FirstRow<Bytes>(**st, [](const store::Statement& s) { return s.Blob(0); });
    if (!logged.ok()) return std::move(logged).error();
    matches = logged->has_value() && **logged == hash;
  }
  // Nor may the file hold rows past its position (a write commits its rows
  // with the position): a position rewound by hand would have the thread
  // write them again, fail on the repeats forever and let reads count them
  // twice, from memory and from the file.
  if (matches && seq != 0) {
    auto past = RowsPastPosition(seq);
    if (!past.ok()) return std::move(past).error();
    matches = !*past;
  }
  // At position 0 the tables must be empty too (an edited file would make
  // every pass fail on a repeated id).
  if (!matches || seq == 0) {
    if (!matches)
      spdlog::warn("history index: {} does not match the operation log (position {}); rebuilding it", db_->path(), seq);
    store::Transaction tx(*db_);
    KRAY_TRY(tx.status());
    KRAY_TRY(
        db_->Exec("DELETE FROM account_ops; DELETE FROM op_ids; DELETE FROM op_id_filters; "
                  "UPDATE history_state SET indexed_seq = 0, indexed_hash = NULL WHERE id = 1"));
    auto set_bits = db_->Use("UPDATE history_state SET generation_bits = ?1 WHERE id = 1");
    if (!set_bits.ok()) return std::move(set_bits).error();
    (*set_bits)->Bind(1, static_cast<std::int64_t>(generation_bits_));
    KRAY_TRY((*set_bits)->Run());
    KRAY_TRY(tx.Commit());
  }
  auto indexed = ReadIndexedSeq(*db_);
  if (!indexed.ok()) return std::move(indexed).error();
  indexed_seq_.store(*indexed, std::memory_order_release);
  {
    std::lock_guard lock(tail_mu_);
    tail_ = Tail{};
    tail_.read_seq = *indexed;
  }
  return LoadFilters();
}

// Rows past `seq` can only be in its generation or later ones: the scan is
// bounded by a generation's rows, not the file's.
Result<bool> HistoryIndex::RowsPastPosition(std::uint64_t seq) {
  auto st = db_->Use(
      "SELECT EXISTS (SELECT 1 FROM op_ids WHERE gen >= ?1 AND seq > ?2) "
      "OR EXISTS (SELECT 1 FROM account_ops WHERE gen >= ?1 AND seq > ?2)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, Generation(seq)).Bind(2, Clamp(seq));
  auto past = store::FirstRow<bool>(**st, [](const store::Statement& s) { return s.Int64(0) != 0; });
  if (!past.ok()) return std::move(past).error();
  return past->value_or(false);
}

std::size_t HistoryIndex::IdHash::operator()(const Hash256& h) const {
  // Ids and account keys are SHA-256 outputs, but a client can grind its
  // operations' ids cheaply: mixed with a seed drawn at start, the bucket an
  // id lands in cannot be chosen, so chains under tail_mu_ stay short.
  static const std::uint64_t seed = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ std::random_device{}();
  std::uint64_t v;
  std::memcpy(&v, h.data(), sizeof v);
  return static_cast<std::size_t>(Mix(v ^ seed));
}

Result<std::size_t> HistoryIndex::ReadLog(std::size_t max) {
  const std::uint64_t from = tail_.read_seq;  // only this thread changes it
  std::vector<KeySeq> ids, accounts;
  std::uint64_t last_seq = from;
  Bytes last_hash;
  {
    store::ReadTransaction snapshot(*state_);
    KRAY_TRY(snapshot.status());
    auto st = state_->Use("SELECT seq, hash, touched FROM operations WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, Clamp(from)).Bind(2, static_cast<std::int64_t>(max));
    KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& s) -> Status {
      last_seq = static_cast<std::uint64_t>(s.Int64(0));
      last_hash = s.Blob(1);
      auto touched = DecodeLeafIds(s.Blob(2));
      if (!touched.ok() || last_hash.size() != 32)
        return Error::Internal("operation " + std::to_string(last_seq) + " is damaged in the store");
      Hash256 id;
      std::copy(last_hash.begin(), last_hash.end(), id.begin());
      ids.emplace_back(id, last_seq);
      for (const auto& leaf : *touched) {
        if (leaf.type == kAccountLeaf) accounts.emplace_back(AccountKey(leaf.id), last_seq);
      }
      return Ok();
    }));
  }
  if (!ids.empty()) AddToTail(ids, accounts, last_seq, std::move(last_hash), &HistoryIndex::read_from_log_);
  return ids.size();
}

void HistoryIndex::AddToTail(const std::vector<KeySeq>& ids, const std::vector<KeySeq>& accounts,
                             std::uint64_t last_seq, Bytes last_hash, std::uint64_t HistoryIndex::*source) {
  std::lock_guard lock(tail_mu_);
  for (const auto& [id, seq] : ids) {
    // Ids are unique by construction (schema/core/002); a repeat would be a
    // bug in the executor: logged and counted as a failed pass, and the
    // index keeps the first (a repeat of a row already in the file makes
    // every write fail, loudly, as the file's primary key refuses it).
    auto [it, inserted] = tail_.ids.try_emplace(id, seq);
    if (!inserted) {
      passes_failed_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("history index: operations {} and {} have the same id", it->second, seq);
    }
  }
  for (const auto& [key, seq] : accounts) tail_.accounts[key].push_back(seq);
  tail_.operations += ids.size();
  this->*source += ids.size();
  tail_.read_seq = last_seq;
  tail_.read_hash = std::move(last_hash);
}

Status HistoryIndex::WriteTail() {
  const std::uint64_t from = indexed_seq_.load(std::memory_order_acquire);
  if (tail_.read_seq == from) return Ok();
  // In key order, each B-tree page is visited once per pass.
  std::vector<Row> accounts;
  std::vector<IdRow> ids;
  ids.reserve(tail_.ids.size());
  for (const auto& [id, seq] : tail_.ids) ids.push_back(IdRow{Generation(seq), IdPrefix(id), seq});
  for (const auto& [key, seqs] : tail_.accounts) {
    for (std::uint64_t seq : seqs) accounts.push_back(Row{Generation(seq), key, seq});
  }
  std::sort(accounts.begin(), accounts.end());
  std::sort(ids.begin(), ids.end());
  store::Transaction tx(*db_);
  KRAY_TRY(tx.status());
  // The position is re-read under the write lock: the datadir lock keeps a
  // second krayd away, but not a tool writing the file.
  auto current = ReadIndexedSeq(*db_);
  if (!current.ok()) return std::move(current).error();
  if (*current != from) return Error::Internal("history index moved under its writer");
  for (const auto& r : accounts) {
    auto ins = db_->Use("INSERT INTO account_ops (gen, key, seq) VALUES (?1, ?2, ?3)");
    if (!ins.ok()) return std::move(ins).error();
    (*ins)->Bind(1, r.gen).BindBlob(2, r.key).Bind(3, Clamp(r.seq));
    KRAY_TRY((*ins)->Run());
  }
  for (const auto& r : ids) {
    // A seq already in the file would be a bug (the position says it is
    // not): the write fails loudly on the primary key and is retried.
    auto ins = db_->Use("INSERT INTO op_ids (gen, prefix, seq) VALUES (?1, ?2, ?3)");
    if (!ins.ok()) return std::move(ins).error();
    (*ins)->Bind(1, r.gen).Bind(2, r.prefix).Bind(3, Clamp(r.seq));
    KRAY_TRY((*ins)->Run());
  }
  // A generation this pass completes gets its filter in the same transaction.
  std::shared_ptr<Filters> grown;
  if (const auto current = filters(); ((tail_.read_seq + 1) >> generation_bits_) > current->size()) {
    grown = std::make_shared<Filters>(*current);
    KRAY_TRY(AddFilters(tail_.read_seq, *grown));
  }
  auto pos = db_->Use("UPDATE history_state SET indexed_seq = ?1, indexed_hash = ?2 WHERE id = 1");
  if (!pos.ok()) return std::move(pos).error();
  (*pos)->Bind(1, Clamp(tail_.read_seq)).BindBlob(2, tail_.read_hash);
  KRAY_TRY((*pos)->Run());
  KRAY_TRY(tx.Commit());
  // A read between the commit and the emptying finds these rows in both
  // places; it keeps the file's (those at or below the position it read).
  indexed_seq_.store(tail_.read_seq, std::memory_order_release);
  if (grown) {
    std::lock_guard lock(filters_mu_);
    filters_ = std::move(grown);
  }
  std::lock_guard lock(tail_mu_);
  tail_.ids.clear();
  tail_.accounts.clear();
  tail_.operations = 0;
  return Ok();
}

void HistoryIndex::Start() {
  thread_ = std::thread([this] { Run(); });
}

void HistoryIndex::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HistoryIndex::Run() {
  pthread_setname_np(pthread_self(), "kray-history");
  const auto interval = std::chrono::milliseconds(interval_ms_);
  const auto write_every = interval * write_intervals_;
  bool more = true;        // catch up with what was logged before the start
  bool write_soon = true;  // and write that at once
  auto last_write = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (!more) cv_.wait_for(lock, std::chrono::seconds(1), [&] { return woken_ || stopping_; });
      if (stopping_) return;
      woken_ = false;
    }
    Result<bool> more_waiting = false;
    if (tail_.operations < kMaxTailOperations) more_waiting = ReadNext();
    Status s = more_waiting.ok() ? Ok() : Status(more_waiting.error());
    // What was read is written even if this read failed (a damaged log row
    // must not keep earlier operations in memory only).
    const auto now = std::chrono::steady_clock::now();
    if (write_soon || tail_.operations >= kPassOperations || now - last_write >= write_every) {
      Status written = WriteTail();
      if (written.ok()) {
        last_write = now;
        write_soon = false;
      } else if (s.ok()) {
        s = std::move(written);
      } else {
        spdlog::error("history index: write failed: {}", written.error().message);
      }
    }
    if (!s.ok()) {
      passes_failed_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("history index: pass failed: {} (retried)", s.error().message);
    } else {
      passes_.fetch_add(1, std::memory_order_release);
    }
    more = s.ok() && *more_waiting;  // after a failure, wait before retrying
    if (more) continue;
    // Let rows accumulate: a write visits each page it touches once.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, interval, [&] { return stopping_; });
    if (stopping_) return;
  }
}

Status HistoryIndex::InSnapshot(std::uint64_t* indexed_seq, const std::function<Status(store::Database&)>& query) {
  return readers_.With([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    KRAY_TRY(snapshot.status());
    auto indexed = ReadIndexedSeq(db);
    if (!indexed.ok()) return std::move(indexed).error();
    *indexed_seq = *indexed;
    return query(db);
  });
}

Status HistoryIndex::ProbeGenerations(const Filters& filters, std::int64_t newest,
                                      const std::function<bool(const GenerationFilters&)>& may_hold,
                                      std::atomic<std::uint64_t>& probes,
                                      const std::function<Result<bool>(std::int64_t gen)>& probe) {
  for (std::int64_t gen = newest; gen >= 0; --gen) {
    if (static_cast<std::size_t>(gen) < filters.size() && !may_hold(*filters[gen])) continue;
    probes.fetch_add(1, std::memory_order_relaxed);
    auto more = probe(gen);
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
  }
  return Ok();
}

Result<HistoryIndex::HashHit> HistoryIndex::FindHash(const Hash256& id) {
  HashHit out;
  std::optional<std::uint64_t> in_memory;
  std::uint64_t read_seq;
  {
    std::lock_guard lock(tail_mu_);
    read_seq = tail_.read_seq;
    if (auto it = tail_.ids.find(id); it != tail_.ids.end()) in_memory = it->second;
  }
  // Memory keys the whole id: its hit is the answer unless the file (read
  // after it) has the operation too.
  if (in_memory) out.seqs.push_back(*in_memory);
  const auto filters = this->filters();  // each a superset of its generation in any snapshot
  const std::int64_t prefix = IdPrefix(id);
  Status s = InSnapshot(&out.indexed_seq, [&](store::Database& db) -> Status {
    // Newest generation first: the operations asked for most are recent.
    return ProbeGenerations(
        *filters, NewestGenerationToProbe(out.indexed_seq),
        [&](const GenerationFilters& f) { return f.ids.MayHold(prefix); }, id_probes_,
        [&](std::int64_t gen) -> Result<bool> {
          auto st = db.Use("SELECT seq FROM op_ids WHERE gen = ?1 AND prefix = ?2");
          if (!st.ok()) return std::move(st).error();
          (*st)->Bind(1, gen).Bind(2, prefix);
          auto seqs = store::CollectRows<std::uint64_t>(**st, SeqColumn);
          if (!seqs.ok()) return std::move(seqs).error();
          for (std::uint64_t seq : *seqs) {
            if (seq != in_memory) out.seqs.push_back(seq);
          }
          return true;
        });
  });
  if (!s.ok()) return std::move(s).error();
  out.indexed_seq = std::max(out.indexed_seq, read_seq);
  return out;
}

// The tail's seqs of account `key` below `before` (0: no bound), newest
// first, at most `limit`, and the tail's position.
std::pair<std::vector<std::uint64_t>, std::uint64_t> HistoryIndex::TailSeqs(const Hash256& key, std::uint64_t before,
                                                                            std::size_t limit) {
  std::vector<std::uint64_t> out;
  std::lock_guard lock(tail_mu_);
  if (auto it = tail_.accounts.find(key); it != tail_.accounts.end()) {
    for (auto seq = it->second.rbegin(); seq != it->second.rend() && out.size() < limit; ++seq) {
      if (before == 0 || *seq < before) out.push_back(*seq);
    }
  }
  return {std::move(out), tail_.read_seq};
}

Result<HistoryIndex::AccountHits> HistoryIndex::AccountSeqs(const Hash256& key, std::uint64_t before,
                                                            std::size_t limit) {
  AccountHits out;
  auto [in_memory, read_seq] = TailSeqs(key, before, limit);
  const auto filters = this->filters();  // each a superset of its generation in any snapshot
  const std::int64_t prefix = IdPrefix(key);
  Status s = InSnapshot(&out.indexed_seq, [&](store::Database& db) -> Status {
    // Newest generation first, until `limit` are found: a page of a busy
    // account's history reads the newest generation or two.
    std::int64_t newest = NewestGenerationToProbe(out.indexed_seq);
    if (before != 0) newest = std::min(newest, Generation(before - 1));
    if (limit == 0) return Ok();
    return ProbeGenerations(
        *filters, newest, [&](const GenerationFilters& f) { return f.accounts.MayHold(prefix); }, account_probes_,
        [&](std::int64_t gen) -> Result<bool> {
          auto st =
              db.Use("SELECT seq FROM account_ops WHERE gen = ?1 AND key = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4");
          if (!st.ok()) return std::move(st).error();
          (*st)->Bind(1, gen).BindBlob(2, key).Bind(3, before == 0 ? INT64_MAX : Clamp(before));
          (*st)->Bind(4, Clamp(limit - out.seqs.size()));
          KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
            out.seqs.push_back(SeqColumn(r));
            return Ok();
          }));
          return out.seqs.size() < limit;
        });
  });
  if (!s.ok()) return std::move(s).error();
  // The tail's rows the file did not have yet are newer than all of the file's.
  std::erase_if(in_memory, [&](std::uint64_t seq) { return seq <= out.indexed_seq; });
  in_memory.insert(in_memory.end(), out.seqs.begin(), out.seqs.end());
  if (in_memory.size() > limit) in_memory.resize(limit);
  out.seqs = std::move(in_memory);
  out.indexed_seq = std::max(out.indexed_seq, read_seq);
  return out;
}

Result<HistoryIndex::AccountCount> HistoryIndex::CountAccount(const Hash256& key) {
  AccountCount out;
  auto [in_memory, read_seq] = TailSeqs(key, 0, SIZE_MAX);
  const auto filters = this->filters();
  const std::int64_t prefix = IdPrefix(key);
  Status s = InSnapshot(&out.indexed_seq, [&](store::Database& db) -> Status {
    return ProbeGenerations(
        *filters, NewestGenerationToProbe(out.indexed_seq),
        [&](const GenerationFilters& f) { return f.accounts.MayHold(prefix); }, account_probes_,
        [&](std::int64_t gen) -> Result<bool> {
          auto st = db.Use("SELECT COUNT(*) FROM account_ops WHERE gen = ?1 AND key = ?2");
          if (!st.ok()) return std::move(st).error();
          (*st)->Bind(1, gen).BindBlob(2, key);
          auto n = store::FirstRow<std::uint64_t>(**st, SeqColumn);
          if (!n.ok()) return std::move(n).error();
          out.count += n->value_or(0);
          return true;
        });
  });
  if (!s.ok()) return std::move(s).error();
  out.count += static_cast<std::uint64_t>(
      std::count_if(in_memory.begin(), in_memory.end(), [&](std::uint64_t seq) { return seq > out.indexed_seq; }));
  out.indexed_seq = std::max(out.indexed_seq, read_seq);
  return out;
}

}  // namespace kray::state
