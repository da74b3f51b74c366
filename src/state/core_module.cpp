// The core ledger module: transfer and account_create, the account and
// supply leaves (see include/kray/state/core_module.h).
#include "kray/state/core_module.h"

#include <array>

#include "kray/bitcoin/taproot_key.h"
#include "kray/state/leaves.h"
#include "kray/state/op_context.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"

namespace kray::state {

// schema/core/*.sql, embedded at build time (cmake/KrayMigrations.cmake).
std::span<const store::Migration> CoreMigrations();

namespace {

constexpr std::size_t kMaxData = 1024;

Amount FieldAmount(const Operation& op, std::string_view key) {
  auto v = op.Field(key);
  auto a = v ? ParseAmount(*v) : Result<Amount>(Error::Invalid("missing_field", ""));
  return a.ok() ? *a : 0;
}

Status OnlyEvidence(const Operation& op, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : op.evidence) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok)
      return Error::Invalid("invalid_evidence", "operation '" + op.type + "' carries unexpected evidence '" + k + "'");
  }
  return Ok();
}

// ---------------------------------------------------------------------------

class TransferOp : public OperationType {
 public:
  std::string_view name() const override { return kTransferOp; }
  Auth auth() const override { return Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "from_account"; }
  Amount gas() const override { return GasFor(TxType::kTransfer); }

  // Existing wallets sign the legacy message; it binds neither asset, chain
  // nor data, so it is only the default (and only accepted) for a plain KRAY
  // transfer.
  SigScheme default_scheme(const Operation& op) const override {
    return LegacyApplies(op) ? SigScheme::kLegacy : SigScheme::kV1;
  }

  // Checked without the hash: it was computed twice a legacy transfer,
  // here for ValidateOperation and again for the signature (~6,000
  // instructions each, docs/BENCHMARKS.md, sixty-fourth round).
  Status CheckLegacy(const Operation& op) const override {
    if (!LegacyApplies(op)) {
      return Error::Invalid("legacy_signature_not_allowed",
                            "the legacy signature format is only accepted for KRAY transfers with empty data; "
                            "sign the v1 message (docs/SIGNING.md)");
    }
    if (!op.Evidence("legacy_signer") || !op.Evidence("legacy_to"))
      return Error::Invalid("invalid_evidence", "a legacy transfer must carry the strings it signed");
    return Ok();
  }

  Result<Hash256> LegacyMessage(const Operation& op) const override {
    KRAY_TRY(CheckLegacy(op));
    return LegacyTransferMessage(*op.Evidence("legacy_signer"), *op.Evidence("legacy_to"), FieldAmount(op, "amount"),
                                 op.nonce);
  }

  Status Check(const ChainParams& params, const Operation& op) const override {
    Amount amount = FieldAmount(op, "amount");
    if (amount == 0) return Error::Invalid("invalid_amount", "amount must be greater than zero");
    auto asset = op.Field("asset");
    if (!asset || asset->empty()) return Error::Invalid("unknown_asset", "asset is empty");
    auto data = op.Field("data");
    if (!data || data->size() > kMaxData) return Error::Invalid("data_too_long", "data must be at most 1024 bytes");
    auto to = op.Field("to");
    if (!to || !IsAccountId(*to)) return Error::Invalid("invalid_account", "recipient must be an account id");
    if (*to == op.signer) return Error::Invalid("self_transfer", "sender and recipient are the same account");
    // to_address: ValidateOperation checks it names `to` (keep_address).
    KRAY_TRY(OnlyEvidence(op, {"to_address", "legacy_signer", "legacy_to"}));
    // The strings a legacy message signed must name the recorded accounts,
    // so a record cannot be re-pointed under an old signature.
    auto legacy_from = op.Evidence("legacy_signer");
    auto legacy_to = op.Evidence("legacy_to");
    if (op.scheme == SigScheme::kLegacy) {
      if (!legacy_from || !legacy_to)
        return Error::Invalid("invalid_evidence", "a legacy transfer must carry the strings it signed");
      auto f = ResolveAccount(params, *legacy_from);
      auto t = ResolveAccount(params, *legacy_to);
      if (!f.ok() || !t.ok() || f->account_id != op.signer || t->account_id != *to)
        return Error::Invalid("invalid_evidence", "the signed legacy strings do not name the transfer's accounts");
    } else if (legacy_from || legacy_to) {
      return Error::Invalid("invalid_evidence", "only a legacy transfer carries legacy strings");
    }
    return Ok();
  }

