// The state transition path shared by the sequencer and by replay (`krayd
// verify`, `kray-cli verifychain`): validation, authorisation and execution
// of operations against a store. Whatever the sequencer accepted, replay
// re-checks with this same code from the record alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/changes.h"
#include "kray/state/module.h"
#include "kray/state/operation.h"

namespace kray::store {
class Database;
}

namespace kray::state {

struct Genesis;
class UnwrittenRows;

// What executing an operation produced.
struct Receipt {
  // As recorded: seq, hash, timestamp, gas, touched. Never null. Shared with
  // the group's change set (GroupChanges::operations) rather than copied:
  // a copy of a transfer was ~9 allocations, a third of Execute's. (A
  // no_change receipt's is in no change set: nothing was recorded.)
  std::shared_ptr<const Operation> op;
  std::uint64_t new_nonce = 0;  // the signer's next nonce (signed types)
  Fields result;                // outputs the type reported (OpContext::SetResult)
  bool no_change = false;       // an idempotent repeat: nothing was recorded
};

// Stateless validation, any thread: the type is registered and takes this
// kind of authorisation; signature/nonce/signer are present exactly when the
// kind needs them; fields and evidence are canonical (sorted, unique) and
// pass the type's Check; an account field's kept address (evidence
// "<name>_address", FieldSpec::keep_address) is that account's canonical
// address; the legacy scheme only where the type allows it.
// Sets op.hash for signed operations (the v1 message) and op.gas_fee.
Status ValidateOperation(const ChainParams& params, const ModuleRegistry& registry, Operation& op);

// The 32-byte message a signed operation's signature covers.
Result<Hash256> SignedMessage(const ChainParams& params, const OperationType& type, const Operation& op);

// BIP-340 check of a validated signed operation against `bound_key` (or the
// key the type names, OperationType::SigningKey). Unauthorized
// "invalid_signature" / "pubkey_not_bound".
Status VerifyOperationSignature(const ChainParams& params, const OperationType& type, const Operation& op,
                                const std::optional<crypto::VerifyingKey>& bound_key);

// Applies operations to one store inside the caller's SQL transaction.
// Changes are kept in a write-back cache (a stack of caches: one per group,
// one child per operation) until FinishGroup(). Not thread-safe.
class Executor {
 public:
  Executor(store::Database& db, const ChainParams& params, const ModuleRegistry& registry);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Applies the genesis (core allocation and every module's section) to an
  // empty store, as a unit without an operation record.
  Status ApplyGenesis(const Genesis& genesis);

  // Runs a validated, authorised operation as one unit of work at
  // `timestamp`: the signer's nonce, the type's Apply, the gas, all or
  // nothing. On success the operation gets the next seq (unless it changed
  // nothing) and its changes stay cached until FinishGroup(). The receipt
  // holds `op`; the executor writes only what it assigns (seq, timestamp,
  // gas_fee, touched, and an unsigned operation's hash), so others may read
  // the rest meanwhile (the pending index does).
  Result<Receipt> Execute(std::shared_ptr<Operation> op, std::int64_t timestamp);
  Result<Receipt> Execute(Operation op, std::int64_t timestamp) {
    return Execute(std::make_shared<Operation>(std::move(op)), timestamp);
  }
  // Room for `n` operations in the group's records, so that a large group's
  // list is not reallocated as it grows.
  void ExpectOperations(std::size_t n);

  // Writes the group inside the caller's transaction (cached state,
  // operation records, history index, counters) and returns the change set
  // with every changed leaf's new data. On error the caller rolls the
  // transaction back and calls Abort().
  Result<GroupChanges> FinishGroup();
  // FinishGroup() without the change set: the group is written the same
  // way, its leaves are not encoded. For the genesis, whose leaves the
  // rollup reads back from the store: encoding them here too (a store read
  // per account for its asset list) was 15 s of a 100-s start-up and 0.3 GiB
  // of its peak memory at a million accounts, for a list nobody read.
  Status FlushGroup();
  // The accounts whose rows (account or balances) the last FinishGroup()
  // wrote, each once (readers' caches drop them once the group commits).
  const std::vector<std::string>& WrittenAccounts() const;

  // Forgets the group's cached state and operations (after a rollback).
  void Abort();
  // Forgets clean cached state to bound memory (between groups); true if
  // it did.
  bool TrimCache(std::size_t max_entries);
  // Sizes the cache's tables for `accounts` accounts up front, so that they
  // are not rehashed while they fill after a start.
  void ReserveCache(std::size_t accounts);
  // The account rows' write-back (src/state/unwritten_rows.h): rows the
  // store has are written back later, every `sweep_seconds` in key order;
  // `rows` must outlive the executor. Then, just before each group's
  // COMMIT, StageUnwritten(), and after it (before anyone hears of it),
  // Committed(); WriteBackAll() makes the next group write every unwritten
  // row back.
  void EnableWriteBack(UnwrittenRows& rows, double sweep_seconds);
  void StageUnwritten();
  void Committed();
  void WriteBackAll();
  bool WriteBackDue() const;

  // The next seq and the last timestamp used (loaded from the store).
  Result<std::uint64_t> NextSeq();
  Result<std::int64_t> LastTimestamp();

  // Reads of the state as of the operations executed so far (including the
  // current, unflushed group).
  Result<std::optional<crypto::XOnlyPubKey>> BoundKey(std::string_view account_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kray::state
