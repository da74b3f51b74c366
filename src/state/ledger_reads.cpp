// Ledger reads: pooled read connections (WAL readers), queries, conservation.
#include <algorithm>
#include <cctype>

#include "kray/bitcoin/taproot_key.h"
#include "kray/state/tx_message.h"
#include "kray/state/tx_query.h"
#include "ledger_impl.h"

namespace kray::state {
namespace {

// Returns a reader to the pool on scope exit.
class ReaderLease {
 public:
  explicit ReaderLease(const Ledger::Impl* impl) : impl_(impl) {
    auto r = impl->AcquireReader();
    if (r.ok())
      db_ = std::move(*r);
    else
      err_ = std::move(r).error();
  }
  ~ReaderLease() {
    if (db_) impl_->ReleaseReader(std::move(db_));
  }
  bool ok() const { return db_ != nullptr; }
  const Error& error() const { return err_; }
  store::Database& db() { return *db_; }

 private:
  const Ledger::Impl* impl_;
  std::unique_ptr<store::Database> db_;
  Error err_;
};

#define KRAY_LEASE(lease)         \
  ReaderLease lease(impl_.get()); \
  if (!lease.ok()) return lease.error()

struct Use {
  store::Statement* s;
  ~Use() { s->Reset(); }
};

constexpr const char* kTxCols =
    "seq, tx_hash, type, COALESCE(from_id,''), COALESCE(to_id,''), to_address, asset, amount, gas_fee, nonce, "
    "signature, sig_scheme, data, status, created_at, COALESCE(confirmed_at,0), COALESCE(batch_id,-1), signed_from, "
    "signed_to";

TxRecord ReadTx(const store::Statement& s) {
  TxRecord t;
  t.seq = static_cast<std::uint64_t>(s.Int64(0));
  t.tx_hash = s.Text(1);
  t.type = s.Text(2);
  t.from_id = s.Text(3);
  t.to_id = s.Text(4);
  t.to_address = s.Text(5);
  t.asset = s.Text(6);
  t.amount = static_cast<Amount>(s.Int64(7));
  t.gas_fee = static_cast<Amount>(s.Int64(8));
  t.nonce = static_cast<std::uint64_t>(s.Int64(9));
  t.signature = s.Text(10);
  t.sig_scheme = s.Text(11);
  t.data = s.Text(12);
  t.status = s.Text(13);
  t.created_at = s.Int64(14);
  t.confirmed_at = s.Int64(15);
  t.batch_id = s.Int64(16);
  t.signed_from = s.Text(17);
  t.signed_to = s.Text(18);
  return t;
}

Result<std::vector<TxRecord>> QueryTxs(store::Database& db, const std::string& sql,
                                       const std::function<void(store::Statement&)>& bind) {
  auto st = db.Cached(sql);
  if (!st.ok()) return std::move(st).error();
  Use u{*st};
  bind(**st);
  std::vector<TxRecord> out;
  for (;;) {
    auto r = (*st)->Step();
    if (!r.ok()) return std::move(r).error();
    if (!*r) break;
    out.push_back(ReadTx(**st));
  }
  return out;
}

Status FillBalances(store::Database& db, Account& a) {
  auto st = db.Cached("SELECT asset, available, staked, locked FROM balances WHERE account_id=? ORDER BY asset");
  if (!st.ok()) return std::move(st).error();
  Use u{*st};
  (*st)->Bind(1, a.account_id);
  for (;;) {
    auto r = (*st)->Step();
    if (!r.ok()) return std::move(r).error();
    if (!*r) break;
    Balance b;
    b.asset = (*st)->Text(0);
    b.available = static_cast<Amount>((*st)->Int64(1));
    b.staked = static_cast<Amount>((*st)->Int64(2));
    b.locked = static_cast<Amount>((*st)->Int64(3));
    a.balances.push_back(std::move(b));
  }
  return Ok();
}

Account ReadAccount(const store::Statement& s) {
  Account a;
  a.account_id = s.Text(0);
  a.l1_address = s.Text(1);
  a.pubkey_hex = s.IsNull(2) ? "" : s.Text(2);
  a.nonce = static_cast<std::uint64_t>(s.Int64(3));
  a.created_at = s.Int64(4);
  return a;
}

void ClampPage(int& limit, int& offset) {
  limit = std::clamp(limit, 1, 1000);
  offset = std::max(offset, 0);
}

}  // namespace

Result<std::vector<TxRecord>> TransactionsInSeqRange(store::Database& db, std::int64_t first_seq,
                                                     std::int64_t last_seq) {
  return QueryTxs(db, std::string("SELECT ") + kTxCols + " FROM transactions WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
                  [&](store::Statement& s) { s.Bind(1, first_seq).Bind(2, last_seq); });
}

Result<std::optional<TxRecord>> TransactionByHash(store::Database& db, std::string_view tx_hash) {
  std::string h(tx_hash);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  auto r = QueryTxs(db, std::string("SELECT ") + kTxCols + " FROM transactions WHERE tx_hash=?",
                    [&](store::Statement& s) { s.Bind(1, h); });
  if (!r.ok()) return std::move(r).error();
  if (r->empty()) return std::optional<TxRecord>();
  return std::optional<TxRecord>(std::move(r->front()));
}

Result<std::unique_ptr<store::Database>> Ledger::Impl::AcquireReader() const {
  {
    std::lock_guard<std::mutex> lk(readers_mu);
    if (!readers.empty()) {
      auto db = std::move(readers.back());
      readers.pop_back();
      return db;
    }
  }
  store::OpenOptions oo;
  oo.read_only = true;
  oo.migrate = false;
  oo.cache_size_kib = 16384;
  return store::Database::Open(db_path, oo);
}

void Ledger::Impl::ReleaseReader(std::unique_ptr<store::Database> db) const {
  std::lock_guard<std::mutex> lk(readers_mu);
  if (readers.size() < std::max<std::size_t>(opts.read_connections, 1) * 4) readers.push_back(std::move(db));
}

Result<std::optional<crypto::XOnlyPubKey>> Ledger::Impl::BoundKey(const std::string& id) const {
  {
    std::shared_lock<std::shared_mutex> lk(keys_mu);
    if (auto it = keys.find(id); it != keys.end()) return std::optional<crypto::XOnlyPubKey>(it->second);
  }
  ReaderLease lease(this);
  if (!lease.ok()) return lease.error();
  auto st = lease.db().Cached("SELECT pubkey FROM accounts WHERE account_id=?");
  if (!st.ok()) return std::move(st).error();
  Use u{*st};
  (*st)->Bind(1, id);
  auto r = (*st)->Step();
  if (!r.ok()) return std::move(r).error();
  if (!*r || (*st)->IsNull(0)) return std::optional<crypto::XOnlyPubKey>();
  auto key = FromHexFixed<32>((*st)->Text(0));
  if (!key) return Error::Internal("stored pubkey of " + id + " is not 32 bytes of hex");
  std::unique_lock<std::shared_mutex> lk(keys_mu);
  keys[id] = *key;
  return std::optional<crypto::XOnlyPubKey>(*key);
}

Result<std::string> Ledger::ResolveAccountId(std::string_view who) const {
  if (who.substr(0, 5) == "kray_") {
    if (!IsAccountId(who))
      return Error::Invalid("invalid_account", "'" + std::string(who) + "' is not a valid account id");
    return std::string(who);
  }
  std::string lower(who);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto key = bitcoin::DecodeP2trAddress(params().hrp(), lower);
  if (!key.ok()) {
    return Error::Invalid("invalid_account",
                          "'" + std::string(who) + "' is neither an account id nor a P2TR address of this network");
  }
  return AccountIdFromAddress(lower);
}

Status Ledger::WithReader(const std::function<Status(store::Database&)>& fn) const {
  KRAY_LEASE(lease);
  return fn(lease.db());
}

Result<Account> Ledger::GetAccount(std::string_view who) const {
  auto id = ResolveAccountId(who);
  if (!id.ok()) return std::move(id).error();
  KRAY_LEASE(lease);
  auto st =
      lease.db().Cached("SELECT account_id, l1_address, pubkey, nonce, created_at FROM accounts WHERE account_id=?");
  if (!st.ok()) return std::move(st).error();
  Account a;
  {
    Use u{*st};
    (*st)->Bind(1, *id);
    auto r = (*st)->Step();
    if (!r.ok()) return std::move(r).error();
    if (!*r) return Error::NotFound("account_not_found", "account " + std::string(who) + " not found");
    a = ReadAccount(**st);
  }
  KRAY_TRY(FillBalances(lease.db(), a));
  return a;
}

Result<std::vector<Account>> Ledger::ListAccounts(int limit, int offset) const {
  ClampPage(limit, offset);
  KRAY_LEASE(lease);
  std::vector<Account> out;
  {
    auto st = lease.db().Cached(
        "SELECT account_id, l1_address, pubkey, nonce, created_at FROM accounts ORDER BY created_at, account_id "
        "LIMIT ? OFFSET ?");
    if (!st.ok()) return std::move(st).error();
    Use u{*st};
    (*st)->Bind(1, static_cast<std::int64_t>(limit)).Bind(2, static_cast<std::int64_t>(offset));
    for (;;) {
      auto r = (*st)->Step();
      if (!r.ok()) return std::move(r).error();
      if (!*r) break;
      out.push_back(ReadAccount(**st));
    }
  }
  for (auto& a : out) KRAY_TRY(FillBalances(lease.db(), a));
  return out;
}

Result<std::vector<TxRecord>> Ledger::AccountTransactions(std::string_view who, int limit, int offset) const {
  auto id = ResolveAccountId(who);
  if (!id.ok()) return std::move(id).error();
  ClampPage(limit, offset);
  KRAY_LEASE(lease);
  std::string sql = std::string("SELECT ") + kTxCols + " FROM transactions WHERE seq IN (" +
                    "SELECT seq FROM transactions WHERE from_id=?1 UNION SELECT seq FROM transactions WHERE to_id=?1) "
                    "ORDER BY seq DESC LIMIT ?2 OFFSET ?3";
  return QueryTxs(lease.db(), sql, [&](store::Statement& s) {
    s.Bind(1, *id).Bind(2, static_cast<std::int64_t>(limit)).Bind(3, static_cast<std::int64_t>(offset));
  });
}

Result<AccountStats> Ledger::GetAccountStats(std::string_view who) const {
  auto acct = GetAccount(who);
  if (!acct.ok()) return std::move(acct).error();
  KRAY_LEASE(lease);
  AccountStats s;
  s.account_id = acct->account_id;
  auto st = lease.db().Cached(
      "SELECT "
      " (SELECT COUNT(*) FROM transactions WHERE from_id=?1),"
      " (SELECT COUNT(*) FROM transactions WHERE to_id=?1),"
      " (SELECT COALESCE(SUM(gas_fee),0) FROM transactions WHERE from_id=?1),"
      " (SELECT COUNT(*) FROM transactions WHERE to_id=?1 AND type='deposit'),"
      " (SELECT COALESCE(SUM(amount),0) FROM transactions WHERE to_id=?1 AND type='deposit'),"
      " (SELECT COUNT(*) FROM transactions WHERE from_id=?1 AND type='withdrawal'),"
      " (SELECT COALESCE(SUM(amount),0) FROM transactions WHERE from_id=?1 AND type='withdrawal'),"
      " (SELECT COUNT(*) FROM transactions WHERE from_id=?1 AND to_id=?1)");
  if (!st.ok()) return std::move(st).error();
  Use u{*st};
  (*st)->Bind(1, s.account_id);
  auto r = (*st)->Step();
  if (!r.ok()) return std::move(r).error();
  s.sent_count = static_cast<std::uint64_t>((*st)->Int64(0));
  s.received_count = static_cast<std::uint64_t>((*st)->Int64(1));
  s.gas_spent = static_cast<Amount>((*st)->Int64(2));
  s.deposit_count = static_cast<std::uint64_t>((*st)->Int64(3));
  s.deposited = static_cast<Amount>((*st)->Int64(4));
  s.withdrawal_count = static_cast<std::uint64_t>((*st)->Int64(5));
  s.withdrawn = static_cast<Amount>((*st)->Int64(6));
  s.tx_count = s.sent_count + s.received_count - static_cast<std::uint64_t>((*st)->Int64(7));
  return s;
}

Result<TxRecord> Ledger::GetTransaction(std::string_view hash) const {
  std::string h(hash);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  KRAY_LEASE(lease);
  auto r = TransactionByHash(lease.db(), h);
  if (!r.ok()) return std::move(r).error();
  if (r->has_value()) return std::move(**r);
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    for (const auto& [t, rec] : impl_->pending)
      if (rec.tx_hash == h) return rec;
  }
  return Error::NotFound("tx_not_found", "transaction " + std::string(hash) + " not found");
}

