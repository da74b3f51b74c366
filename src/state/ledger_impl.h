// Internal: Ledger::Impl, shared by ledger.cpp (open, sequencer, writes) and
// ledger_reads.cpp (read connections, queries, conservation).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"

namespace kray::state {

// Genesis (genesis.cpp).
struct GenesisAccount {
  std::string l1_address, pubkey_hex;
  std::vector<std::pair<std::string, Amount>> balances;
};
struct Genesis {
  std::string chain_id;
  std::int64_t timestamp = 0;
  std::vector<GenesisAccount> accounts;
  std::string hash_hex;  // SHA-256 of the file bytes
};
Result<Genesis> ParseGenesis(const ChainParams& params, std::string_view file_bytes);
Result<Genesis> LoadGenesisFile(const ChainParams& params, const std::string& path);
// Applies the genesis to an empty store (in one transaction) or checks that
// the stored genesis hash and chain id match. Returns the stored genesis hash.
Result<std::string> ApplyOrCheckGenesis(store::Database& db, const ChainParams& params, const std::string& path);

struct QueueItem {
  WriteOp op;
  std::function<void(Status)> done;
  std::uint64_t ticket = 0;  // key in Impl::pending when it is a tx
};

struct Ledger::Impl {
  LedgerOptions opts;
  std::string db_path;
  std::string genesis_hash;

  // Writer side (sequencer thread only, after Open).
  std::unique_ptr<store::Database> writer;
  std::unique_ptr<WriteContext> ctx;
  std::atomic<CommitObserver*> observer{nullptr};

  // Queue.
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<QueueItem> queue;
  std::map<std::uint64_t, TxRecord> pending;  // queued or in-flight txs, by ticket
  std::uint64_t next_ticket = 1;
  bool stopping = false;
  std::thread sequencer;

  // Readers.
  mutable std::mutex readers_mu;
  mutable std::vector<std::unique_ptr<store::Database>> readers;
  mutable std::shared_mutex keys_mu;
  mutable std::unordered_map<std::string, crypto::XOnlyPubKey> keys;  // bound keys (immutable once bound)
  std::vector<std::pair<std::string, std::string>> conservation_terms;
  mutable std::mutex terms_mu;

  void Enqueue(QueueItem item, const TxRecord* preview);
  void Run();
  void ProcessGroup(std::vector<QueueItem>& group);
  void Tick();

  Result<std::unique_ptr<store::Database>> AcquireReader() const;
  void ReleaseReader(std::unique_ptr<store::Database> db) const;
  // Bound key of an account (cache, then a read connection). nullopt if the
  // account does not exist or has no key.
  Result<std::optional<crypto::XOnlyPubKey>> BoundKey(const std::string& account_id) const;
};

std::int64_t NowSeconds();

}  // namespace kray::state
