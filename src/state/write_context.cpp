// WriteContext: write-back cache of accounts, balances and supply with a
// per-unit overlay (one unit = one tx, all-or-nothing). See executor.h.
#include <array>
#include <optional>
#include <unordered_map>

#include "kray/state/executor.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

struct AcctState {
  std::string l1_address, pubkey;
  std::uint64_t nonce = 0;
  std::int64_t created_at = 0;
  bool in_db = false, dirty = false;
};
struct BalState {
  std::array<Amount, 3> v{0, 0, 0};  // available, staked, locked
  bool in_db = false, dirty = false;
};
struct SupplyState {
  Amount genesis = 0, minted = 0, burned = 0, fee_pool = 0;
  bool in_db = false, dirty = false;
};

std::string BalKey(std::string_view id, std::string_view asset) {
  std::string k;
  k.reserve(id.size() + asset.size() + 1);
  k.append(id).push_back('|');
  k.append(asset);
  return k;
}

// Resets a cached statement when leaving scope so no read snapshot lingers.
struct Use {
  store::Statement* s;
  ~Use() { s->Reset(); }
};

const char* BucketName(Bucket b) {
  return b == Bucket::kAvailable ? "available" : b == Bucket::kStaked ? "staked" : "locked";
}

}  // namespace

struct WriteContext::Impl {
  store::Database& db;
  const ChainParams& params;
  // Committed-but-unflushed and clean cached state.
  std::unordered_map<std::string, AcctState> accts;
  std::unordered_map<std::string, BalState> bals;
  std::unordered_map<std::string, SupplyState> supply;
  std::vector<std::string> dirty_accts, dirty_bals, dirty_supply;
  std::vector<TxRecord> unflushed_txs;
  // The current unit's overlay.
  std::unordered_map<std::string, AcctState> u_accts;
  std::unordered_map<std::string, BalState> u_bals;
  std::unordered_map<std::string, SupplyState> u_supply;
  std::vector<TxRecord> u_txs;
  std::vector<std::string> u_touched;
  bool in_unit = false, savepoint = false;
  // Set when db() could not flush or open the unit's savepoint: the unit's
  // SQL could then not be undone, so Flush() fails and the group rolls back.
  std::optional<Error> broken;
  std::int64_t next_seq = -1;
  std::int64_t unit_seq = -1;
  std::vector<TxRecord> applied;
  std::set<std::string> touched;

  Impl(store::Database& d, const ChainParams& p) : db(d), params(p) {}

  Result<store::Statement*> Stmt(const std::string& sql) { return db.Cached(sql); }

  // Looks an account up (overlay, cache, DB). nullptr if it does not exist.
  Result<const AcctState*> FindAcct(std::string_view id) {
    std::string key(id);
    if (auto it = u_accts.find(key); it != u_accts.end()) return &it->second;
    if (auto it = accts.find(key); it != accts.end()) return &it->second;
    auto st = Stmt("SELECT l1_address, pubkey, nonce, created_at FROM accounts WHERE account_id=?");
    if (!st.ok()) return std::move(st).error();
    Use u{*st};
    (*st)->Bind(1, id);
    auto r = (*st)->Step();
    if (!r.ok()) return std::move(r).error();
    if (!*r) return static_cast<const AcctState*>(nullptr);
    AcctState a;
    a.l1_address = (*st)->Text(0);
    a.pubkey = (*st)->IsNull(1) ? "" : (*st)->Text(1);
    a.nonce = static_cast<std::uint64_t>((*st)->Int64(2));
    a.created_at = (*st)->Int64(3);
    a.in_db = true;
    return &accts.emplace(key, std::move(a)).first->second;
  }
  // Mutable copy in the overlay (the account must exist).
  AcctState& MutAcct(std::string_view id, const AcctState& cur) {
    std::string key(id);
    auto it = u_accts.find(key);
    if (it != u_accts.end()) return it->second;
    return u_accts.emplace(key, cur).first->second;
  }

  Result<BalState> GetBal(std::string_view id, std::string_view asset) {
    std::string key = BalKey(id, asset);
    if (auto it = u_bals.find(key); it != u_bals.end()) return it->second;
    if (auto it = bals.find(key); it != bals.end()) return it->second;
    auto st = Stmt("SELECT available, staked, locked FROM balances WHERE account_id=? AND asset=?");
    if (!st.ok()) return std::move(st).error();
    Use u{*st};
    (*st)->Bind(1, id).Bind(2, asset);
    auto r = (*st)->Step();
    if (!r.ok()) return std::move(r).error();
    BalState b;
    if (*r) {
      for (int i = 0; i < 3; ++i) b.v[i] = static_cast<Amount>((*st)->Int64(i));
      b.in_db = true;
    }
    bals.emplace(key, b);
    return b;
  }
  void PutBal(std::string_view id, std::string_view asset, const BalState& b) {
    u_bals[BalKey(id, asset)] = b;
    u_touched.emplace_back(id);
  }

