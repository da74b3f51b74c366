// Internal to the history index (history_index*.cpp): the 8-byte prefixes
// its tables and filters are keyed by, and the mixer its hashes use.
#pragma once

#include <cstdint>

#include "kray/core/bytes.h"

namespace kray::state::history_keys {

// The id's (or account key's) first 8 bytes, big-endian, as SQLite's signed
// integer.
inline std::int64_t IdPrefix(const Hash256& id) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | id[i];
  return static_cast<std::int64_t>(v);
}

// splitmix64's finaliser.
inline std::uint64_t Mix(std::uint64_t v) {
  v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ull;
  v = (v ^ (v >> 27)) * 0x94D049BB133111EBull;
  return v ^ (v >> 31);
}

}  // namespace kray::state::history_keys
