// The state transition functions. They run on the sequencer thread inside the
// group's SQLite transaction, or during `krayd verify` replay on any Database
// holding the state schema.
//
// WriteContext is the only way state is changed: it keeps a write-back cache
// of accounts, balances and supply that is flushed once per group, and makes
// each unit of work (one tx) all-or-nothing: Begin() ... Commit()/Rollback().
// Modules that need their own SQL writes call db(), which opens a SAVEPOINT
// for the current unit so a failed unit also undoes their SQL.
// Not thread-safe: one WriteContext per writer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

enum class Bucket { kAvailable, kStaked, kLocked };

class WriteContext {
 public:
  WriteContext(store::Database& db, const ChainParams& params);
  ~WriteContext();
  WriteContext(const WriteContext&) = delete;
  WriteContext& operator=(const WriteContext&) = delete;

  const ChainParams& params() const;

  // --- unit of work (one transaction) ---
  void Begin();
  // Keeps the unit's changes (in the cache; written by Flush()).
  Status Commit();
  // Discards the unit's changes (cache overlay and, if db() was used, SQL).
  void Rollback();
  // Writes every committed unit's changes to the database (call inside the
  // group's SQL transaction, before COMMIT).
  Status Flush();
  // Forgets cached state (after a failed group was rolled back, or to bound
  // memory after a flush).
  void ClearCache();
  // Number of cached accounts + balances (for cache trimming).
  std::size_t CachedEntries() const;

  // Direct SQL access for modules with their own tables. Inside a unit this
  // opens a SAVEPOINT, so the unit's SQL is undone on Rollback(). Do not
  // write accounts/balances/supply/transactions directly: use the methods below.
  store::Database& db();

  // --- accounts ---
  bool AccountExists(std::string_view account_id);
  Result<Account> GetAccount(std::string_view account_id);  // without balances
  // Creates an account (no-op error "account_exists" if present).
  Status CreateAccount(std::string_view l1_address, std::string_view pubkey_hex, std::int64_t now);
  // Binds an x-only key to an account that has none. Same key again: ok.
  // A different key: Conflict "pubkey_already_bound".
  Status BindPubkey(std::string_view account_id, std::string_view pubkey_hex);
  // Checks nonce == the account's next nonce (Conflict "nonce_conflict",
  // "expected N, got M") and increments it.
  Status UseNonce(std::string_view account_id, std::uint64_t nonce);

  // --- balances ---
  Result<Balance> GetBalance(std::string_view account_id, std::string_view asset);
  Status Credit(std::string_view account_id, std::string_view asset, Bucket b, Amount amount);
  // Conflict "insufficient_balance" if the bucket holds less than amount.
  Status Debit(std::string_view account_id, std::string_view asset, Bucket b, Amount amount);
  Status Move(std::string_view account_id, std::string_view asset, Bucket from, Bucket to, Amount amount);

  // --- supply ---
  // Debits `fee` KRAY from the account and splits it (SplitGas): burned half
  // to supply.burned, validator half to supply.fee_pool.
  Status ChargeGas(std::string_view account_id, Amount fee);
  // New supply (bridge deposits): supply.minted += amount, credits the account.
  Status Mint(std::string_view account_id, std::string_view asset, Amount amount);
  // Destroys an account's funds (bridge withdrawals): supply.burned += amount.
  Status Burn(std::string_view account_id, std::string_view asset, Bucket b, Amount amount);
  // Pays out of the validator fee pool to an account (reward claims).
  Status PayFromFeePool(std::string_view account_id, std::string_view asset, Amount amount);
  Result<Amount> FeePool(std::string_view asset);

  // --- transaction log ---
  // Assigns the next seq, stores the record (status "confirmed") at Flush().
  Result<TxRecord> RecordTx(TxRecord rec);
  // Marks an account as changed (for the rollup's state tree).
  void Touch(std::string_view account_id);

  // Filled as units commit; the sequencer hands them to the CommitObserver
  // and clears them after each group.
  const std::vector<TxRecord>& applied() const;
  const std::set<std::string>& touched() const;
  void ClearApplied();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A transfer after stateless checks, with resolved account ids.
struct ResolvedTransfer {
  TransferTx tx;
  std::string from_id, to_id;
  std::string to_address;  // recipient L1 address if `to` was an address, else ""
  std::string tx_hash;     // hex of TransferMessageV1(...)
  Amount gas_fee = 0;
};

// Stateless validation and resolution (any thread): amount > 0, asset known,
// data <= 1024 bytes, from/to parse (id or P2TR address of the network),
// from != to (self-transfers are rejected: "self_transfer"), the legacy scheme
// only for a KRAY "transfer" with empty data. Computes tx_hash and gas.
Result<ResolvedTransfer> PrepareTransfer(const ChainParams& params, const TransferTx& tx);

// The 32-byte message the signature must cover (legacy or v1).
Hash256 SignedMessage(const ChainParams& params, const ResolvedTransfer& rt);
// BIP-340 check of rt.tx.signature against `pubkey` (Unauthorized "invalid_signature").
Status VerifyTransfer(const ChainParams& params, const ResolvedTransfer& rt, const crypto::XOnlyPubKey& pubkey);

// The record of a transfer as stored and served (status "pending" while
// queued, "confirmed" once applied).
TxRecord TransferRecord(const ResolvedTransfer& rt, std::string status, std::int64_t created_at);

// Applies a verified transfer inside the current unit: sender exists (404
// "account_not_found"), has a bound key, nonce is next, funds cover amount
// (+ gas when the asset is KRAY); recipient exists or is created from
// to_address (an unknown kray_ id is 404). Records the tx.
// On error the caller must Rollback() the unit.
Result<TxRecord> ApplyTransfer(WriteContext& ctx, const ResolvedTransfer& rt, std::int64_t now);

// Rebuilds a ResolvedTransfer from a stored record (for replay).
Result<ResolvedTransfer> TransferFromRecord(const ChainParams& params, const TxRecord& rec);

}  // namespace kray::state
