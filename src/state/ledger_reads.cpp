// Ledger reads: pooled read connections, queries, conservation (ledger.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "kray/state/conservation.h"
#include "kray/state/leaves.h"
#include "kray/state/op_log.h"
#include "kray/state/tx_message.h"
#include "ledger_impl.h"

namespace kray::state {
namespace {

constexpr int kMaxOffset = 10000;  // offset paging is kept for old clients, bounded; use cursors
// Reads take what the history index has not reached from the log itself
// (history_index.h); past `max_tail` operations (LedgerOptions) they refuse
// instead: a node rebuilding the index after an upgrade, or one whose index
// is failing. Call inside the log snapshot the tail is read from.
Status CheckHistoryTail(store::Database& db, std::uint64_t indexed_seq, std::uint64_t max_tail) {
  auto last = LastSeq(db);
  if (!last.ok()) return std::move(last).error();
  if (*last > indexed_seq && *last - indexed_seq > max_tail) {
    return Error::Unavailable("history_catching_up", "the history index is " + std::to_string(*last - indexed_seq) +
                                                         " operations behind the log (rebuilding); retry shortly");
  }
  return Ok();
}

Account ReadAccount(const store::Statement& s) {
  Account a;
  a.account_id = s.Text(0);
  a.l1_address = s.Text(1);
  a.pubkey_hex = s.Text(2);
  a.nonce = static_cast<std::uint64_t>(s.Int64(3));
  a.created_at = s.Int64(4);
  return a;
}

Status FillBalances(store::Database& db, Account& a) {
  auto st = db.Use("SELECT asset, available, staked, locked FROM balances WHERE account_id=?1 ORDER BY asset");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, a.account_id);
  auto rows = store::CollectRows<Balance>(**st, [](const store::Statement& s) {
    return Balance{s.Text(0), static_cast<Amount>(s.Int64(1)), static_cast<Amount>(s.Int64(2)),
                   static_cast<Amount>(s.Int64(3))};
  });
  if (!rows.ok()) return std::move(rows).error();
  a.balances = std::move(*rows);
  return Ok();
}

}  // namespace

// The account's rows not yet written back (unwritten_rows.h), for a read
// inside `db`'s open snapshot.
Status Ledger::Impl::ApplyUnwritten(store::Database& db, Account& a) const {
  auto unwritten = this->unwritten.FindIn(a.account_id, db);
  if (!unwritten.ok()) return std::move(unwritten).error();
  if (*unwritten) (*unwritten)->ApplyTo(a);
  return Ok();
}

namespace {

Error OffsetTooLarge() {
  return Error::Invalid("invalid_field", "offset is limited to " + std::to_string(kMaxOffset) +
                                             "; page with the 'before' cursor instead");
}

// A stored key from its point (cheap) when its y is stored and forms one
// with x, else its bytes to parse at first use.
KeyCache::Entry StoredKey(const crypto::XOnlyPubKey& x, const Bytes& y) {
  if (y.size() == 32) {
    crypto::FieldBytes fy;
    std::copy(y.begin(), y.end(), fy.begin());
    if (auto parsed = crypto::VerifyingKey::FromPoint(x, fy)) return *parsed;
  }
  return x;
}

// An account's key and its stored point's y, in account-id order.
constexpr const char* kKeysWithPoints =
    "SELECT a.account_id, a.pubkey, p.y FROM accounts a LEFT JOIN key_points p ON p.account_id = a.account_id ";

}  // namespace

Result<std::optional<crypto::VerifyingKey>> Ledger::Impl::BoundKey(const std::string& id) {
  if (auto k = keys.Get(id)) return k;
  auto lease = readers.Acquire();
  if (!lease.ok()) return std::move(lease).error();
  auto st = lease->db().Use(std::string(kKeysWithPoints) + "WHERE a.account_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  std::optional<crypto::VerifyingKey> parsed;
  bool bound = false;
  Status read = store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    if (r.IsNull(1) || r.Text(1).empty()) return Ok();
    bound = true;
    auto key = FromHexFixed<32>(r.Text(1));
    if (!key) return Error::Internal("stored pubkey of " + id + " is not 32 bytes of hex");
    auto entry = StoredKey(*key, r.Blob(2));
    if (auto* from_point = std::get_if<crypto::VerifyingKey>(&entry))
      parsed = *from_point;
    else
      parsed = crypto::VerifyingKey::Parse(*key);
    return Ok();
  });
  if (!read.ok()) return std::move(read).error();
  if (!bound) return std::optional<crypto::VerifyingKey>();
  if (!parsed) {
    return Error::Unauthorized("invalid_signature",
                               "the key bound to " + id + " is not a point on the curve: no signature can verify");
  }
  keys.Put(id, *parsed);
  return parsed;
}

