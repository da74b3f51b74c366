// The bridge custody policy: a 2-of-3 taproot script-path multisig
//   tr(NUMS, sortedmulti_a(2, K1, K2, K3))
// i.e. one tapscript leaf
//   <K1> OP_CHECKSIG <K2> OP_CHECKSIGADD <K3> OP_CHECKSIGADD OP_2 OP_NUMEQUAL
// with K1 < K2 < K3 (BIP-387 sortedmulti_a) under the BIP-341 NUMS internal
// key H, whose discrete log nobody knows, so the output has no key-path
// spend. Also the witness builder that finalizes a spend of it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bitcoin {

// BIP-341's "H" point: lift_x(SHA256(uncompressed secp256k1 generator)).
inline constexpr crypto::XOnlyPubKey kNumsInternalKey = {
    0x50, 0x92, 0x9b, 0x74, 0xc1, 0xa0, 0x49, 0x54, 0xb7, 0x8b, 0x4b, 0x60, 0x35, 0xe9, 0x7a, 0x5e,
    0x07, 0x8a, 0x5a, 0x0f, 0x28, 0xec, 0x96, 0xd5, 0x47, 0xbf, 0xee, 0x9a, 0xce, 0x80, 0x3a, 0xc0};

// BIP-387 multi_a leaf for the keys in the given order:
// <k_1> OP_CHECKSIG <k_2> OP_CHECKSIGADD ... <k_n> OP_CHECKSIGADD <threshold> OP_NUMEQUAL.
Bytes MultiALeafScript(std::uint32_t threshold, const std::vector<crypto::XOnlyPubKey>& keys);

struct BridgePolicy {
  std::array<crypto::XOnlyPubKey, 3> keys{};  // sorted ascending (leaf order)
  crypto::XOnlyPubKey internal_key = kNumsInternalKey;
  Bytes leaf_script;
  Hash256 leaf_hash{};
  Hash256 merkle_root{};  // = leaf_hash (single leaf)
  crypto::XOnlyPubKey output_key{};
  bool output_key_odd = false;
  Bytes script_pubkey;  // OP_1 <output_key>
  Bytes control_block;  // 33 bytes: (0xc0 | parity) || NUMS

  // P2TR address for `net` (bech32m; hrp bc / tb / bcrt).
  std::string Address(Network net) const;
  // "tr(<NUMS>,sortedmulti_a(2,<K1>,<K2>,<K3>))#<BIP-380 checksum>", keys as
  // lowercase x-only hex in sorted order. Bitcoin Core accepts it for watching.
  std::string Descriptor() const;
};

// Builds the policy from three x-only keys in any order. Errors:
// "multisig_invalid_key" (not on the curve), "multisig_duplicate_key".
Result<BridgePolicy> MakeBridgePolicy(const std::array<crypto::XOnlyPubKey, 3>& keys);

// Script-path witness for the leaf from signatures keyed by x-only pubkey
// (each 64 bytes, or 65 with a non-default sighash byte). The leaf consumes
// stack items top-down for K1, K2, K3, so the witness is
//   [sig(K3) or "", sig(K2) or "", sig(K1) or "", leaf_script, control_block]
// with exactly two signatures: OP_NUMEQUAL needs the count to be exactly 2,
// so if three are given only those for the two lowest keys are used.
// Errors: "multisig_unknown_key", "multisig_bad_signature_size",
// "multisig_not_enough_signatures".
Result<std::vector<Bytes>> BuildBridgeWitness(const BridgePolicy& policy,
                                              const std::vector<std::pair<crypto::XOnlyPubKey, Bytes>>& sigs);

}  // namespace kray::bitcoin
