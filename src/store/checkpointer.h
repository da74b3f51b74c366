// WAL checkpoints on a thread of their own, for a store's writing connection.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses the
// threshold, on the writer's thread: it copies every page the WAL holds back
// into the database file and fsyncs that file while the writer, krayd's
// sequencer, waits. At 100k accounts that is ~12 % of the sequencer's CPU and
// a stall of tens of milliseconds every few thousand transfers (p99 68-75 ms
// against 34-38 ms with no checkpoints at all).
//
// Here the writer's commit hook, once the WAL holds the threshold, wakes a
// thread that checkpoints (PASSIVE: it never blocks the writer or a reader)
// through a connection of its own, while the writer goes on; a commit that
// lands during a pass wakes it once more when the pass ends. When the WAL
// holds an eighth more, the writer checkpoints itself, as SQLite's hook does
// at the threshold: by then the thread has copied the bulk and synced the
// database file, so the writer copies only the last frames, and its next
// transaction starts the WAL from its beginning, which a checkpoint from
// another connection cannot bring about while commits keep coming. The
// eighth bounds how often the thread copies a hot page again: a first
// version that woke it from half the threshold and looped until it caught up
// cost 6-15 % more CPU per transfer at 2k accounts. The checkpointing
// connection syncs like the writer, so a crash loses nothing a commit
// acknowledged: SQLite syncs the WAL before it copies and the database file
// before it records the copy.
//
// Past the eighth the writer waits, still committing, while the thread's
// passes run back to back, until one has left at most kWriterRest frames
// uncopied (or the WAL reaches half the threshold past the writer's bound): the
// writer's checkpoint copies only those and syncs a database file the thread
// has just synced. Copying what a whole pass left (thousands of frames at
// 100k accounts, then an fsync of the database file) held the sequencer
// 40-70 ms twice every ten seconds of a paced 1,500 transfers/s, and those
// stalls were the requests' p99.
//
// The eighth (2,048 frames by default) suits commits of a few dozen frames.
// A writer whose single commits can be larger (the rollup's at a million
// accounts) takes the WAL from below the threshold to past the eighth in
// one commit, so it hardly ever wakes the thread and copies the frames back
// itself: such a writer sets a larger bound
// (OpenOptions::writer_checkpoint_frames).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::store {

struct CheckpointTally;  // a store's counts (checkpointer.cpp)

class WalCheckpointer {
 public:
  // Replaces `writer`'s automatic checkpoint (its WAL hook) by this thread,
  // which opens `path` (a file name, not a URI) with `synchronous` ("FULL",
  // ...). `frames` is the threshold, as PRAGMA wal_autocheckpoint's, > 0;
  // the writer checkpoints itself from `writer_frames` on (0: an eighth
  // past `frames`).
  static Result<std::unique_ptr<WalCheckpointer>> Start(sqlite3* writer, const std::string& path,
                                                        const std::string& synchronous, int frames,
                                                        int writer_frames = 0);
  // Removes the hook (the writer is about to close), then stops and joins
  // the thread.
  ~WalCheckpointer();

 private:
  WalCheckpointer(sqlite3* writer, sqlite3* own, int frames, int writer_frames, std::shared_ptr<CheckpointTally> tally);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void Run();

  sqlite3* const writer_;
  sqlite3* const own_;
  const int frames_;
  const int writer_frames_;  // the writer checkpoints itself from here on, once little is left to copy
  const int hard_frames_;    // and from here on whatever is left (bounds the WAL)
  // The thread's last pass: the WAL's size then (high 32 bits) and the
  // frames it left copied back (low 32 bits). A WAL smaller than that size
  // has restarted since, and the pass says nothing about it.
  std::atomic<std::uint64_t> last_pass_{0};
  std::atomic<bool> wanted_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool hooked_ = false;  // the hook is ours to remove
  const std::shared_ptr<CheckpointTally> tally_;
  std::thread thread_;
};

}  // namespace kray::store
