// Compact sparse Merkle tree over 256-bit keys (docs/ROLLUP.md, "State tree").
//
// The tree is a binary trie on the key bits (most significant bit of byte 0
// first). Its hash is a pure function of the set of (key, value_hash) pairs:
//   H(empty subtree)            = 32 zero bytes
//   H(subtree with one leaf)    = TaggedHash("KRAY/smt/leaf", key || value_hash)
//   H(subtree with >= 2 leaves) = TaggedHash("KRAY/smt/node", H(left) || H(right))
// i.e. a subtree holding a single leaf is collapsed to that leaf at the
// highest position it can occupy, so only O(N) nodes exist for N leaves and a
// path has ~log2(N) levels instead of 256.
//
// Nodes live in a NodeStore keyed by position (depth, key prefix). Updating k
// leaves reads and writes O(k log N) nodes (ApplyUpdates). Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::rollup {

inline constexpr std::string_view kSmtLeafTag = "KRAY/smt/leaf";
inline constexpr std::string_view kSmtNodeTag = "KRAY/smt/node";
inline constexpr int kSmtDepth = 256;

// The hash of an empty subtree (all zero).
inline constexpr Hash256 kEmptyHash{};

Hash256 SmtLeafHash(const Hash256& key, const Hash256& value_hash);
Hash256 SmtNodeHash(const Hash256& left, const Hash256& right);
// Bit `i` (0 = most significant bit of byte 0) of `key`.
inline int KeyBit(const Hash256& key, int i) {
  return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

// A node position: `depth` bits of `prefix` (the rest zeroed).
struct NodePos {
  std::uint16_t depth = 0;
  Hash256 prefix{};
  bool operator==(const NodePos& o) const { return depth == o.depth && prefix == o.prefix; }
  // The root position, and the child on side `bit` (0 left, 1 right).
  static NodePos Root() { return {}; }
  NodePos Child(int bit) const;
  // Compact binary form: u16be(depth) || the ceil(depth/8) prefix bytes.
  Bytes Encode() const;
  static std::optional<NodePos> Decode(ByteSpan b);
};

struct NodePosHash {
  std::size_t operator()(const NodePos& p) const;
};

// A stored node: a leaf (a = key, b = value_hash) or an internal node
// (a = left child hash, b = right child hash). kEmpty = no node.
struct Node {
  enum Kind : std::uint8_t { kEmpty = 0, kLeaf = 1, kInternal = 2 };
  Kind kind = kEmpty;
  Hash256 a{}, b{};
  Hash256 Hash() const;
  bool operator==(const Node& o) const { return kind == o.kind && a == o.a && b == o.b; }
};

class NodeStore {
 public:
  virtual ~NodeStore() = default;
  // The node at `pos`, or a Node with kind kEmpty.
  virtual Result<Node> Get(const NodePos& pos) = 0;
  virtual Status Put(const NodePos& pos, const Node& node) = 0;
  // Removes the node at `pos` (no-op if absent).
  virtual Status Erase(const NodePos& pos) = 0;
  // Writes what Put and Erase buffered (a store that writes through: no-op).
  virtual Status Flush() { return Ok(); }
};

// One leaf change: value_hash = nullopt deletes the key.
struct SmtUpdate {
  Hash256 key{};
  std::optional<Hash256> value_hash;
};

// Inclusion / non-inclusion proof for `key`. siblings[i] is the hash of the
// other child of the path node at depth i (root first). The path ends at
// depth siblings.size() in either an empty subtree or a leaf (which for a
// non-inclusion proof is some other key sharing the path prefix).
struct SmtProof {
  Hash256 key{};
  std::vector<Hash256> siblings;
  bool terminal_is_leaf = false;
  Hash256 leaf_key{}, leaf_value_hash{};  // valid when terminal_is_leaf

  // True if the proof shows `key` is present with this value hash.
  bool Includes() const { return terminal_is_leaf && leaf_key == key; }
};

// Standalone verifier. expected_value = the value hash `key` must have, or
// nullopt to check that `key` is absent. Returns Ok or Invalid
// "proof_invalid" with the reason. Never trusts sizes: > 256 siblings fails.
Status VerifySmtProof(const Hash256& root, const Hash256& key, const std::optional<Hash256>& expected_value,
                      const SmtProof& proof);
// The root a proof commits to (for diagnostics).
Hash256 SmtProofRoot(const SmtProof& proof);

class SparseMerkleTree {
 public:
  explicit SparseMerkleTree(NodeStore& store) : store_(store) {}

  Result<Hash256> Root();
  // The value hash stored under `key`, nullopt if absent.
  Result<std::optional<Hash256>> Get(const Hash256& key);
  // Applies a set of updates (any order; for a repeated key the last wins).
  // On error the store may hold a partial update: callers roll it back.
  // With `changed_keys`, appends the keys whose value the updates changed
  // (sorted, each once), found on the same walk.
  Status ApplyUpdates(std::vector<SmtUpdate> updates, std::vector<Hash256>* changed_keys = nullptr);
  Result<SmtProof> Prove(const Hash256& key);

 private:
  Result<Node> Rec(const NodePos& pos, const Node& existing, const SmtUpdate* begin, const SmtUpdate* end);
  Result<Node> Build(const NodePos& pos, std::vector<SmtUpdate>& live);
  void NoteChanged(const Node& existing, const SmtUpdate* begin, const SmtUpdate* end);
  NodeStore& store_;
  std::vector<Hash256>* changed_keys_ = nullptr;  // during ApplyUpdates
};

// Full rebuild of the root from a set of leaves, by the definition above,
// with no store (reference implementation for tests and verification).
Hash256 SmtRootOf(std::vector<std::pair<Hash256, Hash256>> leaves);

}  // namespace kray::rollup
