// Withdrawals and the bridge's own L1 transactions as operations of the
// bridge module (see include/kray/bridge/withdrawals.h).
#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "kray/bitcoin/address.h"
#include "kray/bridge/spend_tx.h"
#include "kray/bridge/withdrawals.h"
#include "kray/rollup/batch.h"
#include "kray/state/leaves.h"
#include "kray/state/op_context.h"
#include "kray/state/request.h"
#include "module_parts.h"
#include "withdrawals_store.h"

namespace kray::bridge::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;
using state::OpContext;
using state::Operation;

constexpr std::int64_t kMaxChallengePeriod = 30LL * 86400;

Error BadEvidence(std::string why) {
  return Error::Invalid("invalid_evidence", std::move(why));
}

std::optional<std::uint64_t> ParseU64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || std::to_string(v) != s) return std::nullopt;
  return v;
}

std::uint64_t FieldU64(const Operation& op, std::string_view key) {
  return ParseU64(op.Field(key).value_or("")).value_or(0);
}

bool IsHash(std::string_view s) {
  auto h = FromHexFixed<32>(s);
  return h && ToHex(*h) == s;
}

Status ExactEvidence(const Operation& op, std::initializer_list<std::string_view> keys) {
  if (op.evidence.size() != keys.size())
    return BadEvidence("operation '" + op.type + "' carries exactly the evidence it names");
  for (auto k : keys)
    if (!op.Evidence(k)) return BadEvidence("operation '" + op.type + "' needs evidence '" + std::string(k) + "'");
  return Ok();
}

// The unsigned transaction an operation records (evidence "tx"), which must
// be canonical lowercase hex without witnesses and hash to field `spend`.
Result<bitcoin::Transaction> RecordedTx(const Operation& op) {
  const std::string_view hex = op.Evidence("tx").value_or("");
  auto tx = bitcoin::ParseTransactionHex(hex);
  if (!tx.ok() || tx->HasWitness() || ToHex(bitcoin::SerializeTransaction(*tx)) != hex)
    return BadEvidence("tx must be an unsigned transaction in lowercase hex");
  if (bitcoin::HashToDisplayHex(bitcoin::Txid(*tx)) != op.Field("spend").value_or(""))
    return BadEvidence("spend must be the txid of tx");
  return std::move(*tx);
}

// The address's scriptPubKey, if it is canonical and a standard type a
// withdrawal may pay (a future witness version is not: its spending rules
// are not known yet).
Result<Bytes> DestinationScript(const ChainParams& params, std::string_view address) {
  auto script = bitcoin::AddressToScriptPubKey(address, params.network);
  if (!script.ok()) return Error::Invalid("invalid_address", "l1_address: " + script.error().message);
  auto canonical = bitcoin::ScriptPubKeyToAddress(*script, params.network);
  if (!canonical.ok() || *canonical != address)
    return Error::Invalid("invalid_address", "l1_address must be in canonical form");
  switch (bitcoin::ClassifyScript(*script).type) {
    case bitcoin::ScriptType::kP2PKH:
    case bitcoin::ScriptType::kP2SH:
    case bitcoin::ScriptType::kP2WPKH:
    case bitcoin::ScriptType::kP2WSH:
    case bitcoin::ScriptType::kP2TR:
      return std::move(*script);
    default:
      return Error::Invalid("unsupported_address_type",
                            "a withdrawal pays a P2PKH, P2SH, P2WPKH, P2WSH or P2TR address");
  }
}

// The configuration, refusing when withdrawals and anchors are unavailable.
Result<BridgeConfig> SpendingConfig(OpContext& ctx) {
  auto config = ReadBridgeConfig(ctx.Sql());
  if (!config.ok()) return std::move(config).error();
  if (config->fee_account.empty())
    return Error::Conflict("withdrawals_unavailable",
                           "the bridge has no fee account (genesis section \"bridge\": fee_account): withdrawals and "
                           "anchors are unavailable");
  return config;
}

Result<Withdrawal> LoadWithdrawal(OpContext& ctx, std::uint64_t id) {
  auto w = FindWithdrawal(ctx.Sql(), id);
  if (!w.ok()) return std::move(w).error();
  if (!w->has_value()) return Error::NotFound("withdrawal_not_found", "no withdrawal " + std::to_string(id));
  return std::move(**w);
}

