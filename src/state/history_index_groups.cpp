// The history index's reads of committed groups handed over by the
// sequencer (see history_index.h, OnGroupCommitted): the thread takes them
// instead of reading the log back while they continue its position.
#include <string_view>
#include <utility>

#include "history_index.h"
#include "kray/core/bytes.h"
#include "kray/state/leaves.h"

namespace kray::state {

void HistoryIndex::OnGroupCommitted(const std::shared_ptr<const GroupChanges>& changes) {
  {
    std::lock_guard lock(mu_);
    if (changes && !changes->operations.empty() && !arrived_dropped_) {
      if (arrived_operations_ + changes->operations.size() <= kMaxArrivedOperations) {
        arrived_.push_back(changes);
        arrived_operations_ += changes->operations.size();
      } else {
        arrived_dropped_ = true;  // the thread is behind: it reads the log (and frees these)
      }
    }
    if (woken_) return;
    woken_ = true;
  }
  cv_.notify_one();
}

Result<bool> HistoryIndex::ReadNext() {
  const Taken taken = TakeArrived();
  if (taken.all) return false;
  // The rest from the log, the pass within kPassOperations (taken <=
  // kMaxArrivedOperations == kPassOperations).
  const std::size_t room = kPassOperations - taken.operations;
  auto n = ReadLog(room);
  if (!n.ok()) return std::move(n).error();
  return *n == room;
}

HistoryIndex::Taken HistoryIndex::TakeArrived() {
  std::vector<std::shared_ptr<const GroupChanges>> groups;  // freed here, on this thread
  {
    std::lock_guard lock(mu_);
    groups.swap(arrived_);
    arrived_operations_ = 0;
    if (std::exchange(arrived_dropped_, false)) return {};
  }
  // None arrived: the log may still have operations no group brought (those
  // before the index was attached); an idle pass finds out.
  if (groups.empty()) return {};
  std::vector<KeySeq> ids, accounts;
  std::uint64_t last_seq = tail_.read_seq;  // only this thread changes it
  bool gap = false;
  for (const auto& group : groups) {
    if (group->last_seq() <= last_seq) continue;  // read from the log already
    const std::size_t ids_before = ids.size(), accounts_before = accounts.size();
    if (!TakeGroup(*group, last_seq, ids, accounts)) {
      ids.resize(ids_before);
      accounts.resize(accounts_before);
      gap = true;
      break;
    }
    last_seq = group->last_seq();
  }
  if (ids.empty()) return {};
  AddToTail(ids, accounts, last_seq, Bytes(ids.back().first.begin(), ids.back().first.end()),
            &HistoryIndex::taken_from_groups_);
  return {ids.size(), !gap};
}

bool HistoryIndex::TakeGroup(const GroupChanges& group, std::uint64_t after_seq, std::vector<KeySeq>& ids,
                             std::vector<KeySeq>& accounts) {
  // The group's changed leaves carry their keys: a key is a tagged SHA-256
  // of the id (~2,400 instructions under callgrind), made once.
  account_keys_.clear();
  for (const auto& leaf : group.leaves) {
    if (leaf.id.type == kAccountLeaf) account_keys_.emplace(leaf.id.id, &leaf.key);
  }
  std::uint64_t expected = after_seq + 1;
  for (const auto& op : group.operations) {
    Hash256 id;
    // Not the next seq, or an id the log would not store: the log decides.
    if (op->seq != expected++ || !DecodeHexInto(op->hash, id)) return false;
    ids.emplace_back(id, op->seq);
    for (const auto& leaf : op->touched) {
      if (leaf.type != kAccountLeaf) continue;
      const auto known = account_keys_.find(leaf.id);
      accounts.emplace_back(known != account_keys_.end() ? *known->second : AccountKey(leaf.id), op->seq);
    }
  }
  return true;
}

}  // namespace kray::state
