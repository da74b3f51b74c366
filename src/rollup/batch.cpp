// Tx root, anchor payload, batch reads and account proofs (batch.h).
#include "kray/rollup/batch.h"

#include <algorithm>

#include "kray/crypto/hash.h"
#include "kray/rollup/leaves.h"
#include "kray/rollup/node_store.h"
#include "kray/state/tx_query.h"
#include "kray/store/database.h"

namespace kray::rollup {

Hash256 TxHashBytes(std::string_view tx_hash_hex) {
  if (tx_hash_hex.size() == 64) {
    if (auto h = FromHexFixed<32>(tx_hash_hex)) return *h;
  }
  return crypto::Sha256(AsBytes(tx_hash_hex));
}

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
    "gas_distributed, gas_retained, created_at, anchor_status, anchor_txid, anchor_height";

BatchHeader ReadBatch(store::Statement& s) {
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
  b.gas_distributed = static_cast<Amount>(s.Int64(9));
  b.gas_retained = static_cast<Amount>(s.Int64(10));
  b.created_at = s.Int64(11);
  b.anchor_status = s.Text(12);
  if (!s.IsNull(13)) b.anchor_txid = s.Text(13);
  if (!s.IsNull(14)) b.anchor_height = s.Int64(14);
  auto sr = FromHexFixed<32>(b.state_root);
  auto tr = FromHexFixed<32>(b.tx_root);
  if (sr && tr) b.anchor_payload = AnchorPayload(static_cast<std::uint64_t>(b.number), *sr, *tr);
  return b;
}

}  // namespace

Result<RollupStatus> GetRollupStatus(store::Database& db) {
  auto st = db.Cached(
      "SELECT genesis_root, state_root, open_batch, open_since, last_seq, base_seq FROM rollup_state WHERE id = 1");
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  auto row = s.Step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return Error::NotFound("rollup_not_initialized", "the rollup has not been initialised");
  RollupStatus r;
  r.genesis_root = s.Text(0);
  r.state_root = s.Text(1);
  r.open_batch = s.Int64(2);
  r.open_since = s.Int64(3);
  r.last_seq = s.Int64(4);
  r.base_seq = s.Int64(5);
  s.Reset();
  return r;
}

Result<std::vector<BatchHeader>> ListBatches(store::Database& db, int limit, int offset) {
  limit = std::clamp(limit, 1, 500);
  offset = std::max(offset, 0);
  auto st = db.Cached(std::string("SELECT ") + kBatchCols + " FROM batches ORDER BY number DESC LIMIT ?1 OFFSET ?2");
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  s.Bind(1, limit).Bind(2, offset);
  std::vector<BatchHeader> out;
  for (;;) {
    auto more = s.Step();
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
    out.push_back(ReadBatch(s));
  }
  s.Reset();
  return out;
}

Result<std::int64_t> CountBatches(store::Database& db) {
  auto st = db.Cached("SELECT COUNT(*) FROM batches");
  if (!st.ok()) return std::move(st).error();
  auto row = (*st)->Step();
  if (!row.ok()) return std::move(row).error();
  std::int64_t n = (*st)->Int64(0);
  (*st)->Reset();
  return n;
}

Result<BatchHeader> GetBatch(store::Database& db, std::int64_t number) {
  auto st = db.Cached(std::string("SELECT ") + kBatchCols + " FROM batches WHERE number = ?1");
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  s.Bind(1, number);
  auto row = s.Step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return Error::NotFound("batch_not_found", "batch " + std::to_string(number) + " not found");
  BatchHeader b = ReadBatch(s);
  s.Reset();
  return b;
}

Result<std::vector<state::TxRecord>> TransactionsInRange(store::Database& db, std::int64_t first_seq,
                                                         std::int64_t last_seq) {
  return state::TransactionsInSeqRange(db, first_seq, last_seq);
}

Result<std::vector<state::TxRecord>> BatchTransactions(store::Database& db, const BatchHeader& batch) {
  return TransactionsInRange(db, batch.first_seq, batch.last_seq);
}

Result<std::vector<std::string>> BatchTxHashes(store::Database& db, const BatchHeader& batch) {
  auto st = db.Cached("SELECT tx_hash FROM transactions WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq");
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  s.Bind(1, batch.first_seq).Bind(2, batch.last_seq);
  std::vector<std::string> out;
  for (;;) {
    auto more = s.Step();
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
    out.push_back(s.Text(0));
  }
  s.Reset();
  return out;
}

