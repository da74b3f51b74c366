// ECDSA over secp256k1 (libsecp256k1) for legacy and segwit v0 inputs, as
// used by the BIP-174 PSBT signer: RFC-6979 deterministic nonces, strict DER
// encoding and low-S normalisation (BIP-62/BIP-146), and public-key checks.
// Thread-safe: uses the shared immutable context of secp256k1.h.
#pragma once

#include <array>
#include <optional>

#include "kray/core/bytes.h"
#include "kray/crypto/secp256k1.h"

namespace kray::crypto {

// True if `pubkey` is a valid 33-byte compressed or 65-byte uncompressed
// point (Bitcoin Core's CPubKey::IsFullyValid).
bool IsValidPubKey(ByteSpan pubkey);

// Signs a 32-byte message hash with an RFC-6979 nonce (libsecp256k1's default
// nonce function, so signatures are deterministic and reproduce Bitcoin
// Core's). Returns the DER signature (low-S, no sighash byte), or nullopt on
// an invalid secret key.
std::optional<Bytes> EcdsaSignDer(const SecretKey& seckey, const Hash256& msg_hash);

// Verifies a DER signature (parsed laxly as Core's consensus code does, then
// normalised to low-S) over a 32-byte hash. False on any malformed input.
bool EcdsaVerifyDer(ByteSpan pubkey, const Hash256& msg_hash, ByteSpan der_sig);

// Uncompressed (65-byte) public key of a secret key.
std::optional<std::array<std::uint8_t, 65>> UncompressedPubKeyFromSecret(const SecretKey& seckey);

}  // namespace kray::crypto