void TouchWithdrawal(OpContext& ctx, std::uint64_t id) {
  ctx.Touch(state::LeafId{kBridgeWithdrawalLeaf, std::to_string(id)});
}

Status NewSpend(OpContext& ctx, const Spend& spend) {
  auto existing = FindSpend(ctx.Sql(), spend.id);
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return Error::Conflict("spend_exists", "spend " + spend.id + " is already recorded");
  KRAY_TRY(ctx.Debit(spend.fee_account, "BTC", state::Bucket::kAvailable, spend.fee_reserve + spend.dust));
  KRAY_TRY(InsertSpend(ctx.Sql(), spend));
  ctx.Touch(state::LeafId{kBridgeSpendLeaf, spend.id});
  ctx.SetResult("spend", spend.id);
  return Ok();
}

// --- withdrawal_request ---------------------------------------------------

class RequestOp : public state::OperationType {
 public:
  std::string_view name() const override { return kWithdrawalRequestOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  // The 100-credit fee is locked with the amount (charged on completion,
  // returned with a refund), not taken as gas.
  Amount gas() const override { return 0; }

  Status Check(const ChainParams& params, const Operation& op) const override {
    const Amount amount = FieldU64(op, "amount");
    if (amount == 0) return Error::Invalid("invalid_amount", "amount must be greater than zero");
    if (op.Field("asset") == "BTC" && amount < kMinBtcWithdrawal)
      return Error::Invalid("withdrawal_too_small", "a BTC withdrawal is at least " +
                                                        std::to_string(kMinBtcWithdrawal) + " sats (the dust limit)");
    auto script = DestinationScript(params, op.Field("l1_address").value_or(""));
    if (!script.ok()) return std::move(script).error();
    if (!op.evidence.empty()) return BadEvidence("withdrawal_request carries no evidence");
    return Ok();
  }

  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto config = SpendingConfig(ctx);
    if (!config.ok()) return std::move(config).error();
    const std::string asset(*op.Field("asset"));
    const auto& allowed = config->withdrawal_assets;
    if (std::find(allowed.begin(), allowed.end(), asset) == allowed.end())
      return Error::Invalid("asset_not_withdrawable", asset + " cannot be withdrawn from this chain");
    Withdrawal w;
    auto id = NextWithdrawalId(ctx.Sql());
    if (!id.ok()) return std::move(id).error();
    w.id = *id;
    w.account_id = op.signer;
    w.asset = asset;
    w.amount = FieldU64(op, "amount");
    w.fee = GasFor(TxType::kWithdrawal);
    w.l1_address = std::string(*op.Field("l1_address"));
    w.requested_at = ctx.now();
    w.deadline = ctx.now() + config->challenge_period;
    w.status = "pending";
    if (asset == kGasAsset) {
      auto total = CheckedAdd(w.amount, w.fee);
      if (!total) return Error::Invalid("invalid_amount", "amount + fee exceeds 2^63-1");
      KRAY_TRY(ctx.Debit(w.account_id, asset, state::Bucket::kAvailable, *total));
    } else {
      KRAY_TRY(ctx.Debit(w.account_id, asset, state::Bucket::kAvailable, w.amount));
      KRAY_TRY(ctx.Debit(w.account_id, kGasAsset, state::Bucket::kAvailable, w.fee));
    }
    KRAY_TRY(InsertWithdrawal(ctx.Sql(), w));
    TouchWithdrawal(ctx, w.id);
    ctx.SetResult("withdrawal_id", std::to_string(w.id));
    ctx.SetResult("deadline", std::to_string(w.deadline));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 3> kFields = {{
      {"amount", FieldKind::kAmount, true, std::nullopt, "credits_amount"},
      {"asset", FieldKind::kAsset},
      {"l1_address", FieldKind::kAddress, true, std::nullopt, {}, 100},
  }};
};

// --- challenges and their resolution ---------------------------------------

constexpr std::array<FieldSpec, 2> kChallengeFields = {{
    {"id", FieldKind::kUint},
    {"reason", FieldKind::kText, true, std::nullopt, {}, 512},
}};

Status CheckChallenge(const Operation& op) {
  if (FieldU64(op, "id") == 0) return Error::Invalid("invalid_field", "id must be a withdrawal id");
  if (op.Field("reason").value_or("").empty()) return Error::Invalid("missing_field", "a challenge gives a reason");
  if (!op.evidence.empty()) return BadEvidence(op.type + " carries no evidence");
  return Ok();
}

Status Challenge(OpContext& ctx, const Operation& op, std::string challenger) {
  auto w = LoadWithdrawal(ctx, FieldU64(op, "id"));
  if (!w.ok()) return std::move(w).error();
  // Once a withdrawal is in a spend its transaction may be broadcast: a
  // challenge can no longer stop it, so none is accepted.
  if (w->status != "pending")
    return Error::Conflict("withdrawal_not_challengeable",
                           "withdrawal " + std::to_string(w->id) + " is " + w->status + "; only a pending one");
  w->status = "challenged";
  w->challenged_by = std::move(challenger);
  w->challenge_reason = std::string(*op.Field("reason"));
  KRAY_TRY(UpdateWithdrawal(ctx.Sql(), *w));
  TouchWithdrawal(ctx, w->id);
  return Ok();
}

class ChallengeOp : public state::OperationType {
 public:
  std::string_view name() const override { return kWithdrawalChallengeOp; }
  state::Auth auth() const override { return state::Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return kChallengeFields; }
  Status Check(const ChainParams&, const Operation& op) const override { return CheckChallenge(op); }
  Status Apply(OpContext& ctx, const Operation& op) const override { return Challenge(ctx, op, "operator"); }
};

class ValidatorChallengeOp : public state::OperationType {
 public:
  explicit ValidatorChallengeOp(const ValidatorFacts& validators) : validators_(validators) {}
  std::string_view name() const override { return kWithdrawalValidatorChallengeOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kChallengeFields; }
  Amount gas() const override { return GasFor(TxType::kTransfer); }
  Status Check(const ChainParams&, const Operation& op) const override { return CheckChallenge(op); }
  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto active = validators_.IsActiveValidator(ctx.Sql(), op.signer);
    if (!active.ok()) return std::move(active).error();
    if (!*active)
      return Error::Unauthorized("not_an_active_validator",
                                 op.signer + " is not an active validator: only the operator or one may challenge");
    return Challenge(ctx, op, op.signer);
  }

