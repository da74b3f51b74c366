// validator_batch (system): records a closed rollup batch and pays the
// validators' half of the gas of the log since the previous recorded batch
// (the first record: its own batch) to the validators that attested that
// previous batch, pro rata to their bonded stake (docs/VALIDATORS.md, "Recording batches", "Rewards").
//
// Everything it pays is determined by replayed state and its own fields:
// the gas comes from the operation log itself (state::OperationsInRange over
// the covered range), the batch's tx root is recomputed from the same
// records and must equal the evidence, and the eligible validators and
// their stakes are the module's state. A second submission for a recorded
// batch changes nothing, so the node may submit it again after a restart.
#include <algorithm>
#include <array>

#include "kray/core/asset.h"
#include "kray/rollup/batch.h"
#include "kray/state/op_log.h"
#include "kray/validators/validators.h"
#include "ops_common.h"
#include "store.h"

namespace kray::validators::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;

constexpr std::size_t kReadChunk = 10000;

struct LogSummary {
  Amount gas_retained = 0;  // Σ SplitGas(gas_fee).to_validators over the covered range
  Hash256 tx_root{};        // over first_seq..last_seq
};

// Reads the log from `from` to `last_seq`, which must all be there.
Result<LogSummary> SummarizeLog(state::OpContext& ctx, std::uint64_t from, std::uint64_t first_seq,
                                std::uint64_t last_seq) {
  LogSummary out;
  std::vector<Hash256> record_hashes;
  std::uint64_t expect = from;
  while (expect <= last_seq) {
    auto ops = state::OperationsInRange(ctx.Sql(), expect, last_seq, kReadChunk);
    if (!ops.ok()) return std::move(ops).error();
    if (ops->empty()) break;
    for (const auto& op : *ops) {
      if (op.seq != expect) break;
      auto sum = CheckedAdd(out.gas_retained, SplitGas(op.gas_fee).to_validators);
      if (!sum) return Error::Internal("validators: batch gas overflows");
      out.gas_retained = *sum;
      if (op.seq >= first_seq) record_hashes.push_back(state::OperationRecordHash(op));
      ++expect;
    }
    if (expect <= last_seq && ops->back().seq + 1 != expect) break;
  }
  if (expect <= last_seq)
    return Error::Conflict("batch_ops_missing", "the log has no operation " + std::to_string(expect) +
                                                    " of the batch's range (up to " + std::to_string(last_seq) + ")");
  out.tx_root = rollup::TxRoot(record_hashes);
  return out;
}

struct Payee {
  Validator validator;
  Amount share = 0;
  u128 remainder = 0;
};

// Splits `amount` pro rata to stake: floor(amount * stake / total) each, and
// the credits left over one each to the largest remainders (ties: the
// smaller validator id), so the shares add up to `amount` exactly.
void SplitProRata(std::vector<Payee>& payees, Amount amount) {
  u128 total = 0;
  for (const auto& p : payees) total += p.validator.stake;
  if (total == 0) return;
  Amount paid = 0;
  for (auto& p : payees) {
    u128 product = static_cast<u128>(amount) * p.validator.stake;
    p.share = static_cast<Amount>(product / total);
    p.remainder = product % total;
    paid += p.share;
  }
  std::vector<Payee*> order;
  for (auto& p : payees) order.push_back(&p);
  std::sort(order.begin(), order.end(), [](const Payee* a, const Payee* b) {
    if (a->remainder != b->remainder) return a->remainder > b->remainder;
    return a->validator.validator_id < b->validator.validator_id;
  });
  for (std::size_t i = 0; paid < amount; ++i, ++paid) order[i % order.size()]->share += 1;
}

// Validators in the active set that attested batch `number`, by id.
Result<std::vector<Payee>> Eligible(state::OpContext& ctx, const Config& config, std::uint64_t number) {
  auto ids = AttestersOf(ctx.Sql(), number);
  if (!ids.ok()) return std::move(ids).error();
  std::vector<Payee> out;
  for (const auto& id : *ids) {
    auto v = RequireValidator(ctx, id);
    if (!v.ok()) return std::move(v).error();
    if (v->Active(config)) out.push_back(Payee{std::move(*v)});
  }
  return out;
}

