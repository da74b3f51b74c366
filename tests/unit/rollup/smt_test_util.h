// Helpers shared by the sparse Merkle tree tests: keys and values, roots by
// the definition (SmtRootOf), random changes mirrored in a model, proofs
// checked against the model.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kray/crypto/hash.h"
#include "kray/rollup/leaf_rows.h"
#include "kray/rollup/smt.h"
#include "kray/store/database.h"

namespace kray::rollup::smt_test {

inline Hash256 H(const std::string& s) {
  return crypto::Sha256(AsBytes(s));
}

inline Hash256 Root(SparseMerkleTree& t) {
  auto r = t.Root();
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : Hash256{};
}

inline Hash256 NaiveRoot(const std::map<Hash256, Hash256>& m) {
  return SmtRootOf(std::vector<std::pair<Hash256, Hash256>>(m.begin(), m.end()));
}

// A random change of `k`, made to `model` too: an erasure one time in
// `erase_one_in` (never if 0), else a new value.
inline SmtUpdate RandomChange(std::mt19937_64& rng, const Hash256& k, int erase_one_in,
                              std::map<Hash256, Hash256>& model) {
  if (erase_one_in && rng() % erase_one_in == 0) {
    model.erase(k);
    return {k, std::nullopt};
  }
  Hash256 v = H(std::to_string(rng()));
  model[k] = v;
  return {k, v};
}

// Proves `key` in `tree` and checks the proof against `root` and what
// `model` says of the key (present with its value, or absent).
inline void ExpectProofMatches(SparseMerkleTree& tree, const Hash256& root, const std::map<Hash256, Hash256>& model,
                               const Hash256& key) {
  auto proof = tree.Prove(key);
  ASSERT_TRUE(proof.ok());
  auto it = model.find(key);
  std::optional<Hash256> expected;
  if (it != model.end()) expected = it->second;
  EXPECT_TRUE(VerifySmtProof(root, key, expected, *proof).ok());
}

// The single integer a query returns (-1, and a test failure, if none).
inline std::int64_t CountRows(store::Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok());
  if (!st.ok()) return -1;
  auto n = store::FirstRow<std::int64_t>(*st, [](const store::Statement& r) { return r.Int64(0); });
  EXPECT_TRUE(n.ok());
  return n.ok() ? n->value_or(-1) : -1;
}

// The index's state row, as Rollup writes it at the genesis (LeafHeads::Fold
// records its position there); heads_through starts at -1.
inline void InsertRollupState(store::Database& db, std::int64_t open_batch = 0) {
  ASSERT_TRUE(db.Exec("INSERT INTO rollup_state (id, genesis_hash, genesis_root, state_root, open_batch, open_since, "
                      "batched_seq, applied_seq) VALUES (1, 'g', 'r', 'r', " +
                      std::to_string(open_batch) + ", 0, 0, 0)")
                  .ok());
}

// As a close does: batch `through` closed (the open batch after it), then
// LeafHeads::Fold and, committed (no transaction open: at once), Folded.
inline void FoldHeads(store::Database& db, LeafHeads& heads, std::int64_t through) {
  ASSERT_TRUE(
      db.Exec("UPDATE rollup_state SET open_batch = max(open_batch, " + std::to_string(through + 1) + ")").ok());
  auto folded = heads.Fold(db, through);
  ASSERT_TRUE(folded.ok()) << folded.error().message;
  heads.Folded(through);
}

}  // namespace kray::rollup::smt_test