void Ledger::Impl::PreloadKeys() {
  constexpr int kChunk = 4096;
  const auto t0 = std::chrono::steady_clock::now();
  std::string after;  // account_id of the last row read ("" sorts first)
  std::vector<std::pair<std::string, KeyCache::Entry>> chunk;
  // Sized once from the account count (O(1)); a failed read only skips it.
  (void)readers.With([&](store::Database& db) -> Status {
    auto n = store::QueryInt(db, "SELECT value FROM counters WHERE name='accounts'");
    if (n.ok() && *n > 0) keys.Reserve(static_cast<std::size_t>(*n));
    return Ok();
  });
  std::uint64_t from_points = 0;
  while (!stopping.load(std::memory_order_relaxed)) {
    chunk.clear();
    int rows = 0;
    Status read = readers.With([&](store::Database& db) -> Status {
      auto st = db.Use(std::string(kKeysWithPoints) +
                       "WHERE a.account_id > ?1 AND a.pubkey IS NOT NULL ORDER BY a.account_id LIMIT ?2");
      if (!st.ok()) return std::move(st).error();
      (*st)->Bind(1, after).Bind(2, static_cast<std::int64_t>(kChunk));
      return store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
        ++rows;
        after = r.Text(0);
        // Bad hex is left to BoundKey, which reports it.
        if (auto bytes = FromHexFixed<32>(r.Text(1))) {
          chunk.emplace_back(after, StoredKey(*bytes, r.Blob(2)));
          from_points += std::holds_alternative<crypto::VerifyingKey>(chunk.back().second) ? 1 : 0;
        }
        return Ok();
      });
    });
    if (!read.ok()) {
      spdlog::warn("key preload stopped: {}", read.error().message);
      return;
    }
    metrics.keys_preloaded.Inc(keys.Preload(chunk));
    if (rows < kChunk || keys.size() >= KeyCache::kPreloadEntries) break;
  }
  metrics.keys_preloaded_from_points.Inc(from_points);
  spdlog::info("key cache: {} bound keys preloaded ({} read with their stored points) in {:.1f} s",
               metrics.keys_preloaded.value(), from_points,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

Result<ResolvedAccount> Ledger::ResolveAccount(std::string_view who) const {
  return state::ResolveAccount(impl_->options.params, who);
}

Status Ledger::WithReader(const std::function<Status(store::Database&)>& fn) const {
  auto lease = impl_->readers.Acquire();
  if (!lease.ok()) return std::move(lease).error();
  // Accounts read inside (LoadAccountState) with the rows not yet written
  // back (unwritten_rows.h). A snapshot that turned out older than a
  // write-back whose rows the node no longer holds is read again, in a new
  // one (`snapshot_stale`: a snapshot held ~2 s or more).
  RedoScope unwritten(&impl_->unwritten);
  Status s = Ok();
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = fn(lease->db());
    if (s.ok() || s.error().code != "snapshot_stale") break;
  }
  return s;
}

Result<Account> Ledger::GetAccount(std::string_view who) const {
  auto id = ResolveAccount(who);
  if (!id.ok()) return std::move(id).error();
  AccountReadCache::Ticket ticket;  // taken before the snapshot below (see account_read_cache.h)
  if (auto cached = impl_->accounts.Find(id->account_id, &ticket)) return std::move(*cached);
  Account a;
  Status s = WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    auto st = db.Use("SELECT account_id, l1_address, pubkey, nonce, created_at FROM accounts WHERE account_id=?1");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, id->account_id);
    auto row = store::FirstRow<Account>(**st, ReadAccount);
    if (!row.ok()) return std::move(row).error();
    if (!row->has_value()) return Error::NotFound("account_not_found", "account " + std::string(who) + " not found");
    a = std::move(**row);
    KRAY_TRY(FillBalances(db, a));
    return impl_->ApplyUnwritten(db, a);
  });
  if (!s.ok()) return std::move(s).error();
  impl_->accounts.Insert(ticket, a);
  return a;
}

