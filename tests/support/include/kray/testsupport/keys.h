// Keys for tests: the two well-known devnet accounts funded by
// config/genesis.regtest.json (secret = SHA256("krayd-dev-account-<n>")) and
// fresh random keys, with their BIP-86 regtest address and account id.
#pragma once

#include <string>

#include "kray/crypto/secp256k1.h"

namespace kray::test {

struct TestKey {
  crypto::SecretKey secret;
  crypto::XOnlyPubKey pub;  // BIP-86 internal key
  std::string address;      // BIP-86 regtest address (bcrt1p…)
  std::string account_id;   // kray_…
};

TestKey KeyFromSecret(const crypto::SecretKey& secret);
// secret = SHA256(seed)
TestKey KeyFromSeed(const std::string& seed);
// Dev account n (1 or 2 are funded by the regtest genesis).
TestKey DevAccount(int n);
TestKey RandomKey();

// Path of the repository's config/genesis.regtest.json.
std::string RegtestGenesisPath();
// The chain id of the regtest genesis.
inline constexpr const char* kRegtestChainId = "kray-regtest-1";

}  // namespace kray::test
