// The validators module's tables and leaf encodings (see store.h).
#include "store.h"

#include "kray/state/leaves.h"
#include "kray/validators/validators.h"

namespace kray::validators::internal {
namespace {

std::int64_t I64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}
std::uint64_t U64(std::int64_t v) {
  return static_cast<std::uint64_t>(v);
}

Result<std::uint64_t> NextId(store::Database& db, const std::string& sql) {
  auto max = store::QueryInt(db, sql);
  if (!max.ok()) return std::move(max).error();
  return U64(*max) + 1;
}

// A fixed-size hex column as raw bytes (roots 32, signatures 64).
template <std::size_t N>
Status PutHex(Bytes& out, const std::string& hex, std::string_view what) {
  auto raw = FromHexFixed<N>(hex);
  if (!raw)
    return Error::Internal("validators: stored " + std::string(what) + " is not " + std::to_string(N) +
                           " bytes of hex: '" + hex.substr(0, 80) + "'");
  out.insert(out.end(), raw->begin(), raw->end());
  return Ok();
}

template <class T, class F>
Result<std::optional<T>> First(store::Database& db, const std::string& sql, F bind,
                               T (*read)(const store::Statement&)) {
  auto st = db.Use(sql);
  if (!st.ok()) return std::move(st).error();
  bind(**st);
  return store::FirstRow<T>(**st, read);
}

}  // namespace

Validator ReadValidator(const store::Statement& s) {
  Validator v;
  v.validator_id = s.Text(0);
  v.account_id = s.Text(1);
  v.pubkey = s.Text(2);
  v.l1_address = s.Text(3);
  v.stake = U64(s.Int64(4));
  v.rewards_pending = U64(s.Int64(5));
  v.rewards_earned = U64(s.Int64(6));
  v.rewards_claimed = U64(s.Int64(7));
  v.slashed = U64(s.Int64(8));
  v.registered_at = s.Int64(9);
  v.last_active = s.Int64(10);
  v.last_heartbeat = U64(s.Int64(11));
  v.liveness_reset_at = s.Int64(12);
  v.blocks_validated = U64(s.Int64(13));
  v.last_attested_batch = U64(s.Int64(14));
  return v;
}

RecordedBatch ReadBatch(const store::Statement& s) {
  RecordedBatch b;
  b.number = U64(s.Int64(0));
  b.range_first_seq = U64(s.Int64(1));
  b.first_seq = U64(s.Int64(2));
  b.last_seq = U64(s.Int64(3));
  b.state_root = s.Text(4);
  b.tx_root = s.Text(5);
  b.gas_retained = U64(s.Int64(6));
  b.distributed = U64(s.Int64(7));
  b.eligible_stake = U64(s.Int64(8));
  b.eligible_count = U64(s.Int64(9));
  b.recorded_at = s.Int64(10);
  return b;
}

Attestation ReadAttestation(const store::Statement& s) {
  return Attestation{s.Text(0), U64(s.Int64(1)), s.Text(2), s.Text(3), s.Text(4), s.Int64(5)};
}

Slash ReadSlash(const store::Statement& s) {
  Slash x;
  x.slash_id = U64(s.Int64(0));
  x.validator_id = s.Text(1);
  x.kind = s.Text(2) == "equivocation" ? SlashKind::kEquivocation : SlashKind::kDowntime;
  x.batch = U64(s.Int64(3));
  x.amount = U64(s.Int64(4));
  x.slashed_at = s.Int64(5);
  return x;
}

Unbonding ReadUnbonding(const store::Statement& s) {
  Unbonding u;
  u.unbonding_id = U64(s.Int64(0));
  u.validator_id = s.Text(1);
  u.amount = U64(s.Int64(2));
  u.started_at = s.Int64(3);
  u.ends_at = s.Int64(4);
  u.completed = s.Text(5) == "completed";
  return u;
}

std::optional<std::uint64_t> ParseDecimalId(std::string_view id) {
  auto v = ParseAmount(id);
  if (!v.ok() || *v == 0 || std::to_string(*v) != id) return std::nullopt;
  return *v;
}

// --- config ------------------------------------------------------------------

Result<bool> HasConfig(store::Database& db) {
  auto n = store::QueryInt(db, "SELECT COUNT(*) FROM validator_config");
  if (!n.ok()) return std::move(n).error();
  return *n > 0;
}

