// Batches: tx root, L1 anchor payload, and the read side of the batches
// table (docs/ROLLUP.md, "Batches" and "Anchor payload").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/rollup/smt.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::rollup {

inline constexpr std::string_view kTxRootLeafTag = "KRAY/txroot/leaf";
inline constexpr std::string_view kTxRootNodeTag = "KRAY/txroot/node";

// The 32 bytes a tx contributes to the tx root: the tx_hash decoded from hex
// when it is 64 hex chars, else SHA256(utf8(tx_hash)) (system records).
Hash256 TxHashBytes(std::string_view tx_hash_hex);
// Binary Merkle root over tx hashes in order:
//   level 0: TaggedHash("KRAY/txroot/leaf", h_i)
//   parent:  TaggedHash("KRAY/txroot/node", left || right)
//   an odd last node is carried up unchanged (never duplicated);
//   the root of one tx is its leaf hash; of zero txs, 32 zero bytes.
Hash256 TxRoot(const std::vector<Hash256>& tx_hashes);

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
  Amount gas_collected = 0, gas_burned = 0, gas_distributed = 0, gas_retained = 0;
  std::int64_t created_at = 0;
  std::string anchor_status;  // built | anchored | finalized
  std::optional<std::string> anchor_txid;
  std::optional<std::int64_t> anchor_height;
  Bytes anchor_payload;  // AnchorPayload(number, state_root, tx_root)
};

// The rollup's running state (rollup_state row).
struct RollupStatus {
  std::string genesis_root, state_root;  // hex
  std::int64_t open_batch = 1, open_since = 0, last_seq = 0, base_seq = 0;
  std::int64_t last_batch() const { return open_batch - 1; }
};

// --- reads (any connection holding the schema) ---
// NotFound "rollup_not_initialized" before the rollup was attached.
Result<RollupStatus> GetRollupStatus(store::Database& db);
// Newest first. limit 1..500.
Result<std::vector<BatchHeader>> ListBatches(store::Database& db, int limit, int offset);
Result<std::int64_t> CountBatches(store::Database& db);
// NotFound "batch_not_found".
Result<BatchHeader> GetBatch(store::Database& db, std::int64_t number);
Result<std::vector<std::string>> BatchTxHashes(store::Database& db, const BatchHeader& batch);
// Every record of the batch, in seq order, as stored (signature included).
Result<std::vector<state::TxRecord>> BatchTransactions(store::Database& db, const BatchHeader& batch);
// Records with first_seq <= seq <= last_seq (any batch state).
Result<std::vector<state::TxRecord>> TransactionsInRange(store::Database& db, std::int64_t first_seq,
                                                         std::int64_t last_seq);

// An account creation or key binding (not a tx; see rollup.h). Replay rule:
// applied after tx `after_seq`, included in batch `batch`'s state root.
struct AccountEvent {
  std::int64_t id = 0;
  std::string account_id, l1_address, pubkey;  // pubkey "" = none
  std::int64_t after_seq = 0, batch = 0;
};
// Events of one batch (batch 0 = already in the genesis tree), in order.
Result<std::vector<AccountEvent>> BatchAccountEvents(store::Database& db, std::int64_t batch);
// The genesis tree's leaf preimages (version 0), sorted by key.
Result<std::vector<Bytes>> GenesisLeaves(store::Database& db);

// A proof of one account at a batch (or at the current state).
struct AccountProof {
  std::string account_id;
  std::int64_t batch = 0;  // 0 = genesis, or the current open state (see at_head)
  bool at_head = false;
  std::string root;  // hex root the proof is against
  SmtProof proof;
  Bytes leaf_data;  // empty when the account is absent at that batch
};
// batch: nullopt = the current state. Uses the versioned node table, so any
// past batch works. NotFound "batch_not_found".
Result<AccountProof> ProveAccount(store::Database& db, std::string_view account_id, std::optional<std::int64_t> batch);
// Checks an AccountProof offline: the leaf data hashes to the proven value,
// belongs to `account_id`, and the proof verifies against `root`.
Status VerifyAccountProof(const AccountProof& p, const Hash256& root);

}  // namespace kray::rollup
