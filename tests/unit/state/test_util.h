// Shared fixtures for the state tests: a temp datadir, the dev keys and a
// signed-transfer helper.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "kray/bitcoin/taproot_key.h"
#include "kray/crypto/hash.h"
#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/state/tx_message.h"

namespace kray::state::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kray_state_test_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Key {
  crypto::SecretKey sk;
  crypto::XOnlyPubKey pub;
  std::string address, id;
};

inline Key KeyFromSeed(const std::string& seed) {
  Key k;
  k.sk = crypto::Sha256(AsBytes(seed));
  k.pub = *crypto::XOnlyFromSecret(k.sk);
  k.address = bitcoin::P2trAddress("bcrt", bitcoin::TaprootOutputKey(k.pub, std::nullopt)->key);
  k.id = AccountIdFromAddress(k.address);
  return k;
}

inline Key Dev1() {
  return KeyFromSeed("krayd-dev-account-1");
}
inline Key Dev2() {
  return KeyFromSeed("krayd-dev-account-2");
}

inline std::string RegtestGenesis() {
  return std::string(KRAY_SOURCE_DIR) + "/config/genesis.regtest.json";
}

inline LedgerOptions Options(const TempDir& dir, const std::string& genesis = RegtestGenesis()) {
  LedgerOptions o;
  o.datadir = dir.file("data");
  o.genesis_path = genesis;
  o.synchronous = "NORMAL";  // tests do not need fsync
  return o;
}

// A legacy-signed KRAY transfer (from/to as given).
inline TransferTx Legacy(const Key& from_key, const std::string& from, const std::string& to, Amount amount,
                         std::uint64_t nonce) {
  TransferTx tx;
  tx.from = from;
  tx.to = to;
  tx.amount = amount;
  tx.nonce = nonce;
  tx.scheme = SigScheme::kLegacy;
  tx.signature = *crypto::SchnorrSign(from_key.sk, LegacyTransferMessage(from, to, amount, nonce));
  return tx;
}

// A v1-signed transfer of any asset.
inline TransferTx V1(const ChainParams& params, const Key& from_key, const std::string& to, const std::string& asset,
                     Amount amount, std::uint64_t nonce, const std::string& data = "") {
  TransferTx tx;
  tx.from = from_key.id;
  tx.to = to;
  tx.asset = asset;
  tx.amount = amount;
  tx.nonce = nonce;
  tx.data = data;
  tx.scheme = SigScheme::kV1;
  auto rt = PrepareTransfer(params, tx);
  if (rt.ok()) tx.signature = *crypto::SchnorrSign(from_key.sk, SignedMessage(params, *rt));
  return tx;
}

}  // namespace kray::state::testing
