// The defi module's operation types (see include/kray/defi/defi.h and
// operations.h). Each Apply works only through the OpContext (balances,
// supply) and ctx.Sql() (the module's tables, under the unit's savepoint),
// at ctx.now(); any error undoes the whole operation.
#include "operations.h"

#include <algorithm>
#include <array>
#include <map>

#include "kray/core/params.h"
#include "kray/state/op_context.h"
#include "pool_store.h"

namespace kray::defi {
namespace {

using state::FieldKind;
using state::FieldSpec;
using state::OpContext;
using state::Operation;

constexpr std::size_t kPoolIdMax = 64;
constexpr std::size_t kPathMax = 128;

// A canonical amount field (BuildOperation made it so; a record that is not
// fails its signature), or 0 when absent.
Amount Num(const Operation& op, std::string_view key) {
  auto v = op.Field(key);
  if (!v) return 0;
  auto a = ParseAmount(*v);
  return a.ok() ? *a : 0;
}

Error Overflow(std::string_view what) {
  return Error::Invalid("amount_overflow", std::string(what) + " would exceed 2^63-1");
}

// Shared stateless checks: no evidence (nothing is named by address), a
// well-formed deadline, the amounts that must be positive.
Status CheckCommon(const Operation& op, std::initializer_list<std::string_view> positive) {
  if (!op.evidence.empty())
    return Error::Invalid("invalid_evidence", "operation '" + op.type + "' carries no evidence");
  if (auto d = op.Field("deadline"); d && !ParseAmount(*d).ok())
    return Error::Invalid("invalid_field", "field 'deadline' must be unix seconds");
  for (auto key : positive) {
    if (!op.Field(key)) return Error::Invalid("missing_field", "missing field '" + std::string(key) + "'");
    if (Num(op, key) == 0)
      return Error::Invalid("invalid_amount", "field '" + std::string(key) + "' must be greater than zero");
  }
  return Ok();
}

// A minimum that exceeds what it bounds can never be met.
Status CheckMinimum(const Operation& op, std::string_view min_key, std::string_view of_key) {
  if (Num(op, min_key) > Num(op, of_key))
    return Error::Invalid("invalid_field", "field '" + std::string(min_key) + "' exceeds '" + std::string(of_key) +
                                               "': it can never be met");
  return Ok();
}

// Router02's ensure(deadline), against the operation's recorded time.
Status CheckDeadline(OpContext& ctx, const Operation& op) {
  if (auto d = op.Field("deadline")) {
    auto deadline = ParseAmount(*d);
    if (deadline.ok() && ctx.now() > static_cast<std::int64_t>(*deadline))
      return Error::Conflict("expired", "the operation's deadline " + std::string(*d) + " has passed (now " +
                                            std::to_string(ctx.now()) + ")");
  }
  return Ok();
}

// Checks, before anything moves, that `who` can pay `amounts` and the gas
// (in KRAY), so the error names the whole requirement.
Status RequireFunds(OpContext& ctx, const std::string& who, const std::vector<std::pair<std::string, Amount>>& amounts,
                    Amount gas) {
  std::map<std::string, Amount> need;  // asset -> amount, gas excluded
  need[std::string(kGasAsset)] = 0;
  for (const auto& [asset, amount] : amounts) {
    auto sum = CheckedAdd(need[asset], amount);
    if (!sum) return Overflow("the amount needed");
    need[asset] = *sum;
  }
  for (const auto& [asset, amount] : need) {
    const Amount g = asset == kGasAsset ? gas : 0;
    auto total = CheckedAdd(amount, g);
    if (!total) return Overflow("the amount needed");
    if (*total == 0) continue;
    auto bal = ctx.GetBalance(who, asset);
    if (!bal.ok()) return std::move(bal).error();
    if (bal->available < *total) {
      std::string detail =
          g > 0 ? " (amount " + std::to_string(amount) + " + gas " + std::to_string(g) + ")" : std::string();
      return Error::Conflict("insufficient_balance", "insufficient " + asset + " balance: need " +
                                                         std::to_string(*total) + detail + ", have " +
                                                         std::to_string(bal->available));
    }
  }
  return Ok();
}

Result<Pool> ExistingPool(OpContext& ctx, std::string_view pool_id) {
  auto p = LoadPool(ctx.Sql(), pool_id);
  if (!p.ok()) return std::move(p).error();
  if (!p->has_value()) return Error::NotFound("pool_not_found", "no pool " + std::string(pool_id));
  return std::move(**p);
}

// Gives `amount` new LP units of `pool` to `to` (UniswapV2ERC20._mint): first
// from the units removals returned to the module, then newly minted, so the
// LP asset's minted counter stays below the pool's largest supply ever and
// add/remove cycles cannot run it into 2^63. Adds to the pool's supply.
Status IssueLp(OpContext& ctx, Pool& pool, const std::string& to, Amount amount) {
  auto supply = CheckedAdd(pool.lp_supply, amount);
  if (!supply) return Overflow("the pool's LP supply");
  const std::string lp = LpAsset(pool.pool_id);
  const Amount recycled = std::min(amount, pool.lp_retired);
  if (recycled > 0) KRAY_TRY(ctx.Credit(to, lp, state::Bucket::kAvailable, recycled));
  if (amount > recycled) KRAY_TRY(ctx.Mint(to, lp, amount - recycled));
  pool.lp_retired -= recycled;
  pool.lp_supply = *supply;
  return Ok();
}

// UniswapV2Pair._mintFee, before a liquidity event changes the supply: with
// the fee on, 1/6 of the growth of sqrt(k) since k_last is minted as LP
// units to the protocol fee account; with it off, k_last is cleared.
Status MintProtocolFee(OpContext& ctx, Pool& pool) {
  auto fee_to = ConfigValue(ctx.Sql(), kProtocolFeeKey);
  if (!fee_to.ok()) return std::move(fee_to).error();
  if (fee_to->empty()) {
    pool.k_last = 0;
    return Ok();
  }
  Amount fee = ProtocolFeeLiquidity(pool.reserve_a, pool.reserve_b, pool.k_last, pool.lp_supply);
  if (fee == 0) return Ok();
  KRAY_TRY(IssueLp(ctx, pool, *fee_to, fee));
  ctx.SetResult("protocol_fee_liquidity", std::to_string(fee));
  return Ok();
}

// After a liquidity event, with the fee on: kLast = reserve0 * reserve1.
Status UpdateKLast(OpContext& ctx, Pool& pool) {
  auto fee_to = ConfigValue(ctx.Sql(), kProtocolFeeKey);
  if (!fee_to.ok()) return std::move(fee_to).error();
  pool.k_last = fee_to->empty() ? 0 : static_cast<u128>(pool.reserve_a) * pool.reserve_b;
  return Ok();
}

Status SavePool(OpContext& ctx, const Pool& pool, bool observed) {
  KRAY_TRY(UpdatePool(ctx.Sql(), pool));
  if (observed) KRAY_TRY(RecordObservation(ctx.Sql(), pool));
  ctx.Touch(state::LeafId{kPoolLeaf, pool.pool_id});
  return Ok();
}

// a * b for a, b < 2^128, exactly.
U256 Mul128(u128 a, u128 b) {
  U256 x = U256::FromU128(a);
  return x.MulU64(static_cast<std::uint64_t>(b)) + (x.MulU64(static_cast<std::uint64_t>(b >> 64)) << 64);
}

// One swap against one pool (a hop of a route): amount_in of one side in,
// amount_out of the other out. The pool's balances change; the trader's are
// moved by the caller.
Status ApplySwap(OpContext& ctx, Pool& pool, bool in_is_a, Amount amount_in, Amount amount_out) {
  Amount& r_in = in_is_a ? pool.reserve_a : pool.reserve_b;
  Amount& r_out = in_is_a ? pool.reserve_b : pool.reserve_a;
  const Amount old_in = r_in, old_out = r_out;
  if (amount_out >= old_out) return Error::Internal("swap output reaches the reserve");  // getAmountOut < reserveOut
  bool observed = AccruePrices(pool, ctx.now());  // with the reserves before the swap
  auto new_in = CheckedAdd(old_in, amount_in);
  if (!new_in) return Overflow("the pool's reserve");
  const Amount new_out = old_out - amount_out;
  // UniswapV2Pair.swap's invariant: (balanceIn*1000 - amountIn*3) *
  // balanceOut*1000 >= reserveIn * reserveOut * 1000^2 (the fee stays in the
  // pool, so k = reserveIn * reserveOut never decreases). getAmountOut makes
  // it true; this guards the arithmetic.
  const U256 lhs =
      Mul128(static_cast<u128>(*new_in) * 1000 - static_cast<u128>(amount_in) * 3, static_cast<u128>(new_out) * 1000);
  const U256 rhs = Mul128(static_cast<u128>(old_in) * old_out, 1000000);
  if (lhs < rhs) return Error::Internal("swap would decrease the fee-adjusted k of " + pool.pool_id);
  r_in = *new_in;
  r_out = new_out;
  KRAY_TRY(SavePool(ctx, pool, observed));
  return RecordSwap(ctx.Sql(), pool.pool_id, ctx.now(), in_is_a ? amount_in : amount_out,
                    in_is_a ? amount_out : amount_in);
}

// ---------------------------------------------------------------------------

class DefiOperation : public state::OperationType {
 public:
  state::Auth auth() const override { return state::Auth::kSigned; }
};

class PoolCreateOp : public DefiOperation {
 public:
  std::string_view name() const override { return kPoolCreateOp; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "creator_account"; }
  Amount gas() const override { return GasFor(TxType::kDefiComplex); }

