// Building, checking and signing the bridge's spends (see spend_tx.h).
#include "kray/bridge/spend_tx.h"

#include <algorithm>
#include <map>
#include <set>

#include "kray/bitcoin/sighash.h"
#include "kray/bitcoin/taproot.h"
#include "kray/crypto/secp256k1.h"
#include "kray/rollup/batch.h"

namespace kray::bridge {
namespace {

using bitcoin::Transaction;
using bitcoin::TxIn;
using bitcoin::TxOut;

constexpr std::size_t kLeafScriptSize = 104;   // 3 x (push 32 + CHECKSIG/ADD) + OP_2 OP_NUMEQUAL
constexpr std::size_t kControlBlockSize = 33;  // one leaf: no path

Error Mismatch(const std::string& what) {
  return Error::Invalid("spend_tx_mismatch", what);
}

bool IsOpReturn(const TxOut& o) {
  return !o.script_pubkey.empty() && o.script_pubkey[0] == 0x6a;
}

std::int64_t SumInputs(const std::vector<SpendInput>& inputs) {
  std::int64_t s = 0;
  for (const auto& i : inputs) s += i.sats;
  return s;
}

std::int64_t SumOutputs(const Transaction& tx) {
  std::int64_t s = 0;
  for (const auto& o : tx.vout) s += o.value;
  return s;
}

u128 RuneAmountOf(const SpendInput& in, const bitcoin::RuneId& id) {
  for (const auto& r : in.runes)
    if (r.id == id) return r.amount;
  return 0;
}

Transaction Skeleton(const std::vector<SpendInput>& inputs) {
  Transaction tx;
  tx.version = 2;
  for (const auto& in : inputs) {
    TxIn txin;
    txin.prevout = in.outpoint;
    txin.sequence = kSpendSequence;
    tx.vin.push_back(std::move(txin));
  }
  return tx;
}

// Fills in the change (output 0) once inputs, outputs and fee are known.
// Returns false when the inputs do not cover a change of kChangeDustSats.
bool SettleChange(SpendPlan& plan, std::int64_t feerate) {
  plan.tx.vout[0].value = 0;
  plan.vsize = SpendVsize(plan.tx);
  plan.fee = FeeFor(plan.vsize, feerate);
  const std::int64_t change = SumInputs(plan.inputs) - SumOutputs(plan.tx) - plan.fee;
  if (change < kChangeDustSats) return false;
  plan.tx.vout[0].value = change;
  return true;
}

// Adds inputs from `pool` (in its order) until the change is covered.
Status Fund(SpendPlan& plan, const std::vector<TxOut>& outputs, std::vector<SpendInput> pool, std::int64_t feerate) {
  for (;;) {
    Transaction tx = Skeleton(plan.inputs);
    tx.vout = outputs;
    plan.tx = std::move(tx);
    if (!plan.inputs.empty() && SettleChange(plan, feerate)) return Ok();
    if (pool.empty() || plan.inputs.size() >= kMaxSpendInputs)
      return Error::Conflict("bridge_insufficient_funds",
                             "the bridge's spendable outputs do not cover the payments, the dust and the fee");
    plan.inputs.push_back(std::move(pool.front()));
    pool.erase(pool.begin());
  }
}

// A payment's output.
TxOut PaymentOutput(const Payment& p) {
  return TxOut{p.rune ? static_cast<std::int64_t>(kRuneDustSats) : static_cast<std::int64_t>(p.amount), p.script};
}

}  // namespace

std::int64_t FeeFor(std::size_t vsize, std::int64_t feerate_sat_kvb) {
  const u128 product = static_cast<u128>(vsize) * static_cast<u128>(std::max<std::int64_t>(feerate_sat_kvb, 0));
  return static_cast<std::int64_t>((product + 999) / 1000);
}

std::size_t SpendVsize(const Transaction& tx) {
  Transaction sized = tx;
  for (auto& in : sized.vin)
    in.witness = {Bytes(64), Bytes(64), Bytes(), Bytes(kLeafScriptSize), Bytes(kControlBlockSize)};
  return bitcoin::TxVsize(sized);
}

std::optional<bitcoin::Runestone> WithdrawalRunestone(const std::vector<Payment>& payments,
                                                      const std::vector<std::uint32_t>& outputs) {
  bitcoin::Runestone stone;
  for (std::size_t i = 0; i < payments.size(); ++i) {
    if (!payments[i].rune) continue;
    stone.edicts.push_back(bitcoin::Edict{*payments[i].rune, payments[i].amount, outputs[i]});
  }
  if (stone.edicts.empty()) return std::nullopt;
  stone.pointer = 0;  // rune change returns to the bridge
  return stone;
}

bool RunestoneFits(const std::vector<Payment>& payments) {
  std::vector<std::uint32_t> outputs;
  for (std::size_t i = 0; i < payments.size(); ++i) outputs.push_back(static_cast<std::uint32_t>(i + 1));
  auto stone = WithdrawalRunestone(payments, outputs);
  return !stone || bitcoin::EncipherRunestone(*stone).size() <= kMaxOpReturnScript;
}

Result<SpendPlan> PlanWithdrawalSpend(const std::vector<Payment>& payments, std::vector<SpendInput> available,
                                      const Bytes& change_script, std::int64_t feerate_sat_kvb) {
  if (payments.empty()) return Error::Invalid("spend_no_payments", "a withdrawal batch pays at least one withdrawal");
  if (!RunestoneFits(payments))
    return Error::Invalid("spend_runestone_too_large", "the Runestone for these payments exceeds a standard OP_RETURN");
  SpendPlan plan;
  std::vector<TxOut> outputs{TxOut{0, change_script}};
  for (const auto& p : payments) {
    plan.paid.push_back(static_cast<std::uint32_t>(outputs.size()));
    outputs.push_back(PaymentOutput(p));
    if (p.rune) plan.dust += static_cast<std::int64_t>(kRuneDustSats);
  }
  if (auto stone = WithdrawalRunestone(payments, plan.paid))
    outputs.push_back(TxOut{0, bitcoin::EncipherRunestone(*stone)});

  // Runes first: for each rune needed, the inputs holding most of it.
  std::map<bitcoin::RuneId, u128> needed;
  for (const auto& p : payments)
    if (p.rune) needed[*p.rune] += static_cast<u128>(p.amount);
  for (const auto& need : needed) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const bitcoin::RuneId& id = need.first;
    const u128 want = need.second;
    u128 have = 0;
    for (const auto& in : plan.inputs) have += RuneAmountOf(in, id);
    std::stable_sort(available.begin(), available.end(), [&](const SpendInput& a, const SpendInput& b) {
      return RuneAmountOf(a, id) > RuneAmountOf(b, id);
    });
    while (have < want && !available.empty() && RuneAmountOf(available.front(), id) > 0) {
      have += RuneAmountOf(available.front(), id);
      plan.inputs.push_back(std::move(available.front()));
      available.erase(available.begin());
    }
    if (have < want)
      return Error::Conflict("bridge_insufficient_runes",
                             "the bridge's spendable outputs hold " + bitcoin::U128ToString(have) + " of rune " +
                                 bitcoin::RuneIdToString(id) + ", the batch needs " + bitcoin::U128ToString(want));
  }
  // Then BTC: rune-free outputs first (they move nothing else), largest first.
  std::stable_sort(available.begin(), available.end(), [](const SpendInput& a, const SpendInput& b) {
    if (a.runes.empty() != b.runes.empty()) return a.runes.empty();
    return a.sats > b.sats;
  });
  KRAY_TRY(Fund(plan, outputs, std::move(available), feerate_sat_kvb));
  return plan;
}

