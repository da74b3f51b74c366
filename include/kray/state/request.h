// From a request to a canonical Operation (docs/SIGNING.md, "One rule for
// every operation"): the API, kray-cli and SDK tests all build operations
// here, so the fields that are signed are the same everywhere.
//
// Signed fields = exactly the request's fields other than `signature`,
// `nonce`, `sig_scheme` and the signer's own account field, each made
// canonical by its FieldSpec: accounts resolved to kray_ ids, amounts as
// decimal strings, addresses in canonical form. A field the type does not
// declare is refused (it could not be signed unambiguously).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/module.h"
#include "kray/state/operation.h"

namespace kray::state {

struct OperationRequest {
  std::string type;
  Auth auth = Auth::kSigned;
  std::string signer;                  // as sent: account id or L1 address (signed types)
  std::optional<std::uint64_t> nonce;  // signed types that consume a nonce
  std::string sig_scheme;              // "" (the type's default), "legacy" or "v1"
  std::string signature_hex;           // 128 hex chars (signed types)
  // (name, raw value): names as in the request body (FieldSpec::request_name
  // or name); amounts already in decimal.
  std::vector<std::pair<std::string, std::string>> fields;
};

// Builds and canonicalises the operation. Errors (400 unless noted):
// unknown_operation, wrong_authorisation, unknown_field, duplicate_field,
// missing_field, invalid_field, invalid_amount, invalid_account,
// invalid_address, invalid_pubkey, unknown_asset, invalid_signature_format,
// missing_field 'nonce', plus the type's own Check errors.
// For the legacy scheme the exact strings a legacy message covers are kept
// as evidence: "legacy_signer" and "legacy_<field>" for each account field.
//
// kNow ends with ValidateOperation: the operation is complete (op.hash and
// gas_fee set). kAtSubmit leaves that to Ledger::Submit, which validates
// every operation it is given: for a caller that submits the result at
// once, the same errors (the type's Check errors then come from Submit),
// but the checks and the v1 hash run once, not twice.
enum class Validation { kNow, kAtSubmit };
Result<Operation> BuildOperation(const ChainParams& params, const ModuleRegistry& registry,
                                 const OperationRequest& request, Validation validation = Validation::kNow);

// The canonical value of one field (also used by kray-cli).
// `address_out` receives the canonical L1 address when an account was named by one.
Result<std::string> CanonicalFieldValue(const ChainParams& params, const ModuleRegistry& registry,
                                        const FieldSpec& spec, std::string_view raw,
                                        std::string* address_out = nullptr);

// Account naming (every endpoint accepts both forms):
//   "kray_" + 32 lowercase hex -> itself
//   a P2TR address of the network (all lower or all upper case) -> its id
// Invalid "invalid_account" otherwise (mixed case included, BIP-173).
struct ResolvedAccount {
  std::string account_id;
  std::string address;  // canonical lower-case address when named by address, else ""
};
Result<ResolvedAccount> ResolveAccount(const ChainParams& params, std::string_view who);

// Resolved addresses are memoised in two tiers (src/state/request.cpp): a
// small one that any request fills (an address is resolved before its
// signature is checked), and a large one for the addresses committed
// signed operations were built from. The Ledger calls this once `op` has
// committed: its addresses ("<field>_address" and "legacy_*" evidence)
// move to the large tier. NamesAnAddress: whether it has any.
bool NamesAnAddress(const Operation& op);
void KeepResolvedAddresses(const ChainParams& params, const Operation& op);
struct AddressMemoSize {
  std::size_t recent = 0, kept = 0;
};
AddressMemoSize AddressMemoEntries();  // entries in each tier (tests)

// The canonical (lower-case) P2TR address of the network, or Invalid
// "invalid_address": mixed case, other network, not witness v1 with a 32-byte
// program, or an output key that is not a valid x-only point (unspendable).
Result<std::string> CanonicalP2trAddress(const ChainParams& params, std::string_view text);

}  // namespace kray::state
