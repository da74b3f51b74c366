// Read queries of the validators module (see include/kray/validators/reads.h).
#include "kray/validators/reads.h"

#include "store.h"

namespace kray::validators {
namespace {

using internal::kValidatorColumns;

std::int64_t I64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

Result<Amount> PendingUnbonding(store::Database& db, std::string_view validator_id) {
  auto st =
      db.Use("SELECT COALESCE(SUM(amount), 0) FROM validator_unbonding WHERE validator_id = ?1 AND status = 'pending'");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, validator_id);
  auto row = store::FirstRow<Amount>(**st, [](const store::Statement& s) { return static_cast<Amount>(s.Int64(0)); });
  if (!row.ok()) return std::move(row).error();
  return row->value_or(0);
}

Result<Uptime> UptimeOf(store::Database& db, const Config& config, const Validator& v) {
  // The last uptime_window batches recorded since it registered, and how
  // many of those it attested.
  auto st = db.Use(
      "SELECT COUNT(*), COUNT(a.batch) FROM (SELECT number FROM validator_batches WHERE recorded_at >= ?1 "
      "ORDER BY number DESC LIMIT ?2) b LEFT JOIN validator_attestations a ON a.batch = b.number AND "
      "a.validator_id = ?3");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, v.registered_at).Bind(2, I64(config.uptime_window)).Bind(3, v.validator_id);
  auto row = store::FirstRow<Uptime>(**st, [](const store::Statement& s) {
    return Uptime{static_cast<std::uint64_t>(s.Int64(1)), static_cast<std::uint64_t>(s.Int64(0))};
  });
  if (!row.ok()) return std::move(row).error();
  return row->value_or(Uptime{});
}

}  // namespace

Result<Config> LoadConfig(store::Database& db) {
  return internal::ReadConfig(db);
}

Result<bool> AnyValidator(store::Database& db) {
  auto n = store::QueryInt(db, "SELECT EXISTS (SELECT 1 FROM validators)");
  if (!n.ok()) return std::move(n).error();
  return *n != 0;
}

Result<std::optional<Validator>> FindValidator(store::Database& db, std::string_view validator_id) {
  return internal::LoadValidator(db, validator_id);
}

Result<std::optional<Validator>> FindValidatorOfAccount(store::Database& db, std::string_view account_id) {
  return internal::LoadValidatorOfAccount(db, account_id);
}

std::string UptimePercent(const Uptime& u) {
  if (u.batches == 0) return "";
  std::uint64_t hundredths = u.attested * 10000 / u.batches;  // attested <= batches <= 100000
  std::string frac = std::to_string(hundredths % 100);
  return std::to_string(hundredths / 100) + "." + (frac.size() == 1 ? "0" : "") + frac;
}

Result<ValidatorDetails> Describe(store::Database& db, const Config& config, const Validator& v) {
  ValidatorDetails d;
  d.validator = v;
  auto unbonding = PendingUnbonding(db, v.validator_id);
  if (!unbonding.ok()) return std::move(unbonding).error();
  d.unbonding = *unbonding;
  d.status = v.Active(config)                 ? ValidatorStatus::kActive
             : v.stake > 0 || d.unbonding > 0 ? ValidatorStatus::kInactive
                                              : ValidatorStatus::kExited;
  auto uptime = UptimeOf(db, config, v);
  if (!uptime.ok()) return std::move(uptime).error();
  d.uptime = *uptime;
  return d;
}

Result<std::vector<ValidatorDetails>> ListValidators(store::Database& db, const Config& config, bool active_only,
                                                     std::string_view after, int limit) {
  auto st = db.Use(std::string("SELECT ") + kValidatorColumns +
                   " FROM validators WHERE validator_id > ?1 AND stake >= ?2 ORDER BY validator_id LIMIT ?3");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, after).Bind(2, active_only ? I64(config.min_stake) : 0).Bind(3, limit);
  auto rows = store::CollectRows<Validator>(**st, internal::ReadValidator);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<ValidatorDetails> out;
  out.reserve(rows->size());
  for (const auto& v : *rows) {
    auto d = Describe(db, config, v);
    if (!d.ok()) return std::move(d).error();
    out.push_back(std::move(*d));
  }
  return out;
}