Result<SpendPlan> PlanAnchorSpend(const Bytes& anchor_script, std::vector<SpendInput> available,
                                  const Bytes& change_script, std::int64_t feerate_sat_kvb) {
  SpendPlan plan;
  const std::vector<TxOut> outputs{TxOut{0, change_script}, TxOut{0, anchor_script}};
  // The smallest rune-free output that pays for it alone keeps the large
  // ones free for withdrawals while the anchor confirms.
  Transaction one = Skeleton({SpendInput{}});
  one.vout = outputs;
  const std::int64_t alone = FeeFor(SpendVsize(one), feerate_sat_kvb) + kChangeDustSats;
  std::stable_sort(available.begin(), available.end(), [](const SpendInput& a, const SpendInput& b) {
    if (a.runes.empty() != b.runes.empty()) return a.runes.empty();
    return a.sats < b.sats;
  });
  auto fits = std::find_if(available.begin(), available.end(),
                           [&](const SpendInput& in) { return in.runes.empty() && in.sats >= alone; });
  if (fits != available.end()) {
    std::rotate(available.begin(), fits, fits + 1);
  } else {
    std::stable_sort(available.begin(), available.end(), [](const SpendInput& a, const SpendInput& b) {
      if (a.runes.empty() != b.runes.empty()) return a.runes.empty();
      return a.sats > b.sats;
    });
  }
  KRAY_TRY(Fund(plan, outputs, std::move(available), feerate_sat_kvb));
  return plan;
}

