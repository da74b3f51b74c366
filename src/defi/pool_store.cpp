// The defi module's tables, oracle accrual and leaves (see pool_store.h).
#include "pool_store.h"

#include "kray/state/leaves.h"

namespace kray::defi {
namespace {

constexpr const char* kPoolColumns =
    "pool_id, asset_a, asset_b, reserve_a, reserve_b, lp_supply, k_last, price_a_cumulative, price_b_cumulative, "
    "timestamp_last, created_at, lp_retired";

Bytes U128Bytes(u128 v) {
  Bytes out(16);
  for (int i = 15; i >= 0; --i, v >>= 8) out[i] = static_cast<std::uint8_t>(v);
  return out;
}

u128 U128FromBytes(const Bytes& b) {
  u128 v = 0;
  for (auto byte : b) v = (v << 8) | byte;
  return v;
}

Bytes Blob32(const U256& v) {
  auto a = v.ToBytes();
  return Bytes(a.begin(), a.end());
}

Result<Pool> ReadPool(const store::Statement& s) {
  Pool p;
  p.pool_id = s.Text(0);
  p.asset_a = s.Text(1);
  p.asset_b = s.Text(2);
  p.reserve_a = static_cast<Amount>(s.Int64(3));
  p.reserve_b = static_cast<Amount>(s.Int64(4));
  p.lp_supply = static_cast<Amount>(s.Int64(5));
  Bytes k = s.Blob(6);
  auto ca = U256::FromBytes(s.Blob(7));
  auto cb = U256::FromBytes(s.Blob(8));
  if (k.size() != 16 || !ca || !cb) return Error::Internal("defi_pools row of " + p.pool_id + " is malformed");
  p.k_last = U128FromBytes(k);
  p.price_a_cumulative = *ca;
  p.price_b_cumulative = *cb;
  p.timestamp_last = s.Int64(9);
  p.created_at = s.Int64(10);
  p.lp_retired = static_cast<Amount>(s.Int64(11));
  return p;
}

}  // namespace

Result<std::optional<Pool>> LoadPool(store::Database& db, std::string_view pool_id) {
  auto st = db.Use(std::string("SELECT ") + kPoolColumns + " FROM defi_pools WHERE pool_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, pool_id);
  auto row = store::FirstRow<Result<Pool>>(**st, ReadPool);
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Pool>();
  if (!(*row)->ok()) return (*row)->error();
  return std::optional<Pool>(std::move(***row));
}

Result<std::vector<Pool>> ListPools(store::Database& db) {
  auto st = db.Use(std::string("SELECT ") + kPoolColumns + " FROM defi_pools ORDER BY pool_id");
  if (!st.ok()) return std::move(st).error();
  std::vector<Pool> out;
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& s) -> Status {
    auto p = ReadPool(s);
    if (!p.ok()) return std::move(p).error();
    out.push_back(std::move(*p));
    return Ok();
  }));
  return out;
}

Status InsertPool(store::Database& db, const Pool& p) {
  auto st = db.Use(std::string("INSERT INTO defi_pools (") + kPoolColumns +
                   ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, p.pool_id).Bind(2, p.asset_a).Bind(3, p.asset_b);
  s.Bind(4, static_cast<std::int64_t>(p.reserve_a)).Bind(5, static_cast<std::int64_t>(p.reserve_b));
  s.Bind(6, static_cast<std::int64_t>(p.lp_supply)).BindBlob(7, U128Bytes(p.k_last));
  s.BindBlob(8, Blob32(p.price_a_cumulative)).BindBlob(9, Blob32(p.price_b_cumulative));
  s.Bind(10, p.timestamp_last).Bind(11, p.created_at).Bind(12, static_cast<std::int64_t>(p.lp_retired));
  return s.Run();
}