  Status Apply(OpContext& ctx, const Operation& op) const override {
    const std::string to(*op.Field("to"));
    const std::string asset(*op.Field("asset"));
    Amount amount = FieldAmount(op, "amount");
    Amount gas = this->gas();
    // Check funds before any write so the error names the full requirement.
    if (asset == kGasAsset) {
      auto need = CheckedAdd(amount, gas);
      if (!need) return Error::Invalid("invalid_amount", "amount plus gas overflows");
      auto bal = ctx.GetBalance(op.signer, kGasAsset);
      if (!bal.ok()) return std::move(bal).error();
      if (bal->available < *need) {
        return Error::Conflict("insufficient_balance", "insufficient KRAY balance: need " + std::to_string(*need) +
                                                           " (amount " + std::to_string(amount) + " + gas " +
                                                           std::to_string(gas) + "), have " +
                                                           std::to_string(bal->available))
            .With("asset", std::string(kGasAsset))
            .With("need", std::to_string(*need))
            .With("have", std::to_string(bal->available));
      }
    } else {
      auto gas_bal = ctx.GetBalance(op.signer, kGasAsset);
      if (!gas_bal.ok()) return std::move(gas_bal).error();
      if (gas_bal->available < gas) {
        return Error::Conflict("insufficient_balance", "insufficient KRAY for gas: need " + std::to_string(gas) +
                                                           ", have " + std::to_string(gas_bal->available))
            .With("asset", std::string(kGasAsset))
            .With("need", std::to_string(gas))
            .With("have", std::to_string(gas_bal->available));
      }
    }
    KRAY_TRY(ctx.EnsureAccount(to, op.Evidence("to_address")));
    KRAY_TRY(ctx.Debit(op.signer, asset, Bucket::kAvailable, amount));
    return ctx.Credit(to, asset, Bucket::kAvailable, amount);
  }

 private:
  static bool LegacyApplies(const Operation& op) {
    auto asset = op.Field("asset");
    auto data = op.Field("data");
    return asset && *asset == kGasAsset && (!data || data->empty());
  }
  static constexpr std::array<FieldSpec, 4> kFields = {{
      {"amount", FieldKind::kAmount},
      {"asset", FieldKind::kAsset, false, "KRAY"},
      {"data", FieldKind::kText, false, "", {}, kMaxData},
      {"to", FieldKind::kAccount, true, std::nullopt, "to_account", 256, /*keep_address=*/true},
  }};
};

class AccountCreateOp : public OperationType {
 public:
  std::string_view name() const override { return kAccountCreateOp; }
  // Public: the BIP-86 relation between key and address is the proof. A
  // signature by that key (proof of possession) may be added; it binds the
  // chain id too.
  Auth auth() const override { return Auth::kPublic; }
  bool may_be_signed() const override { return true; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "l1_address"; }
  bool consumes_nonce() const override { return false; }
  std::optional<crypto::XOnlyPubKey> SigningKey(const Operation& op) const override {
    auto pub = op.Field("pubkey");
    if (!pub) return std::nullopt;
    auto key = FromHexFixed<32>(*pub);
    return key ? std::optional<crypto::XOnlyPubKey>(*key) : std::nullopt;
  }