  Status Check(const ChainParams& params, const Operation& op) const override {
    KRAY_TRY(CheckCommon(op, {"amount_a", "amount_b"}));
    auto ta = op.Field("token_a");
    auto tb = op.Field("token_b");
    if (!ta || !tb) return Error::Invalid("missing_field", "pool_create needs token_a and token_b");
    for (auto t : {*ta, *tb})
      if (!FindAsset(params.assets, t))
        return Error::Invalid("invalid_pool_asset",
                              "pools are between configured assets; '" + std::string(t) + "' is not one");
    if (*ta == *tb) return Error::Invalid("same_token", "token_a and token_b are the same asset");
    auto liquidity = InitialLiquidity(Num(op, "amount_a"), Num(op, "amount_b"));
    if (!liquidity.ok()) return std::move(liquidity).error();
    return Ok();
  }

  // UniswapV2Factory.createPair + UniswapV2Pair.mint on an empty pair.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    KRAY_TRY(CheckDeadline(ctx, op));
    const std::string token_a(*op.Field("token_a"));
    const std::string token_b(*op.Field("token_b"));
    PoolPair pair = OrderPair(token_a, token_b);
    const bool same_order = pair.asset_a == token_a;
    const Amount amount_a = Num(op, same_order ? "amount_a" : "amount_b");
    const Amount amount_b = Num(op, same_order ? "amount_b" : "amount_a");
    auto existing = LoadPool(ctx.Sql(), pair.id);
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value()) return Error::Conflict("pool_exists", "pool " + pair.id + " already exists");
    auto liquidity = InitialLiquidity(amount_a, amount_b);
    if (!liquidity.ok()) return std::move(liquidity).error();
    KRAY_TRY(RequireFunds(ctx, op.signer, {{pair.asset_a, amount_a}, {pair.asset_b, amount_b}}, gas()));
    KRAY_TRY(ctx.Debit(op.signer, pair.asset_a, state::Bucket::kAvailable, amount_a));
    KRAY_TRY(ctx.Debit(op.signer, pair.asset_b, state::Bucket::kAvailable, amount_b));

