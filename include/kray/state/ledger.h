// The Ledger: krayd's state facade. Owns the store, the genesis, the single
// sequencer thread (the only writer) and a pool of read connections.
//
// Writes are asynchronous: Submit*() validates on the caller's thread
// (resolution, signature verification against the cached bound key), then
// enqueues. The sequencer takes up to max_group queued items, applies each in
// order inside ONE SQLite transaction (each item all-or-nothing), commits
// (one fsync with synchronous=FULL), and only then calls the callbacks
// (acknowledged == durable). Callbacks run on the sequencer thread: keep them
// short (post to your io_context).
//
// Reads are thread-safe and see the last committed group.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

class WriteContext;

struct LedgerOptions {
  std::string datadir;  // created if missing; store file is <datadir>/krayd.sqlite
  ChainParams params;
  std::string genesis_path;          // JSON allocation (config/genesis.regtest.json)
  std::string synchronous = "FULL";  // NORMAL | FULL | EXTRA
  std::size_t max_group = 2048;      // max items per group commit
  std::size_t read_connections = 4;  // pooled reader connections (grown on demand)
};

// Hook for modules that must run inside the sequencer's write transaction
// (the rollup's sparse Merkle tree and batches). Called on the sequencer
// thread; the state of the group is already written to `db`. A non-ok Status
// rolls back the whole group (every item in it fails with that error).
class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  // After every group that applied at least one item, before COMMIT.
  // `txs`: records applied in this group, in seq order. `touched_accounts`:
  // accounts whose nonce/key/balances changed.
  virtual Status OnGroupApplied(store::Database& db, const std::vector<TxRecord>& txs,
                                const std::set<std::string>& touched_accounts) = 0;
  // At least once per second, even when idle, in its own write transaction.
  // Observers must not write accounts/balances/supply (the sequencer caches
  // them); transactions.batch_id and the module's own tables are fine.
  virtual Status OnTick(store::Database& db, std::int64_t now) = 0;
};

// A generic state change for other modules (defi, market, bridge, ...). Runs
// on the sequencer thread inside a unit of work; return an error to undo it.
// Capture your outputs in the closure.
using WriteOp = std::function<Status(WriteContext& ctx, std::int64_t now)>;

class Ledger {
 public:
  // Opens/creates the store, migrates, applies the genesis once (refuses a
  // different genesis hash: "genesis_mismatch"; a genesis whose chain_id
  // differs from params.chain_id: "chain_id_mismatch"), starts the sequencer.
  static Result<std::unique_ptr<Ledger>> Open(const LedgerOptions& options);
  // Drains the queue, stops the sequencer, closes the store.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Must be called before the first write is submitted (or at any time; takes
  // effect from the next group). Not owned; must outlive the Ledger.
  void SetCommitObserver(CommitObserver* observer);

  // --- writes (thread-safe) ---
  void SubmitTransfer(TransferTx tx, std::function<void(Result<Receipt>)> done);
  // Each tx gets its own result (same order); `done` runs once, after all of them.
  void SubmitBatch(std::vector<TransferTx> txs, std::function<void(std::vector<Result<Receipt>>)> done);
  // Creates the account or binds its key. pubkey_hex: x-only (64 hex) or
  // compressed (66 hex); must be the BIP-86 internal key of l1_address
  // (400 "pubkey_address_mismatch"). Idempotent; a different key for an
  // account that already has one: 409 "pubkey_already_bound".
  void CreateAccount(std::string l1_address, std::string pubkey_hex, std::function<void(Result<Account>)> done);
  // Generic write for other modules. `label` shows up in logs only.
  void Submit(std::string label, WriteOp op, std::function<void(Status)> done);

  // Blocking conveniences (tests, CLI tools). Never call them from a callback.
  Result<Receipt> SubmitTransferSync(TransferTx tx);
  Result<Account> CreateAccountSync(std::string l1_address, std::string pubkey_hex);
  Status SubmitSync(std::string label, WriteOp op);

  // --- reads (thread-safe) ---
  // `who`: "kray_..." id or an L1 address. 404 "account_not_found".
  Result<Account> GetAccount(std::string_view who) const;
  Result<std::vector<TxRecord>> AccountTransactions(std::string_view who, int limit, int offset) const;  // newest first
  Result<AccountStats> GetAccountStats(std::string_view who) const;
  Result<std::vector<Account>> ListAccounts(int limit, int offset) const;  // by created_at, account_id
  Result<TxRecord> GetTransaction(std::string_view tx_hash) const;         // 404 "tx_not_found"
  std::vector<TxRecord> Pending(int limit) const;                          // queued, not yet committed
  Result<TxStats> GetTxStats() const;
  Result<ConservationReport> CheckConservation() const;
  // Adds a term to the conservation check: `sql` must return rows
  // (asset TEXT, amount INTEGER) of value held outside balances by a module
  // (pool reserves, escrows, ...). Call before the first check.
  void AddConservationTerm(std::string name, std::string sql);

  // Resolves an id or address to an account id (no existence check).
  // 400 "invalid_account" if it is neither an id nor a P2TR address of the network.
  Result<std::string> ResolveAccountId(std::string_view who) const;

  // Runs `fn` with a pooled read connection (for modules' own reads).
  Status WithReader(const std::function<Status(store::Database&)>& fn) const;

  const ChainParams& params() const;
  int store_version() const;
  std::string genesis_hash() const;  // hex SHA-256 of the genesis file bytes
  std::string datadir() const;
  std::size_t queue_depth() const;

  struct Impl;  // internal (src/state/ledger_impl.h)

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Conservation check on any connection holding the state schema.
Result<ConservationReport> CheckConservation(store::Database& db,
                                             const std::vector<std::pair<std::string, std::string>>& extra_terms);

}  // namespace kray::state
