// StateCache's write-back of the account rows (state_cache.h,
// unwritten_rows.h): the group's redo record, the sweep, the bookkeeping
// after the COMMIT.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "kray/store/database.h"
#include "state_cache.h"

namespace kray::state {

namespace {

// The sweep's key range of an account: "kray_" + 32 hex digits, by the
// first three (ids of another form, if any, all in the first range).
std::size_t SweepBucketOf(std::string_view id) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (id.size() < 8) return 0;
  const int a = hex(id[5]), b = hex(id[6]), c = hex(id[7]);
  if (a < 0 || b < 0 || c < 0) return 0;
  return static_cast<std::size_t>(a << 8 | b << 4 | c);
}

}  // namespace

const UnwrittenAccount* StateCache::Unwritten(const std::string& id) const {
  return wb_ ? wb_->rows->Peek(id) : nullptr;
}

void StateCache::EnableWriteBack(UnwrittenRows& rows, double sweep_seconds) {
  wb_ = std::make_unique<WriteBack>();
  wb_->rows = &rows;
  wb_->slot = std::chrono::nanoseconds(static_cast<std::int64_t>(sweep_seconds * 1e9 / kSweepBuckets));
  wb_->last_slice = std::chrono::steady_clock::now();
  wb_->buckets.resize(kSweepBuckets);
}

void StateCache::WriteBackAll() {
  if (wb_) wb_->all = true;
}

Status StateCache::WriteRedoAndSweep() {
  WriteBack& w = *wb_;
  if (w.redo_seq < 0) {
    // Records of an earlier run hold rows no bucket knows of: a sweep's
    // end would delete them unwritten. The open applies them (ApplyRedo).
    auto left = store::QueryInt(*db_, "SELECT COUNT(*) FROM account_redo", 0);
    if (!left.ok()) return std::move(left).error();
    if (*left != 0)
      return Error::Internal("account_redo holds records of an earlier run: apply them first (ApplyRedo)");
    auto write_backs = ReadWriteBackSeq(*db_);
    if (!write_backs.ok()) return std::move(write_backs).error();
    w.write_back_seq = *write_backs;
    w.redo_seq = 0;
  }
  std::int64_t last_seq = w.redo_seq;
  if (!w.record.empty()) {
    auto st = db_->Use("INSERT INTO account_redo (seq, rows) VALUES (?1, ?2)");
    if (!st.ok()) return std::move(st).error();
    w.group_seq = ++last_seq;
    (*st)->Bind(1, w.group_seq).BindBlob(2, w.record);
    KRAY_TRY((*st)->Run());
  }
  // This group's slice: the buckets whose time has come, in key order.
  std::size_t n = kSweepBuckets;
  if (!w.all) {
    const auto now = std::chrono::steady_clock::now();
    const auto due = w.slot.count() > 0 ? (now - w.last_slice) / w.slot : static_cast<std::int64_t>(kSweepBuckets);
    n = static_cast<std::size_t>(std::clamp<std::int64_t>(due, 0, kSweepBuckets));
    if (n == 0) return DeleteRedundantRecords(last_seq);
  }
  // A slice ends where the sweep does; WriteBackAll's is the whole key space.
  w.swept_from = w.all ? 0 : w.sweep_pos;
  w.swept_count = w.all ? kSweepBuckets : std::min(n, kSweepBuckets - w.sweep_pos);
  auto in_slice = [&](std::string_view id) { return SweepBucketOf(id) - w.swept_from < w.swept_count; };
  // The slice's accounts in key order, each once: the queued ones (their
  // images at hand), then the group's own not queued (looked up).
  struct Item {
    const std::string* id;
    const UnwrittenRows::Queued* queued;  // null: not queued
  };
  std::vector<Item> items;
  w.swept.clear();  // (empty but for a second sweep in one group: each account retired once)
  w.swept_unqueued.clear();
  for (std::size_t i = 0; i < w.swept_count; ++i)
    for (const auto& q : w.buckets[w.swept_from + i]) items.push_back(Item{&q.id(), &q});
  for (const auto& [id, images] : w.pending)
    if (in_slice(id)) items.push_back(Item{&id, nullptr});
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (const int c = a.id->compare(*b.id); c != 0) return c < 0;
    return a.queued && !b.queued;  // of an account both queued and the group's, the queued one first
  });
  items.erase(std::unique(items.begin(), items.end(), [](const Item& a, const Item& b) { return *a.id == *b.id; }),
              items.end());
  for (const Item& item : items) {
    const UnwrittenAccount* committed = item.queued ? &item.queued->images() : w.rows->Peek(*item.id);
    if (auto it = w.pending.find(*item.id); it != w.pending.end()) {
      UnwrittenAccount images = committed ? *committed : UnwrittenAccount{};
      images.Merge(it->second);
      KRAY_TRY(WriteBackImages(*db_, *item.id, images));
    } else if (committed) {
      KRAY_TRY(WriteBackImages(*db_, *item.id, *committed));
    }
    if (item.queued)
      w.swept.push_back(*item.queued);
    else
      w.swept_unqueued.push_back(*item.id);
  }
  if (!w.swept.empty() || !w.swept_unqueued.empty()) {
    auto st = db_->Use("UPDATE counters SET value = value + 1 WHERE name = ?1");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, kWriteBackSeqCounter);
    KRAY_TRY((*st)->Run());
  }
  w.sweep_ended = w.swept_from + w.swept_count == kSweepBuckets;
  // Every row of the records up to the sweep's start is now written back,
  // as new or newer; after WriteBackAll's slice, every row of every record.
  if (w.sweep_ended) w.redundant_from_now = w.all ? last_seq : w.sweep_start;
  return DeleteRedundantRecords(last_seq);
}

