// UnitOfWork (see unit_of_work.h) and the OpContext helpers.
#include "unit_of_work.h"

#include "kray/core/params.h"
#include "kray/state/tx_message.h"

namespace kray::state {

std::string_view BucketName(Bucket b) {
  return b == Bucket::kAvailable ? "available" : b == Bucket::kStaked ? "staked" : "locked";
}

Result<Account> OpContext::GetAccount(std::string_view account_id) {
  auto a = FindAccount(account_id);
  if (!a.ok()) return std::move(a).error();
  if (!a->has_value()) return Error::NotFound("account_not_found", "account " + std::string(account_id) + " not found");
  return std::move(**a);
}

Status OpContext::EnsureAccount(std::string_view account_id, std::optional<std::string_view> address) {
  auto exists = AccountExists(account_id);
  if (!exists.ok()) return std::move(exists).error();
  if (*exists) return Ok();
  if (!address) return Error::NotFound("account_not_found", "account " + std::string(account_id) + " not found");
  // ValidateOperation tied the address to the id (FieldSpec::keep_address);
  // checked again where it matters, once per account created.
  if (AccountIdFromAddress(*address) != account_id)
    return Error::Invalid("invalid_evidence",
                          "address " + std::string(*address) + " is not account " + std::string(account_id) + "'s");
  return CreateAccount(*address, "");
}

Status OpContext::Move(std::string_view account_id, std::string_view asset, Bucket from, Bucket to, Amount amount) {
  KRAY_TRY(Debit(account_id, asset, from, amount));
  return Credit(account_id, asset, to, amount);
}

namespace {

Status AddTo(Amount& field, Amount v, std::string_view what) {
  auto s = CheckedAdd(field, v);
  if (!s) return Error::Conflict("supply_overflow", std::string(what) + " would exceed 2^63-1");
  field = *s;
  return Ok();
}

Error NotFoundAccount(std::string_view id) {
  return Error::NotFound("account_not_found", "account " + std::string(id) + " not found");
}

}  // namespace

UnitOfWork::UnitOfWork(StateCache& group, store::Database& db, const ChainParams& params, std::int64_t now)
    : cache_(group), db_(db), params_(params), now_(now) {}

UnitOfWork::~UnitOfWork() {
  if (!done_) Rollback();
}

void UnitOfWork::Touch(LeafId leaf) {
  TouchLeaf(leaf.type, leaf.id);
}

void UnitOfWork::TouchLeaf(std::uint8_t type, std::string_view id) {
  if (spilled_.empty()) {
    const auto same = [&](const LeafId& l) { return l.type == type && l.id == id; };
    if (std::any_of(listed_.begin(), listed_.end(), same)) return;
    if (listed_.size() < kListed) {
      listed_.push_back(LeafId{type, std::string(id)});
      return;
    }
    for (auto& leaf : listed_) spilled_[leaf.type].insert(std::move(leaf.id));
    listed_.clear();
  }
  auto& ids = spilled_[type];
  if (ids.find(id) == ids.end()) ids.emplace(id);
}

Result<std::optional<Account>> UnitOfWork::FindAccount(std::string_view id) {
  auto row = cache_.PeekAccount(id);
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<Account>();
  Account a;
  a.account_id = std::string(id);
  a.l1_address = (*row)->l1_address;
  a.pubkey_hex = (*row)->pubkey;
  a.nonce = (*row)->nonce;
  a.created_at = (*row)->created_at;
  return std::optional<Account>(std::move(a));
}

Result<bool> UnitOfWork::AccountExists(std::string_view id) {
  auto row = cache_.PeekAccount(id);
  if (!row.ok()) return std::move(row).error();
  return *row != nullptr;
}

Status UnitOfWork::CreateAccount(std::string_view l1_address, std::string_view pubkey_hex) {
  std::string id = AccountIdFromAddress(l1_address);
  auto row = cache_.PeekAccount(id);
  if (!row.ok()) return std::move(row).error();
  if (*row) return Error::Conflict("account_exists", "account " + id + " already exists");
  cache_.PutAccount(id, AccountRow{std::string(l1_address), std::string(pubkey_hex), 0, now_, 0, !pubkey_hex.empty()});
  TouchAccount(id);
  ++accounts_created_;
  return Ok();
}

Status UnitOfWork::BindPubkey(std::string_view id, std::string_view pubkey_hex) {
  auto row = cache_.PeekAccount(id);
  if (!row.ok()) return std::move(row).error();
  if (!*row) return NotFoundAccount(id);
  if (!(*row)->pubkey.empty()) {
    if ((*row)->pubkey == pubkey_hex) return Ok();
    return Error::Conflict("pubkey_already_bound", "account " + std::string(id) + " already has a different key bound");
  }
  auto a = cache_.MutableAccount(id);
  if (!a.ok()) return std::move(a).error();
  (*a)->pubkey = std::string(pubkey_hex);
  (*a)->key_point_due = true;
  TouchAccount(id);
  return Ok();
}

Status UnitOfWork::UseNonce(std::string_view id, std::uint64_t nonce) {
  auto row = cache_.PeekAccount(id);
  if (!row.ok()) return std::move(row).error();
  if (!*row) return NotFoundAccount(id);
  if ((*row)->nonce != nonce) {
    return Error::Conflict("nonce_conflict", "nonce mismatch for " + std::string(id) + ": expected " +
                                                 std::to_string((*row)->nonce) + ", got " + std::to_string(nonce));
  }
  auto a = cache_.MutableAccount(id);
  if (!a.ok()) return std::move(a).error();
  (*a)->nonce = nonce + 1;
  TouchAccount(id);
  return Ok();
}

Result<Balance> UnitOfWork::GetBalance(std::string_view id, std::string_view asset) {
  auto b = cache_.GetBalance(id, asset);
  if (!b.ok()) return std::move(b).error();
  return Balance{std::string(asset), (*b)[0], (*b)[1], (*b)[2]};
}

Status UnitOfWork::Credit(std::string_view id, std::string_view asset, Bucket bucket, Amount amount) {
  auto row = cache_.PeekAccount(id);
  if (!row.ok()) return std::move(row).error();
  if (!*row) return NotFoundAccount(id);
  auto b = cache_.GetBalance(id, asset);
  if (!b.ok()) return std::move(b).error();
  auto& v = (*b)[static_cast<int>(bucket)];
  auto sum = CheckedAdd(v, amount);
  if (!sum) return Error::Conflict("balance_overflow", "balance of " + std::string(asset) + " would overflow");
  v = *sum;
  cache_.PutBalance(id, asset, *b);
  TouchAccount(id);
  return Ok();
}

Status UnitOfWork::Debit(std::string_view id, std::string_view asset, Bucket bucket, Amount amount) {
  auto b = cache_.GetBalance(id, asset);
  if (!b.ok()) return std::move(b).error();
  auto& v = (*b)[static_cast<int>(bucket)];
  auto diff = CheckedSub(v, amount);
  if (!diff) {
    return Error::Conflict("insufficient_balance", "insufficient " + std::string(BucketName(bucket)) + " " +
                                                       std::string(asset) + " balance: need " + std::to_string(amount) +
                                                       ", have " + std::to_string(v))
        .With("asset", std::string(asset))
        .With("bucket", std::string(BucketName(bucket)))
        .With("need", std::to_string(amount))
        .With("have", std::to_string(v));
  }
  v = *diff;
  cache_.PutBalance(id, asset, *b);
  TouchAccount(id);
  return Ok();
}

Result<SupplyState> UnitOfWork::Supply(std::string_view asset) {
  auto s = cache_.GetSupply(asset);
  if (!s.ok()) return std::move(s).error();
  return SupplyState{std::string(asset), s->genesis, s->minted, s->burned, s->fee_pool};
}

Result<SupplyRow> UnitOfWork::MutableSupply(std::string_view asset) {
  TouchSupply(asset);
  return cache_.GetSupply(asset);
}

Status UnitOfWork::ChargeGas(std::string_view id, Amount fee) {
  if (fee == 0) return Ok();
  KRAY_TRY(Debit(id, kGasAsset, Bucket::kAvailable, fee));
  auto a = cache_.MutableAccount(id);
  if (!a.ok()) return std::move(a).error();
  if (!*a) return NotFoundAccount(id);
  (*a)->gas_spent = CheckedAdd((*a)->gas_spent, fee).value_or(kMaxAmount);
  auto s = MutableSupply(kGasAsset);
  if (!s.ok()) return std::move(s).error();
  GasSplit split = SplitGas(fee);
  KRAY_TRY(AddTo(s->burned, split.burned, "burned"));
  KRAY_TRY(AddTo(s->fee_pool, split.to_validators, "fee_pool"));
  cache_.PutSupply(kGasAsset, *s);
  return Ok();
}

Status UnitOfWork::AllocateGenesis(std::string_view id, std::string_view asset, Amount amount) {
  KRAY_TRY(Credit(id, asset, Bucket::kAvailable, amount));
  auto s = MutableSupply(asset);
  if (!s.ok()) return std::move(s).error();
  KRAY_TRY(AddTo(s->genesis, amount, "genesis total of " + std::string(asset)));
  cache_.PutSupply(asset, *s);
  return Ok();
}

Status UnitOfWork::DeclareAsset(std::string_view asset) {
  auto s = MutableSupply(asset);
  if (!s.ok()) return std::move(s).error();
  cache_.PutSupply(asset, *s);
  return Ok();
}

Status UnitOfWork::Mint(std::string_view id, std::string_view asset, Amount amount) {
  KRAY_TRY(Credit(id, asset, Bucket::kAvailable, amount));
  auto s = MutableSupply(asset);
  if (!s.ok()) return std::move(s).error();
  KRAY_TRY(AddTo(s->minted, amount, "minted " + std::string(asset)));
  cache_.PutSupply(asset, *s);
  return Ok();
}

Status UnitOfWork::Burn(std::string_view id, std::string_view asset, Bucket b, Amount amount) {
  KRAY_TRY(Debit(id, asset, b, amount));
  return BurnModuleValue(asset, amount);
}

Status UnitOfWork::BurnModuleValue(std::string_view asset, Amount amount) {
  auto s = MutableSupply(asset);
  if (!s.ok()) return std::move(s).error();
  KRAY_TRY(AddTo(s->burned, amount, "burned " + std::string(asset)));
  cache_.PutSupply(asset, *s);
  return Ok();
}

Status UnitOfWork::PayFromFeePool(std::string_view id, std::string_view asset, Amount amount) {
  KRAY_TRY(TakeFromFeePool(asset, amount));
  return Credit(id, asset, Bucket::kAvailable, amount);
}

Status UnitOfWork::TakeFromFeePool(std::string_view asset, Amount amount) {
  auto s = MutableSupply(asset);
  if (!s.ok()) return std::move(s).error();
  auto left = CheckedSub(s->fee_pool, amount);
  if (!left) {
    return Error::Conflict("insufficient_fee_pool", "fee pool of " + std::string(asset) + " holds " +
                                                        std::to_string(s->fee_pool) + ", need " +
                                                        std::to_string(amount));
  }
  s->fee_pool = *left;
  cache_.PutSupply(asset, *s);
  return Ok();
}

Status UnitOfWork::AddModuleValueToFeePool(std::string_view asset, Amount amount) {
  auto s = MutableSupply(asset);
  if (!s.ok()) return std::move(s).error();
  KRAY_TRY(AddTo(s->fee_pool, amount, "fee_pool of " + std::string(asset)));
  cache_.PutSupply(asset, *s);
  return Ok();
}

store::Database& UnitOfWork::Sql() {
  if (!savepoint_ && !broken_) {
    savepoint_.emplace(db_, "kray_unit");
    if (!savepoint_->status().ok()) {
      broken_ = savepoint_->status().error();
      savepoint_.reset();
    }
  }
  return db_;
}

Status UnitOfWork::Commit() {
  done_ = true;
  if (broken_) {
    Error e = *broken_;
    cache_.Clear();
    return e;
  }
  if (savepoint_) {
    Status s = savepoint_->Release();
    savepoint_.reset();
    if (!s.ok()) {
      cache_.Clear();
      return s;
    }
  }
  cache_.MergeIntoParent();
  return Ok();
}

void UnitOfWork::Rollback() {
  done_ = true;
  savepoint_.reset();  // ROLLBACK TO + RELEASE
  cache_.Clear();
}

}  // namespace kray::state
