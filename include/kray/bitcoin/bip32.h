// BIP-32 hierarchical deterministic keys: master key from a seed, private and
// public child derivation (hardened and normal), fingerprints, xprv/xpub/
// tprv/tpub serialisation with every validity check of BIP-32 test vector 5,
// derivation paths ("m/86'/0'/0'/0/1", hardened as ', h or H) and the BIP-86
// path helper. Pure functions; thread-safe (libsecp256k1's shared context).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bitcoin {

inline constexpr std::uint32_t kBip32Hardened = 0x80000000u;

using Fingerprint = std::array<std::uint8_t, 4>;

// An extended key. `pubkey` is always set; `secret` only for private keys.
struct ExtKey {
  std::uint8_t depth = 0;
  Fingerprint parent_fingerprint{};
  std::uint32_t child_number = 0;
  Hash256 chain_code{};
  std::optional<crypto::SecretKey> secret;
  crypto::CompressedPubKey pubkey{};

  bool is_private() const { return secret.has_value(); }
  friend bool operator==(const ExtKey&, const ExtKey&) = default;
};

// Master key: I = HMAC-SHA512("Bitcoin seed", seed). Seeds of 16..64 bytes
// ("bip32_bad_seed_length"); "bip32_invalid_master" if I_L is 0 or >= n.
Result<ExtKey> Bip32MasterKey(ByteSpan seed);

// CKDpriv for a private parent, CKDpub for a public one. Errors:
// "bip32_hardened_from_public", "bip32_depth_overflow", "bip32_invalid_child"
// (I_L >= n or a zero key: probability < 2^-127; BIP-32 says use the next index).
Result<ExtKey> Bip32DeriveChild(const ExtKey& parent, std::uint32_t index);
Result<ExtKey> Bip32DerivePath(const ExtKey& root, std::span<const std::uint32_t> path);

// The public key of `key` with the private part dropped.
ExtKey Bip32Neuter(const ExtKey& key);

// First 4 bytes of HASH160(compressed pubkey).
Fingerprint Bip32Fingerprint(const ExtKey& key);

// x-only form of the key's public key (BIP-340/341 internal key).
crypto::XOnlyPubKey Bip32XOnly(const ExtKey& key);

// Base58Check serialisation: mainnet -> xprv/xpub, every test network ->
// tprv/tpub. EncodeExtPrivKey requires a private key ("bip32_not_private").
Result<std::string> EncodeExtPrivKey(const ExtKey& key, Network net);
std::string EncodeExtPubKey(const ExtKey& key, Network net);

struct ParsedExtKey {
  ExtKey key;
  bool mainnet = true;  // xprv/xpub (true) or tprv/tpub (false)
};
// Parses and validates an extended key string. Errors: "extkey_bad_checksum"
// (or other base58 errors), "extkey_bad_length", "extkey_unknown_version",
// "extkey_version_mismatch" (public version with private key data or vice
// versa), "extkey_bad_key_prefix", "extkey_zero_depth" (depth 0 with a parent
// fingerprint or child number), "extkey_invalid_private_key" (not in 1..n-1),
// "extkey_invalid_public_key" (not on the curve).
Result<ParsedExtKey> ParseExtKey(std::string_view str);

// "m" or "m/a/b'/ch/dH": indices < 2^31, hardened adds 2^31. Max 255 levels.
// Error "bip32_bad_path".
Result<std::vector<std::uint32_t>> ParseBip32Path(std::string_view path);
std::string FormatBip32Path(std::span<const std::uint32_t> path);  // uses '

// BIP-86: m/86'/coin'/account'/change/index, coin 0 on mainnet, 1 elsewhere.
std::vector<std::uint32_t> Bip86Path(Network net, std::uint32_t account, std::uint32_t change, std::uint32_t index);
// True if `path` has the BIP-86 shape (5 levels, 86'/coin'/account' hardened).
bool IsBip86Path(std::span<const std::uint32_t> path);

}  // namespace kray::bitcoin