// Oldest first, so a record left is never older than one deleted: ApplyRedo
// still ends with each row's newest image.
Status StateCache::DeleteRedundantRecords(std::int64_t last_seq) {
  WriteBack& w = *wb_;
  const std::int64_t redundant = std::max(w.redundant_through, w.redundant_from_now);
  w.delete_through = w.all ? last_seq : std::min(redundant, w.deleted_through + kRecordsDeletedPerGroup);
  if (w.delete_through <= w.deleted_through) return Ok();
  auto del = db_->Use("DELETE FROM account_redo WHERE seq <= ?1");
  if (!del.ok()) return std::move(del).error();
  (*del)->Bind(1, w.delete_through);
  return (*del)->Run();
}

void StateCache::Stage(std::uint64_t last_seq) {
  if (wb_ && !wb_->pending.empty()) wb_->rows->Stage(wb_->pending, last_seq);
}

void StateCache::Committed() {
  if (!wb_) return;
  WriteBack& w = *wb_;
  const auto now = std::chrono::steady_clock::now();
  // Every account this group left unwritten and not queued yet, into its
  // range's list, so the sweep that deletes this group's record has written
  // its rows back first. Settle moves images out of `pending`: cleared below.
  const auto to_queue = w.rows->Settle(w.pending, true, [&](std::string_view id) {
    return SweepBucketOf(id) - w.swept_from < w.swept_count;  // written back by this group
  });
  if (!w.swept.empty() || !w.swept_unqueued.empty()) w.rows->Retire(w.swept, w.swept_unqueued, now, ++w.write_back_seq);
  w.rows->EraseRetired(now);
  for (std::size_t i = 0; i < w.swept_count; ++i) {
    auto& bucket = w.buckets[w.swept_from + i];
    w.queued -= bucket.size();
    bucket.clear();
    bucket.shrink_to_fit();
  }
  for (const auto& q : to_queue) w.buckets[SweepBucketOf(q.id())].push_back(q);
  w.queued += to_queue.size();
  if (w.group_seq != 0) w.redo_seq = w.group_seq;
  if (w.swept_count > 0) {
    w.sweep_pos = w.swept_from + w.swept_count;
    if (!w.all) w.last_slice += w.slot * static_cast<std::int64_t>(w.swept_count);
    if (w.sweep_ended) {
      w.redundant_through = std::max(w.redundant_through, w.redundant_from_now);
      w.sweep_pos = 0;
      w.sweep_start = w.redo_seq;  // the next sweep writes back everything after it
      if (now - w.last_slice > w.slot * static_cast<std::int64_t>(kSweepBuckets)) w.last_slice = now;
    }
  }
  w.deleted_through = std::max(w.deleted_through, w.delete_through);
  w.delete_through = 0;
  w.redundant_from_now = 0;
  w.all = w.all && !w.sweep_ended;
  w.record.clear();
  w.pending.clear();
  w.swept.clear();
  w.swept_unqueued.clear();
  w.swept_count = 0;
  w.sweep_ended = false;
  w.group_seq = 0;
  w.bound_now.clear();
}

}  // namespace kray::state
