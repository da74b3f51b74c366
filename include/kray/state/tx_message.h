// Signing messages for L2 operations (docs/SIGNING.md is the normative text).
//
// Two formats:
//  (a) Legacy, what existing wallets sign for KRAY transfers:
//        SHA256(utf8("<from>:<to>:<amount>:<nonce>:transfer"))
//      with <from>/<to> exactly as sent. It binds neither the asset nor the
//      chain, so it is accepted ONLY for a KRAY transfer of type "transfer"
//      with empty data.
//  (b) v1, chain-bound, for everything:
//        TaggedHash("KRAY/tx/v1", ser)   (BIP-340 tagged hash)
//      ser = lp(chain_id) || lp(op) || lp(account_id) || u64be(nonce) ||
//            u32be(n) || for each field sorted by key (bytewise): lp(key) || lp(value)
//      lp(s) = u32be(len(s)) || s. account_id is the RESOLVED kray_ id of the
//      signer; field values are strings (amounts in decimal credits, accounts
//      as resolved kray_ ids). Duplicate keys are not allowed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/bytes.h"

namespace kray::state {

inline constexpr std::string_view kTxTagV1 = "KRAY/tx/v1";

// The exact legacy preimage string "<from>:<to>:<amount>:<nonce>:transfer".
std::string LegacyTransferString(std::string_view from, std::string_view to, Amount amount, std::uint64_t nonce);
// SHA256 of LegacyTransferString (the 32-byte message that is signed).
Hash256 LegacyTransferMessage(std::string_view from, std::string_view to, Amount amount, std::uint64_t nonce);

using MessageFields = std::vector<std::pair<std::string, std::string>>;

// The canonical v1 serialization (before hashing); fields are sorted by key.
Bytes SerializeV1(std::string_view chain_id, std::string_view op, std::string_view account_id, std::uint64_t nonce,
                  const MessageFields& fields);
// TaggedHash(kTxTagV1, SerializeV1(...)): the 32-byte message that is signed.
Hash256 SigningMessageV1(std::string_view chain_id, std::string_view op, std::string_view account_id,
                         std::uint64_t nonce, const MessageFields& fields);

// v1 fields of a transfer: {"to": to_id, "asset", "amount": decimal, "data"}.
MessageFields TransferFields(std::string_view to_id, std::string_view asset, Amount amount, std::string_view data);

// v1 message of a transfer-like tx (op = tx type name, e.g. "transfer").
// This is also the transfer's tx_hash (hex): deterministic, no clock.
Hash256 TransferMessageV1(std::string_view chain_id, std::string_view op, std::string_view from_id,
                          std::string_view to_id, std::string_view asset, Amount amount, std::uint64_t nonce,
                          std::string_view data);

// Account id = "kray_" + first 32 hex chars of SHA-256(utf8(l1_address)).
std::string AccountIdFromAddress(std::string_view l1_address);
// True if `s` looks like an account id: "kray_" + 32 lowercase hex chars.
bool IsAccountId(std::string_view s);

}  // namespace kray::state
