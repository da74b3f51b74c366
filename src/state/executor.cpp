// Transfer validation, signing messages and the transfer state transition.
#include "kray/state/executor.h"

#include <algorithm>
#include <cctype>

#include "kray/bitcoin/taproot_key.h"
#include "kray/state/tx_message.h"

namespace kray::state {
namespace {

constexpr std::size_t kMaxData = 1024;

struct ResolvedName {
  std::string id;
  std::string address;  // canonical (lower case) address if named by address
};

Result<ResolvedName> Resolve(const ChainParams& params, std::string_view who, std::string_view role) {
  if (who.empty()) return Error::Invalid("invalid_account", std::string(role) + " account is empty");
  if (who.substr(0, 5) == "kray_") {
    if (!IsAccountId(who))
      return Error::Invalid("invalid_account", std::string(role) + " '" + std::string(who) +
                                                   "' is not a valid account id (kray_ + 32 lowercase hex)");
    return ResolvedName{std::string(who), ""};
  }
  std::string lower(who);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto key = bitcoin::DecodeP2trAddress(params.hrp(), lower);
  if (!key.ok()) {
    return Error::Invalid("invalid_account", std::string(role) + " '" + std::string(who) +
                                                 "' is neither an account id nor a P2TR address of " +
                                                 std::string(NetworkName(params.network)) + ": " + key.error().message);
  }
  return ResolvedName{AccountIdFromAddress(lower), lower};
}

}  // namespace

Result<ResolvedTransfer> PrepareTransfer(const ChainParams& params, const TransferTx& tx) {
  if (tx.amount == 0) return Error::Invalid("invalid_amount", "amount must be greater than zero");
  if (tx.amount > kMaxAmount) return Error::Invalid("invalid_amount", "amount exceeds 2^63-1");
  if (!FindAsset(params.assets, tx.asset)) return Error::Invalid("unknown_asset", "unknown asset '" + tx.asset + "'");
  if (tx.data.size() > kMaxData) return Error::Invalid("data_too_long", "data must be at most 1024 bytes");
  if (tx.scheme == SigScheme::kLegacy && (tx.asset != kGasAsset || tx.type != TxType::kTransfer || !tx.data.empty())) {
    return Error::Invalid("legacy_signature_not_allowed",
                          "the legacy signature format is only accepted for KRAY transfers of type 'transfer' "
                          "with empty data; sign the v1 message (docs/SIGNING.md)");
  }
  auto from = Resolve(params, tx.from, "sender");
  if (!from.ok()) return std::move(from).error();
  auto to = Resolve(params, tx.to, "recipient");
  if (!to.ok()) return std::move(to).error();
  if (from->id == to->id) return Error::Invalid("self_transfer", "sender and recipient are the same account");
  ResolvedTransfer rt;
  rt.tx = tx;
  rt.from_id = std::move(from->id);
  rt.to_id = std::move(to->id);
  rt.to_address = std::move(to->address);
  rt.gas_fee = GasFor(tx.type);
  rt.tx_hash = ToHex(TransferMessageV1(params.chain_id, TxTypeName(tx.type), rt.from_id, rt.to_id, tx.asset, tx.amount,
                                       tx.nonce, tx.data));
  return rt;
}

Hash256 SignedMessage(const ChainParams& params, const ResolvedTransfer& rt) {
  if (rt.tx.scheme == SigScheme::kLegacy) return LegacyTransferMessage(rt.tx.from, rt.tx.to, rt.tx.amount, rt.tx.nonce);
  return TransferMessageV1(params.chain_id, TxTypeName(rt.tx.type), rt.from_id, rt.to_id, rt.tx.asset, rt.tx.amount,
                           rt.tx.nonce, rt.tx.data);
}

Status VerifyTransfer(const ChainParams& params, const ResolvedTransfer& rt, const crypto::XOnlyPubKey& pubkey) {
  Hash256 msg = SignedMessage(params, rt);
  if (!crypto::SchnorrVerify(pubkey, msg, rt.tx.signature)) {
    return Error::Unauthorized("invalid_signature", std::string("signature does not verify (") +
                                                        std::string(SigSchemeName(rt.tx.scheme)) +
                                                        " message) against the sender's key");
  }
  return Ok();
}

TxRecord TransferRecord(const ResolvedTransfer& rt, std::string status, std::int64_t created_at) {
  const TransferTx& tx = rt.tx;
  TxRecord rec;
  rec.tx_hash = rt.tx_hash;
  rec.type = std::string(TxTypeName(tx.type));
  rec.from_id = rt.from_id;
  rec.to_id = rt.to_id;
  rec.to_address = rt.to_address;
  rec.asset = tx.asset;
  rec.amount = tx.amount;
  rec.gas_fee = rt.gas_fee;
  rec.nonce = tx.nonce;
  rec.signature = ToHex(tx.signature);
  rec.sig_scheme = std::string(SigSchemeName(tx.scheme));
  if (tx.scheme == SigScheme::kLegacy) {  // the exact strings the legacy message covers
    rec.signed_from = tx.from;
    rec.signed_to = tx.to;
  }
  rec.data = tx.data;
  rec.status = std::move(status);
  rec.created_at = created_at;
  return rec;
}

Result<TxRecord> ApplyTransfer(WriteContext& ctx, const ResolvedTransfer& rt, std::int64_t now) {
  const TransferTx& tx = rt.tx;
  auto sender = ctx.GetAccount(rt.from_id);
  if (!sender.ok()) {
    return Error::NotFound("account_not_found", "sender account " + rt.from_id + " not found");
  }
  if (sender->pubkey_hex.empty()) {
    return Error::Unauthorized("pubkey_not_bound",
                               "sender " + rt.from_id + " has no key bound; call /api/account/create first");
  }
  KRAY_TRY(ctx.UseNonce(rt.from_id, tx.nonce));

  // Check funds before any write so the error names the full requirement.
  if (tx.asset == kGasAsset) {
    auto need = CheckedAdd(tx.amount, rt.gas_fee);
    if (!need) return Error::Invalid("invalid_amount", "amount plus gas overflows");
    auto bal = ctx.GetBalance(rt.from_id, kGasAsset);
    if (!bal.ok()) return std::move(bal).error();
    if (bal->available < *need) {
      return Error::Conflict("insufficient_balance", "insufficient KRAY balance: need " + std::to_string(*need) +
                                                         " (amount " + std::to_string(tx.amount) + " + gas " +
                                                         std::to_string(rt.gas_fee) + "), have " +
                                                         std::to_string(bal->available));
    }
  } else {
    auto bal = ctx.GetBalance(rt.from_id, tx.asset);
    if (!bal.ok()) return std::move(bal).error();
    if (bal->available < tx.amount) {
      return Error::Conflict("insufficient_balance", "insufficient " + tx.asset + " balance: need " +
                                                         std::to_string(tx.amount) + ", have " +
                                                         std::to_string(bal->available));
    }
    auto gas = ctx.GetBalance(rt.from_id, kGasAsset);
    if (!gas.ok()) return std::move(gas).error();
    if (gas->available < rt.gas_fee) {
      return Error::Conflict("insufficient_balance", "insufficient KRAY for gas: need " + std::to_string(rt.gas_fee) +
                                                         ", have " + std::to_string(gas->available));
    }
  }

  if (!ctx.AccountExists(rt.to_id)) {
    if (rt.to_address.empty())
      return Error::NotFound("account_not_found", "recipient account " + rt.to_id + " not found");
    KRAY_TRY(ctx.CreateAccount(rt.to_address, "", now));
  }
  KRAY_TRY(ctx.Debit(rt.from_id, tx.asset, Bucket::kAvailable, tx.amount));
  KRAY_TRY(ctx.Credit(rt.to_id, tx.asset, Bucket::kAvailable, tx.amount));
  KRAY_TRY(ctx.ChargeGas(rt.from_id, rt.gas_fee));

  TxRecord rec = TransferRecord(rt, "confirmed", now);
  rec.confirmed_at = now;
  ctx.Touch(rt.from_id);
  ctx.Touch(rt.to_id);
  return ctx.RecordTx(std::move(rec));
}

Result<ResolvedTransfer> TransferFromRecord(const ChainParams& params, const TxRecord& rec) {
  auto type = ParseTxType(rec.type);
  if (!type) return Error::Invalid("invalid_tx_type", "record has unknown type '" + rec.type + "'");
  auto sig = FromHexFixed<64>(rec.signature);
  if (!sig) return Error::Invalid("invalid_signature", "record signature is not 64 bytes of hex");
  ResolvedTransfer rt;
  rt.tx.from = rec.from_id;
  rt.tx.to = rec.to_address.empty() ? rec.to_id : rec.to_address;
  rt.tx.asset = rec.asset;
  rt.tx.amount = rec.amount;
  rt.tx.nonce = rec.nonce;
  rt.tx.type = *type;
  rt.tx.data = rec.data;
  rt.tx.signature = *sig;
  rt.tx.scheme = rec.sig_scheme == "v1" ? SigScheme::kV1 : SigScheme::kLegacy;
  if (rt.tx.scheme == SigScheme::kLegacy && !rec.signed_from.empty()) {
    // The legacy message covers the strings as sent; they must still resolve
    // to the recorded accounts.
    auto f = PrepareTransfer(params, [&] {
      TransferTx t = rt.tx;
      t.from = rec.signed_from;
      t.to = rec.signed_to;
      return t;
    }());
    if (!f.ok() || f->from_id != rec.from_id || f->to_id != rec.to_id)
      return Error::Invalid("invalid_account", "record signed_from/signed_to do not resolve to its accounts");
    rt.tx.from = rec.signed_from;
    rt.tx.to = rec.signed_to;
  }
  rt.from_id = rec.from_id;
  rt.to_id = rec.to_id;
  rt.to_address = rec.to_address;
  rt.gas_fee = rec.gas_fee;
  rt.tx_hash = rec.tx_hash;
  if (rt.gas_fee != GasFor(*type)) return Error::Invalid("invalid_gas", "record gas does not match its type");
  if (!rt.to_address.empty() && AccountIdFromAddress(rt.to_address) != rt.to_id)
    return Error::Invalid("invalid_account", "record to_address does not hash to to_id");
  std::string expect = ToHex(
      TransferMessageV1(params.chain_id, rec.type, rec.from_id, rec.to_id, rec.asset, rec.amount, rec.nonce, rec.data));
  if (expect != rec.tx_hash) return Error::Invalid("invalid_tx_hash", "record tx_hash does not match its content");
  return rt;
}

}  // namespace kray::state