  Result<SupplyState> GetSupply(std::string_view asset) {
    std::string key(asset);
    if (auto it = u_supply.find(key); it != u_supply.end()) return it->second;
    if (auto it = supply.find(key); it != supply.end()) return it->second;
    auto st = Stmt("SELECT genesis_total, minted, burned, fee_pool FROM supply WHERE asset=?");
    if (!st.ok()) return std::move(st).error();
    Use u{*st};
    (*st)->Bind(1, asset);
    auto r = (*st)->Step();
    if (!r.ok()) return std::move(r).error();
    SupplyState s;
    if (*r) {
      s.genesis = static_cast<Amount>((*st)->Int64(0));
      s.minted = static_cast<Amount>((*st)->Int64(1));
      s.burned = static_cast<Amount>((*st)->Int64(2));
      s.fee_pool = static_cast<Amount>((*st)->Int64(3));
      s.in_db = true;
    }
    supply.emplace(key, s);
    return s;
  }

  Result<std::int64_t> NextSeq() {
    if (next_seq < 0) {
      auto st = Stmt("SELECT COALESCE(MAX(seq), 0) FROM transactions");
      if (!st.ok()) return std::move(st).error();
      Use u{*st};
      auto r = (*st)->Step();
      if (!r.ok()) return std::move(r).error();
      next_seq = (*st)->Int64(0) + 1;
    }
    return next_seq++;
  }

  Status FlushAll();
};

WriteContext::WriteContext(store::Database& db, const ChainParams& params)
    : impl_(std::make_unique<Impl>(db, params)) {}
WriteContext::~WriteContext() = default;

const ChainParams& WriteContext::params() const {
  return impl_->params;
}

void WriteContext::Begin() {
  auto& m = *impl_;
  m.u_accts.clear();
  m.u_bals.clear();
  m.u_supply.clear();
  m.u_txs.clear();
  m.u_touched.clear();
  m.in_unit = true;
  m.savepoint = false;
  m.unit_seq = m.next_seq;
}

Status WriteContext::Commit() {
  auto& m = *impl_;
  if (m.savepoint) {
    Status s = m.db.Exec("RELEASE kray_unit");
    if (!s.ok()) {
      Rollback();
      return s;
    }
  }
  for (auto& [k, a] : m.u_accts) {
    a.dirty = true;
    auto [it, inserted] = m.accts.insert_or_assign(k, std::move(a));
    (void)inserted;
    m.dirty_accts.push_back(k);
  }
  for (auto& [k, b] : m.u_bals) {
    b.dirty = true;
    m.bals.insert_or_assign(k, b);
    m.dirty_bals.push_back(k);
  }
  for (auto& [k, s] : m.u_supply) {
    s.dirty = true;
    m.supply.insert_or_assign(k, s);
    m.dirty_supply.push_back(k);
  }
  for (auto& t : m.u_txs) {
    m.applied.push_back(t);
    m.unflushed_txs.push_back(std::move(t));
  }
  for (auto& id : m.u_touched) m.touched.insert(std::move(id));
  m.u_accts.clear();
  m.u_bals.clear();
  m.u_supply.clear();
  m.u_txs.clear();
  m.u_touched.clear();
  m.in_unit = false;
  m.savepoint = false;
  return Ok();
}

void WriteContext::Rollback() {
  auto& m = *impl_;
  if (m.savepoint) {
    (void)m.db.Exec("ROLLBACK TO kray_unit");
    (void)m.db.Exec("RELEASE kray_unit");
  }
  m.u_accts.clear();
  m.u_bals.clear();
  m.u_supply.clear();
  m.u_txs.clear();
  m.u_touched.clear();
  m.next_seq = m.unit_seq;
  m.in_unit = false;
  m.savepoint = false;
}

