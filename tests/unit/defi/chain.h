// A store with the defi module driven by the executor at timestamps the test
// chooses (as replay does), so oracle and time-dependent behaviour is exact.
// Operations are built and signed with the node's own request code.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kray/defi/defi.h"
#include "kray/state/conservation.h"
#include "kray/state/executor.h"
#include "kray/state/genesis.h"
#include "kray/state/leaves.h"
#include "kray/store/database.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::defi::testing {

using test::TestKey;

inline const state::ModuleRegistry& DefiRegistry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(DefiModule()).ok());
    return reg;
  }();
  return r;
}

inline std::string RegtestGenesisText() {
  std::ifstream in(test::RegtestGenesisPath());
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// The regtest genesis with a "defi" section inserted.
inline std::string GenesisWithDefi(const std::string& section_json) {
  std::string text = RegtestGenesisText();
  text.insert(text.rfind('}'), ",\n  \"defi\": " + section_json + "\n");
  return text;
}

inline constexpr std::int64_t kGenesisTime = 1764000000;

class Chain {
 public:
  explicit Chain(const std::string& genesis_text = RegtestGenesisText()) {
    auto db = store::Database::Open(dir_.file("chain.sqlite"));
    EXPECT_TRUE(db.ok());
    db_ = std::move(*db);
    EXPECT_TRUE(DefiRegistry().Migrate(*db_).ok());
    auto g = state::ParseGenesis(params_, DefiRegistry(), genesis_text);
    EXPECT_TRUE(g.ok()) << g.error().message;
    if (g.ok()) {
      auto applied = state::ApplyGenesis(*db_, params_, DefiRegistry(), *g);
      genesis_error_ = applied.ok() ? "" : applied.error().code + ": " + applied.error().message;
    }
    exec_ = std::make_unique<state::Executor>(*db_, params_, DefiRegistry());
  }

  const std::string& genesis_error() const { return genesis_error_; }
  store::Database& db() { return *db_; }
  const ChainParams& params() const { return params_; }
  const std::vector<state::LeafChange>& last_leaves() const { return last_leaves_; }

  std::uint64_t Nonce(const std::string& account) {
    auto a = state::LoadAccountState(*db_, account);
    return a.ok() ? a->nonce : 0;
  }

  // Builds and signs `type` by `key` (its next nonce unless given) with the
  // request fields as a wallet sends them.
  Result<state::Operation> Build(const std::string& type, const TestKey& key,
                                 std::vector<std::pair<std::string, std::string>> fields,
                                 std::optional<std::uint64_t> nonce = std::nullopt) {
    state::OperationRequest r;
    r.type = type;
    r.signer = key.account_id;
    r.nonce = nonce ? *nonce : Nonce(key.account_id);
    r.fields = std::move(fields);
    return test::SignOperation(params_, DefiRegistry(), r, key);
  }

  // Executes a built operation as one group at `ts`, after checking its
  // signature against the signer's bound key (as the sequencer and replay do).
  Result<state::Receipt> Execute(state::Operation op, std::int64_t ts) {
    const state::OperationType* type = DefiRegistry().FindOperation(op.type);
    if (!type) return Error::Invalid("unknown_operation", op.type);
    auto key = exec_->BoundKey(op.signer);
    if (!key.ok()) return std::move(key).error();
    std::optional<crypto::VerifyingKey> parsed;
    if (key->has_value()) parsed = crypto::VerifyingKey::Parse(**key);
    KRAY_TRY(state::VerifyOperationSignature(params_, *type, op, parsed));
    store::Transaction tx(*db_);
    KRAY_TRY(tx.status());
    auto r = exec_->Execute(std::move(op), ts);
    if (!r.ok()) {
      exec_->Abort();
      return r;
    }
    auto changes = exec_->FinishGroup();
    if (!changes.ok()) {
      exec_->Abort();
      return std::move(changes).error();
    }
    KRAY_TRY(tx.Commit());
    last_leaves_ = changes->leaves;
    return r;
  }

  Result<state::Receipt> Run(const std::string& type, const TestKey& key,
                             std::vector<std::pair<std::string, std::string>> fields, std::int64_t ts) {
    auto op = Build(type, key, std::move(fields));
    if (!op.ok()) return std::move(op).error();
    return Execute(std::move(*op), ts);
  }

  Amount Balance(const std::string& account, const std::string& asset) {
    auto a = state::LoadAccountState(*db_, account);
    return a.ok() ? a->BalanceOf(asset).available : 0;
  }
  state::SupplyState Supply(const std::string& asset) {
    auto s = state::LoadSupply(*db_, asset);
    return s.ok() ? *s : state::SupplyState{};
  }
  std::optional<Pool> FindPool(const std::string& id) {
    auto p = GetPool(*db_, params_, id);
    return p.ok() ? std::optional<Pool>(*p) : std::nullopt;
  }
  bool Conserved(std::string* report = nullptr) {
    auto r = state::CheckConservation(*db_, DefiRegistry());
    if (!r.ok()) {
      if (report) *report = r.error().message;
      return false;
    }
    if (report) *report = r->ToString();
    return r->ok;
  }
  // A snapshot of every leaf of every registered type (what the state root
  // commits to), to show that a refused operation changed nothing.
  std::string LeafSnapshot() {
    std::string out;
    for (const auto& lt : DefiRegistry().leaf_types()) {
      Status s = lt.for_each(*db_, [&](std::string_view id) -> Status {
        auto data = lt.encode(*db_, id);
        if (!data.ok()) return std::move(data).error();
        out += std::to_string(lt.type) + ":" + std::string(id) + "=" + (data->has_value() ? ToHex(**data) : "-") + "\n";
        return Ok();
      });
      EXPECT_TRUE(s.ok());
    }
    return out;
  }

 private:
  test::TempDir dir_{"kray-defi-test-"};
  ChainParams params_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<state::Executor> exec_;
  std::string genesis_error_;
  std::vector<state::LeafChange> last_leaves_;
};

}  // namespace kray::defi::testing
