// The module host's contract (docs/ARCHITECTURE.md, "Modules").
//
// A module (defi, market, rewards, validators, bridge, ... and the core ledger
// itself) plugs into the one ledger by declaring, in one place:
//   - its operation types: fields, authorisation, gas, stateless checks, apply;
//   - its migrations: its own tables, in its own numbered files (a module
//     never writes another module's tables);
//   - its committed state: leaf types of the state tree, with an encoder;
//   - its conservation terms: the value it holds per asset (its audit);
//   - its genesis section and the system operations it generates when due.
// Read queries for the API are plain functions in the module's own header.
//
// Everything here is called on the sequencer thread (and by replay), except
// OperationType::Check and the field specs, which any thread may use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/operation.h"
#include "kray/store/database.h"

namespace kray::state {

class OpContext;

// How a request's value for a field is made canonical (request.h).
enum class FieldKind {
  kText,     // a string of at most max_len bytes
  kAccount,  // an account id or an L1 P2TR address of the network -> its kray_ id
  kAmount,   // a canonical decimal u64 <= 2^63-1 (0 allowed; Check decides)
  kUint,     // a canonical decimal u64
  kAsset,    // a configured asset symbol or one a module owns (LP shares, ...)
  kAddress,  // any L1 address of the network -> canonical form (lower case for bech32)
  kPubkey,   // x-only (64 hex) or compressed (66 hex) key -> x-only hex
  kId,       // an identifier: [A-Za-z0-9_:.-], at most max_len bytes
};

struct FieldSpec {
  std::string_view name;  // key in `fields` and in the signed message
  FieldKind kind = FieldKind::kText;
  bool required = true;
  // Filled in when the request omits the field; empty: an omitted field is
  // absent from `fields` (and from the signed message).
  std::optional<std::string_view> default_value = std::nullopt;
  std::string_view request_name = {};  // name in REST request bodies, when it differs
  std::size_t max_len = 256;
  // kAccount: when named by address, keep the canonical address as evidence
  // "<name>_address" (so the operation can create that account, with
  // OpContext::EnsureAccount). ValidateOperation refuses such evidence that
  // is not the canonical address of the field's account.
  bool keep_address = false;
};

class OperationType {
 public:
  virtual ~OperationType() = default;
  // Unique across modules; it is also the v1 signing message's `op`.
  virtual std::string_view name() const = 0;
  virtual Auth auth() const = 0;
  // A public type that may also be sent signed, as a proof of possession
  // (account_create). Every other type takes exactly its own authorisation.
  virtual bool may_be_signed() const { return false; }
  virtual std::span<const FieldSpec> fields() const = 0;
  // REST request field that names the signer (signed types).
  virtual std::string_view signer_field() const { return "account_id"; }
  // KRAY credits the signer pays (signed types; split by kray::SplitGas).
  virtual Amount gas() const { return 0; }
  // Signed types consume the signer's nonce unless they say otherwise.
  virtual bool consumes_nonce() const { return auth() == Auth::kSigned; }
  // The scheme a signed request uses when it names none.
  virtual SigScheme default_scheme(const Operation& op) const { return SigScheme::kV1; }
  // The legacy message of `op`, for types that accept the legacy scheme
  // (Invalid "legacy_signature_not_allowed" otherwise).
  virtual Result<Hash256> LegacyMessage(const Operation& op) const;
  // Whether LegacyMessage() gives a message, without hashing it
  // (ValidateOperation asks; the signature check hashes it): the error it
  // would give, or Ok. By default LegacyMessage() itself.
  virtual Status CheckLegacy(const Operation& op) const;
  // The key a signature must verify against, when it is not the signer's
  // bound key (a proof of possession signs with the key it binds).
  virtual std::optional<crypto::XOnlyPubKey> SigningKey(const Operation& op) const { return std::nullopt; }
  // Stateless checks of the canonical fields and evidence, on any thread.
  // Run before queueing and again on replay, from the record alone.
  virtual Status Check(const ChainParams& params, const Operation& op) const { return Ok(); }
  // Checks against the last committed state, run by Ledger::Submit on the
  // submitting thread before the operation is queued, whatever endpoint
  // sent it: what is certain to fail (a signature by another key than the
  // one the state names) then costs the sequencer nothing. `read` runs a
  // function with a pooled read connection (call it only when needed).
  // Never the only check: the state may change before the operation is
  // applied, so Apply checks again, and replay runs Apply, not this.
  using ReadCommitted = std::function<Status(const std::function<Status(store::Database&)>&)>;
  virtual Status Precheck(const ChainParams& params, const Operation& op, const ReadCommitted& read) const {
    return Ok();
  }
  // The state transition. Inside one unit of work: any error undoes it.
  // Time is ctx.now() (the operation's recorded timestamp), never the clock.
  virtual Status Apply(OpContext& ctx, const Operation& op) const = 0;
};

// A leaf type of the state tree (leaves.h for keys and hashing).
struct LeafType {
  std::uint8_t type = 0;  // unique across modules; 1 and 2 are the core ledger's
  std::string_view name;
  // Current data of leaf `id` read through `db` (nullopt: not in the tree).
  std::function<Result<std::optional<Bytes>>(store::Database& db, std::string_view id)> encode;
  // Calls `fn` with every id of this type that has data (genesis tree, audits).
  std::function<Status(store::Database& db, const std::function<Status(std::string_view id)>& fn)> for_each;
};

// Value a module holds outside account balances, per asset.
struct ConservationTerm {
  std::string name;  // e.g. "defi.pools"
  std::string asset;
  Amount amount = 0;
};

class Module {
 public:
  virtual ~Module() = default;
  // Unique; names its schema component and its genesis section.
  virtual std::string_view name() const = 0;
  virtual std::span<const store::Migration> migrations() const { return {}; }
  virtual std::vector<const OperationType*> operations() const { return {}; }
  virtual std::vector<LeafType> leaf_types() const { return {}; }
  // The value this module holds, per asset (its audit).
  virtual Result<std::vector<ConservationTerm>> Audit(store::Database& db) const {
    return std::vector<ConservationTerm>{};
  }
  // Invariants over items that are not amounts (an escrowed inscription has
  // its active listing, …). A violation is a kConflict error: it is reported
  // in the conservation report (ok = false); any other error (a store that
  // cannot be read) fails the check itself.
  virtual Status CheckInvariants(store::Database& db) const { return Ok(); }
  // Applies the module's genesis section (the JSON text under the genesis
  // file's key name(); "" when absent) to a new store.
  virtual Status ApplyGenesis(OpContext& ctx, std::string_view section_json) const;
  // System operations that are due at `now` (expiry sweeps, unbonding ends…),
  // read through `db`. Called about once a second by the sequencer.
  virtual Result<std::vector<Operation>> DueSystemOperations(store::Database& db, std::int64_t now) const {
    return std::vector<Operation>{};
  }
  // True if `symbol` names an asset this module issues (LP shares, ...).
  virtual bool OwnsAsset(std::string_view symbol) const { return false; }
};

// The registered modules. Built once at startup, then read-only (safe to
// share between threads).
class ModuleRegistry {
 public:
  // A registry holding the core ledger module.
  ModuleRegistry();
  // Adds a module (not owned; must outlive the registry). Invalid
  // "duplicate_module" / "duplicate_operation" / "duplicate_leaf_type".
  Status Add(const Module& module);

  const OperationType* FindOperation(std::string_view name) const;
  const LeafType* FindLeafType(std::uint8_t type) const;
  const std::vector<const Module*>& modules() const { return modules_; }
  const std::vector<const OperationType*>& operations() const { return operation_list_; }
  const std::vector<LeafType>& leaf_types() const { return leaf_types_; }
  // A configured asset or one a module owns.
  bool IsAsset(const ChainParams& params, std::string_view symbol) const;

  // Applies every module's migrations (component = module name).
  Status Migrate(store::Database& db) const;

 private:
  std::vector<const Module*> modules_;
  std::map<std::string, const OperationType*, std::less<>> operations_;
  std::vector<const OperationType*> operation_list_;
  std::vector<LeafType> leaf_types_;
};

}  // namespace kray::state