Status WriteContext::Impl::FlushAll() {
  for (const auto& k : dirty_accts) {
    auto it = accts.find(k);
    if (it == accts.end() || !it->second.dirty) continue;
    AcctState& a = it->second;
    if (!a.in_db) {
      auto st = Stmt("INSERT INTO accounts (account_id, l1_address, pubkey, nonce, created_at) VALUES (?,?,?,?,?)");
      if (!st.ok()) return std::move(st).error();
      (*st)->Bind(1, k).Bind(2, a.l1_address);
      if (a.pubkey.empty())
        (*st)->BindNull(3);
      else
        (*st)->Bind(3, a.pubkey);
      (*st)->Bind(4, static_cast<std::int64_t>(a.nonce)).Bind(5, a.created_at);
      KRAY_TRY((*st)->Run());
    } else {
      auto st = Stmt("UPDATE accounts SET pubkey=?, nonce=? WHERE account_id=?");
      if (!st.ok()) return std::move(st).error();
      if (a.pubkey.empty())
        (*st)->BindNull(1);
      else
        (*st)->Bind(1, a.pubkey);
      (*st)->Bind(2, static_cast<std::int64_t>(a.nonce)).Bind(3, k);
      KRAY_TRY((*st)->Run());
    }
    a.in_db = true;
    a.dirty = false;
  }
  dirty_accts.clear();
  for (const auto& k : dirty_bals) {
    auto it = bals.find(k);
    if (it == bals.end() || !it->second.dirty) continue;
    BalState& b = it->second;
    auto sep = k.find('|');
    // Plain INSERT or UPDATE (we know which from in_db), not an UPSERT: an
    // outer ON CONFLICT overrides the conflict clause of triggers that other
    // modules (rollup) put on these tables.
    auto st = b.in_db
                  ? Stmt("UPDATE balances SET available=?3, staked=?4, locked=?5 WHERE account_id=?1 AND asset=?2")
                  : Stmt("INSERT INTO balances (account_id, asset, available, staked, locked) VALUES (?1,?2,?3,?4,?5)");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, std::string_view(k).substr(0, sep)).Bind(2, std::string_view(k).substr(sep + 1));
    for (int i = 0; i < 3; ++i) (*st)->Bind(3 + i, static_cast<std::int64_t>(b.v[i]));
    KRAY_TRY((*st)->Run());
    b.in_db = true;
    b.dirty = false;
  }
  dirty_bals.clear();
  for (const auto& k : dirty_supply) {
    auto it = supply.find(k);
    if (it == supply.end() || !it->second.dirty) continue;
    SupplyState& s = it->second;
    auto st = s.in_db
                  ? Stmt("UPDATE supply SET minted=?3, burned=?4, fee_pool=?5 WHERE asset=?1 AND genesis_total=?2")
                  : Stmt("INSERT INTO supply (asset, genesis_total, minted, burned, fee_pool) VALUES (?1,?2,?3,?4,?5)");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, k).Bind(2, static_cast<std::int64_t>(s.genesis)).Bind(3, static_cast<std::int64_t>(s.minted));
    (*st)->Bind(4, static_cast<std::int64_t>(s.burned)).Bind(5, static_cast<std::int64_t>(s.fee_pool));
    KRAY_TRY((*st)->Run());
    if (s.in_db && db.Changes() != 1) return Error::Internal("supply row of " + k + " changed under the cache");
    s.in_db = true;
    s.dirty = false;
  }
  dirty_supply.clear();
  for (const auto& t : unflushed_txs) {
    auto st = Stmt(
        "INSERT INTO transactions (seq, tx_hash, type, from_id, to_id, to_address, asset, amount, gas_fee, nonce, "
        "signature, sig_scheme, data, status, created_at, confirmed_at, batch_id, signed_from, signed_to) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st.ok()) return std::move(st).error();
    auto& s = **st;
    s.Bind(1, static_cast<std::int64_t>(t.seq)).Bind(2, t.tx_hash).Bind(3, t.type);
    if (t.from_id.empty())
      s.BindNull(4);
    else
      s.Bind(4, t.from_id);
    if (t.to_id.empty())
      s.BindNull(5);
    else
      s.Bind(5, t.to_id);
    s.Bind(6, t.to_address).Bind(7, t.asset).Bind(8, static_cast<std::int64_t>(t.amount));
    s.Bind(9, static_cast<std::int64_t>(t.gas_fee)).Bind(10, static_cast<std::int64_t>(t.nonce));
    s.Bind(11, t.signature).Bind(12, t.sig_scheme).Bind(13, t.data).Bind(14, t.status);
    s.Bind(15, t.created_at).Bind(16, t.confirmed_at);
    if (t.batch_id < 0)
      s.BindNull(17);
    else
      s.Bind(17, t.batch_id);
    s.Bind(18, t.signed_from).Bind(19, t.signed_to);
    KRAY_TRY(s.Run());
  }
  unflushed_txs.clear();
  return Ok();
}

Status WriteContext::Flush() {
  if (impl_->broken) {
    Error e = *impl_->broken;
    ClearCache();
    return e;
  }
  Status s = impl_->FlushAll();
  if (!s.ok()) ClearCache();
  return s;
}