Result<std::vector<Unbonding>> UnbondingOf(store::Database& db, std::string_view validator_id, int limit) {
  auto st = db.Use(std::string("SELECT ") + internal::kUnbondingColumns +
                   " FROM validator_unbonding WHERE validator_id = ?1 ORDER BY unbonding_id DESC LIMIT ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, validator_id).Bind(2, limit);
  return store::CollectRows<Unbonding>(**st, internal::ReadUnbonding);
}

Result<std::vector<Slash>> SlashesOf(store::Database& db, std::string_view validator_id, int limit) {
  auto st = db.Use(std::string("SELECT ") + internal::kSlashColumns +
                   " FROM validator_slashes WHERE validator_id = ?1 ORDER BY slash_id DESC LIMIT ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, validator_id).Bind(2, limit);
  return store::CollectRows<Slash>(**st, internal::ReadSlash);
}

Result<std::vector<Attestation>> AttestationsBy(store::Database& db, std::string_view validator_id,
                                                std::uint64_t before, int limit) {
  auto st = db.Use(std::string("SELECT ") + internal::kAttestationColumns +
                   " FROM validator_attestations WHERE validator_id = ?1 AND (?2 = 0 OR batch < ?2) "
                   "ORDER BY batch DESC LIMIT ?3");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, validator_id).Bind(2, I64(before)).Bind(3, limit);
  return store::CollectRows<Attestation>(**st, internal::ReadAttestation);
}

Result<ActiveSet> GetActiveSet(store::Database& db, const Config& config) {
  auto st = db.Use("SELECT COALESCE(SUM(stake), 0), COUNT(*) FROM validators WHERE stake >= ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(config.min_stake));
  auto row = store::FirstRow<ActiveSet>(**st, [](const store::Statement& s) {
    return ActiveSet{static_cast<Amount>(s.Int64(0)), static_cast<std::uint64_t>(s.Int64(1))};
  });
  if (!row.ok()) return std::move(row).error();
  return row->value_or(ActiveSet{});
}

Result<std::optional<RecordedBatch>> FindRecordedBatch(store::Database& db, std::uint64_t number) {
  return internal::LoadBatch(db, number);
}

Result<std::optional<RecordedBatch>> LastRecordedBatch(store::Database& db) {
  return internal::LoadLastBatch(db);
}

bool QuorumReached(Amount attested_stake, Amount active_stake, std::uint32_t quorum_bps) {
  return active_stake > 0 && static_cast<u128>(attested_stake) * 10000 >= static_cast<u128>(active_stake) * quorum_bps;
}

Result<BatchAttestations> AttestationsOf(store::Database& db, std::uint64_t batch, int limit) {
  BatchAttestations out;
  auto config = internal::ReadConfig(db);
  if (!config.ok()) return std::move(config).error();
  out.quorum_bps = config->quorum_bps;
  auto recorded = internal::LoadBatch(db, batch);
  if (!recorded.ok()) return std::move(recorded).error();
  out.recorded = std::move(*recorded);
  auto active = GetActiveSet(db, *config);
  if (!active.ok()) return std::move(active).error();
  out.active = *active;
  auto sums = db.Use(
      "SELECT COUNT(*), COALESCE(SUM(CASE WHEN v.stake >= ?2 THEN v.stake ELSE 0 END), 0) FROM "
      "validator_attestations a JOIN validators v ON v.validator_id = a.validator_id WHERE a.batch = ?1");
  if (!sums.ok()) return std::move(sums).error();
  (*sums)->Bind(1, I64(batch)).Bind(2, I64(config->min_stake));
  KRAY_TRY(store::ForEachRow(**sums, [&](const store::Statement& s) -> Status {
    out.count = static_cast<std::uint64_t>(s.Int64(0));
    out.attested_stake = static_cast<Amount>(s.Int64(1));
    return Ok();
  }));
  auto st = db.Use(
      "SELECT a.validator_id, a.batch, a.state_root, a.tx_root, a.signature, a.attested_at, v.stake FROM "
      "validator_attestations a JOIN validators v ON v.validator_id = a.validator_id WHERE a.batch = ?1 "
      "ORDER BY a.validator_id LIMIT ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(batch)).Bind(2, limit);
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& s) -> Status {
    Amount stake = static_cast<Amount>(s.Int64(6));
    out.attestations.push_back({internal::ReadAttestation(s), stake, stake >= config->min_stake});
    return Ok();
  }));
  out.quorum_reached = QuorumReached(out.attested_stake, out.active.stake, out.quorum_bps);
  return out;
}