Result<std::vector<Account>> Ledger::ListAccounts(int limit, std::string_view after_id, int offset) const {
  limit = std::clamp(limit, 1, 1000);
  if (offset < 0 || offset > kMaxOffset) return OffsetTooLarge();
  std::vector<Account> out;
  Status s = WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    auto st = db.Use(
        "SELECT account_id, l1_address, pubkey, nonce, created_at FROM accounts WHERE account_id > ?1 "
        "ORDER BY account_id LIMIT ?2 OFFSET ?3");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, after_id).Bind(2, static_cast<std::int64_t>(limit)).Bind(3, static_cast<std::int64_t>(offset));
    auto rows = store::CollectRows<Account>(**st, ReadAccount);
    if (!rows.ok()) return std::move(rows).error();
    out = std::move(*rows);
    for (auto& a : out) {
      KRAY_TRY(FillBalances(db, a));
      KRAY_TRY(impl_->ApplyUnwritten(db, a));
    }
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::vector<Operation>> Ledger::AccountOperations(std::string_view who, std::uint64_t before, int limit,
                                                         int offset) const {
  auto id = ResolveAccount(who);
  if (!id.ok()) return std::move(id).error();
  limit = std::clamp(limit, 1, 1000);
  if (offset < 0 || offset > kMaxOffset) return OffsetTooLarge();
  const auto want = static_cast<std::size_t>(limit + offset);
  // The index first, then the log: the log's snapshot is the later one, so
  // it holds everything the index does and what came after.
  auto indexed = impl_->history->AccountSeqs(AccountKey(id->account_id), before, want);
  if (!indexed.ok()) return std::move(indexed).error();
  std::vector<Operation> out;
  Status s = WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    KRAY_TRY(CheckHistoryTail(db, indexed->indexed_seq, impl_->options.history_max_tail));
    auto seqs = SeqsTouchingAfter(db, {kAccountLeaf, id->account_id}, indexed->indexed_seq, before, want);
    if (!seqs.ok()) return std::move(seqs).error();
    seqs->insert(seqs->end(), indexed->seqs.begin(), indexed->seqs.end());
    if (seqs->size() > want) seqs->resize(want);
    const LeafId leaf{kAccountLeaf, id->account_id};
    for (std::size_t i = static_cast<std::size_t>(offset); i < seqs->size(); ++i) {
      auto op = OperationsInRange(db, (*seqs)[i], (*seqs)[i], 1);
      if (!op.ok()) return std::move(op).error();
      // The log is the truth: a row of an edited or damaged index is left out.
      if (op->empty() ||
          std::find(op->front().touched.begin(), op->front().touched.end(), leaf) == op->front().touched.end()) {
        spdlog::warn("history index: operation {} is indexed for {} but the log disagrees", (*seqs)[i], id->account_id);
        continue;
      }
      out.push_back(std::move(op->front()));
    }
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<AccountStats> Ledger::GetAccountStats(std::string_view who) const {
  auto acct = GetAccount(who);
  if (!acct.ok()) return std::move(acct).error();
  AccountStats out;
  out.account_id = acct->account_id;
  auto indexed = impl_->history->CountAccount(AccountKey(out.account_id));  // before the log's snapshot
  if (!indexed.ok()) return std::move(indexed).error();
  Status s = WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    // The history index's count, the log's tail, and the counters the
    // sequencer keeps on the account row: no scan of operation records.
    KRAY_TRY(CheckHistoryTail(db, indexed->indexed_seq, impl_->options.history_max_tail));
    auto tail = SeqsTouchingAfter(db, LeafId{kAccountLeaf, out.account_id}, indexed->indexed_seq, 0);
    if (!tail.ok()) return std::move(tail).error();
    auto gas = db.Use("SELECT nonce, gas_spent FROM accounts WHERE account_id=?1");
    if (!gas.ok()) return std::move(gas).error();
    (*gas)->Bind(1, out.account_id);
    auto row = store::FirstRow<std::pair<std::int64_t, std::int64_t>>(
        **gas, [](const store::Statement& r) { return std::make_pair(r.Int64(0), r.Int64(1)); });
    if (!row.ok()) return std::move(row).error();
    out.tx_count = indexed->count + tail->size();
    out.sent_count = row->has_value() ? static_cast<std::uint64_t>((*row)->first) : 0;
    out.received_count = out.tx_count > out.sent_count ? out.tx_count - out.sent_count : 0;
    out.gas_spent = row->has_value() ? static_cast<Amount>((*row)->second) : 0;
    auto unwritten = impl_->unwritten.FindIn(out.account_id, db);
    if (!unwritten.ok()) return std::move(unwritten).error();
    if (*unwritten && (*unwritten)->own) {
      const auto& own = *(*unwritten)->own;
      out.sent_count = own.nonce;
      out.gas_spent = own.gas_spent;
      out.received_count = out.tx_count > out.sent_count ? out.tx_count - out.sent_count : 0;
    }
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::optional<Operation>> Ledger::FindCommitted(const std::string& hash_hex) const {
  std::optional<Operation> found;
  auto id = FromHexFixed<32>(hash_hex);
  if (!id) return found;
  auto hit = impl_->history->FindHash(*id);  // before the log's snapshot
  if (!hit.ok()) return std::move(hit).error();
  Status s = WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    // The index names candidates (ids that share a prefix; rows of an edited
    // file): the log is the truth, the one with this id is the answer.
    for (std::uint64_t seq : hit->seqs) {
      auto ops = OperationsInRange(db, seq, seq, 1);
      if (!ops.ok()) return std::move(ops).error();
      if (!ops->empty() && ops->front().hash == hash_hex) {
        found = std::move(ops->front());
        return Ok();
      }
    }
    KRAY_TRY(CheckHistoryTail(db, hit->indexed_seq, impl_->options.history_max_tail));
    auto op = OperationByIdAfter(db, *id, hit->indexed_seq);
    if (!op.ok()) return std::move(op).error();
    found = std::move(*op);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return found;
}

Result<Ledger::FoundOperation> Ledger::GetOperation(std::string_view hash_hex) const {
  std::string h(hash_hex);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  auto committed = FindCommitted(h);
  if (!committed.ok()) return std::move(committed).error();
  if (*committed) return FoundOperation{std::move(**committed), false};
  if (impl_->options.between_log_and_pending) impl_->options.between_log_and_pending();
  if (auto p = impl_->pending.Find(h)) return FoundOperation{std::move(*p), true};
  // Not pending now, not in the log a moment ago: it may have committed in
  // between (the sequencer removes an operation from pending after its
  // COMMIT), so the log is asked again before answering "not found".
  committed = FindCommitted(h);
  if (!committed.ok()) return std::move(committed).error();
  if (*committed) return FoundOperation{std::move(**committed), false};
  return Error::NotFound("tx_not_found", "transaction " + std::string(hash_hex) + " not found");
}

std::vector<Operation> Ledger::Pending(int limit) const {
  return impl_->pending.Oldest(static_cast<std::size_t>(std::clamp(limit, 1, 1000)));
}

Result<TxStats> Ledger::GetTxStats() const {
  TxStats out;
  out.pending = impl_->pending.size();
  Status s = WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    auto st = db.Use("SELECT type, count, gas FROM op_stats");
    if (!st.ok()) return std::move(st).error();
    KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
      auto n = static_cast<std::uint64_t>(r.Int64(1));
      out.by_type[r.Text(0)] = n;
      out.total += n;
      out.gas_collected += static_cast<Amount>(r.Int64(2));
      return Ok();
    }));
    auto accounts = store::QueryInt(db, "SELECT value FROM counters WHERE name='accounts'");
    if (!accounts.ok()) return std::move(accounts).error();
    out.accounts = static_cast<std::uint64_t>(*accounts);
    auto supply = LoadSupply(db, kGasAsset);
    if (!supply.ok()) return std::move(supply).error();
    out.gas_burned = supply->burned;
    out.fee_pool = supply->fee_pool;
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<ConservationReport> Ledger::CheckConservation() const {
  Result<ConservationReport> out = Error::Internal("unreachable");
  Status s = WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);  // every sum sees the same committed state
    out = state::CheckConservation(db, impl_->registry);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

}  // namespace kray::state