void WriteContext::ClearCache() {
  auto& m = *impl_;
  m.accts.clear();
  m.bals.clear();
  m.supply.clear();
  m.dirty_accts.clear();
  m.dirty_bals.clear();
  m.dirty_supply.clear();
  m.unflushed_txs.clear();
  m.next_seq = -1;
  m.applied.clear();
  m.touched.clear();
  m.broken.reset();
}

std::size_t WriteContext::CachedEntries() const {
  return impl_->accts.size() + impl_->bals.size();
}

store::Database& WriteContext::db() {
  auto& m = *impl_;
  if (m.in_unit && !m.savepoint) {
    // Committed units first, outside the savepoint, so a rollback of this
    // unit cannot undo them; then the unit's own SQL runs in the savepoint.
    Status s = m.FlushAll();
    if (s.ok()) s = m.db.Exec("SAVEPOINT kray_unit");
    if (s.ok())
      m.savepoint = true;
    else if (!m.broken)
      m.broken = s.error();
  } else if (!m.in_unit) {
    Status s = m.FlushAll();
    if (!s.ok() && !m.broken) m.broken = s.error();
  }
  return m.db;
}

bool WriteContext::AccountExists(std::string_view id) {
  auto a = impl_->FindAcct(id);
  return a.ok() && *a != nullptr;
}

Result<Account> WriteContext::GetAccount(std::string_view id) {
  auto a = impl_->FindAcct(id);
  if (!a.ok()) return std::move(a).error();
  if (!*a) return Error::NotFound("account_not_found", "account " + std::string(id) + " not found");
  Account out;
  out.account_id = std::string(id);
  out.l1_address = (*a)->l1_address;
  out.pubkey_hex = (*a)->pubkey;
  out.nonce = (*a)->nonce;
  out.created_at = (*a)->created_at;
  return out;
}

Status WriteContext::CreateAccount(std::string_view l1_address, std::string_view pubkey_hex, std::int64_t now) {
  std::string id = AccountIdFromAddress(l1_address);
  auto a = impl_->FindAcct(id);
  if (!a.ok()) return std::move(a).error();
  if (*a) return Error::Conflict("account_exists", "account " + id + " already exists");
  AcctState s;
  s.l1_address = std::string(l1_address);
  s.pubkey = std::string(pubkey_hex);
  s.created_at = now;
  impl_->u_accts.emplace(id, std::move(s));
  impl_->u_touched.push_back(id);
  return Ok();
}

Status WriteContext::BindPubkey(std::string_view id, std::string_view pubkey_hex) {
  auto a = impl_->FindAcct(id);
  if (!a.ok()) return std::move(a).error();
  if (!*a) return Error::NotFound("account_not_found", "account " + std::string(id) + " not found");
  if (!(*a)->pubkey.empty()) {
    if ((*a)->pubkey == pubkey_hex) return Ok();
    return Error::Conflict("pubkey_already_bound", "account " + std::string(id) + " already has a different key bound");
  }
  AcctState& m = impl_->MutAcct(id, **a);
  m.pubkey = std::string(pubkey_hex);
  impl_->u_touched.emplace_back(id);
  return Ok();
}

Status WriteContext::UseNonce(std::string_view id, std::uint64_t nonce) {
  auto a = impl_->FindAcct(id);
  if (!a.ok()) return std::move(a).error();
  if (!*a) return Error::NotFound("account_not_found", "account " + std::string(id) + " not found");
  if ((*a)->nonce != nonce) {
    return Error::Conflict("nonce_conflict", "nonce mismatch for " + std::string(id) + ": expected " +
                                                 std::to_string((*a)->nonce) + ", got " + std::to_string(nonce));
  }
  AcctState& m = impl_->MutAcct(id, **a);
  m.nonce = nonce + 1;
  impl_->u_touched.emplace_back(id);
  return Ok();
}

Result<Balance> WriteContext::GetBalance(std::string_view id, std::string_view asset) {
  auto b = impl_->GetBal(id, asset);
  if (!b.ok()) return std::move(b).error();
  Balance out;
  out.asset = std::string(asset);
  out.available = b->v[0];
  out.staked = b->v[1];
  out.locked = b->v[2];
  return out;
}

Status WriteContext::Credit(std::string_view id, std::string_view asset, Bucket bucket, Amount amount) {
  if (!AccountExists(id)) return Error::NotFound("account_not_found", "account " + std::string(id) + " not found");
  auto b = impl_->GetBal(id, asset);
  if (!b.ok()) return std::move(b).error();
  auto& v = b->v[static_cast<int>(bucket)];
  auto sum = CheckedAdd(v, amount);
  if (!sum) return Error::Conflict("balance_overflow", "balance of " + std::string(asset) + " would overflow");
  v = *sum;
  impl_->PutBal(id, asset, *b);
  return Ok();
}

