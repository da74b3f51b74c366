// The core ledger, registered like any other module (ModuleRegistry always
// holds it): accounts, balances, supply and the two operations every chain
// has.
//
//   transfer        signed (v1, or the legacy message for a plain KRAY
//                   transfer); fields amount, asset (default KRAY), data
//                   (default ""), to; gas 1. Evidence: to_address when the
//                   recipient was named by address (it is created if new),
//                   legacy_signer/legacy_to for the legacy scheme.
//   account_create  public (fields l1_address, pubkey: the key must be the
//                   address's BIP-86 internal key, which anyone can check), or
//                   signed v1 by that key as proof of possession (nonce 0, not
//                   consumed). Creates the account or binds its key;
//                   repeating it changes nothing and records nothing.
// Leaves: account (1), supply (2) — state/leaves.h.
#pragma once

#include <string_view>

#include "kray/state/module.h"

namespace kray::state {

inline constexpr std::string_view kTransferOp = "transfer";
inline constexpr std::string_view kAccountCreateOp = "account_create";

const Module& CoreModule();

}  // namespace kray::state
