// Prints a bridge withdrawal PSBT signed 2-of-3 by kray's own code, and what
// kray's finalizer makes of it, for an independent implementation to check
// (psbt_interop.mjs): {"psbt": base64, "final_tx_hex", "txid", "inputs":
// [{value, script_hex}], "outputs": [{value, script_hex}]}.
#include <iostream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/address.h"
#include "kray/bridge/spend_tx.h"
#include "kray/crypto/hash.h"
#include "kray/testsupport/federation.h"

using namespace kray;

int main() {
  const auto federation = test::TestFederation();
  const auto members = test::TestMembers();
  std::vector<bridge::SpendInput> inputs;
  for (int i = 0; i < 2; ++i) {
    bridge::SpendInput in;
    in.outpoint.txid = crypto::Sha256(AsBytes("interop-utxo-" + std::to_string(i)));
    in.outpoint.n = static_cast<std::uint32_t>(i);
    in.address_index = static_cast<std::uint32_t>(i + 1);
    in.sats = i == 0 ? 150000 : 40000;
    in.script_pubkey = federation.Policy(in.address_index)->script_pubkey;
    if (i == 1) in.runes = {{bitcoin::RuneId{840000, 3}, 1000}};
    inputs.push_back(std::move(in));
  }
  const std::vector<bridge::Payment> payments = {
      {1, bitcoin::P2wpkhScript(crypto::HashOf160(AsBytes("alice"))), 100000, std::nullopt},
      {2, bitcoin::P2trScript(federation.Policy(99)->output_key), 400, bitcoin::RuneId{840000, 3}}};
  auto plan = bridge::PlanWithdrawalSpend(payments, inputs, federation.Policy(0)->script_pubkey, 2000);
  if (!plan.ok()) {
    std::cerr << plan.error().message << "\n";
    return 1;
  }
  auto psbt = bridge::MakeSpendPsbt(plan->tx, plan->inputs, federation);
  std::vector<std::uint32_t> indexes;
  for (const auto& in : plan->inputs) indexes.push_back(in.address_index);
  for (int m : {1, 3})
    if (!bridge::SignSpendAsMember(*psbt, members[m - 1], federation, indexes).ok()) return 1;
  auto finalized = *psbt;
  if (!bitcoin::FinalizePsbt(finalized).ok()) return 1;
  auto tx = bitcoin::ExtractTransaction(finalized);
  nlohmann::json out;
  out["psbt"] = bitcoin::PsbtToBase64(*psbt);
  out["final_tx_hex"] = ToHex(bitcoin::SerializeTransaction(*tx));
  out["txid"] = bitcoin::HashToDisplayHex(bitcoin::Txid(*tx));
  for (const auto& in : plan->inputs)
    out["inputs"].push_back({{"value", in.sats}, {"script_hex", ToHex(in.script_pubkey)}});
  for (const auto& o : plan->tx.vout)
    out["outputs"].push_back({{"value", o.value}, {"script_hex", ToHex(o.script_pubkey)}});
  std::cout << out.dump() << "\n";
  return 0;
}
