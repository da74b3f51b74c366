// The validators module's registration with the module host: migrations,
// operations, leaves, conservation term, invariant, genesis section and the
// time-driven system operations (see include/kray/validators/validators.h).
#include <nlohmann/json.hpp>

#include "kray/core/asset.h"
#include "kray/state/leaves.h"
#include "kray/state/op_context.h"
#include "kray/validators/validators.h"
#include "ops_common.h"
#include "store.h"

namespace kray::validators {
namespace {

using internal::ParseDecimalId;
using Fn = std::function<Status(std::string_view)>;

constexpr int kDueLimit = 100;  // system operations of each kind per check

Status ForEachText(store::Database& db, const std::string& sql, const Fn& fn) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return std::move(st).error();
  return store::ForEachRow(*st, [&](const store::Statement& r) { return fn(r.Text(0)); });
}

template <class T, class Load, class Encode>
Result<std::optional<Bytes>> EncodeRow(Load load, Encode encode) {
  auto row = load();
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Bytes>();
  Result<Bytes> data = encode(**row);
  if (!data.ok()) return std::move(data).error();
  return std::optional<Bytes>(std::move(*data));
}

Result<std::optional<Bytes>> EncodeConfig(store::Database& db, std::string_view id) {
  auto has = internal::HasConfig(db);
  if (!has.ok()) return std::move(has).error();
  if (id != "config" || !*has) return std::optional<Bytes>();
  auto c = internal::ReadConfig(db);
  if (!c.ok()) return std::move(c).error();
  return std::optional<Bytes>(internal::EncodeConfigLeaf(*c));
}

Result<std::optional<Bytes>> EncodeValidator(store::Database& db, std::string_view id) {
  return EncodeRow<Validator>([&] { return internal::LoadValidator(db, id); },
                              [](const Validator& v) { return internal::EncodeValidatorLeaf(v); });
}

Result<std::optional<Bytes>> EncodeBatch(store::Database& db, std::string_view id) {
  auto n = ParseDecimalId(id);
  if (!n) return std::optional<Bytes>();
  return EncodeRow<RecordedBatch>([&] { return internal::LoadBatch(db, *n); },
                                  [](const RecordedBatch& b) { return internal::EncodeBatchLeaf(b); });
}

Result<std::optional<Bytes>> EncodeAttestation(store::Database& db, std::string_view id) {
  auto colon = id.rfind(':');
  if (colon == std::string_view::npos) return std::optional<Bytes>();
  auto batch = ParseDecimalId(id.substr(colon + 1));
  if (!batch) return std::optional<Bytes>();
  return EncodeRow<Attestation>([&] { return internal::LoadAttestation(db, *batch, id.substr(0, colon)); },
                                [](const Attestation& a) { return internal::EncodeAttestationLeaf(a); });
}

Result<std::optional<Bytes>> EncodeSlash(store::Database& db, std::string_view id) {
  auto n = ParseDecimalId(id);
  if (!n) return std::optional<Bytes>();
  return EncodeRow<Slash>([&] { return internal::LoadSlash(db, *n); },
                          [](const Slash& s) -> Result<Bytes> { return internal::EncodeSlashLeaf(s); });
}

Result<std::optional<Bytes>> EncodeUnbonding(store::Database& db, std::string_view id) {
  auto n = ParseDecimalId(id);
  if (!n) return std::optional<Bytes>();
  return EncodeRow<Unbonding>([&] { return internal::LoadUnbonding(db, *n); },
                              [](const Unbonding& u) -> Result<Bytes> { return internal::EncodeUnbondingLeaf(u); });
}

Error InvalidGenesis(const std::string& what) {
  return Error::Invalid("invalid_genesis", "validators: " + what);
}

// An unsigned integer in [min, max] from a JSON integer or a canonical
// decimal string.
Result<std::uint64_t> GenesisNumber(const nlohmann::json& j, const std::string& key, std::uint64_t min,
                                    std::uint64_t max) {
  const auto& v = j[key];
  std::optional<std::uint64_t> n;
  if (v.is_number_unsigned()) n = v.get<std::uint64_t>();
  if (v.is_string() && ParseAmount(v.get<std::string>()).ok()) n = *ParseAmount(v.get<std::string>());
  if (!n || *n < min || *n > max)
    return InvalidGenesis(key + " must be an integer " + std::to_string(min) + ".." + std::to_string(max));
  return *n;
}

Result<Config> ParseSection(std::string_view section) {
  auto j = nlohmann::json::parse(section, nullptr, false);
  if (!j.is_object()) return InvalidGenesis("the section must be an object");
  Config c;
  constexpr std::uint64_t kMaxSeconds = 10ULL * 365 * 86400;
  for (const auto& [key, value] : j.items()) {
    Result<std::uint64_t> n = std::uint64_t{0};
    if (key == "min_stake") {
      n = GenesisNumber(j, key, 1, kMaxAmount);
      if (n.ok()) c.min_stake = *n;
    } else if (key == "unbonding_period" || key == "liveness_window") {
      n = GenesisNumber(j, key, 1, kMaxSeconds);
      if (n.ok()) (key == "unbonding_period" ? c.unbonding_period : c.liveness_window) = static_cast<std::int64_t>(*n);
    } else if (key == "downtime_slash_bps" || key == "equivocation_slash_bps") {
      n = GenesisNumber(j, key, 0, 10000);
      if (n.ok())
        (key == "downtime_slash_bps" ? c.downtime_slash_bps : c.equivocation_slash_bps) =
            static_cast<std::uint32_t>(*n);
    } else if (key == "quorum_bps") {
      n = GenesisNumber(j, key, 1, 10000);
      if (n.ok()) c.quorum_bps = static_cast<std::uint32_t>(*n);
    } else if (key == "uptime_window") {
      n = GenesisNumber(j, key, 1, 100000);
      if (n.ok()) c.uptime_window = *n;
    } else {
      return InvalidGenesis("unknown key '" + key + "'");
    }
    if (!n.ok()) return std::move(n).error();
  }
  return c;
}

class Validators : public state::Module {
 public:
  std::string_view name() const override { return kModuleName; }
  std::span<const store::Migration> migrations() const override { return ValidatorsMigrations(); }
  std::vector<const state::OperationType*> operations() const override {
    using namespace internal;
    return {&RegisterOperation(),     &StakeOperation(),  &UnstakeOperation(),   &ClaimRewardsOperation(),
            &EquivocationOperation(), &AttestOperation(), &HeartbeatOperation(), &BatchOperation(),
            &DowntimeOperation(),     &UnbondOperation()};
  }

