// The bridge module's withdrawal and spend tables: reads (withdrawals.h),
// writes and leaf encodings (withdrawals_store.h).
#include "withdrawals_store.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "kray/state/leaves.h"

namespace kray::bridge {
namespace {

constexpr const char* kWithdrawalColumns =
    "id, account_id, asset, amount, fee, l1_address, requested_at, deadline, status, challenged_by, "
    "challenge_reason, resolution, spend_id";
constexpr const char* kSpendColumns =
    "id, kind, batch, fee_reserve, dust, fee_account, status, created_at, txid, block_hash, height, fee_paid, "
    "confirmed_at";

Withdrawal ReadWithdrawal(const store::Statement& s) {
  Withdrawal w;
  w.id = static_cast<std::uint64_t>(s.Int64(0));
  w.account_id = s.Text(1);
  w.asset = s.Text(2);
  w.amount = static_cast<Amount>(s.Int64(3));
  w.fee = static_cast<Amount>(s.Int64(4));
  w.l1_address = s.Text(5);
  w.requested_at = s.Int64(6);
  w.deadline = s.Int64(7);
  w.status = s.Text(8);
  w.challenged_by = s.Text(9);
  w.challenge_reason = s.Text(10);
  w.resolution = s.Text(11);
  w.spend_id = s.Text(12);
  return w;
}

Spend ReadSpend(const store::Statement& s) {
  Spend p;
  p.id = s.Text(0);
  p.kind = s.Text(1);
  p.batch = s.Int64(2);
  p.fee_reserve = static_cast<Amount>(s.Int64(3));
  p.dust = static_cast<Amount>(s.Int64(4));
  p.fee_account = s.Text(5);
  p.status = s.Text(6);
  p.created_at = s.Int64(7);
  p.txid = s.Text(8);
  p.block_hash = s.Text(9);
  p.height = static_cast<std::uint32_t>(s.Int64(10));
  p.fee_paid = static_cast<Amount>(s.Int64(11));
  p.confirmed_at = s.Int64(12);
  return p;
}

template <class T, class F>
Result<std::vector<T>> Query(store::Database& db, const std::string& sql, F bind, T (*read)(const store::Statement&)) {
  auto st = db.Use(sql);
  if (!st.ok()) return std::move(st).error();
  bind(**st);
  return store::CollectRows<T>(**st, read);
}

std::optional<std::uint64_t> ParseId(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || std::to_string(v) != s) return std::nullopt;
  return v;
}

std::string JoinAssets(const std::vector<std::string>& assets) {
  std::string out;
  for (const auto& a : assets) out += (out.empty() ? "" : ",") + a;
  return out;
}

std::vector<std::string> SplitAssets(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<BridgeConfig> ReadBridgeConfig(store::Database& db) {
  auto st = db.Use("SELECT challenge_period, fee_account, withdrawal_assets FROM bridge_config WHERE id=1");
  if (!st.ok()) return std::move(st).error();
  auto row = store::FirstRow<BridgeConfig>(**st, [](const store::Statement& s) {
    BridgeConfig c;
    c.challenge_period = s.Int64(0);
    c.fee_account = s.Text(1);
    c.withdrawal_assets = SplitAssets(s.Text(2));
    return c;
  });
  if (!row.ok()) return std::move(row).error();
  return row->value_or(BridgeConfig{});
}

Result<std::optional<Withdrawal>> FindWithdrawal(store::Database& db, std::uint64_t id) {
  auto st = db.Use(std::string("SELECT ") + kWithdrawalColumns + " FROM bridge_withdrawals WHERE id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(id));
  return store::FirstRow<Withdrawal>(**st, ReadWithdrawal);
}

Result<std::vector<Withdrawal>> AccountWithdrawals(store::Database& db, std::string_view account_id, int limit,
                                                   std::uint64_t before_id) {
  const std::int64_t before = before_id == 0 ? INT64_MAX : static_cast<std::int64_t>(before_id);
  return Query<Withdrawal>(
      db,
      std::string("SELECT ") + kWithdrawalColumns +
          " FROM bridge_withdrawals WHERE account_id=?1 AND id<?2 ORDER BY id DESC LIMIT ?3",
      [&](store::Statement& s) { s.Bind(1, account_id).Bind(2, before).Bind(3, static_cast<std::int64_t>(limit)); },
      ReadWithdrawal);
}

Result<std::uint64_t> CountAccountWithdrawals(store::Database& db, std::string_view account_id) {
  auto st = db.Use("SELECT COUNT(*) FROM bridge_withdrawals WHERE account_id=?1");  // index-only
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, account_id);
  auto n = store::FirstRow<std::int64_t>(**st, [](const store::Statement& r) { return r.Int64(0); });
  if (!n.ok()) return std::move(n).error();
  return static_cast<std::uint64_t>(n->value_or(0));
}

Result<std::vector<Withdrawal>> DueWithdrawals(store::Database& db, std::int64_t now, int limit) {
  return Query<Withdrawal>(
      db,
      std::string("SELECT ") + kWithdrawalColumns +
          " FROM bridge_withdrawals WHERE status='pending' AND deadline<=?1 ORDER BY id LIMIT ?2",
      [&](store::Statement& s) { s.Bind(1, now).Bind(2, static_cast<std::int64_t>(limit)); }, ReadWithdrawal);
}

Result<std::vector<Withdrawal>> SpendWithdrawals(store::Database& db, std::string_view spend_id) {
  return Query<Withdrawal>(
      db, std::string("SELECT ") + kWithdrawalColumns + " FROM bridge_withdrawals WHERE spend_id=?1 ORDER BY id",
      [&](store::Statement& s) { s.Bind(1, spend_id); }, ReadWithdrawal);
}

Result<std::optional<Spend>> FindSpend(store::Database& db, std::string_view id) {
  auto st = db.Use(std::string("SELECT ") + kSpendColumns + " FROM bridge_spends WHERE id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  return store::FirstRow<Spend>(**st, ReadSpend);
}

Result<std::optional<Spend>> AnchorSpendOfBatch(store::Database& db, std::int64_t batch) {
  auto st = db.Use(std::string("SELECT ") + kSpendColumns + " FROM bridge_spends WHERE kind='anchor' AND batch=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, batch);
  return store::FirstRow<Spend>(**st, ReadSpend);
}

Result<std::vector<Spend>> OpenSpends(store::Database& db) {
  return Query<Spend>(
      db, std::string("SELECT ") + kSpendColumns + " FROM bridge_spends WHERE status='signing' ORDER BY created_at, id",
      [](store::Statement&) {}, ReadSpend);
}

Result<std::int64_t> LastAnchoredBatch(store::Database& db) {
  return store::QueryInt(db, "SELECT MAX(batch) FROM bridge_spends WHERE kind='anchor'", 0);
}

std::string FormatIdList(const std::vector<std::uint64_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

Result<std::vector<std::uint64_t>> ParseIdList(std::string_view text) {
  auto bad = [&] {
    return Error::Invalid("invalid_field", "withdrawals must be ascending, unique decimal ids (at most " +
                                               std::to_string(kMaxWithdrawalsPerSpend) + "), e.g. 1,4,7");
  };
  std::vector<std::uint64_t> out;
  std::size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    auto id = ParseId(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (!id || *id == 0 || (!out.empty() && *id <= out.back())) return bad();
    out.push_back(*id);
    if (out.size() > kMaxWithdrawalsPerSpend) return bad();
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<Withdrawal> DecodeWithdrawalLeaf(ByteSpan data) {
  std::size_t pos = 0;
  bool bad = false;
  auto u64 = [&]() -> std::uint64_t {
    if (data.size() - pos < 8) {
      bad = true;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | data[pos++];
    return v;
  };
  auto lp = [&]() -> std::string {
    if (bad || data.size() - pos < 4) {
      bad = true;
      return {};
    }
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | data[pos++];
    if (data.size() - pos < n) {
      bad = true;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(data.data() + pos), n);
    pos += n;
    return s;
  };
  if (data.empty() || data[0] != kBridgeWithdrawalLeaf)
    return Error::Invalid("invalid_leaf", "not a bridge.withdrawal leaf");
  pos = 1;
  Withdrawal w;
  w.id = u64();
  w.account_id = lp();
  w.asset = lp();
  w.amount = u64();
  w.fee = u64();
  w.l1_address = lp();
  w.requested_at = static_cast<std::int64_t>(u64());
  w.deadline = static_cast<std::int64_t>(u64());
  w.status = lp();
  w.challenged_by = lp();
  w.challenge_reason = lp();
  w.resolution = lp();
  w.spend_id = lp();
  if (bad || pos != data.size()) return Error::Invalid("invalid_leaf", "malformed bridge.withdrawal leaf");
  return w;
}

namespace internal {

Status WriteBridgeConfig(store::Database& db, const BridgeConfig& c) {
  auto st = db.Use(
      "INSERT OR REPLACE INTO bridge_config (id, challenge_period, fee_account, withdrawal_assets) "
      "VALUES (1, ?1, ?2, ?3)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, c.challenge_period).Bind(2, c.fee_account).Bind(3, JoinAssets(c.withdrawal_assets));
  return (*st)->Run();
}

Result<bool> HasBridgeConfig(store::Database& db) {
  auto n = store::QueryInt(db, "SELECT COUNT(*) FROM bridge_config", 0);
  if (!n.ok()) return std::move(n).error();
  return *n > 0;
}

Result<std::uint64_t> NextWithdrawalId(store::Database& db) {
  auto max = store::QueryInt(db, "SELECT MAX(id) FROM bridge_withdrawals", 0);
  if (!max.ok()) return std::move(max).error();
  return static_cast<std::uint64_t>(*max) + 1;
}

Status InsertWithdrawal(store::Database& db, const Withdrawal& w) {
  auto st = db.Use(std::string("INSERT INTO bridge_withdrawals (") + kWithdrawalColumns +
                   ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, static_cast<std::int64_t>(w.id)).Bind(2, w.account_id).Bind(3, w.asset);
  s.Bind(4, static_cast<std::int64_t>(w.amount)).Bind(5, static_cast<std::int64_t>(w.fee)).Bind(6, w.l1_address);
  s.Bind(7, w.requested_at).Bind(8, w.deadline).Bind(9, w.status).Bind(10, w.challenged_by);
  s.Bind(11, w.challenge_reason).Bind(12, w.resolution).Bind(13, w.spend_id);
  return s.Run();
}

Status UpdateWithdrawal(store::Database& db, const Withdrawal& w) {
  auto st = db.Use(
      "UPDATE bridge_withdrawals SET status=?2, challenged_by=?3, challenge_reason=?4, resolution=?5, spend_id=?6 "
      "WHERE id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(w.id)).Bind(2, w.status).Bind(3, w.challenged_by);
  (*st)->Bind(4, w.challenge_reason).Bind(5, w.resolution).Bind(6, w.spend_id);
  return (*st)->Run();
}

Status InsertSpend(store::Database& db, const Spend& p) {
  auto st = db.Use(std::string("INSERT INTO bridge_spends (") + kSpendColumns +
                   ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, p.id).Bind(2, p.kind).Bind(3, p.batch).Bind(4, static_cast<std::int64_t>(p.fee_reserve));
  s.Bind(5, static_cast<std::int64_t>(p.dust)).Bind(6, p.fee_account).Bind(7, p.status).Bind(8, p.created_at);
  s.Bind(9, p.txid).Bind(10, p.block_hash).Bind(11, static_cast<std::int64_t>(p.height));
  s.Bind(12, static_cast<std::int64_t>(p.fee_paid)).Bind(13, p.confirmed_at);
  return s.Run();
}

Status UpdateSpend(store::Database& db, const Spend& p) {
  auto st = db.Use(
      "UPDATE bridge_spends SET status=?2, txid=?3, block_hash=?4, height=?5, fee_paid=?6, confirmed_at=?7 "
      "WHERE id=?1");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, p.id).Bind(2, p.status).Bind(3, p.txid).Bind(4, p.block_hash).Bind(5, static_cast<std::int64_t>(p.height));
  s.Bind(6, static_cast<std::int64_t>(p.fee_paid)).Bind(7, p.confirmed_at);
  return s.Run();
}

Result<std::optional<Bytes>> EncodeConfigLeaf(store::Database& db, std::string_view id) {
  if (id != "config") return std::optional<Bytes>();
  auto has = HasBridgeConfig(db);
  if (!has.ok()) return std::move(has).error();
  if (!*has) return std::optional<Bytes>();
  auto c = ReadBridgeConfig(db);
  if (!c.ok()) return std::move(c).error();
  Bytes out{kBridgeConfigLeaf};
  state::PutLp(out, id);
  state::PutU64(out, static_cast<std::uint64_t>(c->challenge_period));
  state::PutLp(out, c->fee_account);
  state::PutLp(out, JoinAssets(c->withdrawal_assets));
  return std::optional<Bytes>(std::move(out));
}

Result<std::optional<Bytes>> EncodeWithdrawalLeaf(store::Database& db, std::string_view id) {
  auto n = ParseId(id);
  if (!n) return std::optional<Bytes>();
  auto w = FindWithdrawal(db, *n);
  if (!w.ok()) return std::move(w).error();
  if (!w->has_value()) return std::optional<Bytes>();
  const Withdrawal& r = **w;
  Bytes out{kBridgeWithdrawalLeaf};
  state::PutU64(out, r.id);
  state::PutLp(out, r.account_id);
  state::PutLp(out, r.asset);
  state::PutU64(out, r.amount);
  state::PutU64(out, r.fee);
  state::PutLp(out, r.l1_address);
  state::PutU64(out, static_cast<std::uint64_t>(r.requested_at));
  state::PutU64(out, static_cast<std::uint64_t>(r.deadline));
  state::PutLp(out, r.status);
  state::PutLp(out, r.challenged_by);
  state::PutLp(out, r.challenge_reason);
  state::PutLp(out, r.resolution);
  state::PutLp(out, r.spend_id);
  return std::optional<Bytes>(std::move(out));
}

Result<std::optional<Bytes>> EncodeSpendLeaf(store::Database& db, std::string_view id) {
  auto p = FindSpend(db, id);
  if (!p.ok()) return std::move(p).error();
  if (!p->has_value()) return std::optional<Bytes>();
  const Spend& s = **p;
  Bytes out{kBridgeSpendLeaf};
  state::PutLp(out, s.id);
  state::PutLp(out, s.kind);
  state::PutU64(out, static_cast<std::uint64_t>(s.batch));
  state::PutU64(out, s.fee_reserve);
  state::PutU64(out, s.dust);
  state::PutLp(out, s.fee_account);
  state::PutLp(out, s.status);
  state::PutU64(out, static_cast<std::uint64_t>(s.created_at));
  state::PutLp(out, s.txid);
  state::PutLp(out, s.block_hash);
  state::PutU32(out, s.height);
  state::PutU64(out, s.fee_paid);
  state::PutU64(out, static_cast<std::uint64_t>(s.confirmed_at));
  return std::optional<Bytes>(std::move(out));
}

namespace {
Status ForEachText(store::Database& db, const char* sql, const std::function<Status(std::string_view)>& fn) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return std::move(st).error();
  return store::ForEachRow(*st, [&](const store::Statement& r) { return fn(r.Text(0)); });
}
}  // namespace

Status ForEachConfigId(store::Database& db, const std::function<Status(std::string_view)>& fn) {
  return ForEachText(db, "SELECT 'config' FROM bridge_config", fn);
}
Status ForEachWithdrawalId(store::Database& db, const std::function<Status(std::string_view)>& fn) {
  return ForEachText(db, "SELECT CAST(id AS TEXT) FROM bridge_withdrawals ORDER BY id", fn);
}
Status ForEachSpendId(store::Database& db, const std::function<Status(std::string_view)>& fn) {
  return ForEachText(db, "SELECT id FROM bridge_spends ORDER BY id", fn);
}

Status CheckWithdrawalInvariants(store::Database& db) {
  struct Rule {
    const char* what;
    const char* sql;
  };
  static constexpr Rule kRules[] = {
      {"withdrawal(s) pending, challenged or refunded yet named by a spend",
       "SELECT COUNT(*) FROM bridge_withdrawals WHERE status IN ('pending','challenged','refunded') AND spend_id != "
       "''"},
      {"withdrawal(s) being paid or completed by no withdrawal spend",
       "SELECT COUNT(*) FROM bridge_withdrawals w WHERE w.status IN ('signing','completed') AND NOT EXISTS ("
       "SELECT 1 FROM bridge_spends s WHERE s.id = w.spend_id AND s.kind = 'withdrawals')"},
      {"withdrawal(s) whose status disagrees with their spend's (signing <-> signing, completed <-> confirmed)",
       "SELECT COUNT(*) FROM bridge_withdrawals w JOIN bridge_spends s ON s.id = w.spend_id WHERE "
       "(w.status = 'signing' AND s.status != 'signing') OR (w.status = 'completed' AND s.status != 'confirmed')"},
      {"withdrawal spend(s) paying no withdrawal",
       "SELECT COUNT(*) FROM bridge_spends s WHERE s.kind = 'withdrawals' AND NOT EXISTS ("
       "SELECT 1 FROM bridge_withdrawals w WHERE w.spend_id = s.id)"},
      {"anchor spend(s) without a batch, or with dust",
       "SELECT COUNT(*) FROM bridge_spends WHERE kind = 'anchor' AND (batch < 1 OR dust != 0)"},
      {"confirmed spend(s) without their transaction, block or a fee within the reserve",
       "SELECT COUNT(*) FROM bridge_spends WHERE status = 'confirmed' AND (txid = '' OR block_hash = '' OR "
       "fee_paid > fee_reserve)"},
  };
  std::string problems;
  for (const auto& rule : kRules) {
    auto n = store::QueryInt(db, rule.sql);
    if (!n.ok()) return std::move(n).error();
    if (*n != 0) problems += (problems.empty() ? "" : "; ") + std::to_string(*n) + " " + rule.what;
  }
  if (!problems.empty())
    return Error::Conflict("bridge_withdrawals_inconsistent", "bridge: withdrawals and spends disagree: " + problems);
  return Ok();
}

Result<std::vector<HeldValue>> HeldByWithdrawals(store::Database& db) {
  std::map<std::pair<std::string, std::string>, Amount> held;
  auto add = [&](const std::string& term, const std::string& asset, std::int64_t v) -> Status {
    auto sum = CheckedAdd(held[{term, asset}], static_cast<Amount>(v));
    if (v < 0 || !sum) return Error::Internal("bridge: held value out of range");
    held[{term, asset}] = *sum;
    return Ok();
  };
  auto w = db.Prepare(
      "SELECT asset, amount, fee FROM bridge_withdrawals WHERE status IN ('pending', 'challenged', 'signing')");
  if (!w.ok()) return std::move(w).error();
  KRAY_TRY(store::ForEachRow(*w, [&](const store::Statement& r) -> Status {
    KRAY_TRY(add("bridge.withdrawals", r.Text(0), r.Int64(1)));
    return add("bridge.withdrawals", std::string(kGasAsset), r.Int64(2));
  }));
  auto s = db.Prepare("SELECT fee_reserve, dust FROM bridge_spends WHERE status='signing'");
  if (!s.ok()) return std::move(s).error();
  KRAY_TRY(store::ForEachRow(*s, [&](const store::Statement& r) -> Status {
    KRAY_TRY(add("bridge.spend_reserves", "BTC", r.Int64(0)));
    return add("bridge.spend_reserves", "BTC", r.Int64(1));
  }));
  std::vector<HeldValue> out;
  for (const auto& [key, amount] : held)
    if (amount > 0) out.push_back({key.first, key.second, amount});
  return out;
}

}  // namespace internal
}  // namespace kray::bridge
