// Reads of the operation log (see include/kray/state/op_log.h).
#include "kray/state/op_log.h"

#include <algorithm>
#include <cctype>

#include "kray/store/database.h"

namespace kray::state {
namespace {

constexpr const char* kOpCols =
    "seq, hash, type, auth, COALESCE(signer,''), nonce, scheme, signature, fields, evidence, timestamp, gas_fee, "
    "touched";

// Rows were written by this module; a row that does not decode is damage,
// reported as an internal error naming the seq.
Result<Operation> ReadOperation(const store::Statement& s) {
  Operation op;
  op.seq = static_cast<std::uint64_t>(s.Int64(0));
  op.hash = ToHex(s.Blob(1));
  op.type = s.Text(2);
  op.auth = static_cast<Auth>(s.Int64(3));
  op.signer = s.Text(4);
  op.nonce = static_cast<std::uint64_t>(s.Int64(5));
  op.scheme = static_cast<SigScheme>(s.Int64(6));
  op.signature = s.Blob(7);
  auto fields = DecodeFields(s.Blob(8));
  auto evidence = DecodeFields(s.Blob(9));
  auto touched = DecodeLeafIds(s.Blob(12));
  if (!fields.ok() || !evidence.ok() || !touched.ok())
    return Error::Internal("operation " + std::to_string(op.seq) + " is damaged in the store");
  op.fields = std::move(*fields);
  op.evidence = std::move(*evidence);
  op.touched = std::move(*touched);
  op.timestamp = s.Int64(10);
  op.gas_fee = static_cast<Amount>(s.Int64(11));
  return op;
}

Result<std::vector<Operation>> Collect(store::Statement& s) {
  std::vector<Operation> out;
  Status st = store::ForEachRow(s, [&](const store::Statement& row) -> Status {
    auto op = ReadOperation(row);
    if (!op.ok()) return std::move(op).error();
    out.push_back(std::move(*op));
    return Ok();
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

std::int64_t Clamp(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX));
}

}  // namespace

Result<std::vector<Operation>> OperationsInRange(store::Database& db, std::uint64_t first_seq, std::uint64_t last_seq,
                                                 std::size_t limit) {
  auto st =
      db.Use(std::string("SELECT ") + kOpCols + " FROM operations WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq LIMIT ?3");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, Clamp(first_seq)).Bind(2, Clamp(last_seq)).Bind(3, Clamp(limit));
  return Collect(**st);
}

Result<std::optional<Operation>> OperationByIdAfter(store::Database& db, const Hash256& id, std::uint64_t after_seq) {
  auto st = db.Use(std::string("SELECT ") + kOpCols + " FROM operations WHERE seq > ?1 AND hash = ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, Clamp(after_seq)).BindBlob(2, id);
  auto ops = Collect(**st);
  if (!ops.ok()) return std::move(ops).error();
  if (ops->empty()) return std::optional<Operation>();
  return std::optional<Operation>(std::move(ops->front()));
}

Result<std::vector<std::uint64_t>> SeqsTouchingAfter(store::Database& db, const LeafId& leaf, std::uint64_t after_seq,
                                                     std::uint64_t before, std::size_t limit) {
  auto st = db.Use("SELECT seq, touched FROM operations WHERE seq > ?1 AND seq < ?2 ORDER BY seq DESC");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, Clamp(after_seq)).Bind(2, before == 0 ? INT64_MAX : Clamp(before));
  std::vector<std::uint64_t> out;
  for (;;) {
    if (out.size() >= limit) break;
    auto more = (*st)->Step();
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
    const auto seq = static_cast<std::uint64_t>((*st)->Int64(0));
    auto touched = DecodeLeafIds((*st)->Blob(1));
    if (!touched.ok()) return Error::Internal("operation " + std::to_string(seq) + " is damaged in the store");
    if (std::find(touched->begin(), touched->end(), leaf) != touched->end()) out.push_back(seq);
  }
  return out;
}

Result<std::vector<Operation>> OperationsTouching(store::Database& db, const Hash256& key, std::uint64_t before,
                                                  std::size_t limit) {
  auto st = db.Use(std::string("SELECT ") + kOpCols +
                   " FROM operations WHERE seq IN (SELECT seq FROM op_index WHERE key=?1 AND seq < ?2 "
                   "ORDER BY seq DESC LIMIT ?3) ORDER BY seq DESC");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, key).Bind(2, before == 0 ? INT64_MAX : Clamp(before)).Bind(3, Clamp(limit));
  return Collect(**st);
}

Result<std::vector<Operation>> RecentOperations(store::Database& db, std::uint64_t before, std::size_t limit) {
  auto st = db.Use(std::string("SELECT ") + kOpCols + " FROM operations WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, before == 0 ? INT64_MAX : Clamp(before)).Bind(2, Clamp(limit));
  return Collect(**st);
}

Result<std::uint64_t> LastSeq(store::Database& db) {
  auto v = store::QueryInt(db, "SELECT MAX(seq) FROM operations");
  if (!v.ok()) return std::move(v).error();
  return static_cast<std::uint64_t>(*v);
}

}  // namespace kray::state