    Pool pool;
    pool.pool_id = pair.id;
    pool.asset_a = pair.asset_a;
    pool.asset_b = pair.asset_b;
    pool.reserve_a = amount_a;
    pool.reserve_b = amount_b;
    pool.lp_supply = *liquidity + kMinimumLiquidity;  // isqrt(a*b)
    pool.timestamp_last = ctx.now();
    pool.created_at = ctx.now();
    KRAY_TRY(UpdateKLast(ctx, pool));
    KRAY_TRY(InsertPool(ctx.Sql(), pool));
    KRAY_TRY(RecordObservation(ctx.Sql(), pool));  // cumulatives 0 at creation
    ctx.Touch(state::LeafId{kPoolLeaf, pool.pool_id});

    // All isqrt(a*b) units are minted; MINIMUM_LIQUIDITY of them go to the
    // module, locked forever (Uniswap mints them to address(0)) and counted
    // by Audit, so the LP asset's minted total is the pool's supply.
    const std::string lp = LpAsset(pool.pool_id);
    KRAY_TRY(ctx.Mint(op.signer, lp, pool.lp_supply));
    KRAY_TRY(ctx.Debit(op.signer, lp, state::Bucket::kAvailable, kMinimumLiquidity));
    ctx.SetResult("pool_id", pool.pool_id);
    ctx.SetResult("lp_asset", lp);
    ctx.SetResult("liquidity", std::to_string(*liquidity));
    // In pool order (a = KRAY in pool_kray_*), whatever order the request named them in.
    ctx.SetResult("token_a", pool.asset_a);
    ctx.SetResult("token_b", pool.asset_b);
    ctx.SetResult("amount_a", std::to_string(amount_a));
    ctx.SetResult("amount_b", std::to_string(amount_b));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 5> kFields = {{
      {"amount_a", FieldKind::kAmount},
      {"amount_b", FieldKind::kAmount},
      {"deadline", FieldKind::kUint, false},
      {"token_a", FieldKind::kAsset},
      {"token_b", FieldKind::kAsset},
  }};
};

class LiquidityAddOp : public DefiOperation {
 public:
  std::string_view name() const override { return kLiquidityAddOp; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return GasFor(TxType::kDefiComplex); }

