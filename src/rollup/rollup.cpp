// The rollup index (see include/kray/rollup/rollup.h, docs/ROLLUP.md).
#include "kray/rollup/rollup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "kray/state/op_log.h"
#include "kray/state/redo.h"
#include "rollup_impl.h"

namespace kray::rollup {

namespace {

constexpr std::size_t kCatchUpChunk = 10000;
// The tree's stored pages (above kRollupDerivedDepth) stay in memory
// (SqliteNodeStore::KeepPagesAbove): every change rewrites them, and at a
// million accounts reading them back before each update was a tenth of the
// rollup thread's time under load. At most 273 pages, ~270 KB.
constexpr int kKeepPagesAbove = kRollupDerivedDepth;
// Queued groups that wake the index thread before its persist interval
// (bounds the memory the queue holds between wake-ups).
constexpr std::size_t kWakeEveryGroups = 256;

}  // namespace

Result<std::vector<state::LeafChange>> EncodeLeaves(store::Database& db, const state::ModuleRegistry& registry,
                                                    const std::vector<state::LeafId>& leaves) {
  std::vector<state::LeafChange> out;
  out.reserve(leaves.size());
  for (const auto& id : leaves) {
    const state::LeafType* lt = registry.FindLeafType(id.type);
    if (!lt) return Error::Internal("no module registers leaf type " + std::to_string(id.type));
    auto data = lt->encode(db, id.id);
    if (!data.ok()) return std::move(data).error();
    out.push_back(state::LeafChange{id, state::LeafKey(id.type, id.id), std::move(*data)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

Status MigrateRollupIndex(store::Database& db) {
  // Schema 005 rewrites the leaves' preimages (~10 s per million rows here):
  // said, so that a first start that takes longer is not taken for a hang.
  auto before = db.ComponentVersion("rollup");
  if (!before.ok()) return std::move(before).error();
  // Schema 007 deletes every stored version of the pages at depth 12 (up to
  // 4,096 rows per batch kept): said too.
  const bool moving = *before > 0 && *before < 5;
  const bool dropping = *before > 0 && *before < 7;
  if (moving) spdlog::info("rollup: keeping the leaves' preimages by batch (schema 005, once): rewriting them");
  if (dropping) spdlog::info("rollup: deriving the tree below depth 12 (schema 007, once): deleting its stored pages");
  const auto start = std::chrono::steady_clock::now();
  KRAY_TRY(db.Migrate("rollup", RollupMigrations()));
  if (moving || dropping)
    spdlog::info("rollup: the index's layout upgraded in {:.1f} s",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  store::Transaction tx(db);
  KRAY_TRY(tx.status());
  KRAY_TRY(ConvertNodeRowsToPages(db));
  return tx.Commit();
}

Result<std::vector<state::LeafChange>> AllLeaves(store::Database& db, const state::ModuleRegistry& registry) {
  std::vector<state::LeafId> ids;
  for (const auto& lt : registry.leaf_types()) {
    KRAY_TRY(lt.for_each(db, [&](std::string_view id) -> Status {
      ids.push_back(state::LeafId{lt.type, std::string(id)});
      return Ok();
    }));
  }
  return EncodeLeaves(db, registry, ids);
}

Result<Hash256> ApplyLeafChanges(NodeStore& nodes, const std::vector<state::LeafChange>& changes,
                                 std::vector<Hash256>* changed_keys) {
  SparseMerkleTree tree(nodes);
  std::vector<SmtUpdate> updates;
  updates.reserve(changes.size());
  for (const auto& c : changes) {
    std::optional<Hash256> vh;
    if (c.data) vh = state::LeafValueHash(*c.data);
    updates.push_back({c.key, vh});
  }
  KRAY_TRY(tree.ApplyUpdates(std::move(updates), changed_keys));
  return tree.Root();
}

// ---------------------------------------------------------------------------

// The tree's stores, reading and writing at `version` (the open batch).
void Rollup::Impl::OpenTree(std::int64_t version) {
  sql = std::make_unique<SqliteNodeStore>(*db, version, version);
  sql->DeriveBelow(kRollupDerivedDepth);  // WriteProgress writes the leaves' rows
  sql->KeepPagesAbove(kKeepPagesAbove);
  cache = std::make_unique<CachedNodeStore>(sql.get());
}

Status Rollup::Impl::WriteProgress() {
  KRAY_TRY(cache->Flush());
  for (const auto& [key, data] : leaf_data) KRAY_TRY(heads.Write(*db, key, status.open_batch, data));
  auto up = db->Use(
      "UPDATE rollup_state SET state_root=?1, open_batch=?2, open_since=?3, batched_seq=?4, applied_seq=?5 "
      "WHERE id=1");
  if (!up.ok()) return std::move(up).error();
  (*up)->Bind(1, status.state_root).Bind(2, status.open_batch).Bind(3, status.open_since);
  (*up)->Bind(4, status.batched_seq).Bind(5, status.applied_seq);
  return (*up)->Run();
}

Status Rollup::Impl::ApplyPending() {
  if (pending.empty() && received_seq <= status.applied_seq) return Ok();
  std::vector<state::LeafChange> changes;
  changes.reserve(pending.size());
  for (auto& [key, c] : pending) changes.push_back(std::move(c));
  pending.clear();
  return Apply(std::move(changes), std::max(received_seq, status.applied_seq));
}

// Bounds the tree cache; only while it is clean (just after a write). A
// tree past the bound is read back at every update (RollupOptions::
// max_cached_nodes): the operator is told once, and /metrics counts it.
void Rollup::Impl::TrimCache() {
  if (cache->size() > opts.max_cached_nodes) {
    if (tree_cache_clears.fetch_add(1, std::memory_order_relaxed) == 0)
      spdlog::warn(
          "rollup: the state tree ({} nodes) outgrew its cache ({} nodes, rollupcache={} MiB): from now on every "
          "update reads its paths back from the index, several times the rollup thread's CPU; raise rollupcache "
          "(~{} MiB per million accounts)",
          cache->size(), opts.max_cached_nodes, opts.max_cached_nodes * kCachedTreeNodeBytes >> 20,
          kTreeNodesPerMillionAccounts * kCachedTreeNodeBytes >> 20);
    cache->Clear();
  }
  cached_tree_nodes.store(cache->size(), std::memory_order_relaxed);
}

void Rollup::Impl::MarkDirty() {
  if (!dirty) dirty_since = std::chrono::steady_clock::now();
  dirty = true;
}

// A check (every persist_interval_ms): the tree is brought up to date, and
// written when enough waits or it waited long enough (RollupOptions).
Status Rollup::Impl::PersistIfDue() {
  KRAY_TRY(ApplyPending());
  last_check = std::chrono::steady_clock::now();
  if (!dirty) return Ok();
  // The leaves' rows, not the tree's nodes: see RollupOptions::persist_min_entries.
  const bool enough = leaf_data.size() >= opts.persist_min_entries;
  const bool old_enough = last_check - dirty_since >= std::chrono::milliseconds(opts.persist_max_lag_ms);
  return enough || old_enough ? Persist() : Ok();
}

Status Rollup::Impl::Persist() {
  KRAY_TRY(ApplyPending());
  if (!dirty) return Ok();
  store::Transaction tx(*db);
  KRAY_TRY(tx.status());
  KRAY_TRY(WriteProgress());
  KRAY_TRY(tx.Commit());
  leaf_data.clear();
  dirty = false;
  last_check = std::chrono::steady_clock::now();
  TrimCache();
  return Ok();
}

Status Rollup::Impl::Apply(std::vector<state::LeafChange> changes, std::int64_t applied_seq) {
  std::vector<Hash256> changed;  // sorted; an unchanged leaf gets no preimage row
  auto root = ApplyLeafChanges(*cache, changes, &changed);
  if (!root.ok()) return std::move(root).error();
  for (auto& c : changes)
    if (std::binary_search(changed.begin(), changed.end(), c.key)) leaf_data[c.key] = std::move(c.data);
  status.state_root = ToHex(*root);
  status.applied_seq = applied_seq;
  MarkDirty();
  cached_tree_nodes.store(cache->size(), std::memory_order_relaxed);
  return Ok();
}

// Record hash and gas fee of operations first_seq..last_seq, in order: as
// they arrived when that is all of them, else read from the state store.
Result<std::vector<ArrivedOperation>> Rollup::Impl::BatchOperations(std::int64_t first_seq, std::int64_t last_seq) {
  if (auto taken = arrived.Take(first_seq, last_seq)) return std::move(*taken);
  closes_read_from_store.fetch_add(1, std::memory_order_relaxed);
  const auto count = static_cast<std::size_t>(last_seq - first_seq + 1);
  std::vector<ArrivedOperation> out;
  out.reserve(count);
  for (std::int64_t from = first_seq; from <= last_seq;) {
    auto ops = state::OperationsInRange(*state_db, static_cast<std::uint64_t>(from),
                                        static_cast<std::uint64_t>(last_seq), kCatchUpChunk);
    if (!ops.ok()) return std::move(ops).error();
    if (ops->empty()) return Error::Internal("rollup: operations " + std::to_string(from) + ".. are missing");
    for (const auto& op : *ops) out.push_back(ArrivedOperation{state::OperationRecordHash(op), op.gas_fee});
    from = static_cast<std::int64_t>(ops->back().seq) + 1;
  }
  if (out.size() != count)
    return Error::Internal("rollup: operation seqs " + std::to_string(first_seq) + ".." + std::to_string(last_seq) +
                           " are not contiguous");
  return out;
}

Result<std::optional<BatchHeader>> Rollup::Impl::CloseBatch(std::int64_t now) {
  const auto started = std::chrono::steady_clock::now();
  KRAY_TRY(ApplyPending());
  if (status.applied_seq <= status.batched_seq) return std::optional<BatchHeader>();
  BatchHeader b;
  b.number = status.open_batch;
  b.first_seq = status.batched_seq + 1;
  b.last_seq = status.applied_seq;
  auto ops = BatchOperations(b.first_seq, b.last_seq);
  if (!ops.ok()) return std::move(ops).error();
  std::vector<Hash256> hashes;
  hashes.reserve(ops->size());
  BatchGas gas;
  for (const auto& [hash, gas_fee] : *ops) {
    hashes.push_back(hash);
    if (!AddOperationGas(gas, gas_fee)) return Error::Internal("rollup: batch gas overflows");
  }
  b.gas_collected = gas.collected;
  b.gas_burned = gas.burned;
  b.gas_retained = gas.retained;
  b.tx_count = static_cast<std::int64_t>(hashes.size());
  b.tx_root = ToHex(TxRoot(hashes));
  b.state_root = status.state_root;
  b.prev_state_root = prev_root;
  b.created_at = now;
  auto sr = FromHexFixed<32>(b.state_root);
  auto tr = FromHexFixed<32>(b.tx_root);
  if (!sr || !tr) return Error::Internal("rollup: malformed roots");
  b.anchor_payload = AnchorPayload(static_cast<std::uint64_t>(b.number), *sr, *tr);

  store::Transaction tx(*db);
  KRAY_TRY(tx.status());
  KRAY_TRY(WriteProgress());  // the tree at version N, with the batch's root
  auto ins = db->Use(
      "INSERT INTO batches (number, prev_state_root, state_root, tx_root, tx_count, first_seq, last_seq, "
      "gas_collected, gas_burned, gas_retained, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
  if (!ins.ok()) return std::move(ins).error();
  (*ins)->Bind(1, b.number).Bind(2, b.prev_state_root).Bind(3, b.state_root).Bind(4, b.tx_root);
  (*ins)->Bind(5, b.tx_count).Bind(6, b.first_seq).Bind(7, b.last_seq);
  (*ins)->Bind(8, static_cast<std::int64_t>(b.gas_collected)).Bind(9, static_cast<std::int64_t>(b.gas_burned));
  (*ins)->Bind(10, static_cast<std::int64_t>(b.gas_retained)).Bind(11, b.created_at);
  KRAY_TRY((*ins)->Run());
  RollupStatus next = status;
  next.open_batch = b.number + 1;
  next.open_since = now;
  next.batched_seq = b.last_seq;
  auto up = db->Use("UPDATE rollup_state SET open_batch=?1, open_since=?2, batched_seq=?3 WHERE id=1");
  if (!up.ok()) return std::move(up).error();
  (*up)->Bind(1, next.open_batch).Bind(2, next.open_since).Bind(3, next.batched_seq);
  KRAY_TRY((*up)->Run());
  KRAY_TRY(tx.Commit());
  status = next;
  prev_root = b.state_root;
  arrived.StartAt(status.batched_seq + 1);
  leaf_data.clear();
  dirty = false;
  last_check = std::chrono::steady_clock::now();
  sql->Reset(*db, status.open_batch, status.open_batch);  // later writes belong to the next batch
  // Closes may be the only writes (a batch closing more often than the
  // persist lag, each check below the threshold): trim here too.
  TrimCache();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  close_seconds.Observe(took);
  spdlog::info("rollup: batch {} closed: {} operations, state root {} ({:.3f} s)", b.number, b.tx_count, b.state_root,
               took);
  {
    std::lock_guard lock(listeners_mu);
    for (const auto& [handle, listener] : batch_listeners) listener(b);
  }
  KRAY_TRY(FoldHeadsIfDue());
  return std::optional<BatchHeader>(std::move(b));
}

// After a close (nothing written yet at the open version): the heads of the
// last kFoldHeadsEvery batches' keys (or fewer batches', once they hold
// RollupOptions::fold_heads_at_keys keys) into rollup_leaf_head, in one
// transaction of their own, so that the close's root is not kept waiting
// (at a million accounts under load ~80,000 heads, most of the table's
// ~10,500 pages, in ~0.15 s).
Status Rollup::Impl::FoldHeadsIfDue() {
  const std::int64_t through = status.last_batch();
  if (through - heads.through() < kFoldHeadsEvery && heads.unfolded_keys() < opts.fold_heads_at_keys) return Ok();
  const auto started = std::chrono::steady_clock::now();
  const std::size_t keys = heads.unfolded_keys();
  store::Transaction tx(*db);
  KRAY_TRY(tx.status());
  KRAY_TRY(heads.Fold(*db, through));
  KRAY_TRY(tx.Commit());
  heads.Folded(through);
  spdlog::debug("rollup: {} leaves' heads folded through batch {} ({:.3f} s)", keys, through,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return Ok();
}

Status Rollup::Impl::Initialize() {
  // Genesis: the tree over every leaf of the state store, as version 0,
  // read in one snapshot that must hold no operation yet.
  store::ReadTransaction snapshot(*state_db);
  KRAY_TRY(snapshot.status());
  auto last = state::LastSeq(*state_db);
  if (!last.ok()) return std::move(last).error();
  if (*last != 0) {
    return Error::Unavailable("rollup_missing",
                              "rollup.sqlite is missing but the store already has " + std::to_string(*last) +
                                  " operations: restore the index file (its batch roots may be anchored on L1)");
  }
  auto leaves = AllLeaves(*state_db, registry);
  if (!leaves.ok()) return std::move(leaves).error();
  status = RollupStatus{};
  status.genesis_hash = ledger.genesis_hash();
  status.open_batch = 0;  // the genesis tree is version 0
  status.open_since = WallSeconds();
  OpenTree(0);
  KRAY_TRY(Apply(std::move(*leaves), 0));
  store::Transaction tx(*db);
  KRAY_TRY(tx.status());
  auto ins = db->Use(
      "INSERT INTO rollup_state (id, genesis_hash, genesis_root, state_root, open_batch, open_since, batched_seq, "
      "applied_seq) VALUES (1, ?1, ?2, ?2, 0, ?3, 0, 0)");
  if (!ins.ok()) return std::move(ins).error();
  (*ins)->Bind(1, status.genesis_hash).Bind(2, status.state_root).Bind(3, status.open_since);
  KRAY_TRY((*ins)->Run());
  // The fold position at the genesis version, so that its leaves write
  // their heads as they go (nothing to hold in memory for them).
  KRAY_TRY(heads.Fold(*db, 0));
  heads.Folded(0);
  KRAY_TRY(WriteProgress());
  status.open_batch = 1;
  status.genesis_root = status.state_root;
  auto up = db->Use("UPDATE rollup_state SET open_batch=1 WHERE id=1");
  if (!up.ok()) return std::move(up).error();
  KRAY_TRY((*up)->Run());
  KRAY_TRY(tx.Commit());
  leaf_data.clear();
  dirty = false;
  sql->Reset(*db, 1, 1);
  prev_root = status.genesis_root;
  spdlog::info("rollup: index created, genesis root {}", status.genesis_root);
  return Ok();
}

Status Rollup::Impl::CatchUp() {
  // One snapshot of the state store: the leaves read are exactly the state
  // after `last`; groups committed later arrive through OnGroupCommitted.
  store::ReadTransaction snapshot(*state_db);
  KRAY_TRY(snapshot.status());
  auto last = state::LastSeq(*state_db);
  if (!last.ok()) return std::move(last).error();
  auto target = static_cast<std::int64_t>(*last);
  if (status.applied_seq > target) {
    return Error::Unavailable("rollup_ahead", "rollup.sqlite has applied operation " +
                                                  std::to_string(status.applied_seq) + " but the store ends at " +
                                                  std::to_string(target) + ": the two files do not belong together");
  }
  if (status.applied_seq == target) return Ok();
  std::set<state::LeafId> touched;
  for (std::int64_t from = status.applied_seq + 1; from <= target;) {
    auto ops = state::OperationsInRange(*state_db, static_cast<std::uint64_t>(from), static_cast<std::uint64_t>(target),
                                        kCatchUpChunk);
    if (!ops.ok()) return std::move(ops).error();
    if (ops->empty()) break;
    for (const auto& op : *ops) touched.insert(op.touched.begin(), op.touched.end());
    from = static_cast<std::int64_t>(ops->back().seq) + 1;
  }
  auto supply = state::LoadAllSupply(*state_db);
  if (!supply.ok()) return std::move(supply).error();
  for (const auto& s : *supply) touched.insert(state::LeafId{state::kSupplyLeaf, s.asset});
  // Exactly this snapshot's accounts: with the rows it holds as records
  // only (kray/state/redo.h).
  auto redo = state::ReadRedo(*state_db);
  if (!redo.ok()) return std::move(redo).error();
  state::RedoScope exact(&*redo);
  auto changes = EncodeLeaves(*state_db, registry, std::vector<state::LeafId>(touched.begin(), touched.end()));
  if (!changes.ok()) return std::move(changes).error();
  spdlog::info("rollup: catching up {} operations ({} leaves)", target - status.applied_seq, changes->size());
  KRAY_TRY(Apply(std::move(*changes), target));
  return Persist();
}

void Rollup::Impl::Fail(const Error& e) {
  spdlog::error("rollup index stopped: {} ({}); restart krayd to catch up", e.message, e.code);
  failed = e;
  cache->Clear();
  if (sql) {  // drops pages of a rolled-back write
    sql->Reset(*db, status.open_batch, status.open_batch);
    sql->ForgetKeptPages();
  }
}

void Rollup::Impl::Handle(Work& w) {
  if (auto* group = std::get_if<std::shared_ptr<const state::GroupChanges>>(&w)) {
    const state::GroupChanges& changes = **group;
    if (failed) return;
    // Groups already in the tree (committed before the catch-up snapshot).
    auto last = static_cast<std::int64_t>(changes.last_seq());
    if (last <= std::max(status.applied_seq, received_seq)) return;
    for (const auto& c : changes.leaves) pending.insert_or_assign(c.key, c);
    arrived.Note(changes.operations);
    received_seq = last;
    MarkDirty();  // the lag counts from the change's arrival, not its application
    Status s = Ok();
    if (received_seq - status.batched_seq >= opts.max_batch_txs) {
      auto closed = CloseBatch(WallSeconds());
      if (!closed.ok()) s = std::move(closed).error();
    }
    if (!s.ok()) Fail(s.error());
  } else if (auto* sync = std::get_if<SyncRequest>(&w)) {
    if (!failed) {
      Status s = Persist();
      if (!s.ok()) Fail(s.error());
    }
    sync->done->set_value(failed ? Status(*failed) : Ok());
  } else if (auto* close = std::get_if<CloseRequest>(&w)) {
    if (failed) return close->done->set_value(*failed);
    auto closed = CloseBatch(WallSeconds());
    if (!closed.ok()) Fail(closed.error());
    close->done->set_value(std::move(closed));
  }
}

// One step of pruning; false when there is nothing to do. A step either
// moves the proof window (oldest_proof_batch = v: from then on no proof
// reads a tree older than batch v) or deletes a chunk of the rows only such
// older trees read (prune.h). Each step is one short transaction, so a close
// never waits long behind pruning. After a restart the deletion for the
// current oldest_proof_batch runs again from the start (it is idempotent).
Result<bool> Rollup::Impl::PruneStep() {
  if (opts.prune_keep_batches <= 0) return false;
  if (!prune.done()) {
    KRAY_TRY(DeleteSupersededChunk(*db, status.oldest_proof_batch, opts.prune_chunk_rows, prune));
    return true;
  }
  const std::int64_t keep_from = status.last_batch() - opts.prune_keep_batches + 1;
  if (status.oldest_proof_batch >= keep_from) return false;
  KRAY_TRY(SetOldestProofBatch(*db, status.oldest_proof_batch + 1));
  ++status.oldest_proof_batch;
  prune = PruneCursor{};
  return true;
}

// ---------------------------------------------------------------------------

Rollup::Rollup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Rollup>> Rollup::Open(state::Ledger& ledger, const RollupOptions& options) {
  auto impl = std::make_unique<Impl>(ledger, options);
  impl->path = (std::filesystem::path(ledger.datadir()) / "rollup.sqlite").string();
  impl->readers.SetPath(impl->path);
  store::OpenOptions wo;
  wo.batch_wal_writes = true;  // the rollup thread's connection is the index's only writer
  // Not paced_wal_sync: a close's persist (tens of MB at 1M accounts) synced
  // in pieces took 0.4-0.8 s on average and up to 2.5 s, against < 0.25 s
  // whole (docs/BENCHMARKS.md, eighteenth round).
  // Off the rollup thread, whose batch closes wait for each commit (at 100k
  // accounts 7 % less CPU per transfer: docs/BENCHMARKS.md, eighth round).
  wo.checkpoint_in_background = true;
  // A persist at a million accounts can add more than an eighth of the
  // threshold: with the default bound one commit crossed both, so this
  // thread hardly ever woke the checkpoint thread and copied the frames back
  // itself, a third of its time under load (docs/BENCHMARKS.md, twelfth
  // round).
  wo.writer_checkpoint_frames = 4 * wo.wal_autocheckpoint;
  auto db = store::Database::Open(impl->path, wo);
  if (!db.ok()) return std::move(db).error();
  impl->db = std::move(*db);
  KRAY_TRY(MigrateRollupIndex(*impl->db));
  KRAY_TRY(PrepareVersionIndexes(*impl->db, options.prune_keep_batches > 0));
  store::OpenOptions ro;
  ro.read_only = true;
  ro.cache_size_kib = 16384;
  auto state_db = store::Database::Open(ledger.store_path(), ro);
  if (!state_db.ok()) return std::move(state_db).error();
  impl->state_db = std::move(*state_db);

  std::unique_ptr<Rollup> rollup(new Rollup(std::move(impl)));
  Impl& m = *rollup->impl_;
  // Subscribe first: a group committed from now on is queued, one committed
  // before is in the catch-up snapshot, and Handle() skips the overlap.
  ledger.AddListener(rollup.get());
  Status opened = m.Open();
  if (!opened.ok()) {
    ledger.RemoveListener(rollup.get());
    return std::move(opened).error();
  }
  m.thread = std::thread([&m] { m.Run(); });
  if (options.low_priority) m.watch_thread = std::thread([&m] { m.Watch(); });
  return rollup;
}

Status Rollup::Impl::Open() {
  Impl& m = *this;
  auto loaded = LeafHeads::Load(*m.db);
  if (!loaded.ok()) return std::move(loaded).error();
  m.heads = std::move(*loaded);
  auto status = GetRollupStatus(*m.db);
  if (!status.ok() && status.error().code != "rollup_not_initialized") return std::move(status).error();
  if (!status.ok()) {
    KRAY_TRY(m.Initialize());
  } else {
    if (status->genesis_hash != m.ledger.genesis_hash()) {
      return Error::Unavailable("rollup_mismatch", "rollup.sqlite follows another store (genesis " +
                                                       status->genesis_hash + ", this store " +
                                                       m.ledger.genesis_hash() + ")");
    }
    m.status = *status;
    m.OpenTree(m.status.open_batch);
    if (m.status.last_batch() == 0) {
      m.prev_root = m.status.genesis_root;
    } else {
      auto b = GetBatch(*m.db, m.status.last_batch());
      if (!b.ok()) return std::move(b).error();
      m.prev_root = b->state_root;
    }
    KRAY_TRY(m.CatchUp());
  }
  // Deleting what the current oldest proof batch supersedes starts over
  // (nothing to delete below batch 1: genesis supersedes nothing).
  if (m.status.oldest_proof_batch == 0) m.prune.table = PruneCursor::kTables;
  return Ok();
}

Rollup::~Rollup() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->watch_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->watch_thread.joinable()) impl_->watch_thread.join();
}

void Rollup::OnGroupCommitted(const std::shared_ptr<const state::GroupChanges>& changes) {
  bool wake = false;
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.emplace_back(changes);
    wake = impl_->queue.size() >= kWakeEveryGroups ||
           static_cast<std::int64_t>(changes->last_seq()) >= impl_->wake_at_seq.load();
  }
  if (wake) impl_->cv.notify_one();
}

int Rollup::AddBatchListener(BatchListener listener) {
  std::lock_guard lock(impl_->listeners_mu);
  int handle = impl_->next_listener++;
  impl_->batch_listeners.emplace_back(handle, std::move(listener));
  return handle;
}

void Rollup::RemoveBatchListener(int handle) {
  std::lock_guard lock(impl_->listeners_mu);
  std::erase_if(impl_->batch_listeners, [&](const auto& entry) { return entry.first == handle; });
}

Status Rollup::Sync() {
  std::promise<Status> p;
  auto f = p.get_future();
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.emplace_back(SyncRequest{&p});
  }
  impl_->cv.notify_one();
  return f.get();
}

Result<std::optional<BatchHeader>> Rollup::CloseBatchNow() {
  std::promise<Result<std::optional<BatchHeader>>> p;
  auto f = p.get_future();
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.emplace_back(CloseRequest{&p});
  }
  impl_->cv.notify_one();
  return f.get();
}

Status Rollup::WithReader(const std::function<Status(store::Database&)>& fn) const {
  return impl_->readers.With(fn);
}

const metrics::Histogram& Rollup::close_seconds() const {
  return impl_->close_seconds;
}

std::size_t Rollup::cached_tree_nodes() const {
  return impl_->cached_tree_nodes.load(std::memory_order_relaxed);
}

std::uint64_t Rollup::tree_cache_clears() const {
  return impl_->tree_cache_clears.load(std::memory_order_relaxed);
}

std::size_t Rollup::max_cached_nodes() const {
  return impl_->opts.max_cached_nodes;
}

bool Rollup::at_low_priority() const {
  return impl_->priority_state.load() == Impl::kLow;
}

std::uint64_t Rollup::closes_read_from_store() const {
  return impl_->closes_read_from_store.load(std::memory_order_relaxed);
}

std::string Rollup::path() const {
  return impl_->path;
}

}  // namespace kray::rollup
