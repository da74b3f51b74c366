// Internal: the points of bound keys (schema/core/004_key_points.sql), the y
// that lets the key preload cache a key parsed. Derived from the keys, never
// trusted: readers check each y against its key (crypto::VerifyingKey::
// FromPoint).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::store {
class Database;
}

namespace kray::state {

// The even y of each key (nullopt for one that is not a point). A square
// root each (~3.8 µs): from 4,096 keys on, spread over the cores.
std::vector<std::optional<crypto::FieldBytes>> LiftKeys(std::span<const crypto::XOnlyPubKey> keys);

// Writes (or replaces) account `id`'s point, inside the caller's transaction.
Status WriteKeyPoint(store::Database& db, const std::string& id, const crypto::FieldBytes& y);

// Migration core/005 marks a store whose keys may have been bound before
// their points were stored: writes the missing ones, in chunks of 4,096
// keys each committed on its own (a stop midway resumes at the next start),
// then removes the mark. Nothing to do on a store without it.
Status FillKeyPoints(store::Database& db);

}  // namespace kray::state
