// The rollup engine (see include/kray/rollup/rollup.h, docs/ROLLUP.md).
#include "kray/rollup/rollup.h"

#include "kray/core/params.h"
#include "kray/rollup/leaves.h"
#include "kray/state/executor.h"
#include "kray/store/database.h"

namespace kray::rollup {
namespace {

Result<std::int64_t> QueryInt(store::Database& db, const std::string& sql, std::optional<std::int64_t> arg = {}) {
  auto st = db.Cached(sql);
  if (!st.ok()) return std::move(st).error();
  if (arg) (*st)->Bind(1, *arg);
  auto row = (*st)->Step();
  if (!row.ok()) return std::move(row).error();
  std::int64_t v = *row && !(*st)->IsNull(0) ? (*st)->Int64(0) : 0;
  (*st)->Reset();
  return v;
}

Result<std::int64_t> MaxSeq(store::Database& db) {
  return QueryInt(db, "SELECT COALESCE(MAX(seq), 0) FROM transactions");
}

Status StampEvents(store::Database& db, std::int64_t after_seq, std::int64_t batch) {
  auto st = db.Cached("UPDATE rollup_account_events SET after_seq = ?1, batch = ?2 WHERE after_seq IS NULL");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, after_seq).Bind(2, batch);
  return (*st)->Run();
}

}  // namespace

Result<Hash256> ApplyDirtyToTree(store::Database& db, NodeStore& nodes, std::int64_t version, bool record_leaves) {
  SparseMerkleTree tree(nodes);
  std::vector<std::string> dirty;
  {
    auto st = db.Cached("SELECT account_id FROM rollup_dirty");
    if (!st.ok()) return std::move(st).error();
    for (;;) {
      auto more = (*st)->Step();
      if (!more.ok()) return std::move(more).error();
      if (!*more) break;
      dirty.push_back((*st)->Text(0));
    }
    (*st)->Reset();
  }
  struct Change {
    Hash256 key;
    std::optional<Bytes> data;
  };
  std::vector<Change> changes;
  changes.reserve(dirty.size() + 8);
  for (const auto& id : dirty) {
    auto acct = LoadAccountState(db, id);
    if (!acct.ok()) {
      if (acct.error().code != "account_not_found") return std::move(acct).error();
      changes.push_back({AccountKey(id), std::nullopt});
      continue;
    }
    auto data = EncodeAccountLeaf(*acct);
    if (!data.ok()) return std::move(data).error();
    changes.push_back({AccountKey(id), std::move(*data)});
  }
  auto supply = LoadSupply(db);
  if (!supply.ok()) return std::move(supply).error();
  for (const auto& s : *supply) {
    if (s.IsZero()) {
      changes.push_back({SupplyKey(s.asset), std::nullopt});
    } else {
      changes.push_back({SupplyKey(s.asset), EncodeSupplyLeaf(s)});
    }
  }
  std::vector<SmtUpdate> updates;
  updates.reserve(changes.size());
  std::vector<const Change*> recorded;
  for (const auto& c : changes) {
    std::optional<Hash256> vh;
    if (c.data) vh = LeafValueHash(*c.data);
    auto old = tree.Get(c.key);
    if (!old.ok()) return std::move(old).error();
    if (*old == vh) continue;  // unchanged leaf: no node and no preimage written
    updates.push_back({c.key, vh});
    recorded.push_back(&c);
  }
  KRAY_TRY(tree.ApplyUpdates(std::move(updates)));
  if (record_leaves) {
    for (const Change* c : recorded) {
      auto st = db.Cached("INSERT OR REPLACE INTO rollup_leaf_data (key, version, data) VALUES (?1, ?2, ?3)");
      if (!st.ok()) return std::move(st).error();
      (*st)->BindBlob(1, c->key).Bind(2, version);
      if (c->data) {
        (*st)->BindBlob(3, *c->data);
      } else {
        (*st)->BindNull(3);
      }
      KRAY_TRY((*st)->Run());
    }
  }
  if (!dirty.empty()) KRAY_TRY(db.Exec("DELETE FROM rollup_dirty"));
  return tree.Root();
}

// ---------------------------------------------------------------------------

Rollup::Rollup(RollupOptions options) : opts_(options) {}
Rollup::~Rollup() = default;

Status Rollup::Attach(state::Ledger& ledger) {
  KRAY_TRY(ledger.SubmitSync("rollup_init",
                             [this](state::WriteContext& ctx, std::int64_t now) { return Init(ctx.db(), now); }));
  ledger.SetCommitObserver(this);
  return Ok();
}

