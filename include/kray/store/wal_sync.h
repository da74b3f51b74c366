// Group commit for a WAL-mode store: the writer commits with
// synchronous=NORMAL (its WAL frames reach the OS, not the disk) and another
// thread makes them durable with Sync(), one fdatasync of the -wal file for
// every commit made before the call. The writer applies the next group while
// the previous one's sync is in flight, which is what a synchronous=FULL
// commit (write, then fsync, on the writer's thread) cannot do.
//
// Why this is as safe as synchronous=FULL for what was acknowledged: a commit
// appends frames to the WAL and updates nothing else on disk; SQLite's
// recovery keeps the longest prefix of frames whose checksums chain, so once
// the WAL's bytes are on disk every commit they hold survives power loss.
// NORMAL keeps SQLite's own ordering for checkpoints (the WAL is synced before
// pages are copied into the database, the database before the WAL restarts).
//
// Thread-safety: Sync() may run on any one thread, concurrently with the
// writer's commits (it opens its own descriptor).
#pragma once

#include <string>

#include "kray/core/result.h"

namespace kray::store {

class WalSync {
 public:
  // `db_path` is the store file; its log is `db_path + "-wal"`.
  explicit WalSync(std::string db_path);
  ~WalSync();
  WalSync(const WalSync&) = delete;
  WalSync& operator=(const WalSync&) = delete;

  // Every commit that returned before this call is durable when it returns
  // Ok. Errors: "wal_sync_failed" (the log cannot be opened or synced; the
  // caller must treat the commits as lost and stop writing).
  Status Sync();

 private:
  Status Reopen();
  std::string wal_path_;
  std::string dir_path_;
  int fd_ = -1;
  unsigned long inode_ = 0;
};

}  // namespace kray::store