  Status Check(const ChainParams& params, const Operation& op) const override {
    KRAY_TRY(CheckCommon(op, {"amount_a", "amount_b"}));
    auto pair = ParsePoolId(params, op.Field("pool_id").value_or(""));
    if (!pair.ok()) return std::move(pair).error();
    KRAY_TRY(CheckMinimum(op, "min_amount_a", "amount_a"));
    return CheckMinimum(op, "min_amount_b", "amount_b");
  }

  // Router02.addLiquidity (_addLiquidity's optimal amounts) + Pair.mint.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    KRAY_TRY(CheckDeadline(ctx, op));
    auto pool = ExistingPool(ctx, *op.Field("pool_id"));
    if (!pool.ok()) return std::move(pool).error();
    Pool& p = *pool;
    auto deposit = OptimalDeposit(Num(op, "amount_a"), Num(op, "amount_b"), Num(op, "min_amount_a"),
                                  Num(op, "min_amount_b"), p.reserve_a, p.reserve_b);
    if (!deposit.ok()) return std::move(deposit).error();
    KRAY_TRY(MintProtocolFee(ctx, p));
    auto liquidity = MintLiquidity(deposit->a, deposit->b, p.reserve_a, p.reserve_b, p.lp_supply);
    if (!liquidity.ok()) return std::move(liquidity).error();
    KRAY_TRY(RequireFunds(ctx, op.signer, {{p.asset_a, deposit->a}, {p.asset_b, deposit->b}}, gas()));
    auto ra = CheckedAdd(p.reserve_a, deposit->a);
    auto rb = CheckedAdd(p.reserve_b, deposit->b);
    if (!ra || !rb) return Overflow("the pool's reserve");
    KRAY_TRY(ctx.Debit(op.signer, p.asset_a, state::Bucket::kAvailable, deposit->a));
    KRAY_TRY(ctx.Debit(op.signer, p.asset_b, state::Bucket::kAvailable, deposit->b));
    bool observed = AccruePrices(p, ctx.now());  // with the reserves before the deposit
    KRAY_TRY(IssueLp(ctx, p, op.signer, *liquidity));
    p.reserve_a = *ra;
    p.reserve_b = *rb;
    KRAY_TRY(UpdateKLast(ctx, p));
    KRAY_TRY(SavePool(ctx, p, observed));
    ctx.SetResult("pool_id", p.pool_id);
    ctx.SetResult("amount_a", std::to_string(deposit->a));
    ctx.SetResult("amount_b", std::to_string(deposit->b));
    ctx.SetResult("liquidity", std::to_string(*liquidity));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 6> kFields = {{
      {"amount_a", FieldKind::kAmount},
      {"amount_b", FieldKind::kAmount},
      {"deadline", FieldKind::kUint, false},
      {"min_amount_a", FieldKind::kAmount},
      {"min_amount_b", FieldKind::kAmount},
      {"pool_id", FieldKind::kId, true, std::nullopt, {}, kPoolIdMax},
  }};
};

class LiquidityRemoveOp : public DefiOperation {
 public:
  std::string_view name() const override { return kLiquidityRemoveOp; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return GasFor(TxType::kDefiComplex); }