 private:
  const ValidatorFacts& validators_;
};

class ResolveOp : public state::OperationType {
 public:
  std::string_view name() const override { return kWithdrawalResolveOp; }
  state::Auth auth() const override { return state::Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const Operation& op) const override {
    if (FieldU64(op, "id") == 0) return Error::Invalid("invalid_field", "id must be a withdrawal id");
    auto action = op.Field("action").value_or("");
    if (action != "release" && action != "refund")
      return Error::Invalid("invalid_field", "action must be release or refund");
    if (!op.evidence.empty()) return BadEvidence("withdrawal_resolve carries no evidence");
    return Ok();
  }
  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto w = LoadWithdrawal(ctx, FieldU64(op, "id"));
    if (!w.ok()) return std::move(w).error();
    if (w->status != "challenged")
      return Error::Conflict("withdrawal_not_challenged", "withdrawal " + std::to_string(w->id) + " is " + w->status);
    const std::string note(op.Field("note").value_or(""));
    if (op.Field("action") == "release") {
      w->status = "pending";  // keeps its deadline: due at once if it passed
      w->resolution = "released" + (note.empty() ? "" : ": " + note);
    } else {
      KRAY_TRY(ctx.Credit(w->account_id, w->asset, state::Bucket::kAvailable, w->amount));
      KRAY_TRY(ctx.Credit(w->account_id, kGasAsset, state::Bucket::kAvailable, w->fee));
      w->status = "refunded";
      w->resolution = "refunded" + (note.empty() ? "" : ": " + note);
    }
    KRAY_TRY(UpdateWithdrawal(ctx.Sql(), *w));
    TouchWithdrawal(ctx, w->id);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 3> kFields = {{
      {"action", FieldKind::kId, true, std::nullopt, {}, 16},
      {"id", FieldKind::kUint},
      {"note", FieldKind::kText, false, "", {}, 512},
  }};
};

// --- spends ----------------------------------------------------------------