class BatchOp : public state::OperationType {
 public:
  std::string_view name() const override { return kBatchOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "batch"));
    KRAY_TRY(CheckPositiveField(op, "first_seq"));
    if (FieldU64(op, "last_seq") < FieldU64(op, "first_seq"))
      return Error::Invalid("invalid_field", "last_seq is before first_seq");
    for (const char* k : {"state_root", "tx_root"}) {
      auto v = op.Evidence(k).value_or("");
      if (v.size() != 64 || !FromHexFixed<32>(v) || ToHex(*FromHexFixed<32>(v)) != v)
        return Error::Invalid("invalid_evidence", std::string("validator_batch names the batch's ") + k +
                                                      " (64 lowercase hex) as evidence");
    }
    return OnlyEvidence(op, {"state_root", "tx_root"});
  }

  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    RecordedBatch b;
    b.number = FieldU64(op, "batch");
    b.first_seq = FieldU64(op, "first_seq");
    b.last_seq = FieldU64(op, "last_seq");
    b.state_root = std::string(*op.Evidence("state_root"));
    b.tx_root = std::string(*op.Evidence("tx_root"));
    auto existing = LoadBatch(ctx.Sql(), b.number);
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value()) return Repeat(ctx, **existing, b);
    auto last = LoadLastBatch(ctx.Sql());
    if (!last.ok()) return std::move(last).error();
    // The first record covers its own batch: before it no validator could
    // be paid (nothing was recorded to attest), so that gas stays in the
    // fee pool, as with no eligible validator.
    b.range_first_seq = last->has_value() ? (*last)->last_seq + 1 : b.first_seq;
    if (last->has_value() && b.number < (*last)->number)
      return Error::Conflict("batch_out_of_order", "batch " + std::to_string(b.number) +
                                                       " comes before the recorded "
                                                       "batch " +
                                                       std::to_string((*last)->number));
    if (b.first_seq < b.range_first_seq)
      return Error::Conflict("batch_out_of_order",
                             "batch " + std::to_string(b.number) + " starts at seq " + std::to_string(b.first_seq) +
                                 ", inside the log recorded up to " + std::to_string(b.range_first_seq - 1));
    auto log = SummarizeLog(ctx, b.range_first_seq, b.first_seq, b.last_seq);
    if (!log.ok()) return std::move(log).error();
    if (ToHex(log->tx_root) != b.tx_root)
      return Error::Invalid("invalid_evidence", "the log's operations " + std::to_string(b.first_seq) + ".." +
                                                    std::to_string(b.last_seq) + " have tx root " +
                                                    ToHex(log->tx_root) + ", not " + b.tx_root);
    b.gas_retained = log->gas_retained;
    if (FieldU64(op, "gas_retained") != b.gas_retained)
      return Error::Invalid("invalid_evidence",
                            "the validators' share of the gas in seq " + std::to_string(b.range_first_seq) + ".." +
                                std::to_string(b.last_seq) + " is " + std::to_string(b.gas_retained));
    KRAY_TRY(Distribute(ctx, last->has_value() ? (*last)->number : 0, b));
    b.recorded_at = ctx.now();
    KRAY_TRY(InsertBatch(ctx.Sql(), b));
    ctx.Touch(BatchLeaf(b.number));
    ctx.SetResult("batch", std::to_string(b.number));
    ctx.SetResult("gas_retained", std::to_string(b.gas_retained));
    ctx.SetResult("distributed", std::to_string(b.distributed));
    ctx.SetResult("eligible_validators", std::to_string(b.eligible_count));
    return Ok();
  }

 private:
  // The batch is recorded already: the same record again changes nothing.
  static Status Repeat(state::OpContext& ctx, const RecordedBatch& recorded, const RecordedBatch& b) {
    if (recorded.first_seq != b.first_seq || recorded.last_seq != b.last_seq || recorded.state_root != b.state_root ||
        recorded.tx_root != b.tx_root)
      return Error::Conflict("batch_recorded_differently",
                             "batch " + std::to_string(b.number) + " is recorded with other seqs or roots");
    ctx.MarkNoChange();
    return Ok();
  }

  // Pays the share to the validators that attested the previous recorded
  // batch; with none it stays in the fee pool.
  static Status Distribute(state::OpContext& ctx, std::uint64_t previous, RecordedBatch& b) {
    if (previous == 0 || b.gas_retained == 0) return Ok();
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    auto payees = Eligible(ctx, *config, previous);
    if (!payees.ok()) return std::move(payees).error();
    if (payees->empty()) return Ok();
    SplitProRata(*payees, b.gas_retained);
    KRAY_TRY(ctx.TakeFromFeePool(kGasAsset, b.gas_retained));
    for (auto& p : *payees) {
      b.eligible_stake += p.validator.stake;  // each <= the KRAY supply: no overflow
      auto pending = CheckedAdd(p.validator.rewards_pending, p.share);
      auto earned = CheckedAdd(p.validator.rewards_earned, p.share);
      if (!pending || !earned) return Error::Internal("validators: rewards overflow");
      p.validator.rewards_pending = *pending;
      p.validator.rewards_earned = *earned;
      KRAY_TRY(SaveValidator(ctx, p.validator));
    }
    b.eligible_count = payees->size();
    b.distributed = b.gas_retained;
    return Ok();
  }

  static constexpr std::array<FieldSpec, 4> kFields = {{
      {"batch", FieldKind::kUint},
      {"first_seq", FieldKind::kUint},
      {"gas_retained", FieldKind::kAmount},
      {"last_seq", FieldKind::kUint},
  }};
};

}  // namespace

const state::OperationType& BatchOperation() {
  static const BatchOp op;
  return op;
}

}  // namespace kray::validators::internal
