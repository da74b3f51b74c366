// The scanner's tables (see scan_store.h).
#include "scan_store.h"

namespace kray::bridge::scan {
namespace {

constexpr const char* kDepositColumns =
    "txid, vout, height, block_hash, address_index, sats, runes, assets, required, status, detail, operation";

ObservedDeposit ReadDeposit(const store::Statement& s) {
  ObservedDeposit d;
  d.txid = s.Text(0);
  d.vout = static_cast<std::uint32_t>(s.Int64(1));
  d.height = static_cast<std::uint32_t>(s.Int64(2));
  d.block_hash = s.Text(3);
  d.address_index = static_cast<std::uint32_t>(s.Int64(4));
  d.sats = s.Int64(5);
  d.runes = s.Text(6);
  d.assets = s.Text(7);
  d.required = static_cast<std::uint32_t>(s.Int64(8));
  d.status = s.Text(9);
  d.detail = s.Text(10);
  d.operation = s.Text(11);
  return d;
}

BridgeAlarm ReadAlarm(const store::Statement& s) {
  BridgeAlarm a;
  a.id = s.Int64(0);
  a.txid = s.Text(1);
  a.vout = static_cast<std::uint32_t>(s.Int64(2));
  a.block_hash = s.Text(3);
  a.height = static_cast<std::uint32_t>(s.Int64(4));
  a.operation = s.Text(5);
  a.detected_at = s.Int64(6);
  a.status = s.Text(7);
  a.note = s.Text(8);
  return a;
}

std::string Sql(const std::string& head, const std::string& tail) {
  return head + kDepositColumns + tail;
}

}  // namespace

Result<std::optional<ScannedBlock>> Tip(store::Database& db) {
  auto st = db.Use("SELECT height, hash FROM scan_blocks ORDER BY height DESC LIMIT 1");
  if (!st.ok()) return std::move(st).error();
  auto row = store::FirstRow<std::pair<std::int64_t, Bytes>>(
      **st, [](const store::Statement& s) { return std::make_pair(s.Int64(0), s.Blob(1)); });
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<ScannedBlock>();
  if ((*row)->second.size() != 32) return Error::Internal("scan_blocks: a hash is not 32 bytes");
  ScannedBlock b;
  b.height = static_cast<std::uint32_t>((*row)->first);
  std::copy((*row)->second.begin(), (*row)->second.end(), b.hash.begin());
  return std::optional<ScannedBlock>(b);
}

Status PutBlock(store::Database& db, const ScannedBlock& block) {
  auto st = db.Use("INSERT INTO scan_blocks (height, hash) VALUES (?1, ?2)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(block.height)).BindBlob(2, block.hash);
  return (*st)->Run();
}

Status EraseBlock(store::Database& db, std::uint32_t height) {
  auto st = db.Use("DELETE FROM scan_blocks WHERE height=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(height));
  return (*st)->Run();
}

Result<std::optional<ObservedDeposit>> FindDeposit(store::Database& db, std::string_view txid, std::uint32_t vout) {
  auto st = db.Use(Sql("SELECT ", " FROM scan_deposits WHERE txid=?1 AND vout=?2"));
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(vout));
  return store::FirstRow<ObservedDeposit>(**st, ReadDeposit);
}

Status PutDeposit(store::Database& db, const ObservedDeposit& d, const std::string& inputs) {
  auto st = db.Use(
      "INSERT OR REPLACE INTO scan_deposits (txid, vout, height, block_hash, address_index, sats, runes, assets, "
      "required, status, detail, operation, inputs) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, d.txid).Bind(2, static_cast<std::int64_t>(d.vout)).Bind(3, static_cast<std::int64_t>(d.height));
  s.Bind(4, d.block_hash).Bind(5, static_cast<std::int64_t>(d.address_index)).Bind(6, d.sats).Bind(7, d.runes);
  s.Bind(8, d.assets).Bind(9, static_cast<std::int64_t>(d.required)).Bind(10, d.status).Bind(11, d.detail);
  s.Bind(12, d.operation).Bind(13, inputs);
  return s.Run();
}

Status EraseDeposit(store::Database& db, std::string_view txid, std::uint32_t vout) {
  auto st = db.Use("DELETE FROM scan_deposits WHERE txid=?1 AND vout=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(vout));
  return (*st)->Run();
}

Result<std::vector<ObservedDeposit>> DepositsAtHeight(store::Database& db, std::uint32_t height) {
  auto st = db.Use(Sql("SELECT ", " FROM scan_deposits WHERE height=?1 ORDER BY txid, vout"));
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(height));
  return store::CollectRows<ObservedDeposit>(**st, ReadDeposit);
}

Result<std::vector<ObservedDeposit>> DepositsAtIndex(store::Database& db, std::uint32_t index, int limit) {
  auto st =
      db.Use(Sql("SELECT ", " FROM scan_deposits WHERE address_index=?1 ORDER BY height DESC, txid, vout LIMIT ?2"));
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(index)).Bind(2, static_cast<std::int64_t>(limit));
  return store::CollectRows<ObservedDeposit>(**st, ReadDeposit);
}

Result<std::vector<ObservedDeposit>> MaturedDeposits(store::Database& db, std::uint32_t tip, int limit) {
  auto st =
      db.Use(Sql("SELECT ",
                 " FROM scan_deposits WHERE status IN ('confirming', 'reconfirming') AND height + required - 1 <= ?1 "
                 "ORDER BY height, txid, vout LIMIT ?2"));
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(tip)).Bind(2, static_cast<std::int64_t>(limit));
  return store::CollectRows<ObservedDeposit>(**st, ReadDeposit);
}

Result<std::string> DepositInputs(store::Database& db, std::string_view txid, std::uint32_t vout) {
  auto st = db.Use("SELECT inputs FROM scan_deposits WHERE txid=?1 AND vout=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(vout));
  auto row = store::FirstRow<std::string>(**st, [](const store::Statement& s) { return s.Text(0); });
  if (!row.ok()) return std::move(row).error();
  return row->value_or("");
}

Status SetDepositStatus(store::Database& db, std::string_view txid, std::uint32_t vout, std::string_view status,
                        std::string_view detail, std::string_view operation) {
  auto st = db.Use("UPDATE scan_deposits SET status=?3, detail=?4, operation=?5 WHERE txid=?1 AND vout=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(vout)).Bind(3, status).Bind(4, detail).Bind(5, operation);
  return (*st)->Run();
}

Status RetryFailed(store::Database& db) {
  return db.Exec("UPDATE scan_deposits SET status='confirming', detail='' WHERE status='failed'");
}

Status AddAlarm(store::Database& db, const BridgeAlarm& a) {
  auto st = db.Use(
      "INSERT INTO scan_alarms (txid, vout, block_hash, height, operation, detected_at, status, note) "
      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, a.txid).Bind(2, static_cast<std::int64_t>(a.vout)).Bind(3, a.block_hash);
  s.Bind(4, static_cast<std::int64_t>(a.height)).Bind(5, a.operation).Bind(6, a.detected_at).Bind(7, a.status);
  s.Bind(8, a.note);
  return s.Run();
}

Result<std::vector<BridgeAlarm>> ListAlarms(store::Database& db) {
  auto st = db.Use(
      "SELECT id, txid, vout, block_hash, height, operation, detected_at, status, note FROM scan_alarms "
      "ORDER BY id DESC LIMIT 1000");
  if (!st.ok()) return std::move(st).error();
  return store::CollectRows<BridgeAlarm>(**st, ReadAlarm);
}

Result<std::int64_t> CountOpenAlarms(store::Database& db) {
  return store::QueryInt(db, "SELECT COUNT(*) FROM scan_alarms WHERE status='open'");
}

Status ReconfirmAlarms(store::Database& db, std::string_view txid, std::uint32_t vout, const std::string& note) {
  auto st = db.Use("UPDATE scan_alarms SET status='reconfirmed', note=?3 WHERE txid=?1 AND vout=?2 AND status='open'");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(vout)).Bind(3, note);
  return (*st)->Run();
}

}  // namespace kray::bridge::scan