  Status Check(const ChainParams& params, const Operation& op) const override {
    auto addr = op.Field("l1_address");
    auto pub = op.Field("pubkey");
    if (!addr || !pub) return Error::Invalid("missing_field", "account_create needs l1_address and pubkey");
    auto canonical = CanonicalP2trAddress(params, *addr);
    if (!canonical.ok()) return std::move(canonical).error();
    if (*canonical != *addr) return Error::Invalid("invalid_address", "l1_address is not in canonical form");
    auto key = FromHexFixed<32>(*pub);
    if (!key || ToHex(*key) != *pub)
      return Error::Invalid("invalid_pubkey", "pubkey must be 64 lowercase hex (x-only)");
    if (!bitcoin::CheckBip86Key(params.hrp(), *addr, *key).ok()) {
      return Error::Invalid("pubkey_address_mismatch",
                            "pubkey is not the BIP-86 internal key of " + std::string(*addr) +
                                " (the address's output key must equal the key tweaked with TapTweak, no script tree)");
    }
    if (op.auth == Auth::kSigned && op.signer != AccountIdFromAddress(*addr))
      return Error::Invalid("invalid_account", "a signed account_create is signed by the account it creates");
    return OnlyEvidence(op, {});
  }

  Status Apply(OpContext& ctx, const Operation& op) const override {
    std::string addr(*op.Field("l1_address"));
    std::string pub(*op.Field("pubkey"));
    std::string id = AccountIdFromAddress(addr);
    auto existing = ctx.FindAccount(id);
    if (!existing.ok()) return std::move(existing).error();
    if (!existing->has_value()) return ctx.CreateAccount(addr, pub);
    if ((*existing)->pubkey_hex == pub) {
      ctx.MarkNoChange();  // idempotent: already created with this key
      return Ok();
    }
    return ctx.BindPubkey(id, pub);
  }

 private:
  static constexpr std::array<FieldSpec, 2> kFields = {{
      {"l1_address", FieldKind::kAddress},
      {"pubkey", FieldKind::kPubkey},
  }};
};

Result<std::optional<Bytes>> EncodeAccount(store::Database& db, std::string_view id) {
  auto a = LoadAccountState(db, id);
  if (!a.ok()) {
    if (a.error().code == "account_not_found") return std::optional<Bytes>();
    return std::move(a).error();
  }
  auto data = EncodeAccountLeaf(*a);
  if (!data.ok()) return std::move(data).error();
  return std::optional<Bytes>(std::move(*data));
}

Result<std::optional<Bytes>> EncodeSupply(store::Database& db, std::string_view asset) {
  auto s = LoadSupply(db, asset);
  if (!s.ok()) return std::move(s).error();
  if (s->IsZero()) return std::optional<Bytes>();
  return std::optional<Bytes>(EncodeSupplyLeaf(*s));
}

Status ForEachId(store::Database& db, const std::string& sql, const std::function<Status(std::string_view)>& fn) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return std::move(st).error();
  return store::ForEachRow(*st, [&](const store::Statement& row) { return fn(row.Text(0)); });
}

class CoreLedgerModule : public Module {
 public:
  std::string_view name() const override { return "core"; }
  std::span<const store::Migration> migrations() const override { return CoreMigrations(); }
  std::vector<const OperationType*> operations() const override { return {&transfer_, &account_create_}; }
  std::vector<LeafType> leaf_types() const override {
    return {
        LeafType{kAccountLeaf, "account", EncodeAccount,
                 [](store::Database& db, const std::function<Status(std::string_view)>& fn) {
                   return ForEachId(db, "SELECT account_id FROM accounts ORDER BY account_id", fn);
                 }},
        LeafType{kSupplyLeaf, "supply", EncodeSupply,
                 [](store::Database& db, const std::function<Status(std::string_view)>& fn) {
                   return ForEachId(db, "SELECT asset FROM supply ORDER BY asset", fn);
                 }},
    };
  }

 private:
  TransferOp transfer_;
  AccountCreateOp account_create_;
};

}  // namespace

const Module& CoreModule() {
  static const CoreLedgerModule module;
  return module;
}

}  // namespace kray::state