  Status Check(const ChainParams& params, const Operation& op) const override {
    KRAY_TRY(CheckCommon(op, {"liquidity"}));
    auto pair = ParsePoolId(params, op.Field("pool_id").value_or(""));
    if (!pair.ok()) return std::move(pair).error();
    return Ok();
  }

  // Router02.removeLiquidity + Pair.burn: the LP units are burned first
  // (the signer must hold them), the pro-rata amounts paid, then checked
  // against the minimums.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    KRAY_TRY(CheckDeadline(ctx, op));
    auto pool = ExistingPool(ctx, *op.Field("pool_id"));
    if (!pool.ok()) return std::move(pool).error();
    Pool& p = *pool;
    const Amount liquidity = Num(op, "liquidity");
    // UniswapV2Pair.burn's _burn: the units leave the signer (who must hold
    // them) and return to the module, to be issued again (IssueLp).
    KRAY_TRY(ctx.Debit(op.signer, LpAsset(p.pool_id), state::Bucket::kAvailable, liquidity));
    KRAY_TRY(MintProtocolFee(ctx, p));
    // The burned units were someone's, so liquidity <= supply - 1000 and
    // each side pays strictly less than its reserve.
    auto out = BurnAmounts(liquidity, p.reserve_a, p.reserve_b, p.lp_supply);
    if (!out.ok()) return std::move(out).error();
    if (out->a < Num(op, "min_amount_a"))
      return Error::Conflict("slippage_exceeded", "amount_a would be " + std::to_string(out->a) +
                                                      ", below min_amount_a " + std::string(*op.Field("min_amount_a")))
          .With("amount_a", std::to_string(out->a))
          .With("min_amount_a", std::string(*op.Field("min_amount_a")));
    if (out->b < Num(op, "min_amount_b"))
      return Error::Conflict("slippage_exceeded", "amount_b would be " + std::to_string(out->b) +
                                                      ", below min_amount_b " + std::string(*op.Field("min_amount_b")))
          .With("amount_b", std::to_string(out->b))
          .With("min_amount_b", std::string(*op.Field("min_amount_b")));
    bool observed = AccruePrices(p, ctx.now());
    p.reserve_a -= out->a;
    p.reserve_b -= out->b;
    p.lp_supply -= liquidity;
    auto retired = CheckedAdd(p.lp_retired, liquidity);
    if (!retired) return Overflow("the pool's retired LP units");
    p.lp_retired = *retired;
    KRAY_TRY(ctx.Credit(op.signer, p.asset_a, state::Bucket::kAvailable, out->a));
    KRAY_TRY(ctx.Credit(op.signer, p.asset_b, state::Bucket::kAvailable, out->b));
    KRAY_TRY(UpdateKLast(ctx, p));
    KRAY_TRY(SavePool(ctx, p, observed));
    ctx.SetResult("pool_id", p.pool_id);
    ctx.SetResult("amount_a", std::to_string(out->a));
    ctx.SetResult("amount_b", std::to_string(out->b));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 5> kFields = {{
      {"deadline", FieldKind::kUint, false},
      {"liquidity", FieldKind::kAmount},
      {"min_amount_a", FieldKind::kAmount},
      {"min_amount_b", FieldKind::kAmount},
      {"pool_id", FieldKind::kId, true, std::nullopt, {}, kPoolIdMax},
  }};
};

// amount_out for `amount_in` through `pool`, refusing 0 (Pair.swap's
// INSUFFICIENT_OUTPUT_AMOUNT: dust that rounds to nothing is not taken).
Result<Amount> HopOut(const Pool& pool, bool in_is_a, Amount amount_in) {
  auto out =
      GetAmountOut(amount_in, in_is_a ? pool.reserve_a : pool.reserve_b, in_is_a ? pool.reserve_b : pool.reserve_a);
  if (!out.ok()) return std::move(out).error();
  if (*out == 0) {
    return Error::Conflict("insufficient_output_amount", std::to_string(amount_in) + " into " + pool.pool_id +
                                                             " would pay out 0: amount_out would be 0");
  }
  return *out;
}

Error Slippage(Amount out, Amount min) {
  return Error::Conflict("slippage_exceeded",
                         "amount_out would be " + std::to_string(out) + ", below min_amount_out " + std::to_string(min))
      .With("amount_out", std::to_string(out))
      .With("min_amount_out", std::to_string(min));
}

class SwapOp : public DefiOperation {
 public:
  std::string_view name() const override { return kSwapOp; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return GasFor(TxType::kSwap); }

