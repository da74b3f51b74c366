#include "kray/bitcoin/taproot.h"

#include <algorithm>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/serialize.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {
namespace {

Error InvalidTree(std::string msg) {
  return Error::Invalid("invalid_tap_tree", std::move(msg));
}

// Walks the tree depth-first, appending leaves and returning the node hash.
// Each leaf's path gets the sibling hashes of every node above it.
Result<Hash256> Walk(const TapTree& node, std::size_t depth, std::vector<TapLeafInfo>& leaves) {
  if (depth > kTaprootControlMaxNodes) return InvalidTree("script tree deeper than 128");
  if (node.IsLeaf()) {
    // BIP-341: leaf versions are even; 0x50 would collide with the annex tag.
    if ((node.leaf_version & 1) != 0 || node.leaf_version == 0x50) return InvalidTree("invalid leaf version");
    TapLeafInfo leaf;
    leaf.leaf_version = node.leaf_version;
    leaf.script = node.script;
    leaf.leaf_hash = TapLeafHash(node.leaf_version, node.script);
    leaves.push_back(std::move(leaf));
    return leaves.back().leaf_hash;
  }
  if (node.children.size() != 2) return InvalidTree("inner node must have two children");
  const std::size_t left_begin = leaves.size();
  auto left = Walk(node.children[0], depth + 1, leaves);
  if (!left.ok()) return left;
  const std::size_t right_begin = leaves.size();
  auto right = Walk(node.children[1], depth + 1, leaves);
  if (!right.ok()) return right;
  for (std::size_t i = left_begin; i < right_begin; ++i) leaves[i].merkle_path.push_back(*right);
  for (std::size_t i = right_begin; i < leaves.size(); ++i) leaves[i].merkle_path.push_back(*left);
  return TapBranchHash(*left, *right);
}

}  // namespace

Hash256 TapLeafHash(std::uint8_t leaf_version, ByteSpan script) {
  auto h = crypto::TaggedHasher("TapLeaf");
  const std::uint8_t v = leaf_version;
  h.Write(ByteSpan(&v, 1));
  h.Write(EncodeCompactSize(script.size()));
  h.Write(script);
  return h.Finalize();
}

Hash256 TapBranchHash(const Hash256& a, const Hash256& b) {
  auto h = crypto::TaggedHasher("TapBranch");
  if (std::lexicographical_compare(b.begin(), b.end(), a.begin(), a.end())) {
    h.Write(b).Write(a);
  } else {
    h.Write(a).Write(b);
  }
  return h.Finalize();
}

TapTree TapTree::Leaf(Bytes script, std::uint8_t version) {
  TapTree t;
  t.leaf_version = version;
  t.script = std::move(script);
  return t;
}

TapTree TapTree::Branch(TapTree left, TapTree right) {
  TapTree t;
  t.children.push_back(std::move(left));
  t.children.push_back(std::move(right));
  return t;
}

Result<TaprootSpendInfo> ComputeTaprootSpendInfo(const crypto::XOnlyPubKey& internal_key, const TapTree* tree) {
  if (!crypto::IsValidXOnly(internal_key))
    return Error::Invalid("invalid_internal_key", "internal key is not on the curve");
  TaprootSpendInfo info;
  info.internal_key = internal_key;
  if (tree != nullptr) {
    auto root = Walk(*tree, 0, info.leaves);
    if (!root.ok()) return std::move(root).error();
    info.merkle_root = *root;
  }
  info.tweak = TapTweakHash(internal_key, info.merkle_root);
  auto out = crypto::TweakXOnly(internal_key, info.tweak);
  if (!out) return Error::Invalid("invalid_internal_key", "tweak produced an invalid key");
  info.output_key = out->key;
  info.output_key_odd = out->odd_y;
  info.script_pubkey = P2trScript(info.output_key);
  for (TapLeafInfo& leaf : info.leaves) {
    ControlBlock cb{leaf.leaf_version, info.output_key_odd, internal_key, leaf.merkle_path};
    leaf.control_block = SerializeControlBlock(cb);
  }
  return info;
}

Result<ControlBlock> ParseControlBlock(ByteSpan c) {
  if (c.size() < kTaprootControlBaseSize ||
      c.size() > kTaprootControlBaseSize + kTaprootControlNodeSize * kTaprootControlMaxNodes ||
      (c.size() - kTaprootControlBaseSize) % kTaprootControlNodeSize != 0)
    return Error::Invalid("invalid_control_block", "control block must be 33 + 32m bytes, m <= 128");
  ControlBlock cb;
  cb.leaf_version = c[0] & 0xfe;
  cb.output_key_odd = (c[0] & 1) != 0;
  std::copy(c.begin() + 1, c.begin() + 33, cb.internal_key.begin());
  for (std::size_t off = 33; off < c.size(); off += 32) {
    Hash256 h;
    std::copy(c.begin() + static_cast<std::ptrdiff_t>(off), c.begin() + static_cast<std::ptrdiff_t>(off + 32),
              h.begin());
    cb.merkle_path.push_back(h);
  }
  return cb;
}

Bytes SerializeControlBlock(const ControlBlock& cb) {
  Bytes out;
  out.reserve(33 + 32 * cb.merkle_path.size());
  out.push_back(static_cast<std::uint8_t>((cb.leaf_version & 0xfe) | (cb.output_key_odd ? 1 : 0)));
  out.insert(out.end(), cb.internal_key.begin(), cb.internal_key.end());
  for (const Hash256& h : cb.merkle_path) out.insert(out.end(), h.begin(), h.end());
  return out;
}

Hash256 ComputeMerkleRootFromPath(const Hash256& leaf_hash, const std::vector<Hash256>& path) {
  Hash256 k = leaf_hash;
  for (const Hash256& e : path) k = TapBranchHash(k, e);
  return k;
}

bool VerifyTaprootCommitment(const crypto::XOnlyPubKey& output_key, ByteSpan control_block, ByteSpan script) {
  auto cb = ParseControlBlock(control_block);
  if (!cb.ok()) return false;
  const Hash256 root = ComputeMerkleRootFromPath(TapLeafHash(cb->leaf_version, script), cb->merkle_path);
  auto q = TaprootOutputKey(cb->internal_key, root);
  return q && q->key == output_key && q->odd_y == cb->output_key_odd;
}

}  // namespace kray::bitcoin
