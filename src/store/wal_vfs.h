// A SQLite VFS that hands a commit's WAL frames to the kernel in a few large
// writes.
//
// SQLite appends each WAL frame with two pwrite calls (24-byte header, then
// the page), so a group commit of 150 pages is 300 system calls before its
// fsync, each paying ext4's per-write bookkeeping. Written as one, the same
// 150 frames took a third of the write time and less fdatasync time on this
// project's VM; a 23-transfer group commit (operation_bench,
// BM_ExecuteGroupOnDisk) takes 14 % less wall and CPU time.
//
// The VFS wraps the default one and changes WAL files only: writes that
// continue the previous one are collected in memory (up to 8 MiB), and
// everything collected goes out, in order and in chunks of 124 KiB (the unix
// VFS's limit per call), before any other call on that file (read, sync,
// truncate, size, close) and before a write anywhere else. Nothing is
// reordered and nothing is reported durable earlier: with synchronous=FULL
// or EXTRA SQLite syncs the WAL before it publishes a commit's frames to
// other connections (sqlite3WalFrames), and the sync writes first. A crash
// before the sync leaves the same torn tail that unbuffered writes would,
// which WAL recovery discards by checksum.
//
// Two conditions, both on the caller (OpenOptions::batch_wal_writes):
//  - The connection syncs every commit (FULL or EXTRA; SetWalCommitSyncs
//    keeps SQLite asking): with NORMAL, SQLite publishes frames without
//    calling the WAL file again, so other connections could look for
//    frames still in memory.
//  - It is the file's only writer. Frames a transaction spilled to the WAL
//    before it rolled back stay in the buffer (a rollback makes no call on
//    the WAL file; SQLite releases the write lock on the database file's
//    shared memory), and are written at the next call. By the same
//    connection that is harmless (its next transaction writes from the same
//    offset, after them); had another connection committed frames at those
//    offsets meanwhile, they would be overwritten.
#pragma once

#include <cstdint>

struct sqlite3_file;

namespace kray::store {

// Registers the VFS once (thread-safe) and returns its name for
// sqlite3_open_v2, or nullptr if registration failed (then open with the
// default VFS).
//
// `paced`: the WAL is also synced after every 512 KiB written, so that a
// commit of many megabytes reaches the disk in pieces. On this project's VM
// a disk flush (any file's fdatasync) carries whatever other files wrote
// since the last one: at 100k accounts and a paced 1,500 transfers/s, each
// of the rollup's commits (every ~0.5 s, 15-55 ms to sync) made the
// sequencer's fdatasync that ran next to it take 10-56 ms instead of ~1 ms,
// and those stalls were the requests' p99. In pieces, a flush next to it
// carries at most one piece; the paced commit itself takes longer (the
// rollup is not paced for that reason: its closes must persist within a
// second). Only more syncs: nothing is reported durable earlier, and the
// frames of a commit are still published by SQLite only after its own
// final sync.
const char* WalBatchingVfs(bool paced = false);

// With `synced` false, the commits of this WAL file's connection (FULL or
// EXTRA; the file as SQLITE_FCNTL_JOURNAL_POINTER gives it) are not synced:
// the sync SQLite asks for after a commit's frames writes them out (so they
// are in the OS before SQLite publishes them) and returns, which leaves the
// commit as durable as one made with synchronous=NORMAL. The syncs that
// NORMAL keeps stay real: a restarted WAL's header (written at offset 0)
// and a checkpoint's (no frames written since the last sync). With true,
// every sync is real again. For the sequencer's logged groups, whose
// durability is the input log's (src/state/input_log.h); unlike the pragma,
// the commit's frames stay batched. Returns false, changing nothing, for a
// file of another VFS or one not open yet (its commits then sync).
bool SetWalCommitSyncs(sqlite3_file* wal, bool synced);

// Process-wide counts on WAL files opened through the VFS, for tests and
// benchmarks: writes SQLite asked for, writes passed to the OS, the syncs a
// paced file made between them, the syncs SQLite asked for that were made,
// and those skipped (SetWalCommitSyncs).
struct WalWriteCounts {
  std::uint64_t requested = 0;
  std::uint64_t issued = 0;
  std::uint64_t piece_syncs = 0;
  std::uint64_t syncs = 0;
  std::uint64_t skipped_syncs = 0;
};
WalWriteCounts WalWriteCountsNow();

}  // namespace kray::store