Result<ValidatorStats> GetStats(store::Database& db, const Config& config) {
  ValidatorStats s;
  auto v = db.Use(
      "SELECT COALESCE(SUM(CASE WHEN stake >= ?1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(stake), 0), "
      "COALESCE(SUM(rewards_pending), 0), COALESCE(SUM(rewards_earned), 0), COALESCE(SUM(rewards_claimed), 0), "
      "COALESCE(SUM(slashed), 0), COUNT(*), "
      "COALESCE(SUM(CASE WHEN stake = 0 AND NOT EXISTS (SELECT 1 FROM validator_unbonding u WHERE "
      "u.validator_id = validators.validator_id AND u.status = 'pending') THEN 1 ELSE 0 END), 0) FROM validators");
  if (!v.ok()) return std::move(v).error();
  (*v)->Bind(1, I64(config.min_stake));
  KRAY_TRY(store::ForEachRow(**v, [&](const store::Statement& r) -> Status {
    s.active = static_cast<std::uint64_t>(r.Int64(0));
    s.bonded = static_cast<Amount>(r.Int64(1));
    s.rewards_pending = static_cast<Amount>(r.Int64(2));
    s.rewards_earned = static_cast<Amount>(r.Int64(3));
    s.rewards_claimed = static_cast<Amount>(r.Int64(4));
    s.slashed = static_cast<Amount>(r.Int64(5));
    s.exited = static_cast<std::uint64_t>(r.Int64(7));
    s.inactive = static_cast<std::uint64_t>(r.Int64(6)) - s.active - s.exited;
    return Ok();
  }));
  auto unbonding =
      store::QueryInt(db, "SELECT COALESCE(SUM(amount), 0) FROM validator_unbonding WHERE status = 'pending'");
  if (!unbonding.ok()) return std::move(unbonding).error();
  s.unbonding = static_cast<Amount>(*unbonding);
  auto slashes = db.Use("SELECT kind, COUNT(*) FROM validator_slashes GROUP BY kind");
  if (!slashes.ok()) return std::move(slashes).error();
  KRAY_TRY(store::ForEachRow(**slashes, [&](const store::Statement& r) -> Status {
    (r.Text(0) == "equivocation" ? s.equivocation_slashes : s.downtime_slashes) =
        static_cast<std::uint64_t>(r.Int64(1));
    return Ok();
  }));
  auto batches =
      db.Use("SELECT COUNT(*), COALESCE(SUM(gas_retained), 0), COALESCE(SUM(distributed), 0) FROM validator_batches");
  if (!batches.ok()) return std::move(batches).error();
  KRAY_TRY(store::ForEachRow(**batches, [&](const store::Statement& r) -> Status {
    s.batches_recorded = static_cast<std::uint64_t>(r.Int64(0));
    s.gas_retained = static_cast<Amount>(r.Int64(1));
    s.distributed = static_cast<Amount>(r.Int64(2));
    return Ok();
  }));
  auto attestations = store::QueryInt(db, "SELECT COUNT(*) FROM validator_attestations");
  if (!attestations.ok()) return std::move(attestations).error();
  s.attestations = static_cast<std::uint64_t>(*attestations);
  return s;
}

}  // namespace kray::validators
