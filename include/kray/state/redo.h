// The account rows' write-back as readers see it: the images of rows the
// store does not have yet (schema/core/006_account_redo.sql,
// src/state/unwritten_rows.h). In any snapshot of the state store,
// account_rows with account_redo's records applied in seq order is the
// committed state exactly; a reader that needs it exactly (a conservation
// check, an index catching up, `krayd verify`) reads the records in its
// snapshot (ReadRedo) and reads accounts inside a RedoScope over them.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kray/core/amount.h"
#include "kray/core/result.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

// The images of one account's rows that the store does not have yet.
struct UnwrittenAccount {
  struct Own {
    std::uint64_t nonce = 0;
    Amount gas_spent = 0;
  };
  std::optional<Own> own;
  // asset -> {available, staked, locked}
  std::map<std::string, std::array<Amount, 3>, std::less<>> balances;

  // Takes every image `newer` has (newer wins).
  void Merge(const UnwrittenAccount& newer);
  // Overwrites the account's nonce and the balances it has images for.
  void ApplyTo(Account& a) const;
  // Overwrites `row` with the image of `asset`'s balance row, if any.
  void ApplyBalance(std::string_view asset, std::array<Amount, 3>& row) const {
    if (auto it = balances.find(asset); it != balances.end()) row = it->second;
  }
};
using RedoImages = std::unordered_map<std::string, UnwrittenAccount>;

class UnwrittenRows;

// Every record in the store (in the caller's snapshot), merged in seq order;
// with `only`, the images of those accounts alone (a scan all the same).
Result<RedoImages> ReadRedo(store::Database& db, const std::set<std::string>* only = nullptr);
// Within its lifetime, on this thread, LoadAccountState applies the images
// of `rows` (a live node's, for a reader) or of `images` (a snapshot's
// records, for an exact reader) to what it reads. Scopes nest: the
// innermost wins.
class RedoScope {
 public:
  explicit RedoScope(const UnwrittenRows* rows);
  explicit RedoScope(const RedoImages* images);
  ~RedoScope();
  RedoScope(const RedoScope&) = delete;
  RedoScope& operator=(const RedoScope&) = delete;
  // The current scope's images of an account (none without a scope), for
  // a read inside `snapshot`, the reader's open read transaction.
  static Result<std::optional<UnwrittenAccount>> Find(const std::string& account_id, store::Database& snapshot);

 private:
  const UnwrittenRows* rows_ = nullptr;
  const RedoImages* images_ = nullptr;
  RedoScope* outer_ = nullptr;
};

}  // namespace kray::state
