// Shared helpers for the state tests (temp dirs, keys, signed operations and
// the example module come from the test-support library).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "kray/state/ledger.h"
#include "kray/state/module.h"
#include "kray/state/tx_message.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
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

// Every asset's sums match (Ledger::CheckConservation): how every test ends.
inline void ExpectConserved(Ledger& ledger) {
  auto report = ledger.CheckConservation();
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report->ok) << report->ToString();
}

// A signed transfer through the ledger (from/to exactly as given).
inline Result<Receipt> Transfer(Ledger& ledger, const Key& key, const std::string& from, const std::string& to,
                                Amount amount, std::uint64_t nonce, const std::string& asset = "KRAY",
                                const std::string& data = "", const std::string& scheme = "") {
  auto op = test::SignOperation(ledger.params(), ledger.registry(),
                                test::TransferRequest(from, to, amount, nonce, asset, data, scheme), key);
  if (!op.ok()) return std::move(op).error();
  return ledger.SubmitSync(std::move(*op));
}

}  // namespace kray::state::testing
