// What the state module publishes after every group commit: a typed change
// set (the operations applied and the committed leaves they changed, with
// their new data). Followers such as the rollup index keep their own storage
// and their own position in the operation log (as Bitcoin Core's indexes
// follow the chain) instead of reaching into state's tables.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/operation.h"

namespace kray::state {

struct LeafChange {
  LeafId id;
  Hash256 key{};              // LeafKey(id.type, id.id)
  std::optional<Bytes> data;  // the leaf's data after the group; nullopt = not in the tree
};

struct GroupChanges {
  // The operations applied, in seq order (contiguous seqs); each shared
  // with the receipt its submitter is answered with. Never null.
  std::vector<std::shared_ptr<const Operation>> operations;
  // Every leaf changed by them (each once, sorted by key), including supply
  // leaves, with its data after the last of them.
  std::vector<LeafChange> leaves;
  std::uint64_t first_seq() const { return operations.empty() ? 0 : operations.front()->seq; }
  std::uint64_t last_seq() const { return operations.empty() ? 0 : operations.back()->seq; }
};

// Called on the sequencer thread: keep it short (queue the work).
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // After a group's transaction committed: it is durable. The change set is
  // shared (immutable): keep the pointer rather than copying it.
  virtual void OnGroupCommitted(const std::shared_ptr<const GroupChanges>& changes) = 0;
  // A group's transaction failed and was rolled back: nothing of it
  // happened (its operations were answered with `why`).
  virtual void OnGroupRolledBack(const Error& why) {}
};

}  // namespace kray::state