class BatchOp : public state::OperationType {
 public:
  std::string_view name() const override { return kWithdrawalBatchOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }

  Status Check(const ChainParams&, const Operation& op) const override {
    KRAY_TRY(ExactEvidence(op, {"tx"}));
    auto tx = RecordedTx(op);
    if (!tx.ok()) return std::move(tx).error();
    auto ids = ParseIdList(op.Field("withdrawals").value_or(""));
    if (!ids.ok()) return std::move(ids).error();
    return Ok();
  }

  // Replay re-checks everything from the record: each withdrawal was due and
  // pending at this operation's time, and the recorded transaction pays it.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto config = SpendingConfig(ctx);
    if (!config.ok()) return std::move(config).error();
    auto tx = RecordedTx(op);
    if (!tx.ok()) return std::move(tx).error();
    auto ids = ParseIdList(*op.Field("withdrawals"));
    if (!ids.ok()) return std::move(ids).error();
    std::vector<Withdrawal> ws;
    std::vector<Payment> payments;
    Amount dust = 0;
    for (auto id : *ids) {
      auto w = LoadWithdrawal(ctx, id);
      if (!w.ok()) return std::move(w).error();
      if (w->status != "pending")
        return Error::Conflict("withdrawal_not_ready", "withdrawal " + std::to_string(id) + " is " + w->status);
      if (ctx.now() < w->deadline)
        return Error::Conflict("withdrawal_in_challenge_period",
                               "withdrawal " + std::to_string(id) + " is in its challenge period");
      auto script = DestinationScript(ctx.params(), w->l1_address);
      if (!script.ok()) return std::move(script).error();
      Payment p{w->id, std::move(*script), w->amount, std::nullopt};
      if (w->asset != "BTC") {
        p.rune = bitcoin::RuneId{};  // which rune is node configuration; the edict's amount is checked
        dust += kRuneDustSats;
      }
      payments.push_back(std::move(p));
      ws.push_back(std::move(*w));
    }
    if (FieldU64(op, "dust") != dust)
      return BadEvidence("dust must be " + std::to_string(kRuneDustSats) + " sats per rune withdrawal");
    auto paid = MatchPayments(*tx, payments, false);
    if (!paid.ok()) return BadEvidence(paid.error().message);
    Spend spend;
    spend.id = std::string(*op.Field("spend"));
    spend.kind = "withdrawals";
    spend.fee_reserve = FieldU64(op, "fee_reserve");
    spend.dust = dust;
    spend.fee_account = config->fee_account;
    spend.status = "signing";
    spend.created_at = ctx.now();
    KRAY_TRY(NewSpend(ctx, spend));
    for (auto& w : ws) {
      w.status = "signing";
      w.spend_id = spend.id;
      KRAY_TRY(UpdateWithdrawal(ctx.Sql(), w));
      TouchWithdrawal(ctx, w.id);
    }
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 4> kFields = {{
      {"dust", FieldKind::kAmount},
      {"fee_reserve", FieldKind::kAmount},
      {"spend", FieldKind::kId, true, std::nullopt, {}, 64},
      {"withdrawals", FieldKind::kText, true, std::nullopt, {}, 1200},
  }};
};

class AnchorOp : public state::OperationType {
 public:
  std::string_view name() const override { return kAnchorPublishOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }

  Status Check(const ChainParams&, const Operation& op) const override {
    KRAY_TRY(ExactEvidence(op, {"tx"}));
    auto tx = RecordedTx(op);
    if (!tx.ok()) return std::move(tx).error();
    const std::uint64_t batch = FieldU64(op, "batch");
    if (batch == 0 || AnchoredBatch(*tx) != batch)
      return BadEvidence("tx must carry exactly one OP_RETURN: the anchor payload of batch " + std::to_string(batch));
    return Ok();
  }

  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto config = SpendingConfig(ctx);
    if (!config.ok()) return std::move(config).error();
    const auto batch = static_cast<std::int64_t>(FieldU64(op, "batch"));
    auto existing = AnchorSpendOfBatch(ctx.Sql(), batch);
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value())
      return Error::Conflict("anchor_exists",
                             "batch " + std::to_string(batch) + " is anchored by spend " + (*existing)->id);
    Spend spend;
    spend.id = std::string(*op.Field("spend"));
    spend.kind = "anchor";
    spend.batch = batch;
    spend.fee_reserve = FieldU64(op, "fee_reserve");
    spend.fee_account = config->fee_account;
    spend.status = "signing";
    spend.created_at = ctx.now();
    return NewSpend(ctx, spend);
  }

 private:
  static constexpr std::array<FieldSpec, 3> kFields = {{
      {"batch", FieldKind::kUint},
      {"fee_reserve", FieldKind::kAmount},
      {"spend", FieldKind::kId, true, std::nullopt, {}, 64},
  }};
};