Result<Transaction> WithFee(const Transaction& tx, const std::vector<SpendInput>& inputs, std::int64_t fee) {
  Transaction out = tx;
  if (out.vout.empty()) return Error::Invalid("spend_tx_mismatch", "a spend has a change output");
  const std::int64_t others = SumOutputs(out) - out.vout[0].value;
  const std::int64_t change = SumInputs(inputs) - others - fee;
  if (change < kChangeDustSats)
    return Error::Conflict("spend_fee_too_high",
                           "a fee of " + std::to_string(fee) + " sats would leave less than the dust limit as change");
  out.vout[0].value = change;
  return out;
}

Result<std::vector<std::uint32_t>> MatchPayments(const Transaction& tx, const std::vector<Payment>& payments,
                                                 bool check_rune_ids) {
  std::optional<bitcoin::Runestone> stone;
  if (auto art = bitcoin::DecipherRunestone(tx)) {
    if (auto* r = std::get_if<bitcoin::Runestone>(&*art)) stone = *r;
  }
  std::vector<bool> used(tx.vout.size(), false);
  std::vector<std::uint32_t> out;
  for (const auto& p : payments) {
    std::optional<std::uint32_t> found;
    for (std::uint32_t j = 1; j < tx.vout.size() && !found; ++j) {
      if (used[j] || tx.vout[j].script_pubkey != p.script) continue;
      if (!p.rune) {
        if (tx.vout[j].value == static_cast<std::int64_t>(p.amount)) found = j;
        continue;
      }
      if (tx.vout[j].value != static_cast<std::int64_t>(kRuneDustSats) || !stone) continue;
      for (const auto& e : stone->edicts)
        if (e.output == j && e.amount == static_cast<u128>(p.amount) && (!check_rune_ids || e.id == *p.rune)) found = j;
    }
    if (!found)
      return Error::Invalid("spend_payment_missing",
                            "withdrawal " + std::to_string(p.withdrawal_id) + " is not paid by the transaction");
    used[*found] = true;
    out.push_back(*found);
  }
  return out;
}

