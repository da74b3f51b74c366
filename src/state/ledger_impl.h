// Internal: Ledger::Impl, shared by ledger.cpp (open, writes) and
// ledger_reads.cpp (queries). The parts each own their lock: the sequencer
// its queue, the reader pool its idle connections, the key cache its map,
// the pending index its entries.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "account_read_cache.h"
#include "history_index.h"
#include "input_log.h"
#include "key_cache.h"
#include "kray/state/ledger.h"
#include "kray/store/datadir_lock.h"
#include "kray/store/reader_pool.h"
#include "pending.h"
#include "sequencer.h"
#include "unwritten_rows.h"
#include "work_pool.h"

namespace kray::state {

struct Ledger::Impl {
  static constexpr std::size_t kReadCacheAccounts = 100000;

  Impl(const LedgerOptions& o, const ModuleRegistry& r, std::string path)
      : options(o),
        registry(r),
        db_path(path),
        readers(std::max<std::size_t>(o.read_connections, 1) * 4, 16384, std::move(path)) {}

  // First, so it is released last: after the sequencer has closed the store.
  std::optional<store::DatadirLock> datadir_lock;
  LedgerOptions options;
  const ModuleRegistry& registry;
  std::string db_path;
  std::string genesis_hash;
  store::ReaderPool readers;
  KeyCache keys;
  // Committed accounts for GetAccount (see account_read_cache.h); ~0.5 KB each.
  AccountReadCache accounts{kReadCacheAccounts};
  PendingOperations pending;
  // Committed account rows not yet written back (unwritten_rows.h); the
  // sequencer writes it, readers apply it. Declared before the sequencer.
  UnwrittenRows unwritten;
  LedgerMetrics metrics;
  // Declared before the sequencer, so destroyed after it: it is one of the
  // sequencer's listeners.
  std::unique_ptr<HistoryIndex> history;
  // Declared before the sequencer, which writes it, so destroyed after it.
  std::unique_ptr<InputLog> input_log;
  std::unique_ptr<Sequencer> sequencer;
  // SubmitMany's validation and signature checks; emptied (joined) before
  // the sequencer stops, so what it queues is still applied.
  std::optional<WorkPool> batch_pool;
  // Reads every bound key into `keys` once, after the ledger opens, so a
  // signer's first operation after a start needs no store read (a cold
  // read connection: ~35 µs, 11 % of krayd's CPU per transfer at 100k
  // accounts, where each signer signs about once a run). Joined first in
  // ~Ledger.
  std::thread key_preloader;
  std::atomic<bool> stopping{false};

  // The key a signed operation by `account_id` must verify against
  // (cache, then a read connection); nullopt if none is bound.
  Result<std::optional<crypto::VerifyingKey>> BoundKey(const std::string& account_id);
  // What a validated operation must pass before it enters a group (the
  // legacy setting, its signature, the type's Precheck, the pending index);
  // returns its pending ticket. Submit runs it, and so does the replay of
  // the input log, with the setting the record holds.
  Result<std::uint64_t> CheckSubmitted(const Ledger& ledger, const std::shared_ptr<Operation>& op, bool accept_legacy);
  // Body of key_preloader: bound keys in account_id order, a read
  // transaction per chunk (so none holds back the WAL), until stopping or
  // the cache's preload share is full.
  void PreloadKeys();
  // Applies the account's rows not yet written back, for a read inside
  // `db`'s open snapshot (unwritten_rows.h).
  Status ApplyUnwritten(store::Database& db, Account& a) const;
};

}  // namespace kray::state
