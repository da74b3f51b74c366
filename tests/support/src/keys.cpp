#include "kray/testsupport/keys.h"

#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/state/tx_message.h"

namespace kray::test {

TestKey KeyFromSecret(const crypto::SecretKey& secret) {
  TestKey k;
  k.secret = secret;
  k.pub = crypto::XOnlyFromSecret(secret).value();
  auto out = bitcoin::TaprootOutputKey(k.pub, std::nullopt).value();  // BIP-86: no script tree
  k.address = bitcoin::P2trAddress("bcrt", out.key);
  k.account_id = state::AccountIdFromAddress(k.address);
  return k;
}

TestKey KeyFromSeed(const std::string& seed) {
  return KeyFromSecret(crypto::Sha256(AsBytes(seed)));
}

TestKey DevAccount(int n) {
  return KeyFromSeed("krayd-dev-account-" + std::to_string(n));
}

TestKey RandomKey() {
  return KeyFromSecret(crypto::GenerateSecretKey());
}

std::string RegtestGenesisPath() {
  return std::string(KRAY_SOURCE_DIR) + "/config/genesis.regtest.json";
}

}  // namespace kray::test