Status CheckSpendTransaction(const Transaction& tx, const std::vector<TxOut>& spent, const Bytes& change_script,
                             const std::vector<Payment>& payments, const std::optional<Bytes>& anchor_script,
                             std::int64_t max_fee) {
  if (spent.size() != tx.vin.size() || tx.vin.empty()) return Mismatch("every input's spent output is needed");
  if (tx.vout.empty() || tx.vout[0].script_pubkey != change_script)
    return Mismatch("output 0 must be the change to the bridge's own address");
  auto paid = MatchPayments(tx, payments, true);
  if (!paid.ok()) return Mismatch(paid.error().message);
  std::set<std::uint32_t> accounted(paid->begin(), paid->end());
  accounted.insert(0);
  std::size_t op_returns = 0;
  for (std::uint32_t j = 0; j < tx.vout.size(); ++j) {
    if (accounted.count(j)) continue;
    if (!IsOpReturn(tx.vout[j])) return Mismatch("output " + std::to_string(j) + " pays nobody the spend names");
    ++op_returns;
  }
  if (op_returns > 1) return Mismatch("at most one OP_RETURN");
  auto expected_stone = WithdrawalRunestone(payments, *paid);
  auto art = bitcoin::DecipherRunestone(tx);
  if (expected_stone) {
    auto* stone = art ? std::get_if<bitcoin::Runestone>(&*art) : nullptr;
    if (!stone || stone->etching || stone->mint || stone->pointer != std::optional<std::uint32_t>(0))
      return Mismatch("the Runestone must pay the rune recipients and point the change to output 0");
    auto a = stone->edicts, b = expected_stone->edicts;
    auto key = [](const bitcoin::Edict& e) { return std::tuple(e.id, e.output, e.amount); };
    auto less = [&](const bitcoin::Edict& x, const bitcoin::Edict& y) { return key(x) < key(y); };
    std::sort(a.begin(), a.end(), less);
    std::sort(b.begin(), b.end(), less);
    if (a != b) return Mismatch("the Runestone's edicts are not exactly the rune payments");
  } else if (art) {
    return Mismatch("a spend paying no runes carries no Runestone");
  }
  if (anchor_script) {
    bool found = false;
    for (const auto& o : tx.vout) found |= o.script_pubkey == *anchor_script;
    if (!found) return Mismatch("the anchor's OP_RETURN is not the batch's payload");
  } else if (op_returns > 0 && !expected_stone) {
    return Mismatch("unexpected OP_RETURN");
  }
  std::int64_t in = 0;
  for (const auto& s : spent) in += s.value;
  const std::int64_t fee = in - SumOutputs(tx);
  if (fee < 0 || fee > max_fee)
    return Mismatch("fee " + std::to_string(fee) + " sats is outside 0.." + std::to_string(max_fee));
  return Ok();
}

Result<bitcoin::Psbt> MakeSpendPsbt(const Transaction& tx, const std::vector<SpendInput>& inputs,
                                    const Federation& federation) {
  if (inputs.size() != tx.vin.size()) return Error::Invalid("psbt_input_count_mismatch", "one SpendInput per input");
  auto psbt = bitcoin::CreatePsbt(tx);
  if (!psbt.ok()) return std::move(psbt).error();
  const auto fingerprints = federation.Fingerprints();
  auto origins =
      [&](std::uint32_t index,
          const Hash256& leaf) -> Result<std::vector<std::pair<crypto::XOnlyPubKey, bitcoin::TapKeyOrigin>>> {
    auto keys = federation.MemberKeys(index);
    if (!keys.ok()) return std::move(keys).error();
    std::vector<std::pair<crypto::XOnlyPubKey, bitcoin::TapKeyOrigin>> out;
    for (std::size_t m = 0; m < kFederationSize; ++m)
      out.push_back({(*keys)[m], bitcoin::TapKeyOrigin{{leaf}, bitcoin::KeyOrigin{fingerprints[m], {0, index}}}});
    return out;
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto policy = federation.Policy(inputs[i].address_index);
    if (!policy.ok()) return std::move(policy).error();
    bitcoin::PsbtInput& in = psbt->inputs[i];
    in.SetWitnessUtxo(TxOut{inputs[i].sats, policy->script_pubkey});
    in.SetTapLeafScript(
        bitcoin::TapLeafScript{policy->control_block, policy->leaf_script, bitcoin::kTapscriptLeafVersion});
    in.SetTapInternalKey(policy->internal_key);
    in.SetTapMerkleRoot(policy->merkle_root);
    auto o = origins(inputs[i].address_index, policy->leaf_hash);
    if (!o.ok()) return std::move(o).error();
    for (const auto& [key, origin] : *o) in.SetTapBip32Derivation(key, origin);
  }
  auto change = federation.Policy(0);
  if (!change.ok()) return std::move(change).error();
  if (!tx.vout.empty() && tx.vout[0].script_pubkey == change->script_pubkey) {
    bitcoin::PsbtOutput& out = psbt->outputs[0];
    out.SetTapInternalKey(change->internal_key);
    out.SetTapTree({bitcoin::TapTreeLeaf{0, bitcoin::kTapscriptLeafVersion, change->leaf_script}});
    auto o = origins(0, change->leaf_hash);
    if (!o.ok()) return std::move(o).error();
    for (const auto& [key, origin] : *o) out.SetTapBip32Derivation(key, origin);
  }
  return psbt;
}

