// Batches: tx root, L1 anchor payload, and reads of the rollup index
// (<datadir>/rollup.sqlite): batch headers, the index's position, proofs
// (docs/ROLLUP.md, "Batches", "Proofs", "Anchor payload").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/rollup/smt.h"
#include "kray/state/operation.h"

namespace kray::store {
class Database;
}

namespace kray::rollup {

inline constexpr std::string_view kTxRootLeafTag = "KRAY/txroot/leaf";
inline constexpr std::string_view kTxRootNodeTag = "KRAY/txroot/node";

// Binary Merkle root over a batch's operation record hashes
// (state::OperationRecordHash), in seq order:
//   level 0: TaggedHash("KRAY/txroot/leaf", h_i)
//   parent:  TaggedHash("KRAY/txroot/node", left || right)
//   an odd last node is carried up unchanged (never duplicated);
//   the root of one operation is its leaf hash; of zero, 32 zero bytes.
Hash256 TxRoot(const std::vector<Hash256>& record_hashes);
// TxRoot of the operations' record hashes.
Hash256 OperationsTxRoot(const std::vector<state::Operation>& ops);

// A batch header's gas totals: its operations' fees, and their split
// (SplitGas) into burned and kept for the validators.
struct BatchGas {
  Amount collected = 0;
  Amount burned = 0;
  Amount retained = 0;
};
// Adds one operation's fee; false, leaving `g` unchanged, if a total would
// overflow.
bool AddOperationGas(BatchGas& g, Amount fee);

// Anchor payload (77 bytes): "KRAY" || u8(version = 1) || u64be(batch number)
//   || state_root (32) || tx_root (32).
inline constexpr std::uint8_t kAnchorVersion = 1;
inline constexpr std::size_t kAnchorPayloadSize = 77;
Bytes AnchorPayload(std::uint64_t batch_number, const Hash256& state_root, const Hash256& tx_root);
// scriptPubKey: OP_RETURN OP_PUSHDATA1 0x4d <payload> (80 bytes).
Bytes AnchorScript(std::uint64_t batch_number, const Hash256& state_root, const Hash256& tx_root);
struct AnchorData {
  std::uint64_t batch_number = 0;
  Hash256 state_root{}, tx_root{};
};
// Parses a payload (not the script); Invalid "invalid_anchor" otherwise.
Result<AnchorData> ParseAnchorPayload(ByteSpan payload);

struct BatchHeader {
  std::int64_t number = 0;
  std::string prev_state_root, state_root, tx_root;  // hex
  std::int64_t tx_count = 0, first_seq = 0, last_seq = 0;
  Amount gas_collected = 0, gas_burned = 0, gas_retained = 0;
  std::int64_t created_at = 0;
  std::string anchor_status = "built";  // built | anchored | finalized
  std::optional<std::string> anchor_txid;
  std::optional<std::int64_t> anchor_height;
  Bytes anchor_payload;  // AnchorPayload(number, state_root, tx_root)
};

// The rollup index's position (rollup_state row).
struct RollupStatus {
  std::string genesis_hash;              // the state store it follows
  std::string genesis_root, state_root;  // hex; state_root = head (after applied_seq)
  std::int64_t open_batch = 1, open_since = 0;
  std::int64_t batched_seq = 0;  // last operation inside a closed batch
  std::int64_t applied_seq = 0;  // last operation whose changes are in the tree
  // Proofs are served at batches >= oldest_proof_batch (config rollupprune
  // deletes the history older trees alone read); 0: every batch.
  std::int64_t oldest_proof_batch = 0;
  std::int64_t last_batch() const { return open_batch - 1; }
};

// --- reads (any connection to rollup.sqlite) ---
// NotFound "rollup_not_initialized" before the index was created.
Result<RollupStatus> GetRollupStatus(store::Database& db);
// Newest first; keyset paging: numbers below `before` (0: from the newest). limit 1..500.
Result<std::vector<BatchHeader>> ListBatches(store::Database& db, int limit, std::int64_t before, int offset);
Result<std::int64_t> CountBatches(store::Database& db);
// NotFound "batch_not_found".
Result<BatchHeader> GetBatch(store::Database& db, std::int64_t number);
// The batch that contains operation `seq`, or nullopt (not batched yet).
Result<std::optional<std::int64_t>> BatchOfSeq(store::Database& db, std::int64_t seq);

// A proof of one leaf at a batch (or at the index's head).
struct LeafProof {
  state::LeafId leaf;
  std::int64_t batch = 0;  // 0 = genesis; with at_head: the last closed batch
  bool at_head = false;
  std::string root;  // hex root the proof is against
  SmtProof proof;
  Bytes leaf_data;  // empty when the leaf is absent at that point
};
// batch: nullopt = the index's head. Any past batch works (versioned nodes).
// NotFound "batch_not_found".
Result<LeafProof> ProveLeaf(store::Database& db, const state::LeafId& leaf, std::optional<std::int64_t> batch);
// Checks a proof offline against `root`, and that it is a proof for
// `expected` (a proof for another leaf never passes): the leaf data hashes to
// the proven value and, for core leaves, decodes to the expected id.
// Invalid "proof_invalid".
Status VerifyLeafProof(const LeafProof& p, const state::LeafId& expected, const Hash256& root);

}  // namespace kray::rollup