Status WriteContext::Debit(std::string_view id, std::string_view asset, Bucket bucket, Amount amount) {
  auto b = impl_->GetBal(id, asset);
  if (!b.ok()) return std::move(b).error();
  auto& v = b->v[static_cast<int>(bucket)];
  auto diff = CheckedSub(v, amount);
  if (!diff) {
    return Error::Conflict("insufficient_balance", "insufficient " + std::string(BucketName(bucket)) + " " +
                                                       std::string(asset) + " balance: need " + std::to_string(amount) +
                                                       ", have " + std::to_string(v));
  }
  v = *diff;
  impl_->PutBal(id, asset, *b);
  return Ok();
}

Status WriteContext::Move(std::string_view id, std::string_view asset, Bucket from, Bucket to, Amount amount) {
  KRAY_TRY(Debit(id, asset, from, amount));
  return Credit(id, asset, to, amount);
}

namespace {
Status AddTo(Amount& field, Amount v, std::string_view what) {
  auto s = CheckedAdd(field, v);
  if (!s) return Error::Internal(std::string(what) + " overflow");
  field = *s;
  return Ok();
}
}  // namespace

Status WriteContext::ChargeGas(std::string_view id, Amount fee) {
  if (fee == 0) return Ok();
  KRAY_TRY(Debit(id, kGasAsset, Bucket::kAvailable, fee));
  auto s = impl_->GetSupply(kGasAsset);
  if (!s.ok()) return std::move(s).error();
  GasSplit split = SplitGas(fee);
  KRAY_TRY(AddTo(s->burned, split.burned, "burned"));
  KRAY_TRY(AddTo(s->fee_pool, split.to_validators, "fee_pool"));
  impl_->u_supply[std::string(kGasAsset)] = *s;
  return Ok();
}

Status WriteContext::Mint(std::string_view id, std::string_view asset, Amount amount) {
  KRAY_TRY(Credit(id, asset, Bucket::kAvailable, amount));
  auto s = impl_->GetSupply(asset);
  if (!s.ok()) return std::move(s).error();
  KRAY_TRY(AddTo(s->minted, amount, "minted"));
  impl_->u_supply[std::string(asset)] = *s;
  return Ok();
}

Status WriteContext::Burn(std::string_view id, std::string_view asset, Bucket b, Amount amount) {
  KRAY_TRY(Debit(id, asset, b, amount));
  auto s = impl_->GetSupply(asset);
  if (!s.ok()) return std::move(s).error();
  KRAY_TRY(AddTo(s->burned, amount, "burned"));
  impl_->u_supply[std::string(asset)] = *s;
  return Ok();
}

Status WriteContext::PayFromFeePool(std::string_view id, std::string_view asset, Amount amount) {
  auto s = impl_->GetSupply(asset);
  if (!s.ok()) return std::move(s).error();
  auto left = CheckedSub(s->fee_pool, amount);
  if (!left) {
    return Error::Conflict("insufficient_fee_pool", "fee pool of " + std::string(asset) + " holds " +
                                                        std::to_string(s->fee_pool) + ", need " +
                                                        std::to_string(amount));
  }
  s->fee_pool = *left;
  KRAY_TRY(Credit(id, asset, Bucket::kAvailable, amount));
  impl_->u_supply[std::string(asset)] = *s;
  return Ok();
}

Result<Amount> WriteContext::FeePool(std::string_view asset) {
  auto s = impl_->GetSupply(asset);
  if (!s.ok()) return std::move(s).error();
  return s->fee_pool;
}

Result<TxRecord> WriteContext::RecordTx(TxRecord rec) {
  auto seq = impl_->NextSeq();
  if (!seq.ok()) return std::move(seq).error();
  rec.seq = static_cast<std::uint64_t>(*seq);
  if (rec.status.empty()) rec.status = "confirmed";
  impl_->u_txs.push_back(rec);
  return rec;
}

void WriteContext::Touch(std::string_view id) {
  impl_->u_touched.emplace_back(id);
}

const std::vector<TxRecord>& WriteContext::applied() const {
  return impl_->applied;
}
const std::set<std::string>& WriteContext::touched() const {
  return impl_->touched;
}
void WriteContext::ClearApplied() {
  impl_->applied.clear();
  impl_->touched.clear();
}

}  // namespace kray::state
