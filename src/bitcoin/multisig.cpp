#include "kray/bitcoin/multisig.h"

#include <algorithm>

#include "kray/bitcoin/descriptor.h"
#include "kray/bitcoin/script.h"
#include "kray/bitcoin/taproot.h"
#include "kray/bitcoin/taproot_key.h"

namespace kray::bitcoin {

Bytes MultiALeafScript(std::uint32_t threshold, const std::vector<crypto::XOnlyPubKey>& keys) {
  ScriptBuilder b;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    b.PushRaw(keys[i]);
    b.Op(i == 0 ? OP_CHECKSIG : OP_CHECKSIGADD);
  }
  b.PushInt(threshold);
  b.Op(OP_NUMEQUAL);
  return b.Take();
}

Result<BridgePolicy> MakeBridgePolicy(const std::array<crypto::XOnlyPubKey, 3>& keys) {
  BridgePolicy p;
  p.keys = keys;
  std::sort(p.keys.begin(), p.keys.end());
  for (const auto& k : p.keys) {
    if (!crypto::IsValidXOnly(k)) return Error::Invalid("multisig_invalid_key", "key is not a valid x-only point");
  }
  if (std::adjacent_find(p.keys.begin(), p.keys.end()) != p.keys.end())
    return Error::Invalid("multisig_duplicate_key", "the three keys must be distinct");
  p.leaf_script = MultiALeafScript(2, {p.keys.begin(), p.keys.end()});
  const TapTree tree = TapTree::Leaf(p.leaf_script);
  auto info = ComputeTaprootSpendInfo(p.internal_key, &tree);
  if (!info.ok()) return std::move(info).error();
  p.leaf_hash = info->leaves[0].leaf_hash;
  p.merkle_root = *info->merkle_root;
  p.output_key = info->output_key;
  p.output_key_odd = info->output_key_odd;
  p.script_pubkey = info->script_pubkey;
  p.control_block = info->leaves[0].control_block;
  return p;
}

std::string BridgePolicy::Address(Network net) const {
  return P2trAddress(Bech32Hrp(net), output_key);
}

std::string BridgePolicy::Descriptor() const {
  std::string d = "tr(" + ToHex(internal_key) + ",sortedmulti_a(2";
  for (const auto& k : keys) {
    d += ',';
    d += ToHex(k);
  }
  d += "))";
  // Hex and the descriptor punctuation are all in INPUT_CHARSET.
  return d + "#" + *DescriptorChecksum(d);
}

Result<std::vector<Bytes>> BuildBridgeWitness(const BridgePolicy& policy,
                                              const std::vector<std::pair<crypto::XOnlyPubKey, Bytes>>& sigs) {
  std::array<const Bytes*, 3> by_key{nullptr, nullptr, nullptr};
  for (const auto& [key, sig] : sigs) {
    auto it = std::find(policy.keys.begin(), policy.keys.end(), key);
    if (it == policy.keys.end()) return Error::Invalid("multisig_unknown_key", "signature for a key not in the policy");
    if (sig.size() != 64 && sig.size() != 65)
      return Error::Invalid("multisig_bad_signature_size", "schnorr signature must be 64 or 65 bytes");
    // BIP-341: a 65-byte signature with hash type 0x00 is invalid.
    if (sig.size() == 65 && sig[64] == 0x00)
      return Error::Invalid("multisig_bad_signature_size", "65-byte signature with SIGHASH_DEFAULT byte");
    by_key[static_cast<std::size_t>(it - policy.keys.begin())] = &sig;
  }
  int used = 0;
  std::array<Bytes, 3> chosen;
  for (std::size_t i = 0; i < 3 && used < 2; ++i) {
    if (by_key[i] != nullptr) {
      chosen[i] = *by_key[i];
      ++used;
    }
  }
  if (used < 2) return Error::Invalid("multisig_not_enough_signatures", "need signatures for two of the three keys");
  // Stack bottom-to-top: sig(K3), sig(K2), sig(K1); K1's CHECKSIG pops the top.
  return std::vector<Bytes>{chosen[2], chosen[1], chosen[0], policy.leaf_script, policy.control_block};
}

}  // namespace kray::bitcoin