Result<Config> ReadConfig(store::Database& db) {
  auto st = db.Use(
      "SELECT min_stake, unbonding_period, liveness_window, downtime_slash_bps, equivocation_slash_bps, quorum_bps, "
      "uptime_window FROM validator_config WHERE id = 1");
  if (!st.ok()) return std::move(st).error();
  auto row = store::FirstRow<Config>(**st, [](const store::Statement& s) {
    Config c;
    c.min_stake = U64(s.Int64(0));
    c.unbonding_period = s.Int64(1);
    c.liveness_window = s.Int64(2);
    c.downtime_slash_bps = static_cast<std::uint32_t>(s.Int64(3));
    c.equivocation_slash_bps = static_cast<std::uint32_t>(s.Int64(4));
    c.quorum_bps = static_cast<std::uint32_t>(s.Int64(5));
    c.uptime_window = U64(s.Int64(6));
    return c;
  });
  if (!row.ok()) return std::move(row).error();
  return row->value_or(Config{});
}

Status WriteConfig(store::Database& db, const Config& c) {
  auto st = db.Use(
      "INSERT OR REPLACE INTO validator_config (id, min_stake, unbonding_period, liveness_window, downtime_slash_bps, "
      "equivocation_slash_bps, quorum_bps, uptime_window) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(c.min_stake)).Bind(2, c.unbonding_period).Bind(3, c.liveness_window);
  (*st)->Bind(4, I64(c.downtime_slash_bps)).Bind(5, I64(c.equivocation_slash_bps)).Bind(6, I64(c.quorum_bps));
  (*st)->Bind(7, I64(c.uptime_window));
  return (*st)->Run();
}

// --- validators --------------------------------------------------------------

Result<std::optional<Validator>> LoadValidator(store::Database& db, std::string_view validator_id) {
  return First<Validator>(
      db, std::string("SELECT ") + kValidatorColumns + " FROM validators WHERE validator_id = ?1",
      [&](store::Statement& s) { s.Bind(1, validator_id); }, ReadValidator);
}

Result<std::optional<Validator>> LoadValidatorOfAccount(store::Database& db, std::string_view account_id) {
  return First<Validator>(
      db, std::string("SELECT ") + kValidatorColumns + " FROM validators WHERE account_id = ?1",
      [&](store::Statement& s) { s.Bind(1, account_id); }, ReadValidator);
}

Result<bool> PubkeyRegistered(store::Database& db, std::string_view pubkey_hex) {
  auto st = db.Use("SELECT 1 FROM validators WHERE pubkey = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, pubkey_hex);
  auto row = (*st)->Step();
  if (!row.ok()) return std::move(row).error();
  return *row;
}

Status InsertValidator(store::Database& db, const Validator& v) {
  auto st = db.Use(
      "INSERT INTO validators (validator_id, account_id, pubkey, l1_address, stake, registered_at, last_active) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, v.validator_id).Bind(2, v.account_id).Bind(3, v.pubkey).Bind(4, v.l1_address);
  (*st)->Bind(5, I64(v.stake)).Bind(6, v.registered_at).Bind(7, v.last_active);
  KRAY_TRY((*st)->Run());
  return UpdateValidator(db, v);
}

Status UpdateValidator(store::Database& db, const Validator& v) {
  auto st = db.Use(
      "UPDATE validators SET stake = ?2, rewards_pending = ?3, rewards_earned = ?4, rewards_claimed = ?5, "
      "slashed = ?6, last_active = ?7, last_heartbeat = ?8, liveness_reset_at = ?9, blocks_validated = ?10, "
      "last_attested_batch = ?11 WHERE validator_id = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, v.validator_id).Bind(2, I64(v.stake)).Bind(3, I64(v.rewards_pending));
  (*st)->Bind(4, I64(v.rewards_earned)).Bind(5, I64(v.rewards_claimed)).Bind(6, I64(v.slashed));
  (*st)->Bind(7, v.last_active).Bind(8, I64(v.last_heartbeat)).Bind(9, v.liveness_reset_at);
  (*st)->Bind(10, I64(v.blocks_validated)).Bind(11, I64(v.last_attested_batch));
  return (*st)->Run();
}

// --- recorded batches ----------------------------------------------------------

Result<std::optional<RecordedBatch>> LoadBatch(store::Database& db, std::uint64_t number) {
  return First<RecordedBatch>(
      db, std::string("SELECT ") + kBatchColumns + " FROM validator_batches WHERE number = ?1",
      [&](store::Statement& s) { s.Bind(1, I64(number)); }, ReadBatch);
}

Result<std::optional<RecordedBatch>> LoadLastBatch(store::Database& db) {
  return First<RecordedBatch>(
      db, std::string("SELECT ") + kBatchColumns + " FROM validator_batches ORDER BY number DESC LIMIT 1",
      [](store::Statement&) {}, ReadBatch);
}

Status InsertBatch(store::Database& db, const RecordedBatch& b) {
  auto st = db.Use(std::string("INSERT INTO validator_batches (") + kBatchColumns +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(b.number)).Bind(2, I64(b.range_first_seq)).Bind(3, I64(b.first_seq)).Bind(4, I64(b.last_seq));
  (*st)->Bind(5, b.state_root).Bind(6, b.tx_root).Bind(7, I64(b.gas_retained)).Bind(8, I64(b.distributed));
  (*st)->Bind(9, I64(b.eligible_stake)).Bind(10, I64(b.eligible_count)).Bind(11, b.recorded_at);
  return (*st)->Run();
}

// --- attestations --------------------------------------------------------------

Result<std::optional<Attestation>> LoadAttestation(store::Database& db, std::uint64_t batch,
                                                   std::string_view validator_id) {
  return First<Attestation>(
      db,
      std::string("SELECT ") + kAttestationColumns +
          " FROM validator_attestations WHERE batch = ?1 AND validator_id = ?2",
      [&](store::Statement& s) { s.Bind(1, I64(batch)).Bind(2, validator_id); }, ReadAttestation);
}

Status InsertAttestation(store::Database& db, const Attestation& a) {
  auto st = db.Use(std::string("INSERT INTO validator_attestations (") + kAttestationColumns +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, a.validator_id).Bind(2, I64(a.batch)).Bind(3, a.state_root).Bind(4, a.tx_root);
  (*st)->Bind(5, a.signature).Bind(6, a.attested_at);
  return (*st)->Run();
}

Result<std::vector<std::string>> AttestersOf(store::Database& db, std::uint64_t batch) {
  auto st = db.Use("SELECT validator_id FROM validator_attestations WHERE batch = ?1 ORDER BY validator_id");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(batch));
  return store::CollectRows<std::string>(**st, [](const store::Statement& s) { return s.Text(0); });
}

// --- slashes -------------------------------------------------------------------

Result<std::uint64_t> NextSlashId(store::Database& db) {
  return NextId(db, "SELECT COALESCE(MAX(slash_id), 0) FROM validator_slashes");
}

Result<bool> EquivocationSlashed(store::Database& db, std::string_view validator_id, std::uint64_t batch) {
  auto st = db.Use("SELECT 1 FROM validator_slashes WHERE validator_id = ?1 AND batch = ?2 AND kind = 'equivocation'");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, validator_id).Bind(2, I64(batch));
  auto row = (*st)->Step();
  if (!row.ok()) return std::move(row).error();
  return *row;
}

Status InsertSlash(store::Database& db, const Slash& s) {
  auto st =
      db.Use(std::string("INSERT INTO validator_slashes (") + kSlashColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(s.slash_id)).Bind(2, s.validator_id).Bind(3, SlashKindName(s.kind)).Bind(4, I64(s.batch));
  (*st)->Bind(5, I64(s.amount)).Bind(6, s.slashed_at);
  return (*st)->Run();
}

Result<std::optional<Slash>> LoadSlash(store::Database& db, std::uint64_t slash_id) {
  return First<Slash>(
      db, std::string("SELECT ") + kSlashColumns + " FROM validator_slashes WHERE slash_id = ?1",
      [&](store::Statement& s) { s.Bind(1, I64(slash_id)); }, ReadSlash);
}

// --- unbonding -----------------------------------------------------------------

Result<std::uint64_t> NextUnbondingId(store::Database& db) {
  return NextId(db, "SELECT COALESCE(MAX(unbonding_id), 0) FROM validator_unbonding");
}

Result<std::optional<Unbonding>> LoadUnbonding(store::Database& db, std::uint64_t id) {
  return First<Unbonding>(
      db, std::string("SELECT ") + kUnbondingColumns + " FROM validator_unbonding WHERE unbonding_id = ?1",
      [&](store::Statement& s) { s.Bind(1, I64(id)); }, ReadUnbonding);
}

Result<std::vector<Unbonding>> PendingUnbondingOf(store::Database& db, std::string_view validator_id) {
  auto st = db.Use(std::string("SELECT ") + kUnbondingColumns +
                   " FROM validator_unbonding WHERE validator_id = ?1 AND status = 'pending' ORDER BY unbonding_id");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, validator_id);
  return store::CollectRows<Unbonding>(**st, ReadUnbonding);
}

Status InsertUnbonding(store::Database& db, const Unbonding& u) {
  auto st = db.Use(std::string("INSERT INTO validator_unbonding (") + kUnbondingColumns +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(u.unbonding_id)).Bind(2, u.validator_id).Bind(3, I64(u.amount)).Bind(4, u.started_at);
  (*st)->Bind(5, u.ends_at).Bind(6, u.completed ? "completed" : "pending");
  return (*st)->Run();
}

Status UpdateUnbonding(store::Database& db, const Unbonding& u) {
  auto st = db.Use("UPDATE validator_unbonding SET amount = ?2, status = ?3 WHERE unbonding_id = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(u.unbonding_id)).Bind(2, I64(u.amount)).Bind(3, u.completed ? "completed" : "pending");
  return (*st)->Run();
}

// --- leaves --------------------------------------------------------------------

state::LeafId ValidatorLeaf(std::string_view validator_id) {
  return state::LeafId{kValidatorLeaf, std::string(validator_id)};
}
state::LeafId BatchLeaf(std::uint64_t number) {
  return state::LeafId{kBatchLeaf, std::to_string(number)};
}
state::LeafId AttestationLeaf(std::string_view validator_id, std::uint64_t batch) {
  return state::LeafId{kAttestationLeaf, std::string(validator_id) + ":" + std::to_string(batch)};
}
state::LeafId SlashLeaf(std::uint64_t id) {
  return state::LeafId{kSlashLeaf, std::to_string(id)};
}
state::LeafId UnbondingLeaf(std::uint64_t id) {
  return state::LeafId{kUnbondingLeaf, std::to_string(id)};
}

Bytes EncodeConfigLeaf(const Config& c) {
  Bytes out{kConfigLeaf};
  state::PutU64(out, c.min_stake);
  state::PutU64(out, U64(c.unbonding_period));
  state::PutU64(out, U64(c.liveness_window));
  state::PutU32(out, c.downtime_slash_bps);
  state::PutU32(out, c.equivocation_slash_bps);
  state::PutU32(out, c.quorum_bps);
  state::PutU64(out, c.uptime_window);
  return out;
}

Result<Bytes> EncodeValidatorLeaf(const Validator& v) {
  Bytes out{kValidatorLeaf};
  state::PutLp(out, v.validator_id);
  state::PutLp(out, v.account_id);
  KRAY_TRY(PutHex<32>(out, v.pubkey, "validator key"));
  state::PutLp(out, v.l1_address);
  for (Amount a : {v.stake, v.rewards_pending, v.rewards_earned, v.rewards_claimed, v.slashed}) state::PutU64(out, a);
  state::PutU64(out, U64(v.registered_at));
  state::PutU64(out, U64(v.last_active));
  state::PutU64(out, v.last_heartbeat);
  state::PutU64(out, U64(v.liveness_reset_at));
  state::PutU64(out, v.blocks_validated);
  state::PutU64(out, v.last_attested_batch);
  return out;
}

Result<Bytes> EncodeBatchLeaf(const RecordedBatch& b) {
  Bytes out{kBatchLeaf};
  state::PutU64(out, b.number);
  state::PutU64(out, b.range_first_seq);
  state::PutU64(out, b.first_seq);
  state::PutU64(out, b.last_seq);
  KRAY_TRY(PutHex<32>(out, b.state_root, "state root"));
  KRAY_TRY(PutHex<32>(out, b.tx_root, "tx root"));
  state::PutU64(out, b.gas_retained);
  state::PutU64(out, b.distributed);
  state::PutU64(out, b.eligible_stake);
  state::PutU64(out, b.eligible_count);
  state::PutU64(out, U64(b.recorded_at));
  return out;
}

Result<Bytes> EncodeAttestationLeaf(const Attestation& a) {
  Bytes out{kAttestationLeaf};
  state::PutLp(out, a.validator_id);
  state::PutU64(out, a.batch);
  KRAY_TRY(PutHex<32>(out, a.state_root, "attested state root"));
  KRAY_TRY(PutHex<32>(out, a.tx_root, "attested tx root"));
  KRAY_TRY(PutHex<64>(out, a.signature, "attestation signature"));
  state::PutU64(out, U64(a.attested_at));
  return out;
}

Bytes EncodeSlashLeaf(const Slash& s) {
  Bytes out{kSlashLeaf};
  state::PutU64(out, s.slash_id);
  state::PutLp(out, s.validator_id);
  out.push_back(s.kind == SlashKind::kEquivocation ? 1 : 0);
  state::PutU64(out, s.batch);
  state::PutU64(out, s.amount);
  state::PutU64(out, U64(s.slashed_at));
  return out;
}

Bytes EncodeUnbondingLeaf(const Unbonding& u) {
  Bytes out{kUnbondingLeaf};
  state::PutU64(out, u.unbonding_id);
  state::PutLp(out, u.validator_id);
  state::PutU64(out, u.amount);
  state::PutU64(out, U64(u.started_at));
  state::PutU64(out, U64(u.ends_at));
  out.push_back(u.completed ? 1 : 0);
  return out;
}

}  // namespace kray::validators::internal
