// Tx root, anchor payload, batch reads and account proofs (batch.h).
#include "kray/rollup/batch.h"

#include <algorithm>

#include "kray/crypto/hash.h"
#include "kray/rollup/leaf_rows.h"
#include "kray/rollup/node_store.h"
#include "kray/state/leaves.h"
#include "kray/store/database.h"

namespace kray::rollup {

Hash256 TxRoot(const std::vector<Hash256>& tx_hashes) {
  if (tx_hashes.empty()) return Hash256{};
  static const crypto::Sha256Hasher leaf = crypto::TaggedHasher(kTxRootLeafTag);
  static const crypto::Sha256Hasher node = crypto::TaggedHasher(kTxRootNodeTag);
  std::vector<Hash256> level;
  level.reserve(tx_hashes.size());
  for (const auto& h : tx_hashes) level.push_back(crypto::Sha256Hasher(leaf).Write(h).Finalize());
  while (level.size() > 1) {
    std::vector<Hash256> up;
    up.reserve((level.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < level.size(); i += 2)
      up.push_back(crypto::Sha256Hasher(node).Write(level[i]).Write(level[i + 1]).Finalize());
    if (level.size() % 2) up.push_back(level.back());  // odd node carried up unchanged
    level.swap(up);
  }
  return level[0];
}

bool AddOperationGas(BatchGas& g, Amount fee) {
  GasSplit split = SplitGas(fee);
  auto collected = CheckedAdd(g.collected, fee);
  auto burned = CheckedAdd(g.burned, split.burned);
  auto retained = CheckedAdd(g.retained, split.to_validators);
  if (!collected || !burned || !retained) return false;
  g = BatchGas{*collected, *burned, *retained};
  return true;
}

Hash256 OperationsTxRoot(const std::vector<state::Operation>& ops) {
  std::vector<Hash256> hashes;
  hashes.reserve(ops.size());
  for (const auto& op : ops) hashes.push_back(state::OperationRecordHash(op));
  return TxRoot(hashes);
}

Bytes AnchorPayload(std::uint64_t batch_number, const Hash256& state_root, const Hash256& tx_root) {
  Bytes out = {'K', 'R', 'A', 'Y', kAnchorVersion};
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(batch_number >> (8 * i)));
  out.insert(out.end(), state_root.begin(), state_root.end());
  out.insert(out.end(), tx_root.begin(), tx_root.end());
  return out;
}

Bytes AnchorScript(std::uint64_t batch_number, const Hash256& state_root, const Hash256& tx_root) {
  Bytes payload = AnchorPayload(batch_number, state_root, tx_root);
  // OP_RETURN, then OP_PUSHDATA1 (payload > 75 bytes needs it; BIP-62 minimal push).
  Bytes script = {0x6a, 0x4c, static_cast<std::uint8_t>(payload.size())};
  script.insert(script.end(), payload.begin(), payload.end());
  return script;
}

Result<AnchorData> ParseAnchorPayload(ByteSpan p) {
  if (p.size() != kAnchorPayloadSize || p[0] != 'K' || p[1] != 'R' || p[2] != 'A' || p[3] != 'Y')
    return Error::Invalid("invalid_anchor", "not a KRAY anchor payload");
  if (p[4] != kAnchorVersion) return Error::Invalid("invalid_anchor", "unknown anchor version");
  AnchorData d;
  for (int i = 0; i < 8; ++i) d.batch_number = (d.batch_number << 8) | p[5 + i];
  std::copy(p.begin() + 13, p.begin() + 45, d.state_root.begin());
  std::copy(p.begin() + 45, p.begin() + 77, d.tx_root.begin());
  return d;
}

// ---------------------------------------------------------------------------

namespace {

constexpr const char* kBatchCols =
    "number, prev_state_root, state_root, tx_root, tx_count, first_seq, last_seq, gas_collected, gas_burned, "
    "gas_retained, created_at, anchor_status, anchor_txid, anchor_height";

BatchHeader ReadBatch(const store::Statement& s) {
  BatchHeader b;
  b.number = s.Int64(0);
  b.prev_state_root = s.Text(1);
  b.state_root = s.Text(2);
  b.tx_root = s.Text(3);
  b.tx_count = s.Int64(4);
  b.first_seq = s.Int64(5);
  b.last_seq = s.Int64(6);
  b.gas_collected = static_cast<Amount>(s.Int64(7));
  b.gas_burned = static_cast<Amount>(s.Int64(8));
  b.gas_retained = static_cast<Amount>(s.Int64(9));
  b.created_at = s.Int64(10);
  b.anchor_status = s.Text(11);
  if (!s.IsNull(12)) b.anchor_txid = s.Text(12);
  if (!s.IsNull(13)) b.anchor_height = s.Int64(13);
  auto sr = FromHexFixed<32>(b.state_root);
  auto tr = FromHexFixed<32>(b.tx_root);
  if (sr && tr) b.anchor_payload = AnchorPayload(static_cast<std::uint64_t>(b.number), *sr, *tr);
  return b;
}

Result<std::optional<Bytes>> LeafDataAt(store::Database& db, const Hash256& key, std::int64_t version) {
  auto data = ReadLeafAt(db, key, version);
  if (!data.ok()) return std::move(data).error();
  return std::optional<Bytes>(data->has_value() ? std::move(**data) : Bytes{});
}

Result<LeafProof> ProveLeafIn(store::Database& db, const state::LeafId& leaf, std::optional<std::int64_t> batch) {
  auto status = GetRollupStatus(db);
  if (!status.ok()) return std::move(status).error();
  LeafProof p;
  p.leaf = leaf;
  std::int64_t version;
  if (!batch) {
    p.at_head = true;
    p.batch = status->last_batch();
    p.root = status->state_root;
    version = status->open_batch;
  } else {
    if (*batch < 0 || *batch > status->last_batch())
      return Error::NotFound("batch_not_found", "batch " + std::to_string(*batch) + " not found");
    if (*batch < status->oldest_proof_batch)
      return Error::NotFound("batch_pruned",
                             "proofs at batch " + std::to_string(*batch) +
                                 " were pruned on this node (rollupprune); it serves proofs at batches " +
                                 std::to_string(status->oldest_proof_batch) + " and later");
    p.batch = *batch;
    version = *batch;
    if (*batch == 0) {
      p.root = status->genesis_root;
    } else {
      auto b = GetBatch(db, *batch);
      if (!b.ok()) return std::move(b).error();
      p.root = b->state_root;
    }
  }
  SqliteNodeStore nodes(db, version, version);
  nodes.DeriveBelow(kRollupDerivedDepth);
  SparseMerkleTree tree(nodes);
  Hash256 key = state::LeafKey(leaf.type, leaf.id);
  auto proof = tree.Prove(key);
  if (!proof.ok()) return std::move(proof).error();
  p.proof = std::move(*proof);
  if (ToHex(SmtProofRoot(p.proof)) != p.root)
    return Error::Internal("rollup: stored tree at version " + std::to_string(version) + " does not match its root");
  if (p.proof.Includes()) {
    auto data = LeafDataAt(db, key, version);
    if (!data.ok()) return std::move(data).error();
    p.leaf_data = std::move(**data);
    if (state::LeafValueHash(p.leaf_data) != p.proof.leaf_value_hash)
      return Error::Internal("rollup: leaf preimage missing or inconsistent for " + leaf.id);
  }
  return p;
}

}  // namespace

namespace {
Result<RollupStatus> ReadRollupStatus(store::Database& db, const char* sql) {
  auto st = db.Use(sql);
  if (!st.ok()) return std::move(st).error();
  auto row = store::FirstRow<RollupStatus>(**st, [](const store::Statement& s) {
    RollupStatus r;
    r.genesis_hash = s.Text(0);
    r.genesis_root = s.Text(1);
    r.state_root = s.Text(2);
    r.open_batch = s.Int64(3);
    r.open_since = s.Int64(4);
    r.batched_seq = s.Int64(5);
    r.applied_seq = s.Int64(6);
    r.oldest_proof_batch = s.Int64(7);
    return r;
  });
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return Error::Unavailable("rollup_not_initialized", "the rollup index is not initialised");
  return std::move(**row);
}
}  // namespace

Result<RollupStatus> GetRollupStatus(store::Database& db) {
  auto status = ReadRollupStatus(
      db,
      "SELECT genesis_hash, genesis_root, state_root, open_batch, open_since, batched_seq, applied_seq, "
      "oldest_proof_batch FROM rollup_state WHERE id = 1");
  if (status.ok() || status.error().code == "rollup_not_initialized") return status;
  // An index krayd has not migrated to schema 003 yet (opened read-only, e.g.
  // by `krayd verify` after an upgrade, before the node's first start):
  // nothing was pruned.
  auto before_003 = ReadRollupStatus(
      db,
      "SELECT genesis_hash, genesis_root, state_root, open_batch, open_since, batched_seq, applied_seq, 0 "
      "FROM rollup_state WHERE id = 1");
  return before_003.ok() ? std::move(before_003) : std::move(status);
}

Result<std::vector<BatchHeader>> ListBatches(store::Database& db, int limit, std::int64_t before, int offset) {
  limit = std::clamp(limit, 1, 500);
  offset = std::max(offset, 0);
  auto st = db.Use(std::string("SELECT ") + kBatchCols +
                   " FROM batches WHERE number < ?1 ORDER BY number DESC LIMIT ?2 OFFSET ?3");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, before <= 0 ? INT64_MAX : before).Bind(2, static_cast<std::int64_t>(limit));
  (*st)->Bind(3, static_cast<std::int64_t>(offset));
  return store::CollectRows<BatchHeader>(**st, ReadBatch);
}