class ConfirmedOp : public state::OperationType {
 public:
  std::string_view name() const override { return kSpendConfirmedOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }

  Status Check(const ChainParams&, const Operation& op) const override {
    KRAY_TRY(ExactEvidence(op, {"block_hash", "fee", "height"}));
    if (!IsHash(op.Field("spend").value_or("")) || !IsHash(op.Field("txid").value_or("")))
      return Error::Invalid("invalid_txid", "spend and txid are 64 lowercase hex (display order)");
    if (!IsHash(op.Evidence("block_hash").value_or("")))
      return BadEvidence("block_hash must be 64 lowercase hex (display order)");
    auto height = ParseU64(op.Evidence("height").value_or(""));
    auto fee = ParseU64(op.Evidence("fee").value_or(""));
    if (!height || *height > 0xffffffffULL || !fee || *fee > kMaxAmount)
      return BadEvidence("height and fee must be canonical decimals");
    return Ok();
  }

  // Settles the spend: what left the bridge on L1 (payments, dust, fee)
  // leaves L2 supply here, so L1 backing and L2 supply move together.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    const std::string id(*op.Field("spend"));
    auto found = FindSpend(ctx.Sql(), id);
    if (!found.ok()) return std::move(found).error();
    if (!found->has_value()) return Error::NotFound("spend_not_found", "no spend " + id);
    Spend spend = std::move(**found);
    if (spend.status != "signing") return Error::Conflict("spend_already_confirmed", "spend " + id + " is confirmed");
    const Amount fee = *ParseU64(*op.Evidence("fee"));
    if (fee > spend.fee_reserve)
      return BadEvidence("the fee (" + std::to_string(fee) + " sats) exceeds the spend's reserve (" +
                         std::to_string(spend.fee_reserve) + ")");
    KRAY_TRY(ctx.BurnModuleValue("BTC", fee + spend.dust));
    if (spend.fee_reserve > fee)
      KRAY_TRY(ctx.Credit(spend.fee_account, "BTC", state::Bucket::kAvailable, spend.fee_reserve - fee));
    auto ws = SpendWithdrawals(ctx.Sql(), id);
    if (!ws.ok()) return std::move(ws).error();
    for (auto& w : *ws) {
      if (w.status != "signing") continue;
      KRAY_TRY(ctx.BurnModuleValue(w.asset, w.amount));
      const GasSplit split = SplitGas(w.fee);
      KRAY_TRY(ctx.BurnModuleValue(kGasAsset, split.burned));
      KRAY_TRY(ctx.AddModuleValueToFeePool(kGasAsset, split.to_validators));
      w.status = "completed";
      KRAY_TRY(UpdateWithdrawal(ctx.Sql(), w));
      TouchWithdrawal(ctx, w.id);
    }
    spend.status = "confirmed";
    spend.txid = std::string(*op.Field("txid"));
    spend.block_hash = std::string(*op.Evidence("block_hash"));
    spend.height = static_cast<std::uint32_t>(*ParseU64(*op.Evidence("height")));
    spend.fee_paid = fee;
    spend.confirmed_at = ctx.now();
    KRAY_TRY(UpdateSpend(ctx.Sql(), spend));
    ctx.Touch(state::LeafId{kBridgeSpendLeaf, id});
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 2> kFields = {{
      {"spend", FieldKind::kId, true, std::nullopt, {}, 64},
      {"txid", FieldKind::kId, true, std::nullopt, {}, 64},
  }};
};

class Operations : public WithdrawalOperations {
 public:
  explicit Operations(const ValidatorFacts& v) : validator_challenge_(v) {}
  std::vector<const state::OperationType*> list() const override {
    return {&request_, &challenge_, &validator_challenge_, &resolve_, &batch_, &anchor_, &confirmed_};
  }

