// The WAL-batching VFS (src/store/wal_vfs.h): a commit's frames reach the OS
// in one write, nothing is lost or reordered, and it is used only where every
// commit syncs.
#include "../../../src/store/wal_vfs.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "kray/store/database.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::store {
namespace {

using test::TempDir;

constexpr Migration kSchema[] = {{1, "001_t.sql", "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL);"}};

std::int64_t Int(Database& db, const std::string& sql) {
  auto v = QueryInt(db, sql, -1);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return v.ok() ? *v : -1;
}

// What krayd's single-writer connections ask for.
OpenOptions Batched() {
  OpenOptions o;
  o.batch_wal_writes = true;
  return o;
}

std::unique_ptr<Database> OpenT(const std::string& path, OpenOptions o = Batched()) {
  auto db = Database::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.error().message;
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Migrate("t", kSchema).ok());
  return std::move(*db);
}

// Inserts rows [first, first + n) with ~1 KiB values, scattered keys so the
// transaction dirties many pages.
void InsertRows(Database& db, int first, int n) {
  for (int i = first; i < first + n; ++i) {
    auto st = db.Use("INSERT INTO t (k, v) VALUES (?1, zeroblob(1000))");
    ASSERT_TRUE(st.ok());
    (*st)->Bind(1, static_cast<std::int64_t>(i) * 7919 % 100003);
    ASSERT_TRUE((*st)->Run().ok());
  }
}

// Commits rows [first, first + n) in one transaction; returns the WAL
// writes and syncs it took.
WalWriteCounts CommitRows(Database& db, int first, int n) {
  const WalWriteCounts before = WalWriteCountsNow();
  {
    Transaction tx(db);
    InsertRows(db, first, n);
    EXPECT_TRUE(tx.Commit().ok());
  }
  const WalWriteCounts after = WalWriteCountsNow();
  return {after.requested - before.requested, after.issued - before.issued, after.piece_syncs - before.piece_syncs,
          after.syncs - before.syncs, after.skipped_syncs - before.skipped_syncs};
}

TEST(WalBatchingVfs, ACommitReachesTheOsInOneWrite) {
  TempDir dir;
  auto db = OpenT(dir.file("a.sqlite"));
  ASSERT_TRUE(db);
  const WalWriteCounts before = WalWriteCountsNow();
  {
    Transaction tx(*db);
    InsertRows(*db, 0, 200);
    auto committed = tx.Commit();
    ASSERT_TRUE(committed.ok()) << committed.error().message;
  }
  const WalWriteCounts after = WalWriteCountsNow();
  // ~200 KB of rows: about 60 frames, two writes each for SQLite; the OS
  // gets them in chunks of 124 KiB (the unix VFS's limit per call).
  EXPECT_GE(after.requested - before.requested, 100u);
  EXPECT_LE(after.issued - before.issued, 3u);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), 200);
}

// A paced file's large commit reaches the disk in pieces of 512 KiB, each
// synced, so a flush from another file next to it carries at most one
// piece; an unpaced one syncs once, at the commit.
TEST(WalBatchingVfs, APacedFileSyncsALargeCommitInPieces) {
  TempDir dir;
  OpenOptions paced = Batched();
  paced.paced_wal_sync = true;
  auto a = OpenT(dir.file("paced.sqlite"), paced);
  auto b = OpenT(dir.file("unpaced.sqlite"));
  ASSERT_TRUE(a && b);
  auto commit_rows = [](Database& db) {
    const WalWriteCounts before = WalWriteCountsNow();
    Transaction tx(db);
    InsertRows(db, 0, 3000);  // ~3 MB of frames
    auto committed = tx.Commit();
    EXPECT_TRUE(committed.ok()) << committed.error().message;
    return WalWriteCountsNow().piece_syncs - before.piece_syncs;
  };
  const std::uint64_t paced_syncs = commit_rows(*a);
  EXPECT_GE(paced_syncs, 5u);
  EXPECT_LE(paced_syncs, 8u);
  EXPECT_EQ(commit_rows(*b), 0u);
  EXPECT_EQ(Int(*a, "SELECT COUNT(*) FROM t"), 3000);
  EXPECT_EQ(Int(*b, "SELECT COUNT(*) FROM t"), 3000);
}

TEST(WalBatchingVfs, SpilledFramesAreReadBackAndEverythingSurvivesReopen) {
  TempDir dir;
  const std::string path = dir.file("a.sqlite");
  OpenOptions small_cache = Batched();
  small_cache.cache_size_kib = 64;  // the transaction spills to the WAL before it commits
  {
    auto db = OpenT(path, small_cache);
    ASSERT_TRUE(db);
    Transaction tx(*db);
    InsertRows(*db, 0, 2000);
    // Pages spilled mid-transaction are read back from the WAL.
    EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), 2000);
    EXPECT_EQ(Int(*db, "SELECT SUM(length(v)) FROM t"), 2000 * 1000);
    ASSERT_TRUE(tx.Commit().ok());
    // A second connection (the default VFS) sees the committed frames.
    OpenOptions ro;
    ro.read_only = true;
    auto reader = Database::Open(path, ro);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(Int(**reader, "SELECT COUNT(*) FROM t"), 2000);
    // A rolled-back transaction leaves nothing behind.
    {
      Transaction undone(*db);
      InsertRows(*db, 5000, 300);
    }
    Transaction more(*db);
    InsertRows(*db, 9000, 10);
    ASSERT_TRUE(more.Commit().ok());
  }
  auto db = OpenT(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), 2010);
  auto check = db->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok());
  ASSERT_TRUE(check->Step().value());
  EXPECT_EQ(check->Text(0), "ok");
}

