// BIP-86 / BIP-341 key-path taproot: the output key of an internal key with
// an optional script tree, and the P2TR address for it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bitcoin {

// t = TaggedHash("TapTweak", internal || merkle_root?) (BIP-341).
Hash256 TapTweakHash(const crypto::XOnlyPubKey& internal, const std::optional<Hash256>& merkle_root);

// Q = P + t*G. nullopt if the internal key is not a valid point.
std::optional<crypto::TweakedKey> TaprootOutputKey(const crypto::XOnlyPubKey& internal,
                                                   const std::optional<Hash256>& merkle_root);

// P2TR address (witness v1, bech32m) of an output key.
std::string P2trAddress(std::string_view hrp, const crypto::XOnlyPubKey& output_key);

// Decodes a P2TR address for `hrp` and returns its 32-byte output key.
Result<crypto::XOnlyPubKey> DecodeP2trAddress(std::string_view hrp, std::string_view addr);

// Parses an account key: 32-byte x-only or 33-byte compressed, hex.
Result<crypto::XOnlyPubKey> ParseAccountPubKey(std::string_view hex);

// Checks that `internal` is the BIP-86 internal key of `address` (output key =
// internal tweaked with no script tree). Error "pubkey_address_mismatch" if not.
Status CheckBip86Key(std::string_view hrp, std::string_view address, const crypto::XOnlyPubKey& internal);

}  // namespace kray::bitcoin