Status Rollup::Init(store::Database& db, std::int64_t now) {
  auto existing = GetRollupStatus(db);
  if (existing.ok()) return Ok();
  if (existing.error().code != "rollup_not_initialized") return std::move(existing).error();
  // First run: every account and supply row becomes a leaf at version 0.
  KRAY_TRY(db.Exec("INSERT OR IGNORE INTO rollup_dirty (account_id) SELECT account_id FROM accounts"));
  SqliteNodeStore sql(db, 0, 0);
  CachedNodeStore cache(&sql);
  auto root = ApplyDirtyToTree(db, cache, 0, true);
  if (!root.ok()) return std::move(root).error();
  KRAY_TRY(cache.Flush());
  auto base = MaxSeq(db);
  if (!base.ok()) return std::move(base).error();
  KRAY_TRY(StampEvents(db, *base, 0));
  auto st = db.Prepare(
      "INSERT INTO rollup_state (id, genesis_root, state_root, open_batch, open_since, last_seq, base_seq) "
      "VALUES (1, ?1, ?1, 1, ?2, ?3, ?3)");
  if (!st.ok()) return std::move(st).error();
  st->Bind(1, ToHex(*root)).Bind(2, now).Bind(3, *base);
  return st->Run();
}

// Brings the tree up to date with the state written so far (dirty accounts,
// supply) and persists it at the open batch's version.
Status Rollup::Sync(store::Database& db, RollupStatus& st) {
  auto status = GetRollupStatus(db);
  if (!status.ok() && status.error().code == "rollup_not_initialized") {
    // Not attached through Attach(): initialise from the current state.
    KRAY_TRY(Init(db, 0));
    status = GetRollupStatus(db);
  }
  if (!status.ok()) return std::move(status).error();
  st = *status;
  if (!sql_) {
    sql_ = std::make_unique<SqliteNodeStore>(db, st.open_batch, st.open_batch);
    cache_ = std::make_unique<CachedNodeStore>(sql_.get());
  }
  sql_->Reset(db, st.open_batch, st.open_batch);
  // A group that was rolled back after we ran leaves the cache ahead of the
  // store: detect it by the committed root and start from the store again.
  SparseMerkleTree tree(*cache_);
  auto cached_root = tree.Root();
  if (!cached_root.ok() || ToHex(*cached_root) != st.state_root) {
    cache_->Clear();
    cached_root = tree.Root();
    if (!cached_root.ok()) return std::move(cached_root).error();
    if (ToHex(*cached_root) != st.state_root)
      return Error::Internal("rollup: stored tree root " + ToHex(*cached_root) + " differs from rollup_state " +
                             st.state_root);
  }
  auto root = ApplyDirtyToTree(db, *cache_, st.open_batch, true);
  if (!root.ok()) return std::move(root).error();
  KRAY_TRY(cache_->Flush());
  std::string hex = ToHex(*root);
  if (hex != st.state_root) {
    auto up = db.Cached("UPDATE rollup_state SET state_root = ?1 WHERE id = 1");
    if (!up.ok()) return std::move(up).error();
    (*up)->Bind(1, hex);
    KRAY_TRY((*up)->Run());
    st.state_root = hex;
  }
  if (cache_->size() > opts_.max_cached_nodes) cache_->Clear();  // all clean after Flush
  return Ok();
}

Status Rollup::OnGroupApplied(store::Database& db, const std::vector<state::TxRecord>& txs,
                              const std::set<std::string>& touched_accounts) {
  // The accounts this group changed are already queued in rollup_dirty by
  // the triggers (in this same transaction), so the tree itself is brought
  // up to date once per tick (and at every batch close) rather than per
  // group: that dedups hot accounts and keeps the sequencer's per-group cost
  // to a few statements. Account events must be ordered against this
  // group's txs now, though.
  Status s = [&]() -> Status {
    auto st = GetRollupStatus(db);
    if (!st.ok() && st.error().code == "rollup_not_initialized") {
      KRAY_TRY(Init(db, 0));  // not attached through Attach(): start from the current state
      st = GetRollupStatus(db);
    }
    if (!st.ok()) return std::move(st).error();
    std::int64_t first = 0;
    for (const auto& t : txs)
      if (first == 0 || static_cast<std::int64_t>(t.seq) < first) first = static_cast<std::int64_t>(t.seq);
    if (first > 0) {
      KRAY_TRY(StampEvents(db, first - 1, st->open_batch));
    } else {
      auto max = MaxSeq(db);
      if (!max.ok()) return std::move(max).error();
      KRAY_TRY(StampEvents(db, *max, st->open_batch));
    }
    // COUNT(*) over the open batch walks every row in it (O(batch) per
    // group, ~20 us/tx at 10,000-tx batches). MAX(seq) - last_seq is an
    // upper bound of that count (seq is the rowid, strictly increasing), and
    // an O(log n) lookup; only when the bound reaches the limit is the exact
    // count taken, so the close decision is unchanged.
    auto max_seq = MaxSeq(db);
    if (!max_seq.ok()) return std::move(max_seq).error();
    std::int64_t open_txs = 0;
    if (*max_seq - st->last_seq >= opts_.max_batch_txs) {
      auto n = QueryInt(db, "SELECT COUNT(*) FROM transactions WHERE seq > ?1", st->last_seq);
      if (!n.ok()) return std::move(n).error();
      open_txs = *n;
    }
    if (open_txs >= opts_.max_batch_txs) {
      std::int64_t now = 0;
      for (const auto& t : txs) now = std::max(now, t.confirmed_at);
      auto closed = CloseBatch(db, now);
      if (!closed.ok()) return std::move(closed).error();
    }
    return Ok();
  }();
  if (!s.ok() && cache_) cache_->Clear();
  return s;
}

