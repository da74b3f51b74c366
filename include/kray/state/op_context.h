// OpContext: what an operation's Apply (and a module's genesis) may do.
// One OpContext is one unit of work: everything it changes is kept only if
// the whole operation succeeds (cached core state is a child cache that is
// merged into the group on success and dropped on failure; module SQL runs
// under this unit's savepoint). Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/leaves.h"
#include "kray/state/operation.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

enum class Bucket { kAvailable = 0, kStaked = 1, kLocked = 2 };
std::string_view BucketName(Bucket b);

class OpContext {
 public:
  virtual ~OpContext() = default;

  virtual const ChainParams& params() const = 0;
  // The operation's recorded timestamp (unix seconds): the only clock.
  virtual std::int64_t now() const = 0;

  // --- accounts ---
  // The account without balances, or nullopt.
  virtual Result<std::optional<Account>> FindAccount(std::string_view account_id) = 0;
  // Whether the account exists, without a copy of it.
  virtual Result<bool> AccountExists(std::string_view account_id) = 0;
  // NotFound "account_not_found".
  Result<Account> GetAccount(std::string_view account_id);
  // The account exists, or is created keyless for `address`: the canonical
  // L1 address the request named it by, which the operation carries as
  // evidence (its Check has tied it to the id). NotFound
  // "account_not_found" when it does not exist and there is no address.
  Status EnsureAccount(std::string_view account_id, std::optional<std::string_view> address);
  // Creates an account for a canonical L1 address, with or without a key.
  // Conflict "account_exists".
  virtual Status CreateAccount(std::string_view l1_address, std::string_view pubkey_hex) = 0;
  // Binds an x-only key to an account that has none. Conflict
  // "pubkey_already_bound" for a different key.
  virtual Status BindPubkey(std::string_view account_id, std::string_view pubkey_hex) = 0;

  // --- balances ---
  virtual Result<Balance> GetBalance(std::string_view account_id, std::string_view asset) = 0;
  // NotFound "account_not_found"; Conflict "balance_overflow".
  virtual Status Credit(std::string_view account_id, std::string_view asset, Bucket b, Amount amount) = 0;
  // Conflict "insufficient_balance" (the message says need and have).
  virtual Status Debit(std::string_view account_id, std::string_view asset, Bucket b, Amount amount) = 0;
  Status Move(std::string_view account_id, std::string_view asset, Bucket from, Bucket to, Amount amount);

  // --- supply (the issuance side of conservation) ---
  virtual Result<SupplyState> Supply(std::string_view asset) = 0;
  // New supply credited to an account (bridge deposits): minted += amount.
  virtual Status Mint(std::string_view account_id, std::string_view asset, Amount amount) = 0;
  // Destroys funds of an account bucket: burned += amount.
  virtual Status Burn(std::string_view account_id, std::string_view asset, Bucket b, Amount amount) = 0;
  // Destroys value a module held (slashed stake): burned += amount. The
  // module removes it from its own books in the same operation.
  virtual Status BurnModuleValue(std::string_view asset, Amount amount) = 0;
  // Pays from the validator fee pool to an account. Conflict "insufficient_fee_pool".
  virtual Status PayFromFeePool(std::string_view account_id, std::string_view asset, Amount amount) = 0;
  // Moves value a module held into the validator fee pool (a fee the module
  // collected and settles later, e.g. a withdrawal's fee on completion):
  // fee_pool += amount. The module removes it from its own books in the
  // same operation. Conflict "supply_overflow" past 2^63-1.
  virtual Status AddModuleValueToFeePool(std::string_view asset, Amount amount) = 0;
  // Moves value out of the validator fee pool into the module's own books
  // (validator rewards accrued but not yet claimed): fee_pool -= amount. The
  // module adds it to its conservation terms in the same operation.
  // Conflict "insufficient_fee_pool".
  virtual Status TakeFromFeePool(std::string_view asset, Amount amount) = 0;

  // --- the module's own tables ---
  // The write connection, with this unit's savepoint open (opened on the
  // first call): the module's SQL is undone if the operation fails. Touch
  // only your module's tables. If the savepoint cannot be opened the unit
  // fails when it ends.
  virtual store::Database& Sql() = 0;

  // --- committed state and results ---
  // Marks a module leaf as changed (core leaves are tracked automatically).
  virtual void Touch(LeafId leaf) = 0;
  // An output reported to the submitter (amount_out, listing_id, ...).
  virtual void SetResult(std::string key, std::string value) = 0;
  // The operation changed nothing (an idempotent repeat): nothing is
  // recorded, no nonce or gas is consumed, and the submitter gets success.
  virtual void MarkNoChange() = 0;
};

}  // namespace kray::state