TEST(WalBatchingVfs, WhatWasCommittedSurvivesSigkill) {
  TempDir dir;
  const std::string path = dir.file("a.sqlite");
  int acked[2];
  ASSERT_EQ(pipe(acked), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(acked[0]);
    auto db = Database::Open(path, Batched());
    if (!db.ok() || !(*db)->Migrate("t", kSchema).ok()) _exit(2);
    for (int round = 0;; ++round) {
      Transaction tx(**db);
      InsertRows(**db, round * 10, 10);
      if (!tx.Commit().ok()) _exit(3);
      // Acknowledged only once Commit returned, like the sequencer.
      if (write(acked[1], &round, sizeof round) != sizeof round) _exit(4);
      if (round == 50) raise(SIGKILL);
    }
  }
  close(acked[1]);
  int last = -1, round = 0;
  while (read(acked[0], &round, sizeof round) == sizeof round) last = round;
  close(acked[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(last, 50);
  auto db = OpenT(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), 51 * 10);
}

// Neither where commits do not sync, nor where it was not asked for (a file
// other connections may write too).
TEST(WalBatchingVfs, NotUsedWhereCommitsDoNotSyncOrUnlessAsked) {
  TempDir dir;
  OpenOptions normal = Batched();
  normal.synchronous = Synchronous::kNormal;
  for (const OpenOptions& o : {normal, OpenOptions{}}) {
    auto db = OpenT(dir.file(o.batch_wal_writes ? "normal.sqlite" : "default.sqlite"), o);
    ASSERT_TRUE(db);
    const WalWriteCounts before = WalWriteCountsNow();
    {
      Transaction tx(*db);
      InsertRows(*db, 0, 50);
      ASSERT_TRUE(tx.Commit().ok());
    }
    EXPECT_EQ(WalWriteCountsNow().requested, before.requested);
  }
}

// A commit made without a sync (SetCommitsSynced(false): the sequencer's
// logged groups) still reaches the OS in few writes, before SQLite
// publishes it: another connection reads it at once. Its sync is skipped;
// the next commit's is made again.
TEST(WalBatchingVfs, ACommitWithoutASyncIsBatchedAndReadByAnotherConnectionAtOnce) {
  TempDir dir;
  auto db = OpenT(dir.file("a.sqlite"));
  ASSERT_TRUE(db);
  CommitRows(*db, 0, 10);
  auto reader = Database::Open(dir.file("a.sqlite"), OpenOptions{});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(Int(**reader, "SELECT COUNT(*) FROM t"), 10);

  ASSERT_TRUE(db->SetCommitsSynced(false));
  const WalWriteCounts unsynced = CommitRows(*db, 10, 200);
  EXPECT_LT(unsynced.issued * 10, unsynced.requested) << "batched";
  EXPECT_EQ(unsynced.skipped_syncs, 1u);
  EXPECT_EQ(unsynced.syncs, 0u);
  EXPECT_EQ(Int(**reader, "SELECT COUNT(*) FROM t"), 210);

  ASSERT_TRUE(db->SetCommitsSynced(true));
  const WalWriteCounts synced = CommitRows(*db, 210, 200);
  EXPECT_EQ(synced.syncs, 1u);
  EXPECT_EQ(synced.skipped_syncs, 0u);
  EXPECT_EQ(Int(**reader, "SELECT COUNT(*) FROM t"), 410);
}

// What synchronous=NORMAL still syncs stays synced while commits are not:
// a checkpoint's sync of the WAL before it copies frames back, and the
// header of a WAL that starts again (else a power failure could leave an
// old header in front of new frames).
TEST(WalBatchingVfs, WithoutCommitSyncsACheckpointAndARestartedHeaderAreStillSynced) {
  TempDir dir;
  auto db = OpenT(dir.file("a.sqlite"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->SetCommitsSynced(false));
  CommitRows(*db, 0, 20);
  const WalWriteCounts before = WalWriteCountsNow();
  EXPECT_EQ(Int(*db, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);  // not busy
  const WalWriteCounts after = WalWriteCountsNow();
  EXPECT_GE(after.syncs - before.syncs, 1u) << "the checkpoint synced the WAL";
  EXPECT_EQ(after.skipped_syncs, before.skipped_syncs);

  // The emptied WAL starts again: header, its sync, frames.
  const WalWriteCounts restarted = CommitRows(*db, 100, 20);
  EXPECT_EQ(restarted.syncs, 1u) << "the new header was synced";
  EXPECT_EQ(restarted.skipped_syncs, 1u) << "the commit was not";
  ASSERT_TRUE(db->SetCommitsSynced(true));
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), 40);
}

}  // namespace
}  // namespace kray::store
