// WAL checkpoints on their own thread (src/store/checkpointer.h): they run,
// the WAL stays bounded, and what a commit acknowledged survives SIGKILL.
#include "../../../src/store/checkpointer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "kray/store/database.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::store {
namespace {

using test::TempDir;

constexpr Migration kSchema[] = {{1, "001_t.sql", "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL);"}};

// krayd's sequencer connection, with a small threshold so a test crosses it
// often.
OpenOptions Background(int frames = 64) {
  OpenOptions o;
  o.batch_wal_writes = true;
  o.checkpoint_in_background = true;
  o.wal_autocheckpoint = frames;
  return o;
}

std::unique_ptr<Database> OpenT(const std::string& path, const OpenOptions& o) {
  auto db = Database::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.error().message;
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Migrate("t", kSchema).ok());
  return std::move(*db);
}

std::int64_t Int(Database& db, const std::string& sql) {
  auto v = QueryInt(db, sql, -1);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return v.ok() ? *v : -1;
}

// One transaction of `n` scattered ~1 KiB rows starting at `first`.
Status CommitRows(Database& db, int first, int n) {
  Transaction tx(db);
  for (int i = first; i < first + n; ++i) {
    auto st = db.Use("INSERT INTO t (k, v) VALUES (?1, zeroblob(1000))");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, static_cast<std::int64_t>(i) * 7919 % 1000003);
    KRAY_TRY((*st)->Run());
  }
  return tx.Commit();
}

std::uintmax_t WalBytes(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path + "-wal", ec);
  return ec ? 0 : n;
}

TEST(WalCheckpointer, CheckpointsRunOnTheThreadAndTheWalStaysBounded) {
  TempDir dir;
  const std::string path = dir.file("a.sqlite");
  auto db = OpenT(path, Background(64));
  ASSERT_TRUE(db);
  const CheckpointCounts before = CheckpointCountsNow();
  std::uintmax_t largest = 0;
  for (int round = 0; round < 600; ++round) {
    ASSERT_TRUE(CommitRows(*db, round * 5, 5).ok());
    largest = std::max(largest, WalBytes(path));
  }
  // The thread copies from 64 frames on, the writer from 72, and the
  // writer's next transaction restarts the WAL. While a pass of the thread
  // holds the checkpoint lock the writer's own attempts are busy and the WAL
  // grows on: ~290 frames seen under a parallel ctest. Unbounded, 600
  // commits of ~10 pages would make ~6,000 frames (4 KiB pages, 24-byte
  // headers; the file keeps its largest size).
  EXPECT_LT(largest, 2000u * (4096u + 24u));
  EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), 3000);
  // Closed first: a pass of the thread between reading the process's counts
  // and this store's would make them differ.
  db.reset();
  const CheckpointCounts after = CheckpointCountsNow();
  EXPECT_GT(after.background - before.background, 0u);
  EXPECT_GT(after.frames_copied - before.frames_copied, 0u);  // the passes did copy
  EXPECT_EQ(after.failed, before.failed);
  EXPECT_GT(after.on_writer - before.on_writer, 0u);
  // The same passes, counted for this store alone (a new path: from zero).
  const CheckpointCounts own = CheckpointCountsFor(path);
  EXPECT_EQ(own.background, after.background - before.background);
  EXPECT_EQ(own.on_writer, after.on_writer - before.on_writer);
  EXPECT_EQ(own.failed, 0u);
  EXPECT_EQ(CheckpointCountsFor(dir.file("never-opened.sqlite")).background, 0u);
  auto again = OpenT(path, Background());
  ASSERT_TRUE(again);
  EXPECT_EQ(Int(*again, "SELECT COUNT(*) FROM t"), 3000);
  EXPECT_EQ(Int(*again, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
}

std::int64_t WalFrames(const std::string& path) {
  const auto bytes = WalBytes(path);
  return bytes < 32 ? 0 : static_cast<std::int64_t>((bytes - 32) / (4096 + 24));
}

// A commit that takes the WAL from below the threshold to past the eighth
// (the rollup's commits at a million accounts) makes the writer copy it all
// back itself with the default bound; with a larger bound
// (writer_checkpoint_frames) it wakes the thread, which does the copying.
TEST(WalCheckpointer, ALargerWriterBoundLeavesALargeCommitToTheThread) {
  for (const bool larger : {false, true}) {
    SCOPED_TRACE(larger ? "bound at 256 frames" : "default bound (72 frames)");
    TempDir dir;
    const std::string path = dir.file("a.sqlite");
    OpenOptions o = Background(64);
    if (larger) o.writer_checkpoint_frames = 256;
    auto db = OpenT(path, o);
    ASSERT_TRUE(db);
    ASSERT_TRUE(CommitRows(*db, 0, 300).ok());
    const std::int64_t frames = WalFrames(path);
    ASSERT_GE(frames, 72);   // an eighth past 64
    ASSERT_LT(frames, 256);  // below the larger bound
    if (!larger) {
      EXPECT_EQ(CheckpointCountsFor(path).on_writer, 1u);
      continue;
    }
    for (int i = 0; i < 500 && CheckpointCountsFor(path).background == 0; ++i) usleep(10000);
    const CheckpointCounts own = CheckpointCountsFor(path);
    EXPECT_GE(own.background, 1u);
    EXPECT_GT(own.frames_copied, 0u);
    EXPECT_EQ(own.on_writer, 0u);
    EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), 300);
  }
}