Result<std::int64_t> CountBatches(store::Database& db) {
  return store::QueryInt(db, "SELECT MAX(number) FROM batches");
}

Result<BatchHeader> GetBatch(store::Database& db, std::int64_t number) {
  auto st = db.Use(std::string("SELECT ") + kBatchCols + " FROM batches WHERE number = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, number);
  auto row = store::FirstRow<BatchHeader>(**st, ReadBatch);
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return Error::NotFound("batch_not_found", "batch " + std::to_string(number) + " not found");
  return std::move(**row);
}

Result<std::optional<std::int64_t>> BatchOfSeq(store::Database& db, std::int64_t seq) {
  auto st = db.Use("SELECT number, first_seq FROM batches WHERE last_seq >= ?1 ORDER BY last_seq LIMIT 1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, seq);
  auto row = store::FirstRow<std::pair<std::int64_t, std::int64_t>>(
      **st, [](const store::Statement& r) { return std::make_pair(r.Int64(0), r.Int64(1)); });
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value() || (*row)->second > seq) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>((*row)->first);
}

Result<LeafProof> ProveLeaf(store::Database& db, const state::LeafId& leaf, std::optional<std::int64_t> batch) {
  // One read transaction: the head root and the head nodes must come from the
  // same snapshot (the index persists both together, at a due check and at
  // every close).
  store::ReadTransaction snapshot(db);
  KRAY_TRY(snapshot.status());
  return ProveLeafIn(db, leaf, batch);
}

Status VerifyLeafProof(const LeafProof& p, const state::LeafId& expected, const Hash256& root) {
  if (!(p.leaf == expected))
    return Error::Invalid("proof_invalid", "the proof is for leaf " + std::to_string(p.leaf.type) + "/" + p.leaf.id +
                                               ", not for " + std::to_string(expected.type) + "/" + expected.id);
  Hash256 key = state::LeafKey(expected.type, expected.id);
  if (p.proof.key != key) return Error::Invalid("proof_invalid", "the proof's key is not the leaf's key");
  if (p.leaf_data.empty()) return VerifySmtProof(root, key, std::nullopt, p.proof);
  if (p.leaf_data[0] != expected.type) return Error::Invalid("proof_invalid", "leaf data is of another type");
  if (expected.type == state::kAccountLeaf || expected.type == state::kSupplyLeaf) {
    auto leaf = state::DecodeLeaf(p.leaf_data);
    if (!leaf.ok()) return Error::Invalid("proof_invalid", "leaf data does not decode: " + leaf.error().message);
    std::string id = expected.type == state::kAccountLeaf ? leaf->account.account_id : leaf->supply.asset;
    if (id != expected.id) return Error::Invalid("proof_invalid", "leaf data belongs to " + id);
  }
  return VerifySmtProof(root, key, state::LeafValueHash(p.leaf_data), p.proof);
}

}  // namespace kray::rollup
