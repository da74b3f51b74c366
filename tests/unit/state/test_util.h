// Shared helpers for the state tests (temp dirs and keys come from the
// test-support library): ledger options and signed-transfer builders.
#pragma once

#include <string>

#include "kray/bitcoin/taproot_key.h"
#include "kray/crypto/hash.h"
#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/state/tx_message.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::state::testing {

using test::TempDir;
using Key = test::TestKey;
using test::KeyFromSeed;
inline Key Dev1() {
  return test::DevAccount(1);
}
inline Key Dev2() {
  return test::DevAccount(2);
}
inline std::string RegtestGenesis() {
  return test::RegtestGenesisPath();
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
  tx.signature = *crypto::SchnorrSign(from_key.secret, LegacyTransferMessage(from, to, amount, nonce));
  return tx;
}

// A v1-signed transfer of any asset.
inline TransferTx V1(const ChainParams& params, const Key& from_key, const std::string& to, const std::string& asset,
                     Amount amount, std::uint64_t nonce, const std::string& data = "") {
  TransferTx tx;
  tx.from = from_key.account_id;
  tx.to = to;
  tx.asset = asset;
  tx.amount = amount;
  tx.nonce = nonce;
  tx.data = data;
  tx.scheme = SigScheme::kV1;
  auto rt = PrepareTransfer(params, tx);
  if (rt.ok()) tx.signature = *crypto::SchnorrSign(from_key.secret, SignedMessage(params, *rt));
  return tx;
}

}  // namespace kray::state::testing
