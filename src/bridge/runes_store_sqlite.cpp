// SqliteRunesStore (see include/kray/bridge/runes_store_sqlite.h).
#include "kray/bridge/runes_store_sqlite.h"

#include <functional>

#include "kray/store/database.h"

namespace kray::bridge {
namespace {

Bytes U128Blob(u128 v) {
  Bytes out(16);
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

Result<u128> U128FromBlob(const Bytes& b) {
  if (b.size() != 16) return Error::Internal("runes_balances: amount is not 16 bytes");
  u128 v = 0;
  for (std::uint8_t byte : b) v = (v << 8) | byte;
  return v;
}

Result<Hash256> HashFromBlob(const Bytes& b) {
  if (b.size() != 32) return Error::Internal("runes store: a hash is not 32 bytes");
  Hash256 h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

}  // namespace

Result<std::optional<IndexedBlock>> SqliteRunesStore::Tip() {
  auto st = db_.Use("SELECT height, hash FROM runes_tip WHERE id=1");
  if (!st.ok()) return std::move(st).error();
  auto row = store::FirstRow<std::pair<std::int64_t, Bytes>>(
      **st, [](const store::Statement& s) { return std::make_pair(s.Int64(0), s.Blob(1)); });
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<IndexedBlock>();
  auto hash = HashFromBlob((*row)->second);
  if (!hash.ok()) return std::move(hash).error();
  return std::optional<IndexedBlock>(IndexedBlock{static_cast<std::uint32_t>((*row)->first), *hash});
}

Result<std::optional<RuneEntry>> SqliteRunesStore::Entry(const RuneId& id) {
  auto st = db_.Use("SELECT entry FROM runes_entries WHERE rune_block=?1 AND rune_tx=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(id.block)).Bind(2, static_cast<std::int64_t>(id.tx));
  auto blob = store::FirstRow<Bytes>(**st, [](const store::Statement& s) { return s.Blob(0); });
  if (!blob.ok()) return std::move(blob).error();
  if (!blob->has_value()) return std::optional<RuneEntry>();
  auto e = ParseRuneEntry(**blob);
  if (!e.ok()) return std::move(e).error();
  return std::optional<RuneEntry>(std::move(*e));
}

Result<std::vector<RuneEntry>> SqliteRunesStore::Entries() {
  auto st = db_.Use("SELECT entry FROM runes_entries ORDER BY rune_block, rune_tx");
  if (!st.ok()) return std::move(st).error();
  std::vector<RuneEntry> out;
  Status s = store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    auto e = ParseRuneEntry(r.Blob(0));
    if (!e.ok()) return std::move(e).error();
    out.push_back(std::move(*e));
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<RuneBalances> SqliteRunesStore::Balances(const OutPoint& outpoint) {
  auto st = db_.Use(
      "SELECT rune_block, rune_tx, amount FROM runes_balances WHERE txid=?1 AND vout=?2 "
      "ORDER BY rune_block, rune_tx");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, outpoint.txid).Bind(2, static_cast<std::int64_t>(outpoint.n));
  RuneBalances out;
  Status s = store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    auto amount = U128FromBlob(r.Blob(2));
    if (!amount.ok()) return std::move(amount).error();
    out.push_back({RuneId{static_cast<std::uint64_t>(r.Int64(0)), static_cast<std::uint32_t>(r.Int64(1))}, *amount});
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::vector<std::pair<OutPoint, u128>>> SqliteRunesStore::Holders(const RuneId& id) {
  auto st =
      db_.Use("SELECT txid, vout, amount FROM runes_balances WHERE rune_block=?1 AND rune_tx=?2 ORDER BY txid, vout");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(id.block)).Bind(2, static_cast<std::int64_t>(id.tx));
  std::vector<std::pair<OutPoint, u128>> out;
  Status s = store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    auto txid = HashFromBlob(r.Blob(0));
    if (!txid.ok()) return std::move(txid).error();
    auto amount = U128FromBlob(r.Blob(2));
    if (!amount.ok()) return std::move(amount).error();
    out.emplace_back(OutPoint{*txid, static_cast<std::uint32_t>(r.Int64(1))}, *amount);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::optional<RunesBlockUndo>> SqliteRunesStore::Undo(std::uint32_t height) {
  auto st = db_.Use("SELECT undo FROM runes_undo WHERE height=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(height));
  auto blob = store::FirstRow<Bytes>(**st, [](const store::Statement& s) { return s.Blob(0); });
  if (!blob.ok()) return std::move(blob).error();
  if (!blob->has_value()) return std::optional<RunesBlockUndo>();
  auto u = ParseRunesBlockUndo(**blob);
  if (!u.ok()) return std::move(u).error();
  return std::optional<RunesBlockUndo>(std::move(*u));
}

Status SqliteRunesStore::Apply(const RunesWriteBatch& batch) {
  auto run = [&](const std::string& sql, const std::function<void(store::Statement&)>& bind) -> Status {
    auto st = db_.Use(sql);
    if (!st.ok()) return std::move(st).error();
    bind(**st);
    return (*st)->Run();
  };
  if (batch.set_tip) {
    if (batch.tip) {
      KRAY_TRY(run("INSERT OR REPLACE INTO runes_tip (id, height, hash) VALUES (1, ?1, ?2)", [&](auto& s) {
        s.Bind(1, static_cast<std::int64_t>(batch.tip->height)).BindBlob(2, batch.tip->hash);
      }));
    } else {
      KRAY_TRY(run("DELETE FROM runes_tip", [](auto&) {}));
    }
  }
  for (const RuneEntry& e : batch.put_entries) {
    KRAY_TRY(run("INSERT OR REPLACE INTO runes_entries (rune_block, rune_tx, entry) VALUES (?1, ?2, ?3)", [&](auto& s) {
      s.Bind(1, static_cast<std::int64_t>(e.id.block)).Bind(2, static_cast<std::int64_t>(e.id.tx));
      s.BindBlob(3, SerializeRuneEntry(e));
    }));
  }
  for (const RuneId& id : batch.erase_entries) {
    KRAY_TRY(run("DELETE FROM runes_entries WHERE rune_block=?1 AND rune_tx=?2", [&](auto& s) {
      s.Bind(1, static_cast<std::int64_t>(id.block)).Bind(2, static_cast<std::int64_t>(id.tx));
    }));
  }
  for (const auto& entry : batch.put_balances) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const auto& outpoint = entry.first;
    const auto& balances = entry.second;
    // An outpoint's balances are replaced as a whole.
    KRAY_TRY(run("DELETE FROM runes_balances WHERE txid=?1 AND vout=?2",
                 [&](auto& s) { s.BindBlob(1, outpoint.txid).Bind(2, static_cast<std::int64_t>(outpoint.n)); }));
    for (const RuneAmount& a : balances) {
      KRAY_TRY(run("INSERT INTO runes_balances (txid, vout, rune_block, rune_tx, amount) VALUES (?1,?2,?3,?4,?5)",
                   [&](auto& s) {
                     s.BindBlob(1, outpoint.txid).Bind(2, static_cast<std::int64_t>(outpoint.n));
                     s.Bind(3, static_cast<std::int64_t>(a.id.block)).Bind(4, static_cast<std::int64_t>(a.id.tx));
                     s.BindBlob(5, U128Blob(a.amount));
                   }));
    }
  }
  for (const OutPoint& o : batch.erase_balances) {
    KRAY_TRY(run("DELETE FROM runes_balances WHERE txid=?1 AND vout=?2",
                 [&](auto& s) { s.BindBlob(1, o.txid).Bind(2, static_cast<std::int64_t>(o.n)); }));
  }
  if (batch.put_undo) {
    KRAY_TRY(run("INSERT OR REPLACE INTO runes_undo (height, undo) VALUES (?1, ?2)", [&](auto& s) {
      s.Bind(1, static_cast<std::int64_t>(batch.put_undo->block.height))
          .BindBlob(2, SerializeRunesBlockUndo(*batch.put_undo));
    }));
  }
  for (std::uint32_t h : batch.erase_undo) {
    KRAY_TRY(run("DELETE FROM runes_undo WHERE height=?1", [&](auto& s) { s.Bind(1, static_cast<std::int64_t>(h)); }));
  }
  return Ok();
}

Status SqliteRunesStore::Write(const RunesWriteBatch& batch) {
  if (db_.InTransaction()) {
    store::Savepoint sp(db_, "runes_write");
    KRAY_TRY(sp.status());
    KRAY_TRY(Apply(batch));
    return sp.Release();
  }
  store::Transaction tx(db_);
  KRAY_TRY(tx.status());
  KRAY_TRY(Apply(batch));
  return tx.Commit();
}

}  // namespace kray::bridge
