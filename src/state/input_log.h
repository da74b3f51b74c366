// Internal: the input log, the durable record of the groups a submitter
// applies while the sequencer is idle (docs/STATE.md, "The input log").
//
// One transfer at a time, a COMMIT with synchronous=FULL puts the fsync after
// the signature check and the execution: the request waits for both in a
// row. A logged group is recorded here first, then checked, executed and
// committed without a sync (as durable as with synchronous=NORMAL:
// Database::SetCommitsSynced) while a thread of this log runs the
// fdatasync of the record; the group is published and answered once both
// are done. What was answered therefore survives power loss: at the next
// open, the records after the store's input position (counters row
// 'input_seq', written by every logged group's transaction) are applied
// again, in order, with their recorded timestamps. A commit that syncs makes
// every earlier commit durable, so after each one the log starts again at
// the beginning of its file (Rewind).
//
// File: a fixed size, filled with zeros when created so that a record's
// fdatasync writes no file metadata. Record: u32be(magic) || u32be(len) ||
// u64be(seq) || first 8 bytes of SHA-256(u64be(seq) || payload) || payload.
// The log is the run of intact records with consecutive seqs from offset 0;
// what follows it (a torn record, records from before a rewind, all with
// lower seqs) is not part of it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/operation.h"

namespace kray::state {

class InputLog {
 public:
  static constexpr std::size_t kDefaultCapacity = 16u << 20;
  // The record's fdatasync (~0.15 ms on this project's VM) has run while its
  // group was checked, executed and committed, so the wait for it is short:
  // spent awake, its end is seen without a wake-up from the condition
  // variable (docs/BENCHMARKS.md, thirty-second round).
  static constexpr std::chrono::microseconds kAwakeWait{300};
  // After a sync, the sync thread watches awake (yielding the core) for the
  // next request for this long when the last request came within as long
  // after the sync before it (one client sending one transfer after
  // another), and sleeps at once otherwise: a request it sees awake starts
  // its fdatasync without a wake-up (docs/BENCHMARKS.md, thirty-fourth
  // round). Under load from many clients the watch does not arise: the
  // sequencer's own groups do not use this log.
  static constexpr std::chrono::microseconds kWatchNext{200};
  struct Record {
    std::uint64_t seq = 0;
    Bytes payload;
  };

  // Opens or creates the file (at least `capacity` bytes), reads its
  // records and starts the sync thread (watching for `watch_next` after a
  // sync, see kWatchNext; 0: never).
  static Result<std::unique_ptr<InputLog>> Open(const std::string& path, std::size_t capacity = kDefaultCapacity,
                                                std::chrono::microseconds watch_next = kWatchNext);
  ~InputLog();
  InputLog(const InputLog&) = delete;
  InputLog& operator=(const InputLog&) = delete;

  // The records read at open with seq > `after`, in order (moved out: a
  // second call returns none).
  std::vector<Record> TakeRecordsAfter(std::uint64_t after);
  // Numbers the next record after `seq` if that is higher than the log's
  // own last seq (the store's input position).
  void NumberAfter(std::uint64_t seq);

  // The calls below are made by one thread at a time (the sequencer's
  // token holder), except WaitDurable.

  // Writes a record with the next seq, not synced, and returns the seq;
  // nullopt if it does not fit before the end of the file (the caller
  // commits with a sync, then calls Rewind).
  Result<std::optional<std::uint64_t>> Append(ByteSpan payload);
  // Asks the sync thread for an fdatasync covering every record appended.
  void RequestSync();
  // Blocks until record `seq` is durable. A failed sync is sticky. Waits
  // awake (yielding the core) for up to kAwakeWait first.
  Status WaitDurable(std::uint64_t seq);
  // The next record is written at offset 0: every record so far is durable
  // in the store.
  void Rewind();
  // Bytes in use since the last rewind.
  std::size_t used() const { return offset_; }
  // The highest seq read at open or appended since (0: none).
  std::uint64_t last_seq() const { return last_seq_; }
  // Syncs whose request the sync thread saw while watching awake.
  std::uint64_t syncs_seen_awake() const { return seen_awake_.load(std::memory_order_relaxed); }

 private:
  InputLog(int fd, std::size_t capacity, std::chrono::microseconds watch_next)
      : fd_(fd), capacity_(capacity), watch_next_(watch_next) {}
  Status ReadRecords();
  void SyncLoop();
  // Returns when a sync is requested, a stop is, or `until` passes: true if
  // a request came before `until`.
  bool WatchUntil(std::chrono::steady_clock::time_point until);

  const int fd_;
  const std::size_t capacity_;
  const std::chrono::microseconds watch_next_;
  std::size_t offset_ = 0;      // the token holder's
  std::uint64_t last_seq_ = 0;  // the token holder's
  std::vector<Record> recovered_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Written under mu_; also read without it by SyncLoop's awake watch.
  std::atomic<std::uint64_t> requested_{0};  // highest seq a sync was asked for
  // Written under mu_; also read without it by WaitDurable's awake wait.
  std::atomic<std::uint64_t> synced_{0};  // highest seq known durable
  std::atomic<bool> failing_{false};      // failed_ is set
  std::optional<Error> failed_;           // guarded by mu_
  // Written under mu_; also read without it by SyncLoop's awake watch.
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> seen_awake_{0};
  std::thread thread_;
};

// A logged group's record: what the submitter sent and what the sequencer
// added, with the group's timestamp and the one setting its checks read.
struct LoggedGroup {
  std::int64_t timestamp = 0;
  bool accept_legacy = true;
  Operation submitted;                // as submitted (validated, not yet verified)
  std::vector<Operation> system_ops;  // due system operations, applied after it
};
Bytes EncodeLoggedGroup(const LoggedGroup& group);
// The same record from the group's operations where they are (no copies).
Bytes EncodeLoggedGroup(std::int64_t timestamp, bool accept_legacy, const Operation& submitted,
                        std::span<const Operation* const> system_ops);
Result<LoggedGroup> DecodeLoggedGroup(ByteSpan payload);

}  // namespace kray::state
