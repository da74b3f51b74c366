// The federation's outputs and the bridge's own transactions (utxo_store.h).
#include "utxo_store.h"

namespace kray::bridge::scan {
namespace {

constexpr const char* kColumns = "txid, vout, height, block_hash, address_index, sats, required, kind";

FederationOutput ReadOutput(const store::Statement& s) {
  FederationOutput o;
  o.txid = s.Text(0);
  o.vout = static_cast<std::uint32_t>(s.Int64(1));
  o.height = static_cast<std::uint32_t>(s.Int64(2));
  o.block_hash = s.Text(3);
  o.address_index = static_cast<std::uint32_t>(s.Int64(4));
  o.sats = s.Int64(5);
  o.required = static_cast<std::uint32_t>(s.Int64(6));
  o.kind = s.Text(7);
  return o;
}

}  // namespace

Status PutUtxo(store::Database& db, const FederationOutput& o) {
  auto st =
      db.Use(std::string("INSERT OR REPLACE INTO scan_utxos (") + kColumns + ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, o.txid).Bind(2, static_cast<std::int64_t>(o.vout)).Bind(3, static_cast<std::int64_t>(o.height));
  s.Bind(4, o.block_hash).Bind(5, static_cast<std::int64_t>(o.address_index)).Bind(6, o.sats);
  s.Bind(7, static_cast<std::int64_t>(o.required)).Bind(8, o.kind);
  return s.Run();
}

Result<std::set<bitcoin::OutPoint>> UnspentOutpoints(store::Database& db) {
  auto st = db.Prepare("SELECT txid, vout FROM scan_utxos WHERE spent_txid IS NULL");
  if (!st.ok()) return std::move(st).error();
  std::set<bitcoin::OutPoint> out;
  Status s = store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
    auto h = bitcoin::HashFromDisplayHex(r.Text(0));
    if (!h.ok()) return Error::Internal("scan_utxos: bad txid " + r.Text(0));
    out.insert(bitcoin::OutPoint{*h, static_cast<std::uint32_t>(r.Int64(1))});
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Status MarkSpent(store::Database& db, const bitcoin::OutPoint& outpoint, std::string_view spent_txid,
                 std::uint32_t height) {
  auto st = db.Use("UPDATE scan_utxos SET spent_txid=?3, spent_height=?4 WHERE txid=?1 AND vout=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, bitcoin::HashToDisplayHex(outpoint.txid)).Bind(2, static_cast<std::int64_t>(outpoint.n));
  (*st)->Bind(3, spent_txid).Bind(4, static_cast<std::int64_t>(height));
  return (*st)->Run();
}

Status PutBridgeTx(store::Database& db, std::string_view txid, std::uint32_t height, std::string_view block_hash,
                   std::optional<std::uint64_t> anchor_batch) {
  auto st =
      db.Use("INSERT OR REPLACE INTO scan_bridge_txs (txid, height, block_hash, anchor_batch) VALUES (?1,?2,?3,?4)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(height)).Bind(3, block_hash);
  if (anchor_batch)
    (*st)->Bind(4, static_cast<std::int64_t>(*anchor_batch));
  else
    (*st)->BindNull(4);
  return (*st)->Run();
}

Status UndoBlock(store::Database& db, std::uint32_t height) {
  for (const char* sql : {"DELETE FROM scan_utxos WHERE height=?1",
                          "UPDATE scan_utxos SET spent_txid=NULL, spent_height=NULL WHERE spent_height=?1",
                          "DELETE FROM scan_bridge_txs WHERE height=?1"}) {
    auto st = db.Use(sql);
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, static_cast<std::int64_t>(height));
    KRAY_TRY((*st)->Run());
  }
  return Ok();
}

Status PruneSpent(store::Database& db, std::uint32_t height) {
  auto st = db.Use("DELETE FROM scan_utxos WHERE spent_height IS NOT NULL AND spent_height<=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(height));
  return (*st)->Run();
}

Result<std::vector<FederationOutput>> SpendableOutputs(store::Database& db, std::uint32_t tip) {
  auto st = db.Use(std::string("SELECT ") + kColumns +
                   " FROM scan_utxos u WHERE spent_txid IS NULL AND ?1 - height + 1 >= required "
                   "AND NOT EXISTS (SELECT 1 FROM scan_reservations r WHERE r.txid=u.txid AND r.vout=u.vout) "
                   "ORDER BY height, txid, vout");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(tip));
  return store::CollectRows<FederationOutput>(**st, ReadOutput);
}

Result<std::optional<MinedTx>> FindBridgeTx(store::Database& db, std::string_view txid) {
  auto st = db.Use("SELECT height, block_hash FROM scan_bridge_txs WHERE txid=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid);
  return store::FirstRow<MinedTx>(**st, [](const store::Statement& s) {
    return MinedTx{static_cast<std::uint32_t>(s.Int64(0)), s.Text(1)};
  });
}

Result<UtxoTotals> Totals(store::Database& db) {
  auto st = db.Use("SELECT COUNT(*), COALESCE(SUM(sats), 0) FROM scan_utxos WHERE spent_txid IS NULL");
  if (!st.ok()) return std::move(st).error();
  auto row = store::FirstRow<UtxoTotals>(**st, [](const store::Statement& s) {
    return UtxoTotals{s.Int64(0), s.Int64(1), 0};
  });
  if (!row.ok()) return std::move(row).error();
  UtxoTotals t = row->value_or(UtxoTotals{});
  auto reserved = store::QueryInt(db,
                                  "SELECT COUNT(*) FROM scan_utxos u JOIN scan_reservations r ON r.txid=u.txid AND "
                                  "r.vout=u.vout WHERE u.spent_txid IS NULL",
                                  0);
  if (!reserved.ok()) return std::move(reserved).error();
  t.reserved = *reserved;
  return t;
}

Status Reserve(store::Database& db, const std::vector<bitcoin::OutPoint>& outpoints, std::string_view spend_id) {
  for (const auto& o : outpoints) {
    auto holder = ReservedBy(db, o);
    if (!holder.ok()) return std::move(holder).error();
    if (holder->has_value())
      return Error::Conflict("bridge_input_reserved", bitcoin::HashToDisplayHex(o.txid) + ":" + std::to_string(o.n) +
                                                          " is reserved by spend " + **holder);
    auto st = db.Use("INSERT INTO scan_reservations (txid, vout, spend_id) VALUES (?1,?2,?3)");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, bitcoin::HashToDisplayHex(o.txid)).Bind(2, static_cast<std::int64_t>(o.n)).Bind(3, spend_id);
    KRAY_TRY((*st)->Run());
  }
  return Ok();
}

Status ReleaseReservations(store::Database& db, std::string_view spend_id) {
  auto st = db.Use("DELETE FROM scan_reservations WHERE spend_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, spend_id);
  return (*st)->Run();
}

Result<std::optional<std::string>> ReservedBy(store::Database& db, const bitcoin::OutPoint& outpoint) {
  auto st = db.Use("SELECT spend_id FROM scan_reservations WHERE txid=?1 AND vout=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, bitcoin::HashToDisplayHex(outpoint.txid)).Bind(2, static_cast<std::int64_t>(outpoint.n));
  return store::FirstRow<std::string>(**st, [](const store::Statement& s) { return s.Text(0); });
}

}  // namespace kray::bridge::scan
