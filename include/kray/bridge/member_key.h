// A federation member's secret key material: a BIP-39 mnemonic (24 words, no
// passphrase) and the BIP-32 account key derived from it at the BIP-87
// multisig account path m/87'/coin'/0' (coin 0 on mainnet, 1 on every test
// network). The account xpub is what the member publishes (Federation); the
// signing key of address index i is account/0/i.
//
// Key files are JSON, written with mode 0600 and never overwritten:
//   {"format":"kray-federation-member/1","network":"regtest","member":1,
//    "mnemonic":"...","path":"m/87'/1'/0'","master_fingerprint":"...",
//    "xprv":"tprv...","xpub":"tpub..."}
// The loader refuses a file others can read, and checks that the mnemonic
// derives the stored xprv and xpub (a hand-edited or corrupted file fails
// instead of signing with a key the federation does not know).
//
// Thread-safety: pure functions; a MemberKey is a value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kray/bitcoin/bip32.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bridge {

// m/87'/coin'/0'.
std::vector<std::uint32_t> MemberAccountPath(Network network);

struct MemberKey {
  Network network = Network::kRegtest;
  int member = 0;        // 1..3: position in the federation's published order (0 = unset)
  std::string mnemonic;  // BIP-39 English, single spaces
  bitcoin::Fingerprint master_fingerprint{};
  bitcoin::ExtKey account;  // private, at MemberAccountPath(network)

  std::string Xprv() const;  // tprv/xprv of `account` ("" if it has no secret)
  std::string Xpub() const;  // what the member publishes
};

// Derives the member key from a mnemonic. Errors: the bip39_* codes of
// Bip39MnemonicToEntropy (word count, unknown word, checksum), bip32 errors.
Result<MemberKey> MemberKeyFromMnemonic(Network network, std::string_view mnemonic);

// A fresh member key from 32 bytes of OS randomness (24 words).
Result<MemberKey> GenerateMemberKey(Network network);

// The secret key that signs for address index `index` (account/0/index).
// Error "federation_bad_index" for index >= 2^31, bip32 errors.
Result<crypto::SecretKey> MemberSigningKey(const MemberKey& key, std::uint32_t index);

// Writes `key` to `path` (created with O_EXCL and mode 0600, fsynced).
// Errors (kConflict) "member_key_exists"; (kInternal code "member_key_io")
// for any other I/O failure.
Status WriteMemberKeyFile(const std::string& path, const MemberKey& key);

// Reads and checks a member key file. Errors: "member_key_io" (cannot read;
// kNotFound if it does not exist), "member_key_insecure_permissions" (group
// or others may read or write it: chmod 600), "member_key_malformed" (not
// the format above, or larger than 64 KiB), "member_key_wrong_network"
// (the file is for another network than `network`), "member_key_mismatch"
// (the mnemonic does not derive the stored xprv/xpub).
Result<MemberKey> LoadMemberKeyFile(const std::string& path, Network network);

}  // namespace kray::bridge