  std::vector<state::LeafType> leaf_types() const override {
    return {
        state::LeafType{kConfigLeaf, "validators.config", EncodeConfig,
                        [](store::Database& db, const Fn& fn) -> Status {
                          auto has = internal::HasConfig(db);
                          if (!has.ok()) return std::move(has).error();
                          return *has ? fn("config") : Ok();
                        }},
        state::LeafType{kValidatorLeaf, "validators.validator", EncodeValidator,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(db, "SELECT validator_id FROM validators", fn);
                        }},
        state::LeafType{kBatchLeaf, "validators.batch", EncodeBatch,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(db, "SELECT CAST(number AS TEXT) FROM validator_batches", fn);
                        }},
        state::LeafType{kAttestationLeaf, "validators.attestation", EncodeAttestation,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(
                              db, "SELECT validator_id || ':' || CAST(batch AS TEXT) FROM validator_attestations", fn);
                        }},
        state::LeafType{kSlashLeaf, "validators.slash", EncodeSlash,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(db, "SELECT CAST(slash_id AS TEXT) FROM validator_slashes", fn);
                        }},
        state::LeafType{kUnbondingLeaf, "validators.unbonding", EncodeUnbonding,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(db, "SELECT CAST(unbonding_id AS TEXT) FROM validator_unbonding", fn);
                        }},
    };
  }

  // Rewards credited to validators and not claimed yet: taken out of the
  // fee pool, held by the module until claimed. (Stake is not a module term:
  // it is in the accounts' staked buckets, counted with the balances.)
  Result<std::vector<state::ConservationTerm>> Audit(store::Database& db) const override {
    auto pending = store::QueryInt(db, "SELECT COALESCE(SUM(rewards_pending), 0) FROM validators");
    if (!pending.ok()) return std::move(pending).error();
    std::vector<state::ConservationTerm> terms;
    if (*pending > 0) terms.push_back({"validators.rewards", std::string(kGasAsset), static_cast<Amount>(*pending)});
    return terms;
  }

  // Each validator account's staked KRAY is exactly its bonded stake plus
  // its pending unbonding: stake cannot appear or vanish behind the module.
  Status CheckInvariants(store::Database& db) const override {
    auto st = db.Prepare(
        "SELECT v.validator_id, v.account_id, v.stake + COALESCE((SELECT SUM(u.amount) FROM validator_unbonding u "
        "WHERE u.validator_id = v.validator_id AND u.status = 'pending'), 0) FROM validators v ORDER BY 1");
    if (!st.ok()) return std::move(st).error();
    std::vector<std::string> wrong;
    KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      auto account = state::LoadAccountState(db, r.Text(1));
      if (!account.ok()) return std::move(account).error();
      Amount staked = account->BalanceOf(std::string(kGasAsset)).staked;
      if (staked != static_cast<Amount>(r.Int64(2)))
        wrong.push_back(r.Text(0) + " (account " + r.Text(1) + " has " + std::to_string(staked) +
                        " staked, the validator " + std::to_string(r.Int64(2)) + ")");
      return Ok();
    }));
    if (wrong.empty()) return Ok();
    std::string list;
    for (const auto& w : wrong) list += (list.empty() ? "" : "; ") + w;
    return Error{ErrorKind::kConflict, "validator_stake_mismatch",
                 "staked balances disagree with bonded + unbonding stake: " + list};
  }

  Status ApplyGenesis(state::OpContext& ctx, std::string_view section) const override {
    if (section.empty()) return Ok();
    auto config = ParseSection(section);
    if (!config.ok()) return std::move(config).error();
    KRAY_TRY(internal::WriteConfig(ctx.Sql(), *config));
    ctx.Touch(state::LeafId{kConfigLeaf, "config"});
    return Ok();
  }

  // Unbonding entries that have ended, and active validators whose liveness
  // window has passed without an attestation or a heartbeat.
  Result<std::vector<state::Operation>> DueSystemOperations(store::Database& db, std::int64_t now) const override {
    std::vector<state::Operation> due;
    auto unbond = db.Use(
        "SELECT unbonding_id, ends_at FROM validator_unbonding WHERE status = 'pending' AND ends_at <= ?1 "
        "ORDER BY unbonding_id LIMIT ?2");
    if (!unbond.ok()) return std::move(unbond).error();
    (*unbond)->Bind(1, now).Bind(2, kDueLimit);
    KRAY_TRY(store::ForEachRow(**unbond, [&](const store::Statement& r) -> Status {
      due.push_back(SystemOp(kUnbondOp, {{"unbonding_id", std::to_string(r.Int64(0))}},
                             {{"ends_at", std::to_string(r.Int64(1))}}));
      return Ok();
    }));
    auto config = internal::ReadConfig(db);
    if (!config.ok()) return std::move(config).error();
    auto idle = db.Use(
        "SELECT validator_id, MAX(last_active, liveness_reset_at) FROM validators WHERE stake >= ?1 AND "
        "MAX(last_active, liveness_reset_at) < ?2 ORDER BY validator_id LIMIT ?3");
    if (!idle.ok()) return std::move(idle).error();
    (*idle)->Bind(1, static_cast<std::int64_t>(config->min_stake)).Bind(2, now - config->liveness_window);
    (*idle)->Bind(3, kDueLimit);
    KRAY_TRY(store::ForEachRow(**idle, [&](const store::Statement& r) -> Status {
      due.push_back(SystemOp(kDowntimeOp, {{"validator_id", r.Text(0)}}, {{"since", std::to_string(r.Int64(1))}}));
      return Ok();
    }));
    return due;
  }

 private:
  static state::Operation SystemOp(std::string_view type, state::Fields fields, state::Fields evidence) {
    state::Operation op;
    op.type = std::string(type);
    op.auth = state::Auth::kSystem;
    op.fields = std::move(fields);
    op.evidence = std::move(evidence);
    return op;
  }
};

}  // namespace

const state::Module& ValidatorsModule() {
  static const Validators module;
  return module;
}

}  // namespace kray::validators