  Status Check(const ChainParams& params, const Operation& op) const override {
    KRAY_TRY(CheckCommon(op, {"amount_in"}));
    if (!op.Field("min_amount_out")) return Error::Invalid("missing_field", "missing field 'min_amount_out'");
    auto pair = ParsePoolId(params, op.Field("pool_id").value_or(""));
    if (!pair.ok()) return std::move(pair).error();
    auto token_in = op.Field("token_in").value_or("");
    if (token_in != pair->asset_a && token_in != pair->asset_b)
      return Error::Invalid("token_not_in_pool",
                            "token_in '" + std::string(token_in) + "' is not an asset of " + pair->id);
    return Ok();
  }

  // Router02.swapExactTokensForTokens with a one-pool path.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    KRAY_TRY(CheckDeadline(ctx, op));
    auto pool = ExistingPool(ctx, *op.Field("pool_id"));
    if (!pool.ok()) return std::move(pool).error();
    Pool& p = *pool;
    const std::string token_in(*op.Field("token_in"));
    const bool in_is_a = token_in == p.asset_a;
    const std::string token_out = in_is_a ? p.asset_b : p.asset_a;
    const Amount amount_in = Num(op, "amount_in");
    auto out = HopOut(p, in_is_a, amount_in);
    if (!out.ok()) return std::move(out).error();
    if (*out < Num(op, "min_amount_out")) return Slippage(*out, Num(op, "min_amount_out"));
    KRAY_TRY(RequireFunds(ctx, op.signer, {{token_in, amount_in}}, gas()));
    KRAY_TRY(ctx.Debit(op.signer, token_in, state::Bucket::kAvailable, amount_in));
    KRAY_TRY(ApplySwap(ctx, p, in_is_a, amount_in, *out));
    KRAY_TRY(ctx.Credit(op.signer, token_out, state::Bucket::kAvailable, *out));
    ctx.SetResult("pool_id", p.pool_id);
    ctx.SetResult("token_out", token_out);
    ctx.SetResult("amount_out", std::to_string(*out));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 5> kFields = {{
      {"amount_in", FieldKind::kAmount},
      {"deadline", FieldKind::kUint, false},
      {"min_amount_out", FieldKind::kAmount},
      {"pool_id", FieldKind::kId, true, std::nullopt, {}, kPoolIdMax},
      {"token_in", FieldKind::kAsset},
  }};
};

class SwapRouteOp : public DefiOperation {
 public:
  std::string_view name() const override { return kSwapRouteOp; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return GasFor(TxType::kDefiComplex); }