Status UpdatePool(store::Database& db, const Pool& p) {
  auto st = db.Use(
      "UPDATE defi_pools SET reserve_a=?2, reserve_b=?3, lp_supply=?4, k_last=?5, price_a_cumulative=?6, "
      "price_b_cumulative=?7, timestamp_last=?8, lp_retired=?9 WHERE pool_id=?1");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, p.pool_id).Bind(2, static_cast<std::int64_t>(p.reserve_a)).Bind(3, static_cast<std::int64_t>(p.reserve_b));
  s.Bind(4, static_cast<std::int64_t>(p.lp_supply)).BindBlob(5, U128Bytes(p.k_last));
  s.BindBlob(6, Blob32(p.price_a_cumulative)).BindBlob(7, Blob32(p.price_b_cumulative));
  s.Bind(8, p.timestamp_last).Bind(9, static_cast<std::int64_t>(p.lp_retired));
  KRAY_TRY(s.Run());
  if (db.Changes() != 1) return Error::Internal("pool " + p.pool_id + " vanished during an update");
  return Ok();
}

bool AccruePrices(Pool& pool, std::int64_t now) {
  if (now <= pool.timestamp_last) return false;  // not the first operation of this second
  const auto elapsed = static_cast<std::uint64_t>(now - pool.timestamp_last);
  // "* never overflows, and + overflow is desired" (UniswapV2Pair._update):
  // a UQ112x112 price of 63-bit reserves is below 2^175, times < 2^63 seconds.
  pool.price_a_cumulative = pool.price_a_cumulative + EncodePriceUQ112(pool.reserve_b, pool.reserve_a).MulU64(elapsed);
  pool.price_b_cumulative = pool.price_b_cumulative + EncodePriceUQ112(pool.reserve_a, pool.reserve_b).MulU64(elapsed);
  pool.timestamp_last = now;
  return true;
}

