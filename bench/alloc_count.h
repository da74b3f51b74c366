// Every operator new(size_t) of a benchmark's process, counted (alloc_count.cpp
// replaces it; the array and nothrow forms call it, the aligned ones do not).
// Benchmarks report how many allocations their work costs, a figure that
// does not move with this machine's pace as their times do (SQLite's own
// mallocs are not counted). A load and a store, not a locked add: the
// benchmarks run on one thread, and the times should not pay for the count.
#pragma once

#include <atomic>
#include <cstdint>

namespace kray::bench {

extern std::atomic<std::uint64_t> g_allocations;

inline std::uint64_t Allocations() {
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace kray::bench
