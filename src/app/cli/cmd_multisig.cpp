// kray-cli `multisig <k1> <k2> <k3> [-network=<net>]`: the bridge's 2-of-3
// taproot policy tr(NUMS, sortedmulti_a(2, K1, K2, K3)) for three keys
// (32-byte x-only or 33-byte compressed hex), printed as JSON: address,
// BIP-380 descriptor (importable into Bitcoin Core as a watch-only
// descriptor), the tapscript leaf, the NUMS internal key and control block.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "bitcoin_commands.h"
#include "kray/bitcoin/multisig.h"
#include "kray/bitcoin/script.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/params.h"

namespace kray::cli {

int CmdMultisig(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Network net = Network::kRegtest;
  std::vector<std::string> keys;
  for (const std::string& a : args) {
    if (a.rfind("-network=", 0) == 0) {
      auto n = ParseNetwork(a.substr(9));
      if (!n) {
        err << "error: unknown network '" << a.substr(9) << "' (mainnet, testnet, signet, regtest)\n";
        return 1;
      }
      net = *n;
    } else if (!a.empty() && a[0] == '-') {
      err << "error: unknown option " << a << "\n";
      return 1;
    } else {
      keys.push_back(a);
    }
  }
  if (keys.size() != 3) {
    err << "usage: multisig <key1> <key2> <key3> [-network=regtest]  (keys: 64-hex x-only or 66-hex compressed)\n";
    return 1;
  }
  std::array<crypto::XOnlyPubKey, 3> xonly;
  for (std::size_t i = 0; i < 3; ++i) {
    auto k = bitcoin::ParseAccountPubKey(keys[i]);
    if (!k.ok()) {
      err << "error: key " << (i + 1) << ": " << k.error().code << ": " << k.error().message << "\n";
      return 1;
    }
    xonly[i] = *k;
  }
  auto policy = bitcoin::MakeBridgePolicy(xonly);
  if (!policy.ok()) {
    err << "error: " << policy.error().code << ": " << policy.error().message << "\n";
    return 1;
  }
  const bitcoin::BridgePolicy& p = *policy;
  nlohmann::ordered_json j;
  j["network"] = std::string(NetworkName(net));
  j["address"] = p.Address(net);
  j["descriptor"] = p.Descriptor();
  j["threshold"] = 2;
  nlohmann::ordered_json sorted = nlohmann::ordered_json::array();
  for (const auto& k : p.keys) sorted.push_back(ToHex(k));
  j["keys"] = sorted;
  j["internal_key"] = ToHex(p.internal_key);
  j["leaf_script"] = ToHex(p.leaf_script);
  j["leaf_script_asm"] = bitcoin::ScriptToAsm(p.leaf_script);
  j["leaf_version"] = 0xc0;
  j["leaf_hash"] = ToHex(p.leaf_hash);
  j["merkle_root"] = ToHex(p.merkle_root);
  j["output_key"] = ToHex(p.output_key);
  j["output_key_parity"] = p.output_key_odd ? 1 : 0;
  j["script_pubkey"] = ToHex(p.script_pubkey);
  j["control_block"] = ToHex(p.control_block);
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace kray::cli