Status RecordObservation(store::Database& db, const Pool& pool) {
  auto st = db.Use(
      "INSERT INTO defi_observations (pool_id, timestamp, price_a_cumulative, price_b_cumulative) "
      "VALUES (?1,?2,?3,?4)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, pool.pool_id).Bind(2, pool.timestamp_last);
  (*st)->BindBlob(3, Blob32(pool.price_a_cumulative)).BindBlob(4, Blob32(pool.price_b_cumulative));
  return (*st)->Run();
}

Status RecordSwap(store::Database& db, std::string_view pool_id, std::int64_t now, Amount amount_a, Amount amount_b) {
  auto st = db.Use("INSERT INTO defi_swaps (pool_id, timestamp, amount_a, amount_b) VALUES (?1,?2,?3,?4)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, pool_id).Bind(2, now).Bind(3, static_cast<std::int64_t>(amount_a));
  (*st)->Bind(4, static_cast<std::int64_t>(amount_b));
  return (*st)->Run();
}

Result<std::string> ConfigValue(store::Database& db, std::string_view key) {
  auto st = db.Use("SELECT value FROM defi_config WHERE key=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, key);
  auto row = store::FirstRow<std::string>(**st, [](const store::Statement& s) { return s.Text(0); });
  if (!row.ok()) return std::move(row).error();
  return row->value_or("");
}

Status SetConfigValue(store::Database& db, std::string_view key, std::string_view value) {
  auto st = db.Use("INSERT INTO defi_config (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, key).Bind(2, value);
  return (*st)->Run();
}

Result<std::string> ProtocolFeeAccount(store::Database& db) {
  return ConfigValue(db, kProtocolFeeKey);
}

Result<std::optional<Bytes>> EncodePoolLeaf(store::Database& db, std::string_view pool_id) {
  auto p = LoadPool(db, pool_id);
  if (!p.ok()) return std::move(p).error();
  if (!p->has_value()) return std::optional<Bytes>();
  const Pool& pool = **p;
  Bytes out{kPoolLeaf};
  state::PutLp(out, pool.pool_id);
  state::PutLp(out, pool.asset_a);
  state::PutLp(out, pool.asset_b);
  state::PutU64(out, pool.reserve_a);
  state::PutU64(out, pool.reserve_b);
  state::PutU64(out, pool.lp_supply);
  state::PutU64(out, pool.lp_retired);
  Bytes k = U128Bytes(pool.k_last);
  out.insert(out.end(), k.begin(), k.end());
  for (const U256* c : {&pool.price_a_cumulative, &pool.price_b_cumulative}) {
    auto b = c->ToBytes();
    out.insert(out.end(), b.begin(), b.end());
  }
  state::PutU64(out, static_cast<std::uint64_t>(pool.timestamp_last));
  return std::optional<Bytes>(std::move(out));
}

Result<std::optional<Bytes>> EncodeProtocolFeeLeaf(store::Database& db, std::string_view id) {
  if (id != kProtocolFeeLeafId) return std::optional<Bytes>();
  auto account = ConfigValue(db, kProtocolFeeKey);
  if (!account.ok()) return std::move(account).error();
  if (account->empty()) return std::optional<Bytes>();
  Bytes out{kProtocolFeeLeaf};
  state::PutLp(out, *account);
  return std::optional<Bytes>(std::move(out));
}

Result<Cumulatives> CumulativesAt(store::Database& db, const Pool& pool, std::int64_t t) {
  if (t < pool.created_at)
    return Error::Conflict("insufficient_history", "pool " + pool.pool_id + " did not exist at " + std::to_string(t));
  if (t >= pool.timestamp_last) {
    // Counterfactual accrual since the last update, as
    // UniswapV2OracleLibrary.currentCumulativePrices: the current reserves
    // have held since timestamp_last.
    Pool p = pool;
    AccruePrices(p, t);
    return Cumulatives{p.price_a_cumulative, p.price_b_cumulative};
  }
  // Between two updates the reserves (hence the price) were constant, so the
  // accumulator grew linearly: interpolate exactly between the observations
  // around t (their difference is price * seconds, divisible by the seconds).
  struct Obs {
    std::int64_t ts = 0;
    U256 a, b;
  };
  auto read = [](const store::Statement& s) {
    return Obs{s.Int64(0), U256::FromBytes(s.Blob(1)).value_or(U256()), U256::FromBytes(s.Blob(2)).value_or(U256())};
  };
  auto before = db.Use(
      "SELECT timestamp, price_a_cumulative, price_b_cumulative FROM defi_observations WHERE pool_id=?1 AND "
      "timestamp<=?2 ORDER BY timestamp DESC LIMIT 1");
  if (!before.ok()) return std::move(before).error();
  (*before)->Bind(1, pool.pool_id).Bind(2, t);
  auto lo = store::FirstRow<Obs>(**before, read);
  if (!lo.ok()) return std::move(lo).error();
  auto after = db.Use(
      "SELECT timestamp, price_a_cumulative, price_b_cumulative FROM defi_observations WHERE pool_id=?1 AND "
      "timestamp>?2 ORDER BY timestamp ASC LIMIT 1");
  if (!after.ok()) return std::move(after).error();
  (*after)->Bind(1, pool.pool_id).Bind(2, t);
  auto hi = store::FirstRow<Obs>(**after, read);
  if (!hi.ok()) return std::move(hi).error();
  if (!lo->has_value() || !hi->has_value())
    return Error::Internal("pool " + pool.pool_id + " has no observations around " + std::to_string(t));
  const auto span = static_cast<std::uint64_t>((*hi)->ts - (*lo)->ts);
  const auto into = static_cast<std::uint64_t>(t - (*lo)->ts);
  auto interpolate = [&](const U256& x, const U256& y) {
    return x + U256::DivMod(y - x, U256(span)).first.MulU64(into);
  };
  return Cumulatives{interpolate((*lo)->a, (*hi)->a), interpolate((*lo)->b, (*hi)->b)};
}

}  // namespace kray::defi