// Past its bound (an eighth past the threshold) the writer leaves a large
// rest to the thread's passes and copies back itself only once a pass has
// left little (at most 128 frames), so that its own checkpoint is short; at
// the hard bound (half the threshold further) it copies whatever is left.
// When a pass has copied everything, the next commit starts the WAL anew
// with no checkpoint of the writer's at all. (The case between, a pass that
// left a few frames, depends on a commit landing during the pass and is not
// made deterministic here.)
TEST(WalCheckpointer, TheWriterLeavesALargeRestToTheThread) {
  // 1,024 frames: the writer's bound is 1,152, the hard bound 1,664.
  for (const int rows : {4600, 7000}) {
    const bool past_hard = rows == 7000;
    SCOPED_TRACE(past_hard ? "one commit past the hard bound" : "one commit past the writer's bound");
    TempDir dir;
    const std::string path = dir.file("a.sqlite");
    auto db = OpenT(path, Background(1024));
    ASSERT_TRUE(db);
    ASSERT_TRUE(CommitRows(*db, 0, rows).ok());
    const std::int64_t frames = WalFrames(path);
    ASSERT_GE(frames, past_hard ? 1664 : 1152);
    if (past_hard) {
      EXPECT_EQ(CheckpointCountsFor(path).on_writer, 1u);
      continue;
    }
    ASSERT_LT(frames, 1664);
    EXPECT_EQ(CheckpointCountsFor(path).on_writer, 0u);  // ~1,300 frames to copy: left to the thread
    for (int i = 0; i < 500 && CheckpointCountsFor(path).frames_copied == 0; ++i) usleep(10000);
    ASSERT_GT(CheckpointCountsFor(path).frames_copied, 0u);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(CommitRows(*db, rows + i, 1).ok());
    EXPECT_EQ(CheckpointCountsFor(path).on_writer, 0u);
    EXPECT_LT(WalFrames(path), frames + 20);  // restarted: the commits went to its start
    EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM t"), rows + 20);
  }
}

// Without the option, SQLite's own checkpoint runs inside the commit and the
// thread never starts.
TEST(WalCheckpointer, NotStartedUnlessAsked) {
  TempDir dir;
  OpenOptions o = Background(64);
  o.checkpoint_in_background = false;
  auto db = OpenT(dir.file("a.sqlite"), o);
  ASSERT_TRUE(db);
  const CheckpointCounts before = CheckpointCountsNow();
  for (int round = 0; round < 100; ++round) ASSERT_TRUE(CommitRows(*db, round * 5, 5).ok());
  const CheckpointCounts after = CheckpointCountsNow();
  EXPECT_EQ(after.background, before.background);
  EXPECT_EQ(after.on_writer, before.on_writer);
}

// The child commits with checkpoints running beside it and reports each
// commit once Commit returned; SIGKILL at a random moment of the copying
// must not lose one.
TEST(WalCheckpointer, WhatWasCommittedSurvivesSigkillDuringCheckpoints) {
  for (int trial = 0; trial < 3; ++trial) {
    TempDir dir;
    const std::string path = dir.file("a.sqlite");
    int acked[2];
    ASSERT_EQ(pipe(acked), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(acked[0]);
      auto db = Database::Open(path, Background(32));
      if (!db.ok() || !(*db)->Migrate("t", kSchema).ok()) _exit(2);
      for (int round = 0;; ++round) {
        if (!CommitRows(**db, round * 5, 5).ok()) _exit(3);
        if (write(acked[1], &round, sizeof round) != sizeof round) _exit(4);
      }
    }
    close(acked[1]);
    int last = -1, round = 0;
    while (last < 150 + trial * 97 && read(acked[0], &round, sizeof round) == sizeof round) last = round;
    kill(child, SIGKILL);
    while (read(acked[0], &round, sizeof round) == sizeof round) last = round;
    close(acked[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    auto db = OpenT(path, Background());
    ASSERT_TRUE(db);
    // Every acknowledged commit; at most the one in flight beyond it.
    const std::int64_t rows = Int(*db, "SELECT COUNT(*) FROM t");
    EXPECT_GE(rows, (last + 1) * 5);
    EXPECT_LE(rows, (last + 2) * 5);
    EXPECT_EQ(Int(*db, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
  }
}

}  // namespace
}  // namespace kray::store