 private:
  RequestOp request_;
  ChallengeOp challenge_;
  ValidatorChallengeOp validator_challenge_;
  ResolveOp resolve_;
  BatchOp batch_;
  AnchorOp anchor_;
  ConfirmedOp confirmed_;
};

class NoValidatorsFacts : public ValidatorFacts {
 public:
  Result<bool> IsActiveValidator(store::Database&, std::string_view) const override { return false; }
};

Error InvalidGenesis(const std::string& why) {
  return Error::Invalid("invalid_genesis", "bridge: " + why);
}

}  // namespace

std::unique_ptr<WithdrawalOperations> MakeWithdrawalOperations(const ValidatorFacts& validators) {
  return std::make_unique<Operations>(validators);
}

std::vector<state::LeafType> WithdrawalLeafTypes() {
  return {
      state::LeafType{kBridgeConfigLeaf, "bridge.config", EncodeConfigLeaf, ForEachConfigId},
      state::LeafType{kBridgeWithdrawalLeaf, "bridge.withdrawal", EncodeWithdrawalLeaf, ForEachWithdrawalId},
      state::LeafType{kBridgeSpendLeaf, "bridge.spend", EncodeSpendLeaf, ForEachSpendId},
  };
}

Result<std::vector<state::ConservationTerm>> WithdrawalAudit(store::Database& db) {
  auto held = HeldByWithdrawals(db);
  if (!held.ok()) return std::move(held).error();
  std::vector<state::ConservationTerm> out;
  for (const auto& h : *held) out.push_back({h.term, h.asset, h.amount});
  return out;
}

Status ApplyBridgeGenesis(OpContext& ctx, std::string_view section) {
  if (section.empty()) return Ok();
  auto j = nlohmann::json::parse(section, nullptr, false);
  if (!j.is_object()) return InvalidGenesis("the section must be an object");
  for (const auto& [k, v] : j.items())
    if (k != "challenge_period" && k != "fee_account" && k != "withdrawal_assets")
      return InvalidGenesis("unknown key '" + k + "'");
  BridgeConfig config;
  if (j.contains("challenge_period")) {
    const auto& p = j["challenge_period"];
    if (!p.is_number_unsigned() || p.get<std::uint64_t>() > kMaxChallengePeriod)
      return InvalidGenesis("challenge_period must be whole seconds, 0.." + std::to_string(kMaxChallengePeriod));
    config.challenge_period = p.get<std::int64_t>();
  }
  if (j.contains("fee_account")) {
    if (!j["fee_account"].is_string()) return InvalidGenesis("fee_account must be an account id or address");
    auto r = state::ResolveAccount(ctx.params(), j["fee_account"].get<std::string>());
    if (!r.ok()) return InvalidGenesis("fee_account: " + r.error().message);
    auto found = ctx.FindAccount(r->account_id);
    if (!found.ok()) return std::move(found).error();
    if (!found->has_value()) {
      if (r->address.empty()) return InvalidGenesis("fee_account " + r->account_id + " does not exist");
      KRAY_TRY(ctx.CreateAccount(r->address, ""));
    }
    config.fee_account = r->account_id;
  }
  if (j.contains("withdrawal_assets")) {
    const auto& a = j["withdrawal_assets"];
    if (!a.is_array() || a.empty()) return InvalidGenesis("withdrawal_assets must be a non-empty array of assets");
    std::set<std::string> assets;
    for (const auto& e : a) {
      if (!e.is_string() || !FindAsset(ctx.params().assets, e.get<std::string>()))
        return InvalidGenesis("withdrawal_assets: every entry must be a configured asset");
      if (!assets.insert(e.get<std::string>()).second) return InvalidGenesis("withdrawal_assets: duplicate asset");
    }
    config.withdrawal_assets.assign(assets.begin(), assets.end());
  }
  KRAY_TRY(WriteBridgeConfig(ctx.Sql(), config));
  ctx.Touch(state::LeafId{kBridgeConfigLeaf, "config"});
  return Ok();
}

}  // namespace kray::bridge::internal

namespace kray::bridge {

const ValidatorFacts& NoValidators() {
  static const internal::NoValidatorsFacts facts;
  return facts;
}

}  // namespace kray::bridge