Status Rollup::OnTick(store::Database& db, std::int64_t now) {
  Status s = [&]() -> Status {
    RollupStatus st;
    KRAY_TRY(Sync(db, st));
    auto max = MaxSeq(db);
    if (!max.ok()) return std::move(max).error();
    KRAY_TRY(StampEvents(db, *max, st.open_batch));
    if (now - st.open_since < opts_.batch_interval) return Ok();
    if (*max > st.last_seq) {
      auto closed = CloseBatch(db, now);
      if (!closed.ok()) return std::move(closed).error();
      return Ok();
    }
    // An empty interval produces no batch: start a new interval.
    auto up = db.Cached("UPDATE rollup_state SET open_since = ?1 WHERE id = 1");
    if (!up.ok()) return std::move(up).error();
    (*up)->Bind(1, now);
    return (*up)->Run();
  }();
  if (!s.ok() && cache_) cache_->Clear();
  return s;
}

Result<std::optional<BatchHeader>> Rollup::CloseBatch(store::Database& db, std::int64_t now) {
  RollupStatus st;
  KRAY_TRY(Sync(db, st));
  auto max = MaxSeq(db);
  if (!max.ok()) return std::move(max).error();
  KRAY_TRY(StampEvents(db, *max, st.open_batch));  // what the root includes
  if (*max <= st.last_seq) return std::optional<BatchHeader>();
  auto recs = TransactionsInRange(db, st.last_seq + 1, *max);
  if (!recs.ok()) return std::move(recs).error();
  BatchHeader b;
  b.number = st.open_batch;
  b.first_seq = st.last_seq + 1;
  b.last_seq = *max;
  b.tx_count = static_cast<std::int64_t>(recs->size());
  std::vector<Hash256> hashes;
  hashes.reserve(recs->size());
  for (const auto& r : *recs) {
    hashes.push_back(TxHashBytes(r.tx_hash));
    GasSplit split = SplitGas(r.gas_fee);
    auto c = CheckedAdd(b.gas_collected, r.gas_fee);
    auto bu = CheckedAdd(b.gas_burned, split.burned);
    auto re = CheckedAdd(b.gas_retained, split.to_validators);
    if (!c || !bu || !re) return Error::Internal("rollup: batch gas overflows");
    b.gas_collected = *c;
    b.gas_burned = *bu;
    b.gas_retained = *re;
  }
  // No validator set exists yet: the validators' half stays in the fee pool
  // (supply.fee_pool, committed by the supply leaf), gas_distributed = 0.
  b.gas_distributed = 0;
  b.tx_root = ToHex(TxRoot(hashes));
  b.state_root = st.state_root;
  if (b.number == 1) {
    b.prev_state_root = st.genesis_root;
  } else {
    auto prev = GetBatch(db, b.number - 1);
    if (!prev.ok()) return std::move(prev).error();
    b.prev_state_root = prev->state_root;
  }
  b.created_at = now;
  b.anchor_status = "built";
  auto ins = db.Prepare(
      "INSERT INTO batches (number, prev_state_root, state_root, tx_root, tx_count, first_seq, last_seq, "
      "gas_collected, gas_burned, gas_distributed, gas_retained, created_at, anchor_status) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'built')");
  if (!ins.ok()) return std::move(ins).error();
  ins->Bind(1, b.number).Bind(2, b.prev_state_root).Bind(3, b.state_root).Bind(4, b.tx_root);
  ins->Bind(5, b.tx_count).Bind(6, b.first_seq).Bind(7, b.last_seq);
  ins->Bind(8, static_cast<std::int64_t>(b.gas_collected)).Bind(9, static_cast<std::int64_t>(b.gas_burned));
  ins->Bind(10, static_cast<std::int64_t>(b.gas_distributed)).Bind(11, static_cast<std::int64_t>(b.gas_retained));
  ins->Bind(12, b.created_at);
  KRAY_TRY(ins->Run());
  auto mark = db.Prepare("UPDATE transactions SET batch_id = ?1 WHERE seq BETWEEN ?2 AND ?3");
  if (!mark.ok()) return std::move(mark).error();
  mark->Bind(1, b.number).Bind(2, b.first_seq).Bind(3, b.last_seq);
  KRAY_TRY(mark->Run());
  auto up = db.Prepare("UPDATE rollup_state SET open_batch = ?1, open_since = ?2, last_seq = ?3 WHERE id = 1");
  if (!up.ok()) return std::move(up).error();
  up->Bind(1, b.number + 1).Bind(2, now).Bind(3, b.last_seq);
  KRAY_TRY(up->Run());
  sql_->Reset(db, b.number + 1, b.number + 1);
  Hash256 sr{}, tr{};
  auto s1 = FromHexFixed<32>(b.state_root);
  auto t1 = FromHexFixed<32>(b.tx_root);
  if (s1) sr = *s1;
  if (t1) tr = *t1;
  b.anchor_payload = AnchorPayload(static_cast<std::uint64_t>(b.number), sr, tr);
  return std::optional<BatchHeader>(std::move(b));
}

}  // namespace kray::rollup
