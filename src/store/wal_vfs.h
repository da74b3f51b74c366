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
// VFS's limit per call), before any other operation on that file (read, sync,
// truncate, size, lock, close) and before a write anywhere else. Nothing is
// reordered and nothing is reported durable earlier: SQLite considers a
// commit durable only after xSync, which writes first. A crash before the
// sync leaves the same torn tail that unbuffered writes would, which WAL
// recovery discards by checksum.
//
// Only for connections that sync every commit (synchronous=FULL or EXTRA):
// with NORMAL, SQLite publishes frames to other connections without calling
// the WAL file again, so they could look for frames still in memory.
#pragma once

#include <cstdint>

namespace kray::store {

// Registers the VFS once (thread-safe) and returns its name for
// sqlite3_open_v2, or nullptr if registration failed (then open with the
// default VFS).
const char* WalBatchingVfs();

// Process-wide counts on WAL files opened through the VFS, for tests and
// benchmarks: writes SQLite asked for, and writes passed to the OS.
struct WalWriteCounts {
  std::uint64_t requested = 0;
  std::uint64_t issued = 0;
};
WalWriteCounts WalWriteCountsNow();

}  // namespace kray::store
