// JSON mapping of state types (see state_json.h).
#include "state_json.h"

#include "kray/api/auth_cookie.h"
#include "kray/core/bytes.h"

namespace kray::api {

std::string KrayString(Amount credits) {
  return FormatUnits(credits, 3);
}

Json TxRecordJson(const state::TxRecord& tx) {
  Json j = {{"tx_hash", tx.tx_hash},
            {"seq", tx.seq},
            {"tx_type", tx.type},
            {"from", tx.from_id},
            {"to", tx.to_id},
            {"asset", tx.asset},
            {"amount", AmountString(tx.amount)},
            {"gas_fee", AmountString(tx.gas_fee)},
            {"nonce", tx.nonce},
            {"signature", tx.signature},
            {"sig_scheme", tx.sig_scheme},
            {"data", tx.data},
            {"status", tx.status},
            {"created_at", tx.created_at},
            {"confirmed_at", tx.confirmed_at}};
  if (!tx.to_address.empty()) j["to_address"] = tx.to_address;
  j["batch_id"] = tx.batch_id < 0 ? Json(nullptr) : Json(tx.batch_id);
  return j;
}

Json ReceiptJson(const state::Receipt& r) {
  return Json{{"tx_hash", r.tx_hash},
              {"status", r.status},
              {"from", r.from_id},
              {"to", r.to_id},
              {"asset", r.asset},
              {"amount", AmountString(r.amount)},
              {"gas_fee", AmountString(r.gas_fee)},
              {"new_nonce", r.new_nonce},
              {"confirmed_at", r.confirmed_at},
              {"seq", r.seq}};
}

Result<state::TransferTx> ParseTransferJson(const Json& obj, const ChainParams& params) {
  if (!obj.is_object()) return Error::Invalid("invalid_type", "a transaction must be a JSON object");
  state::TransferTx tx;
  auto from = RequireString(obj, "from_account");
  if (!from.ok()) return std::move(from).error();
  auto to = RequireString(obj, "to_account");
  if (!to.ok()) return std::move(to).error();
  auto amount = RequireAmount(obj, "amount");
  if (!amount.ok()) return std::move(amount).error();
  auto sig = RequireString(obj, "signature");
  if (!sig.ok()) return std::move(sig).error();
  auto nonce = RequireU64(obj, "nonce");
  if (!nonce.ok()) return std::move(nonce).error();
  auto type = OptionalString(obj, "tx_type", "transfer");
  if (!type.ok()) return std::move(type).error();
  auto asset = OptionalString(obj, "asset", kGasAsset);
  if (!asset.ok()) return std::move(asset).error();
  auto data = OptionalString(obj, "data", "");
  if (!data.ok()) return std::move(data).error();
  auto scheme = OptionalString(obj, "sig_scheme", "");
  if (!scheme.ok()) return std::move(scheme).error();

  if (from->empty()) return Error::Invalid("invalid_account", "field 'from_account' must not be empty");
  if (to->empty()) return Error::Invalid("invalid_account", "field 'to_account' must not be empty");
  auto tt = ParseTxType(*type);
  if (!tt) return Error::Invalid("invalid_tx_type", "unknown tx_type '" + *type + "'");
  if (!FindAsset(params.assets, *asset)) return Error::Invalid("unknown_asset", "unknown asset '" + *asset + "'");
  if (data->size() > 1024) return Error::Invalid("data_too_long", "field 'data' exceeds 1024 bytes");
  auto sigbytes = FromHexFixed<64>(*sig);
  if (!sigbytes) {
    return Error::Invalid("invalid_signature_format", "field 'signature' must be 64 bytes of hex (128 characters)");
  }
  if (scheme->empty()) {
    // The legacy message binds neither asset, type nor data, so it is only
    // the default where it is accepted at all (tx_message.h).
    bool plain = *asset == kGasAsset && *tt == TxType::kTransfer && data->empty();
    tx.scheme = plain ? state::SigScheme::kLegacy : state::SigScheme::kV1;
  } else if (*scheme == "legacy") {
    tx.scheme = state::SigScheme::kLegacy;
  } else if (*scheme == "v1") {
    tx.scheme = state::SigScheme::kV1;
  } else {
    return Error::Invalid("invalid_field", "field 'sig_scheme' must be \"legacy\" or \"v1\"");
  }
  tx.from = std::move(*from);
  tx.to = std::move(*to);
  tx.asset = std::move(*asset);
  tx.amount = *amount;
  tx.nonce = *nonce;
  tx.type = *tt;
  tx.data = std::move(*data);
  tx.signature = *sigbytes;
  return tx;
}

Status CheckOperator(const HttpRequest& req, const ApiContext& ctx) {
  if (ctx.rpctoken.empty()) {
    return Error::Unavailable("operator_disabled", "operator endpoints are disabled: no operator token configured");
  }
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view auth = req.authorization;
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer) {
    return Error::Unauthorized("unauthorized",
                               "operator token required: Authorization: Bearer <rpctoken, or the token in "
                               "<datadir>/.cookie>");
  }
  // Constant time, independent of where the tokens differ and of their
  // lengths, so the token cannot be guessed byte by byte.
  if (!TokenMatches(auth.substr(kBearer.size()), ctx.rpctoken)) {
    return Error::Unauthorized("unauthorized", "invalid operator token");
  }
  return Ok();
}

}  // namespace kray::api
