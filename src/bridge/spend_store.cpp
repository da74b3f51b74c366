// Node-local signing state of the bridge's spends (spend_store.h).
#include "spend_store.h"

#include <charconv>

namespace kray::bridge::local {
namespace {

constexpr const char* kSpendColumns = "id, kind, batch, state, fee_reserve, inputs, detail, created_at";
constexpr const char* kVersionColumns =
    "spend_id, version, txid, fee, feerate, vsize, psbt, signers, final_tx, created_at, broadcast_at, reject_reason, "
    "l1_seen";

std::string FormatInputs(const std::vector<SpendInput>& inputs) {
  std::string out;
  for (const auto& in : inputs) {
    if (!out.empty()) out += ',';
    out += bitcoin::HashToDisplayHex(in.outpoint.txid) + ":" + std::to_string(in.outpoint.n) + ":" +
           std::to_string(in.address_index) + ":" + std::to_string(in.sats);
  }
  return out;
}

template <class T>
bool ParseNumber(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (true) {
    auto at = text.find(sep, start);
    out.push_back(text.substr(start, at == std::string_view::npos ? text.npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

std::vector<SpendInput> ParseInputs(std::string_view text) {
  std::vector<SpendInput> out;
  for (auto part : Split(text, ',')) {
    auto f = Split(part, ':');
    SpendInput in;
    auto txid = f.size() == 4 ? bitcoin::HashFromDisplayHex(f[0]) : Result<Hash256>(Error::Internal("bad"));
    if (!txid.ok() || !ParseNumber(f[1], in.outpoint.n) || !ParseNumber(f[2], in.address_index) ||
        !ParseNumber(f[3], in.sats))
      continue;  // written by InsertSpend only; a damaged row shows as a missing input
    in.outpoint.txid = *txid;
    out.push_back(std::move(in));
  }
  return out;
}

LocalSpend ReadSpend(const store::Statement& s) {
  LocalSpend l;
  l.id = s.Text(0);
  l.kind = s.Text(1);
  l.batch = s.Int64(2);
  l.state = s.Text(3);
  l.fee_reserve = static_cast<Amount>(s.Int64(4));
  l.inputs = ParseInputs(s.Text(5));
  l.detail = s.Text(6);
  l.created_at = s.Int64(7);
  return l;
}

SpendVersion ReadVersion(const store::Statement& s) {
  SpendVersion v;
  v.spend_id = s.Text(0);
  v.version = static_cast<int>(s.Int64(1));
  v.txid = s.Text(2);
  v.fee = s.Int64(3);
  v.feerate = s.Int64(4);
  v.vsize = static_cast<std::size_t>(s.Int64(5));
  v.psbt = s.Blob(6);
  v.signers = ParseSigners(s.Text(7));
  v.final_tx = s.Blob(8);
  v.created_at = s.Int64(9);
  if (!s.IsNull(10)) v.broadcast_at = s.Int64(10);
  v.reject_reason = s.Text(11);
  v.l1_seen = s.Text(12);
  return v;
}

Status RunWithId(store::Database& db, const std::string& sql, std::string_view id, std::string_view value) {
  auto st = db.Use(sql);
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).Bind(2, value);
  return (*st)->Run();
}

}  // namespace

std::string FormatSigners(const std::vector<int>& members) {
  std::string out;
  for (int m : members) out += (out.empty() ? "" : ",") + std::to_string(m);
  return out;
}

std::vector<int> ParseSigners(std::string_view text) {
  std::vector<int> out;
  for (auto part : Split(text, ',')) {
    int m = 0;
    if (ParseNumber(part, m)) out.push_back(m);
  }
  return out;
}

Status InsertSpend(store::Database& db, const LocalSpend& s) {
  auto st = db.Use(std::string("INSERT INTO spend_local (") + kSpendColumns + ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
  if (!st.ok()) return std::move(st).error();
  auto& q = **st;
  q.Bind(1, s.id).Bind(2, s.kind).Bind(3, s.batch).Bind(4, s.state).Bind(5, static_cast<std::int64_t>(s.fee_reserve));
  q.Bind(6, FormatInputs(s.inputs)).Bind(7, s.detail).Bind(8, s.created_at);
  return q.Run();
}

Status SetSpendState(store::Database& db, std::string_view id, std::string_view state) {
  return RunWithId(db, "UPDATE spend_local SET state=?2 WHERE id=?1", id, state);
}

Status SetSpendDetail(store::Database& db, std::string_view id, std::string_view detail) {
  return RunWithId(db, "UPDATE spend_local SET detail=?2 WHERE id=?1", id, detail);
}

Status DeleteSpend(store::Database& db, std::string_view id) {
  for (const char* sql : {"DELETE FROM spend_versions WHERE spend_id=?1", "DELETE FROM spend_local WHERE id=?1"}) {
    auto st = db.Use(sql);
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, id);
    KRAY_TRY((*st)->Run());
  }
  return Ok();
}

Result<std::optional<LocalSpend>> FindSpend(store::Database& db, std::string_view id) {
  auto st = db.Use(std::string("SELECT ") + kSpendColumns + " FROM spend_local WHERE id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  return store::FirstRow<LocalSpend>(**st, ReadSpend);
}

Result<std::vector<LocalSpend>> SpendsIn(store::Database& db, std::string_view state) {
  auto st = db.Use(std::string("SELECT ") + kSpendColumns + " FROM spend_local WHERE state=?1 ORDER BY created_at, id");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, state);
  return store::CollectRows<LocalSpend>(**st, ReadSpend);
}

Status PutVersion(store::Database& db, const SpendVersion& v) {
  auto st = db.Use(std::string("INSERT OR REPLACE INTO spend_versions (") + kVersionColumns +
                   ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  if (!st.ok()) return std::move(st).error();
  auto& q = **st;
  q.Bind(1, v.spend_id).Bind(2, static_cast<std::int64_t>(v.version)).Bind(3, v.txid).Bind(4, v.fee);
  q.Bind(5, v.feerate).Bind(6, static_cast<std::int64_t>(v.vsize)).BindBlob(7, v.psbt);
  q.Bind(8, FormatSigners(v.signers));
  if (v.final_tx.empty())
    q.BindNull(9);
  else
    q.BindBlob(9, v.final_tx);
  q.Bind(10, v.created_at);
  if (v.broadcast_at)
    q.Bind(11, *v.broadcast_at);
  else
    q.BindNull(11);
  q.Bind(12, v.reject_reason).Bind(13, v.l1_seen);
  return q.Run();
}

Result<std::vector<SpendVersion>> Versions(store::Database& db, std::string_view spend_id) {
  auto st =
      db.Use(std::string("SELECT ") + kVersionColumns + " FROM spend_versions WHERE spend_id=?1 ORDER BY version");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, spend_id);
  return store::CollectRows<SpendVersion>(**st, ReadVersion);
}

}  // namespace kray::bridge::local