Result<std::vector<AccountEvent>> BatchAccountEvents(store::Database& db, std::int64_t batch) {
  auto st = db.Cached(
      "SELECT id, account_id, l1_address, pubkey, after_seq, batch FROM rollup_account_events WHERE batch = ?1 "
      "ORDER BY id");
  if (!st.ok()) return std::move(st).error();
  store::Statement& s = **st;
  s.Bind(1, batch);
  std::vector<AccountEvent> out;
  for (;;) {
    auto more = s.Step();
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
    AccountEvent e;
    e.id = s.Int64(0);
    e.account_id = s.Text(1);
    e.l1_address = s.Text(2);
    e.pubkey = s.IsNull(3) ? "" : s.Text(3);
    e.after_seq = s.Int64(4);
    e.batch = s.Int64(5);
    out.push_back(std::move(e));
  }
  s.Reset();
  return out;
}

Result<std::vector<Bytes>> GenesisLeaves(store::Database& db) {
  auto st = db.Cached("SELECT data FROM rollup_leaf_data WHERE version = 0 AND data IS NOT NULL ORDER BY key");
  if (!st.ok()) return std::move(st).error();
  std::vector<Bytes> out;
  for (;;) {
    auto more = (*st)->Step();
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
    out.push_back((*st)->Blob(0));
  }
  (*st)->Reset();
  return out;
}

namespace {
Result<AccountProof> ProveAccountIn(store::Database& db, std::string_view account_id,
                                    std::optional<std::int64_t> batch);
}  // namespace

Result<AccountProof> ProveAccount(store::Database& db, std::string_view account_id, std::optional<std::int64_t> batch) {
  // One read transaction: the head root and the head nodes must come from the
  // same snapshot (the writer updates both about once a second).
  bool own = !db.InTransaction();
  if (own) KRAY_TRY(db.Exec("BEGIN"));
  auto r = ProveAccountIn(db, account_id, batch);
  if (own) (void)db.Exec("ROLLBACK");
  return r;
}

namespace {
Result<AccountProof> ProveAccountIn(store::Database& db, std::string_view account_id,
                                    std::optional<std::int64_t> batch) {
  auto status = GetRollupStatus(db);
  if (!status.ok()) return std::move(status).error();
  AccountProof p;
  p.account_id = std::string(account_id);
  std::int64_t version;
  if (!batch) {
    p.at_head = true;
    p.batch = status->last_batch();
    p.root = status->state_root;
    version = status->open_batch;
  } else {
    if (*batch < 0 || *batch > status->last_batch())
      return Error::NotFound("batch_not_found", "batch " + std::to_string(*batch) + " not found");
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
  SparseMerkleTree tree(nodes);
  Hash256 key = AccountKey(account_id);
  auto proof = tree.Prove(key);
  if (!proof.ok()) return std::move(proof).error();
  p.proof = std::move(*proof);
  if (ToHex(SmtProofRoot(p.proof)) != p.root)
    return Error::Internal("rollup: stored tree at version " + std::to_string(version) + " does not match its root");
  if (p.proof.Includes()) {
    auto st =
        db.Cached("SELECT data FROM rollup_leaf_data WHERE key = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1");
    if (!st.ok()) return std::move(st).error();
    (*st)->BindBlob(1, key).Bind(2, version);
    auto row = (*st)->Step();
    if (!row.ok()) return std::move(row).error();
    if (*row && !(*st)->IsNull(0)) p.leaf_data = (*st)->Blob(0);
    (*st)->Reset();
    if (LeafValueHash(p.leaf_data) != p.proof.leaf_value_hash)
      return Error::Internal("rollup: leaf preimage missing or inconsistent for " + p.account_id);
  }
  return p;
}
}  // namespace

Status VerifyAccountProof(const AccountProof& p, const Hash256& root) {
  Hash256 key = AccountKey(p.account_id);
  if (p.leaf_data.empty()) return VerifySmtProof(root, key, std::nullopt, p.proof);
  auto leaf = DecodeLeaf(p.leaf_data);
  if (!leaf.ok()) return std::move(leaf).error();
  if (leaf->type != LeafType::kAccount || leaf->account.account_id != p.account_id)
    return Error::Invalid("proof_invalid", "leaf data belongs to another account");
  return VerifySmtProof(root, key, LeafValueHash(p.leaf_data), p.proof);
}

}  // namespace kray::rollup