std::vector<TxRecord> Ledger::Pending(int limit) const {
  limit = std::clamp(limit, 1, 1000);
  std::vector<TxRecord> out;
  std::lock_guard<std::mutex> lk(impl_->mu);
  for (const auto& [t, rec] : impl_->pending) {
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(rec);
  }
  return out;
}

Result<TxStats> Ledger::GetTxStats() const {
  TxStats s;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    s.pending = impl_->pending.size();
  }
  KRAY_LEASE(lease);
  auto& db = lease.db();
  {
    auto st = db.Cached("SELECT type, COUNT(*), COALESCE(SUM(gas_fee),0) FROM transactions GROUP BY type");
    if (!st.ok()) return std::move(st).error();
    Use u{*st};
    for (;;) {
      auto r = (*st)->Step();
      if (!r.ok()) return std::move(r).error();
      if (!*r) break;
      auto n = static_cast<std::uint64_t>((*st)->Int64(1));
      s.by_type[(*st)->Text(0)] = n;
      s.total += n;
      s.gas_collected += static_cast<Amount>((*st)->Int64(2));
    }
  }
  {
    auto st = db.Cached(
        "SELECT (SELECT COUNT(*) FROM accounts), COALESCE((SELECT burned FROM supply WHERE asset=?1),0),"
        " COALESCE((SELECT fee_pool FROM supply WHERE asset=?1),0)");
    if (!st.ok()) return std::move(st).error();
    Use u{*st};
    (*st)->Bind(1, kGasAsset);
    auto r = (*st)->Step();
    if (!r.ok()) return std::move(r).error();
    s.accounts = static_cast<std::uint64_t>((*st)->Int64(0));
    s.gas_burned = static_cast<Amount>((*st)->Int64(1));
    s.fee_pool = static_cast<Amount>((*st)->Int64(2));
  }
  return s;
}

