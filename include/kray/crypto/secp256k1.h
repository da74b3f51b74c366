// BIP-340 Schnorr signatures and x-only key operations over libsecp256k1.
// All functions are thread-safe: they share one immutable, randomised context.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "kray/core/bytes.h"

namespace kray::crypto {

using SecretKey = std::array<std::uint8_t, 32>;
using XOnlyPubKey = std::array<std::uint8_t, 32>;
using CompressedPubKey = std::array<std::uint8_t, 33>;
using SchnorrSig = std::array<std::uint8_t, 64>;
using FieldBytes = std::array<std::uint8_t, 32>;  // a coordinate, big-endian

// True if `key` is a valid x-only public key (a point on the curve).
bool IsValidXOnly(const XOnlyPubKey& key);

// True if `key` is a valid secret key (1 <= key < n).
bool IsValidSecretKey(const SecretKey& key);

// BIP-340 verification of `sig` over an arbitrary-length message.
bool SchnorrVerify(const XOnlyPubKey& pubkey, ByteSpan msg, const SchnorrSig& sig);

// An x-only key parsed once, for many verifications. Parsing lifts x to a
// curve point (a square root): schnorr_bench measures 38-42 us per
// verification with a parsed key against 45-52 us parsing each time, work a
// node checking the same account's signatures again and again need not repeat.
class VerifyingKey {
 public:
  // nullopt if `key` is not on the curve.
  static std::optional<VerifyingKey> Parse(const XOnlyPubKey& key);
  // The same key from x and a y of its point (EvenY's), without the square
  // root (~0.1 against ~3.8 us): nullopt unless (x, y) is on the curve. The
  // two points with this x are the one x-only key, so a y read from a file
  // cannot make it any other key.
  static std::optional<VerifyingKey> FromPoint(const XOnlyPubKey& x, const FieldBytes& y);
  const XOnlyPubKey& bytes() const { return bytes_; }

 private:
  friend bool SchnorrVerify(const VerifyingKey& key, ByteSpan msg, const SchnorrSig& sig);
  VerifyingKey() = default;
  std::array<std::uint8_t, 64> parsed_{};  // libsecp256k1's secp256k1_xonly_pubkey (opaque, this process only)
  XOnlyPubKey bytes_{};
};

// The even y of the point BIP-340 lifts `x` to (a square root); nullopt if
// x is not on the curve.
std::optional<FieldBytes> EvenY(const XOnlyPubKey& x);

// SchnorrVerify with a parsed key: the same answer, without the parse.
bool SchnorrVerify(const VerifyingKey& key, ByteSpan msg, const SchnorrSig& sig);

// BIP-340 signing with auxiliary randomness `aux` (32 bytes). nullopt on an
// invalid secret key.
std::optional<SchnorrSig> SchnorrSign(const SecretKey& seckey, ByteSpan msg, const std::array<std::uint8_t, 32>& aux);

// Signs with fresh randomness from the OS as aux.
std::optional<SchnorrSig> SchnorrSign(const SecretKey& seckey, ByteSpan msg);

// x-only public key of a secret key; nullopt if the key is invalid.
std::optional<XOnlyPubKey> XOnlyFromSecret(const SecretKey& seckey);

// Compressed (33-byte) public key of a secret key.
std::optional<CompressedPubKey> PubKeyFromSecret(const SecretKey& seckey);

// Parses a 33-byte compressed key and returns its x-only form (drops parity).
std::optional<XOnlyPubKey> XOnlyFromCompressed(ByteSpan compressed33);

// Result of tweaking an x-only key: Q = P + t*G, with Q's x coordinate and parity.
struct TweakedKey {
  XOnlyPubKey key;
  bool odd_y = false;
};
// nullopt if the tweak is out of range or the result is infinity.
std::optional<TweakedKey> TweakXOnly(const XOnlyPubKey& internal, const Hash256& tweak);

// Secret key tweak matching TweakXOnly (negates the key first if its point has
// odd y, per BIP-341's taproot_tweak_seckey).
std::optional<SecretKey> TweakSecretForTaproot(const SecretKey& seckey, const Hash256& tweak);

// Fills `out` with cryptographically secure random bytes (OpenSSL RAND_bytes).
void RandomBytes(std::uint8_t* out, std::size_t len);

// A fresh valid secret key.
SecretKey GenerateSecretKey();

// The process-wide libsecp256k1 context (secp256k1_context*), for modules that
// need lower-level calls (ECDSA, BIP-32 tweaks). Immutable after creation.
const void* Secp256k1Context();

}  // namespace kray::crypto