Result<std::vector<int>> VerifiedSigners(const bitcoin::Psbt& psbt, std::size_t i, const Federation& federation,
                                         std::uint32_t address_index) {
  if (i >= psbt.tx.vin.size()) return Error::Invalid("psbt_input_out_of_range", "no input " + std::to_string(i));
  auto keys = federation.MemberKeys(address_index);
  if (!keys.ok()) return std::move(keys).error();
  auto policy = federation.Policy(address_index);
  if (!policy.ok()) return std::move(policy).error();
  std::vector<TxOut> spent;
  for (std::size_t k = 0; k < psbt.tx.vin.size(); ++k) {
    auto o = bitcoin::PsbtSpentOutput(psbt, k);
    if (!o) return Error::Invalid("psbt_missing_utxo", "input " + std::to_string(k) + " has no witness UTXO");
    spent.push_back(std::move(*o));
  }
  if (spent[i].script_pubkey != policy->script_pubkey)
    return Error::Invalid("psbt_not_a_bridge_spend", "input " + std::to_string(i) + " does not spend the federation");
  auto sighash = bitcoin::TaprootSighash(psbt.tx, spent, i, bitcoin::kSighashDefault, std::nullopt,
                                         bitcoin::TapscriptExt{policy->leaf_hash, 0xffffffff});
  if (!sighash.ok()) return std::move(sighash).error();
  const auto sigs = psbt.inputs[i].TapScriptSigs();
  std::vector<int> members;
  for (std::size_t m = 0; m < kFederationSize; ++m) {
    auto it = sigs.find({(*keys)[m], policy->leaf_hash});
    if (it == sigs.end() || it->second.size() != 64) continue;  // SIGHASH_DEFAULT only
    crypto::SchnorrSig s;
    std::copy(it->second.begin(), it->second.end(), s.begin());
    if (crypto::SchnorrVerify((*keys)[m], *sighash, s)) members.push_back(static_cast<int>(m + 1));
  }
  return members;
}

Result<MergeResult> MergeVerifiedSignatures(bitcoin::Psbt& into, const bitcoin::Psbt& from,
                                            const std::vector<std::uint32_t>& address_indexes,
                                            const Federation& federation) {
  if (from.tx != into.tx)
    return Error::Invalid("psbt_tx_mismatch", "the PSBT is for another transaction (txid " +
                                                  bitcoin::HashToDisplayHex(bitcoin::Txid(from.tx)) + ")");
  if (address_indexes.size() != into.tx.vin.size())
    return Error::Invalid("psbt_input_count_mismatch", "one address index per input");
  // Verify against our own copy's UTXOs: the submitter's cannot change what
  // the signature commits to.
  bitcoin::Psbt candidate = into;
  MergeResult r;
  for (std::size_t i = 0; i < into.tx.vin.size(); ++i) {
    auto keys = federation.MemberKeys(address_indexes[i]);
    if (!keys.ok()) return std::move(keys).error();
    auto policy = federation.Policy(address_indexes[i]);
    if (!policy.ok()) return std::move(policy).error();
    for (const auto& [key_leaf, sig] : from.inputs[i].TapScriptSigs()) {
      const bool ours =
          key_leaf.second == policy->leaf_hash && std::find(keys->begin(), keys->end(), key_leaf.first) != keys->end();
      if (!ours) {
        ++r.invalid;
        continue;
      }
      if (into.inputs[i].TapScriptSigs().count(key_leaf)) continue;  // already have a verified one
      bitcoin::Psbt trial = candidate;
      trial.inputs[i].SetTapScriptSig(key_leaf.first, key_leaf.second, sig);
      auto before = VerifiedSigners(candidate, i, federation, address_indexes[i]);
      auto after = VerifiedSigners(trial, i, federation, address_indexes[i]);
      if (!before.ok()) return std::move(before).error();
      if (!after.ok()) return std::move(after).error();
      if (after->size() > before->size()) {
        candidate = std::move(trial);
        ++r.added;
      } else {
        ++r.invalid;
      }
    }
  }
  into = std::move(candidate);
  return r;
}

