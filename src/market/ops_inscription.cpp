// inscription_transfer: the owner moves an inscription that is not escrowed
// to another account (docs/MARKET.md). A recipient named by an address that
// has no account yet is created without a key, as a transfer does.
#include <array>

#include "kray/market/market.h"
#include "kray/state/tx_message.h"
#include "ops_common.h"
#include "store.h"

namespace kray::market::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;

class InscriptionTransferOp : public state::OperationType {
 public:
  std::string_view name() const override { return kInscriptionTransferOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "from_account"; }
  Amount gas() const override { return GasFor(TxType::kTransfer); }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    auto id = op.Field("inscription_id").value_or("");
    if (!IsInscriptionId(id))
      return Error::Invalid("invalid_inscription_id",
                            "inscription_id must be <txid>i<index> (64 lowercase hex, 'i', a decimal index)");
    auto to = op.Field("to_account").value_or("");
    if (!state::IsAccountId(to)) return Error::Invalid("invalid_account", "recipient must be an account id");
    if (to == op.signer) return Error::Invalid("self_transfer", "sender and recipient are the same account");
    // to_account_address: ValidateOperation checks it names `to` (keep_address).
    return OnlyEvidence(op, {"to_account_address"});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    const std::string id(*op.Field("inscription_id"));
    const std::string to(*op.Field("to_account"));
    auto ins = LoadInscription(ctx.Sql(), id);
    if (!ins.ok()) return std::move(ins).error();
    if (!ins->has_value()) return Error::NotFound("inscription_not_found", "no inscription " + id + " on L2");
    if ((*ins)->owner != op.signer)
      return Error::Conflict("not_owner", "inscription " + id + " is not owned by " + op.signer);
    if ((*ins)->listing_id != 0)
      return Error::Conflict("inscription_escrowed", "inscription " + id + " is escrowed by listing " +
                                                         std::to_string((*ins)->listing_id) + ": cancel it first");
    KRAY_TRY(ctx.EnsureAccount(to, op.Evidence("to_account_address")));
    KRAY_TRY(UpdateInscription(ctx.Sql(), id, to, 0));
    ctx.Touch(InscriptionLeaf(id));
    ctx.SetResult("inscription_id", id);
    ctx.SetResult("owner", to);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 2> kFields = {{
      {"inscription_id", FieldKind::kId, true, std::nullopt, {}, kMaxInscriptionIdLen},
      {"to_account", FieldKind::kAccount, true, std::nullopt, {}, 256, /*keep_address=*/true},
  }};
};

}  // namespace

const state::OperationType& InscriptionTransferOperation() {
  static const InscriptionTransferOp op;
  return op;
}

}  // namespace kray::market::internal