  Status Check(const ChainParams& params, const Operation& op) const override {
    KRAY_TRY(CheckCommon(op, {"amount_in"}));
    if (!op.Field("min_amount_out")) return Error::Invalid("missing_field", "missing field 'min_amount_out'");
    auto path = ParsePath(params, op.Field("path").value_or(""));
    if (!path.ok()) return std::move(path).error();
    return Ok();
  }

  // Router02.swapExactTokensForTokens: getAmountsOut along the path, one
  // minimum for the end, then each pool's swap. The pools are distinct
  // (ParsePath), so computing every hop first from the current reserves is
  // exactly what executing them one after another gives.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    KRAY_TRY(CheckDeadline(ctx, op));
    auto path = ParsePath(ctx.params(), *op.Field("path"));
    if (!path.ok()) return std::move(path).error();
    std::vector<Pool> pools;
    std::vector<Amount> amounts = {Num(op, "amount_in")};
    for (std::size_t i = 0; i + 1 < path->size(); ++i) {
      auto pool = ExistingPool(ctx, PoolId((*path)[i], (*path)[i + 1]));
      if (!pool.ok()) return std::move(pool).error();
      auto out = HopOut(*pool, (*path)[i] == pool->asset_a, amounts.back());
      if (!out.ok()) return std::move(out).error();
      amounts.push_back(*out);
      pools.push_back(std::move(*pool));
    }
    const Amount amount_in = amounts.front(), amount_out = amounts.back();
    if (amount_out < Num(op, "min_amount_out")) return Slippage(amount_out, Num(op, "min_amount_out"));
    KRAY_TRY(RequireFunds(ctx, op.signer, {{path->front(), amount_in}}, gas()));
    KRAY_TRY(ctx.Debit(op.signer, path->front(), state::Bucket::kAvailable, amount_in));
    std::string shown;
    for (std::size_t i = 0; i < pools.size(); ++i) {
      KRAY_TRY(ApplySwap(ctx, pools[i], (*path)[i] == pools[i].asset_a, amounts[i], amounts[i + 1]));
      shown += (i ? "," : "") + std::to_string(amounts[i]);
    }
    shown += "," + std::to_string(amount_out);
    KRAY_TRY(ctx.Credit(op.signer, path->back(), state::Bucket::kAvailable, amount_out));
    ctx.SetResult("token_out", path->back());
    ctx.SetResult("amount_out", std::to_string(amount_out));
    ctx.SetResult("amounts", shown);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 4> kFields = {{
      {"amount_in", FieldKind::kAmount},
      {"deadline", FieldKind::kUint, false},
      {"min_amount_out", FieldKind::kAmount},
      {"path", FieldKind::kText, true, std::nullopt, {}, kPathMax},
  }};
};

}  // namespace

std::vector<const state::OperationType*> DefiOperations() {
  static const PoolCreateOp create;
  static const LiquidityAddOp add;
  static const LiquidityRemoveOp remove;
  static const SwapOp swap;
  static const SwapRouteOp route;
  return {&create, &add, &remove, &swap, &route};
}

}  // namespace kray::defi