Result<std::vector<std::uint32_t>> SpendAddressIndexes(const bitcoin::Psbt& psbt, const Federation& federation) {
  const auto fingerprints = federation.Fingerprints();
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < psbt.inputs.size(); ++i) {
    auto spent = bitcoin::PsbtSpentOutput(psbt, i);
    std::optional<std::uint32_t> index;
    for (const auto& [key, origin] : psbt.inputs[i].TapBip32Derivations()) {
      const auto& path = origin.origin.path;
      if (path.size() != 2 || path[0] != 0 || path[1] >= bitcoin::kBip32Hardened) continue;
      if (std::find(fingerprints.begin(), fingerprints.end(), origin.origin.fingerprint) == fingerprints.end())
        continue;
      auto policy = federation.Policy(path[1]);
      if (policy.ok() && spent && spent->script_pubkey == policy->script_pubkey) index = path[1];
    }
    if (!index)
      return Error::Invalid("psbt_not_a_bridge_spend",
                            "input " + std::to_string(i) + " does not spend a federation output it names");
    out.push_back(*index);
  }
  return out;
}

std::optional<std::uint64_t> AnchoredBatch(const Transaction& tx) {
  std::optional<std::uint64_t> found;
  std::size_t op_returns = 0;
  for (const auto& o : tx.vout) {
    if (!IsOpReturn(o)) continue;
    ++op_returns;
    const auto& s = o.script_pubkey;
    if (s.size() != 3 + rollup::kAnchorPayloadSize || s[1] != 0x4c || s[2] != rollup::kAnchorPayloadSize) continue;
    auto a = rollup::ParseAnchorPayload(ByteSpan(s).subspan(3));
    if (a.ok()) found = a->batch_number;
  }
  return op_returns == 1 ? found : std::nullopt;
}

int MemberNumber(const MemberKey& member, const Federation& federation) {
  for (std::size_t i = 0; i < kFederationSize; ++i)
    if (federation.xpubs()[i] == member.Xpub()) return static_cast<int>(i + 1);
  return 0;
}

Status SignSpendAsMember(bitcoin::Psbt& psbt, const MemberKey& member, const Federation& federation,
                         const std::vector<std::uint32_t>& address_indexes) {
  if (MemberNumber(member, federation) == 0)
    return Error::Invalid("member_not_in_federation", "the member key's xpub is not one of the federation's");
  if (address_indexes.size() != psbt.tx.vin.size())
    return Error::Invalid("psbt_input_count_mismatch", "one address index per input");
  for (std::size_t i = 0; i < address_indexes.size(); ++i) {
    auto policy = federation.Policy(address_indexes[i]);
    if (!policy.ok()) return std::move(policy).error();
    auto spent = bitcoin::PsbtSpentOutput(psbt, i);
    if (!spent || spent->script_pubkey != policy->script_pubkey)
      return Error::Invalid("psbt_not_a_bridge_spend",
                            "input " + std::to_string(i) + " does not spend the federation's output");
    auto key = MemberSigningKey(member, address_indexes[i]);
    if (!key.ok()) return std::move(key).error();
    KRAY_TRY(bitcoin::SignPsbtTapscript(psbt, i, *key, policy->leaf_hash));
  }
  return Ok();
}

Status CheckSignable(const Spend& spend, const std::vector<Withdrawal>& withdrawals, std::int64_t now) {
  if (spend.status != "signing")
    return Error::Conflict("spend_not_signable", "spend " + spend.id + " is " + spend.status);
  if (spend.kind != "withdrawals") return Ok();
  if (withdrawals.empty()) return Error::Conflict("spend_not_signable", "spend " + spend.id + " pays no withdrawal");
  for (const auto& w : withdrawals) {
    const std::string id = "withdrawal " + std::to_string(w.id);
    if (w.status == "challenged") return Error::Conflict("withdrawal_frozen", id + " is challenged");
    if (now < w.deadline)
      return Error::Conflict("withdrawal_in_challenge_period",
                             id + " is in its challenge period for " + std::to_string(w.deadline - now) + " more s");
    if (w.status != "signing" || w.spend_id != spend.id)
      return Error::Conflict("spend_not_signable", id + " is " + w.status + ", not being paid by spend " + spend.id);
  }
  return Ok();
}

}  // namespace kray::bridge
