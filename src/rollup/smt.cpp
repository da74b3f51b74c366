// Compact sparse Merkle tree (see include/kray/rollup/smt.h, docs/ROLLUP.md).
#include "kray/rollup/smt.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "kray/crypto/hash.h"

namespace kray::rollup {
namespace {

// Primed tagged hashers: cloning one costs a copy of the SHA-256 state
// instead of hashing the tag again for every node.
const crypto::Sha256Hasher& LeafHasher() {
  static const crypto::Sha256Hasher h = crypto::TaggedHasher(kSmtLeafTag);
  return h;
}
const crypto::Sha256Hasher& NodeHasher() {
  static const crypto::Sha256Hasher h = crypto::TaggedHasher(kSmtNodeTag);
  return h;
}

bool KeyLess(const SmtUpdate& x, const SmtUpdate& y) {
  return x.key < y.key;
}

// Index of the first entry in [b, e) whose bit `depth` is 1 (entries sorted).
template <class It>
It SplitAt(It b, It e, int depth) {
  return std::partition_point(b, e, [depth](const SmtUpdate& u) { return KeyBit(u.key, depth) == 0; });
}

// Number of leading bits shared by a and b.
int CommonPrefixBits(const Hash256& a, const Hash256& b) {
  for (int i = 0; i < 32; ++i) {
    std::uint8_t x = a[i] ^ b[i];
    if (x) {
      int n = 0;
      while (!(x & 0x80)) {
        x <<= 1;
        ++n;
      }
      return i * 8 + n;
    }
  }
  return 256;
}

}  // namespace

Hash256 SmtLeafHash(const Hash256& key, const Hash256& value_hash) {
  crypto::Sha256Hasher h(LeafHasher());
  return h.Write(key).Write(value_hash).Finalize();
}

Hash256 SmtNodeHash(const Hash256& left, const Hash256& right) {
  crypto::Sha256Hasher h(NodeHasher());
  return h.Write(left).Write(right).Finalize();
}

NodePos NodePos::Child(int bit) const {
  NodePos c = *this;
  if (bit) c.prefix[depth >> 3] |= static_cast<std::uint8_t>(0x80 >> (depth & 7));
  c.depth = static_cast<std::uint16_t>(depth + 1);
  return c;
}

Bytes NodePos::Encode() const {
  Bytes out;
  std::size_t n = (depth + 7) / 8;
  out.reserve(2 + n);
  out.push_back(static_cast<std::uint8_t>(depth >> 8));
  out.push_back(static_cast<std::uint8_t>(depth & 0xff));
  out.insert(out.end(), prefix.begin(), prefix.begin() + n);
  return out;
}

std::optional<NodePos> NodePos::Decode(ByteSpan b) {
  if (b.size() < 2) return std::nullopt;
  NodePos p;
  p.depth = static_cast<std::uint16_t>((b[0] << 8) | b[1]);
  if (p.depth > kSmtDepth || b.size() != 2 + (p.depth + 7u) / 8) return std::nullopt;
  std::copy(b.begin() + 2, b.end(), p.prefix.begin());
  // Bits beyond depth must be zero (canonical form).
  if (p.depth % 8 && (p.prefix[p.depth / 8] & (0xff >> (p.depth % 8)))) return std::nullopt;
  return p;
}

std::size_t NodePosHash::operator()(const NodePos& p) const {
  std::uint64_t x;
  std::memcpy(&x, p.prefix.data(), 8);
  std::uint64_t y;
  std::memcpy(&y, p.prefix.data() + 8, 8);
  return static_cast<std::size_t>((x ^ (y * 0x9e3779b97f4a7c15ULL)) + p.depth * 0xff51afd7ed558ccdULL);
}

Hash256 Node::Hash() const {
  switch (kind) {
    case kLeaf:
      return SmtLeafHash(a, b);
    case kInternal:
      return SmtNodeHash(a, b);
    default:
      return kEmptyHash;
  }
}

// ---------------------------------------------------------------------------

Result<Hash256> SparseMerkleTree::Root() {
  auto root = store_.Get(NodePos::Root());
  if (!root.ok()) return std::move(root).error();
  return root->Hash();
}

Result<std::optional<Hash256>> SparseMerkleTree::Get(const Hash256& key) {
  auto proof = Prove(key);
  if (!proof.ok()) return std::move(proof).error();
  if (proof->Includes()) return std::optional<Hash256>(proof->leaf_value_hash);
  return std::optional<Hash256>();
}

Result<SmtProof> SparseMerkleTree::Prove(const Hash256& key) {
  SmtProof proof;
  proof.key = key;
  NodePos pos = NodePos::Root();
  auto node = store_.Get(pos);
  if (!node.ok()) return std::move(node).error();
  while (node->kind == Node::kInternal) {
    if (pos.depth >= kSmtDepth) return Error::Internal("smt: internal node at depth 256");
    int bit = KeyBit(key, pos.depth);
    proof.siblings.push_back(bit ? node->a : node->b);
    pos = pos.Child(bit);
    node = store_.Get(pos);
    if (!node.ok()) return std::move(node).error();
  }
  if (node->kind == Node::kLeaf) {
    proof.terminal_is_leaf = true;
    proof.leaf_key = node->a;
    proof.leaf_value_hash = node->b;
  }
  return proof;
}

Status SparseMerkleTree::ApplyUpdates(std::vector<SmtUpdate> updates, std::vector<Hash256>* changed_keys) {
  if (updates.empty()) return Ok();
  changed_keys_ = changed_keys;
  // Sort by key; for duplicates keep the last one given (stable sort, then
  // keep the last element of each run of equal keys).
  std::stable_sort(updates.begin(), updates.end(), KeyLess);
  std::vector<SmtUpdate> unique;
  unique.reserve(updates.size());
  for (std::size_t i = 0; i < updates.size(); ++i) {
    if (i + 1 < updates.size() && updates[i + 1].key == updates[i].key) continue;
    unique.push_back(updates[i]);
  }
  NodePos root = NodePos::Root();
  auto existing = store_.Get(root);
  if (!existing.ok()) return std::move(existing).error();
  auto node = Rec(root, *existing, unique.data(), unique.data() + unique.size());
  changed_keys_ = nullptr;
  if (!node.ok()) return std::move(node).error();
  if (*node == *existing) return Ok();
  return node->kind == Node::kEmpty ? store_.Erase(root) : store_.Put(root, *node);
}

// Every update reaches exactly one node that is not internal, the one whose
// subtree holds its key: this one, for [begin, end).
void SparseMerkleTree::NoteChanged(const Node& existing, const SmtUpdate* begin, const SmtUpdate* end) {
  for (const SmtUpdate* u = begin; u != end; ++u) {
    const bool present = existing.kind == Node::kLeaf && existing.a == u->key;
    const bool same = present ? u->value_hash == existing.b : !u->value_hash;
    if (!same) changed_keys_->push_back(u->key);
  }
}

// Builds the subtree at `pos` holding exactly `live` (sorted, all present),
// over positions that are empty in the store. Persists every node strictly
// below `pos` and returns the node for `pos`.
Result<Node> SparseMerkleTree::Build(const NodePos& pos, std::vector<SmtUpdate>& live) {
  struct Frame {
    static Result<Node> Go(SparseMerkleTree& t, const NodePos& pos, const SmtUpdate* b, const SmtUpdate* e) {
      if (b == e) return Node{};
      if (e - b == 1) return Node{Node::kLeaf, b->key, *b->value_hash};
      if (pos.depth >= kSmtDepth) return Error::Internal("smt: duplicate key");
      const SmtUpdate* m = SplitAt(b, e, pos.depth);
      Node out{Node::kInternal, {}, {}};
      for (int bit = 0; bit < 2; ++bit) {
        NodePos cp = pos.Child(bit);
        auto child = bit ? Go(t, cp, m, e) : Go(t, cp, b, m);
        if (!child.ok()) return std::move(child).error();
        if (child->kind != Node::kEmpty) KRAY_TRY(t.store_.Put(cp, *child));
        (bit ? out.b : out.a) = child->Hash();
      }
      return out;
    }
  };
  return Frame::Go(*this, pos, live.data(), live.data() + live.size());
}

// Applies the sorted updates [begin, end) (all under `pos`) to the subtree at
// `pos` whose current node is `existing`. Persists every changed node
// strictly below `pos` and returns the new node for `pos` (the caller stores
// it, or moves it up when a single leaf remains).
Result<Node> SparseMerkleTree::Rec(const NodePos& pos, const Node& existing, const SmtUpdate* begin,
                                   const SmtUpdate* end) {
  if (begin == end) return existing;
  if (existing.kind != Node::kInternal) {
    // Empty or a single leaf: nothing is stored below `pos`. Merge the
    // existing leaf (unless it is updated) with the new live entries.
    if (changed_keys_) NoteChanged(existing, begin, end);
    std::vector<SmtUpdate> live;
    live.reserve(static_cast<std::size_t>(end - begin) + 1);
    bool have_existing = existing.kind == Node::kLeaf;
    for (const SmtUpdate* u = begin; u != end; ++u) {
      if (have_existing && existing.a < u->key) {
        live.push_back({existing.a, existing.b});
        have_existing = false;
      }
      if (have_existing && existing.a == u->key) have_existing = false;  // overridden
      if (u->value_hash) live.push_back(*u);
    }
    if (have_existing) live.push_back({existing.a, existing.b});
    return Build(pos, live);
  }
  if (pos.depth >= kSmtDepth) return Error::Internal("smt: internal node at depth 256");

  const SmtUpdate* mid = SplitAt(begin, end, pos.depth);
  NodePos cpos[2] = {pos.Child(0), pos.Child(1)};
  bool changed[2] = {begin != mid, mid != end};
  Node child[2];
  Hash256 hash[2] = {existing.a, existing.b};
  bool known[2] = {false, false};
  for (int bit = 0; bit < 2; ++bit) {
    if (!changed[bit]) continue;
    auto old = store_.Get(cpos[bit]);
    if (!old.ok()) return std::move(old).error();
    auto fresh = bit ? Rec(cpos[1], *old, mid, end) : Rec(cpos[0], *old, begin, mid);
    if (!fresh.ok()) return std::move(fresh).error();
    child[bit] = *fresh;
    known[bit] = true;
    hash[bit] = child[bit].Hash();
  }
  bool empty[2] = {hash[0] == kEmptyHash, hash[1] == kEmptyHash};
  if (empty[0] && empty[1]) {
    for (int bit = 0; bit < 2; ++bit) KRAY_TRY(store_.Erase(cpos[bit]));
    return Node{};
  }
  if (empty[0] || empty[1]) {
    int other = empty[0] ? 1 : 0;
    if (!known[other]) {
      auto got = store_.Get(cpos[other]);
      if (!got.ok()) return std::move(got).error();
      child[other] = *got;
    }
    if (child[other].kind == Node::kLeaf) {
      // A lone leaf moves up to this position.
      for (int bit = 0; bit < 2; ++bit) KRAY_TRY(store_.Erase(cpos[bit]));
      return child[other];
    }
  }
  for (int bit = 0; bit < 2; ++bit) {
    if (!changed[bit]) continue;
    KRAY_TRY(empty[bit] ? store_.Erase(cpos[bit]) : store_.Put(cpos[bit], child[bit]));
  }
  return Node{Node::kInternal, hash[0], hash[1]};
}

// ---------------------------------------------------------------------------

Hash256 SmtProofRoot(const SmtProof& proof) {
  Hash256 h = proof.terminal_is_leaf ? SmtLeafHash(proof.leaf_key, proof.leaf_value_hash) : kEmptyHash;
  for (std::size_t i = proof.siblings.size(); i-- > 0;) {
    h = KeyBit(proof.key, static_cast<int>(i)) ? SmtNodeHash(proof.siblings[i], h) : SmtNodeHash(h, proof.siblings[i]);
  }
  return h;
}

Status VerifySmtProof(const Hash256& root, const Hash256& key, const std::optional<Hash256>& expected_value,
                      const SmtProof& proof) {
  auto fail = [](std::string why) { return Error::Invalid("proof_invalid", std::move(why)); };
  if (proof.siblings.size() > static_cast<std::size_t>(kSmtDepth)) return fail("more than 256 siblings");
  if (proof.key != key) return fail("proof is for another key");
  std::size_t depth = proof.siblings.size();
  if (expected_value) {
    if (!proof.terminal_is_leaf || proof.leaf_key != key) return fail("proof does not end at the key's leaf");
    if (proof.leaf_value_hash != *expected_value) return fail("leaf value differs from the expected value");
  } else if (proof.terminal_is_leaf) {
    if (proof.leaf_key == key) return fail("key is present");
    // The other leaf must sit on the key's path: share its first `depth` bits.
    if (static_cast<std::size_t>(CommonPrefixBits(proof.leaf_key, key)) < depth)
      return fail("terminal leaf is not on the key's path");
  }
  if (SmtProofRoot(proof) != root) return fail("computed root differs from the expected root");
  return Ok();
}

// ---------------------------------------------------------------------------

namespace {
Hash256 RootOfRange(std::span<const std::pair<Hash256, Hash256>> leaves, int depth) {
  if (leaves.empty()) return kEmptyHash;
  if (leaves.size() == 1) return SmtLeafHash(leaves[0].first, leaves[0].second);
  auto mid = std::partition_point(leaves.begin(), leaves.end(),
                                  [depth](const auto& l) { return KeyBit(l.first, depth) == 0; });
  std::size_t m = static_cast<std::size_t>(mid - leaves.begin());
  return SmtNodeHash(RootOfRange(leaves.subspan(0, m), depth + 1), RootOfRange(leaves.subspan(m), depth + 1));
}
}  // namespace

Hash256 SmtRootOf(std::vector<std::pair<Hash256, Hash256>> leaves) {
  std::sort(leaves.begin(), leaves.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  // Duplicated keys: keep the last occurrence is not defined here; callers pass unique keys.
  leaves.erase(
      std::unique(leaves.begin(), leaves.end(), [](const auto& x, const auto& y) { return x.first == y.first; }),
      leaves.end());
  return RootOfRange(leaves, 0);
}

}  // namespace kray::rollup
