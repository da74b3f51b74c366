// BIP-341 script trees: TapLeaf/TapBranch hashes, merkle roots, control
// blocks, and the spend data of a taproot output (output key, parity, one
// control block per leaf). The key tweak itself lives in taproot_key.h.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bitcoin {

// BIP-342 tapscript leaf version.
inline constexpr std::uint8_t kTapscriptLeafVersion = 0xc0;
// Control blocks: 33 + 32*m bytes with m <= 128 (BIP-341).
inline constexpr std::size_t kTaprootControlBaseSize = 33;
inline constexpr std::size_t kTaprootControlNodeSize = 32;
inline constexpr std::size_t kTaprootControlMaxNodes = 128;

// TaggedHash("TapLeaf", leaf_version || CompactSize(len) || script).
Hash256 TapLeafHash(std::uint8_t leaf_version, ByteSpan script);
// TaggedHash("TapBranch", min(a,b) || max(a,b)).
Hash256 TapBranchHash(const Hash256& a, const Hash256& b);

// A script tree: either a leaf or a node with exactly two children. The
// leaves' depth-first, left-to-right order is their index in TaprootSpendInfo.
struct TapTree {
  std::uint8_t leaf_version = kTapscriptLeafVersion;  // leaf only
  Bytes script;                                       // leaf only
  std::vector<TapTree> children;                      // empty for a leaf, else 2

  static TapTree Leaf(Bytes script, std::uint8_t version = kTapscriptLeafVersion);
  static TapTree Branch(TapTree left, TapTree right);
  bool IsLeaf() const { return children.empty(); }
};

struct TapLeafInfo {
  std::uint8_t leaf_version = kTapscriptLeafVersion;
  Bytes script;
  Hash256 leaf_hash{};
  std::vector<Hash256> merkle_path;  // sibling hashes, leaf level first
  Bytes control_block;               // (version | parity) || internal key || path
};

struct TaprootSpendInfo {
  crypto::XOnlyPubKey internal_key{};
  std::optional<Hash256> merkle_root;  // nullopt for a key-path-only output
  Hash256 tweak{};
  crypto::XOnlyPubKey output_key{};
  bool output_key_odd = false;      // parity bit of the control blocks
  std::vector<TapLeafInfo> leaves;  // depth-first order
  Bytes script_pubkey;              // OP_1 <output_key>
};

// Computes everything about a taproot output. tree == nullptr means no
// scripts. Errors: "invalid_internal_key", "invalid_tap_tree" (a node
// without exactly two children, a leaf version with the low bit set or
// 0x50, or depth > 128).
Result<TaprootSpendInfo> ComputeTaprootSpendInfo(const crypto::XOnlyPubKey& internal_key, const TapTree* tree);

// A parsed control block.
struct ControlBlock {
  std::uint8_t leaf_version = 0;
  bool output_key_odd = false;
  crypto::XOnlyPubKey internal_key{};
  std::vector<Hash256> merkle_path;
};

// Checks the size rule (33 + 32m, m <= 128). Error "invalid_control_block".
Result<ControlBlock> ParseControlBlock(ByteSpan control_block);
Bytes SerializeControlBlock(const ControlBlock& cb);

// Merkle root implied by a leaf hash and a path (BIP-341 verification loop).
Hash256 ComputeMerkleRootFromPath(const Hash256& leaf_hash, const std::vector<Hash256>& path);

// BIP-341 script-path commitment check: true if `script` under the control
// block commits to `output_key` (including its parity).
bool VerifyTaprootCommitment(const crypto::XOnlyPubKey& output_key, ByteSpan control_block, ByteSpan script);

}  // namespace kray::bitcoin