void Ledger::AddConservationTerm(std::string name, std::string sql) {
  std::lock_guard<std::mutex> lk(impl_->terms_mu);
  impl_->conservation_terms.emplace_back(std::move(name), std::move(sql));
}

Result<ConservationReport> Ledger::CheckConservation() const {
  std::vector<std::pair<std::string, std::string>> terms;
  {
    std::lock_guard<std::mutex> lk(impl_->terms_mu);
    terms = impl_->conservation_terms;
  }
  KRAY_LEASE(lease);
  // One read transaction so every sum sees the same committed state.
  KRAY_TRY(lease.db().Exec("BEGIN"));
  auto r = state::CheckConservation(lease.db(), terms);
  (void)lease.db().Exec("COMMIT");
  return r;
}

Result<ConservationReport> CheckConservation(store::Database& db,
                                             const std::vector<std::pair<std::string, std::string>>& extra_terms) {
  std::map<std::string, ConservationLine> lines;
  // SUMs are done in 128 bits here: SQLite's SUM would fail on int64 overflow,
  // which a broken state could cause.
  auto add = [](Amount& field, std::int64_t v) -> Status {
    if (v < 0) return Error::Internal("negative value in conservation sums");
    auto s = CheckedAdd(field, static_cast<Amount>(v));
    if (!s) return Error::Internal("conservation sum overflow");
    field = *s;
    return Ok();
  };
  {
    auto st = db.Prepare("SELECT asset, genesis_total, minted, burned, fee_pool FROM supply");
    if (!st.ok()) return std::move(st).error();
    for (;;) {
      auto r = st->Step();
      if (!r.ok()) return std::move(r).error();
      if (!*r) break;
      auto& l = lines[st->Text(0)];
      l.asset = st->Text(0);
      KRAY_TRY(add(l.genesis, st->Int64(1)));
      KRAY_TRY(add(l.minted, st->Int64(2)));
      KRAY_TRY(add(l.burned, st->Int64(3)));
      KRAY_TRY(add(l.fee_pool, st->Int64(4)));
    }
  }
  {
    auto st = db.Prepare("SELECT asset, available, staked, locked FROM balances");
    if (!st.ok()) return std::move(st).error();
    for (;;) {
      auto r = st->Step();
      if (!r.ok()) return std::move(r).error();
      if (!*r) break;
      auto& l = lines[st->Text(0)];
      l.asset = st->Text(0);
      for (int i = 1; i <= 3; ++i) KRAY_TRY(add(l.balances, st->Int64(i)));
    }
  }
  for (const auto& [name, sql] : extra_terms) {
    auto st = db.Prepare(sql);
    if (!st.ok()) return std::move(st).error();
    for (;;) {
      auto r = st->Step();
      if (!r.ok()) return std::move(r).error();
      if (!*r) break;
      auto& l = lines[st->Text(0)];
      l.asset = st->Text(0);
      KRAY_TRY(add(l.extra[name], st->Int64(1)));
    }
  }
  ConservationReport rep;
  rep.ok = true;
  for (auto& [asset, l] : lines) {
    u128 held = static_cast<u128>(l.balances) + l.fee_pool + l.burned;
    for (const auto& [n, v] : l.extra) held += v;
    u128 issued = static_cast<u128>(l.genesis) + l.minted;
    l.ok = held == issued;
    rep.ok = rep.ok && l.ok;
    rep.lines.push_back(l);
  }
  return rep;
}

}  // namespace kray::state
