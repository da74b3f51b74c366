// The bridge's own L1 transactions ("spends"): withdrawal batches and rollup
// anchors, built, checked and signed as 2-of-3 taproot script-path spends of
// federation outputs (docs/BRIDGE.md, "Withdrawals").
//
// Layout (every spend): output 0 is the change to the bridge's own address
// (index 0), always present, so that runes an input carries that the bridge
// does not track go back to the bridge (ord's default output is the first
// non-OP_RETURN one); then one output per recipient, in withdrawal id order
// (a rune recipient's output carries kRuneDustSats); then at most one
// OP_RETURN: the Runestone (edicts paying each rune recipient, pointer 0 so
// the rune change returns to the bridge) or the anchor payload. Every input
// signals RBF (nSequence 0xfffffffd).
//
// Everything here is pure (no I/O) and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/runestone.h"
#include "kray/bitcoin/transaction.h"
#include "kray/bridge/federation.h"
#include "kray/bridge/member_key.h"
#include "kray/bridge/runes_store.h"
#include "kray/bridge/withdrawals.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bridge {

inline constexpr std::uint32_t kSpendSequence = 0xfffffffd;  // BIP-125 signal
inline constexpr std::int64_t kChangeDustSats = 546;
inline constexpr std::size_t kMaxSpendInputs = 100;
// Bitcoin Core's default -datacarriersize: a standard OP_RETURN script is at
// most 83 bytes, which bounds the rune recipients one spend can pay.
inline constexpr std::size_t kMaxOpReturnScript = 83;

// A federation output the bridge may spend.
struct SpendInput {
  bitcoin::OutPoint outpoint;
  std::uint32_t address_index = 0;
  std::int64_t sats = 0;
  Bytes script_pubkey;  // Federation::Policy(address_index).script_pubkey
  RuneBalances runes;   // tracked runes it carries (runes index)
};

// What one withdrawal must receive.
struct Payment {
  std::uint64_t withdrawal_id = 0;
  Bytes script;                         // the destination's scriptPubKey
  Amount amount = 0;                    // sats (BTC) or the rune's base units
  std::optional<bitcoin::RuneId> rune;  // set for a rune withdrawal
};

struct SpendPlan {
  bitcoin::Transaction tx;          // unsigned
  std::vector<SpendInput> inputs;   // in tx.vin order
  std::int64_t fee = 0;             // inputs - outputs
  std::int64_t dust = 0;            // sats paid to rune recipients
  std::size_t vsize = 0;            // with the final 2-of-3 witnesses
  std::vector<std::uint32_t> paid;  // output index of each payment, in order
};

// ceil(vsize * feerate / 1000).
std::int64_t FeeFor(std::size_t vsize, std::int64_t feerate_sat_kvb);
// Virtual size once every input carries its 2-of-3 witness (two 64-byte
// signatures, one empty element, the 104-byte leaf, the 33-byte control
// block): exact, since the witness size does not depend on the signers.
std::size_t SpendVsize(const bitcoin::Transaction& tx);

// The Runestone paying `payments`' rune recipients at `outputs` (edicts) and
// returning the rest to output 0 (pointer), or nullopt when none is a rune
// payment.
std::optional<bitcoin::Runestone> WithdrawalRunestone(const std::vector<Payment>& payments,
                                                      const std::vector<std::uint32_t>& outputs);
// True if the Runestone for these payments fits a standard OP_RETURN.
bool RunestoneFits(const std::vector<Payment>& payments);

// Coin selection and layout for a withdrawal batch: inputs carrying the
// runes needed first (largest first), then BTC (outputs without runes first,
// largest first) until inputs >= payments + dust + fee + a change of at
// least kChangeDustSats. Errors (kConflict): "bridge_insufficient_runes",
// "bridge_insufficient_funds" (also past kMaxSpendInputs); (kInvalidInput)
// "spend_no_payments", "spend_runestone_too_large".
Result<SpendPlan> PlanWithdrawalSpend(const std::vector<Payment>& payments, std::vector<SpendInput> available,
                                      const Bytes& change_script, std::int64_t feerate_sat_kvb);
// An anchor: [change, OP_RETURN anchor_script], paid from the smallest
// rune-free output that covers the fee and a change of kChangeDustSats (else
// the largest ones). Same errors.
Result<SpendPlan> PlanAnchorSpend(const Bytes& anchor_script, std::vector<SpendInput> available,
                                  const Bytes& change_script, std::int64_t feerate_sat_kvb);
// The same transaction paying `fee` (the change at output 0 absorbs the
// difference): an RBF replacement. Conflict "spend_fee_too_high" if the
// change would fall below kChangeDustSats.
Result<bitcoin::Transaction> WithFee(const bitcoin::Transaction& tx, const std::vector<SpendInput>& inputs,
                                     std::int64_t fee);

// Checks that `tx` is a spend the federation may sign (the signer's rule,
// node and kray-cli alike): every output is output 0's change to
// `change_script`, a payment of `payments` (each paid by exactly one output,
// in order), or the one OP_RETURN (a Runestone with exactly the payments'
// edicts and pointer 0, no etching or mint, when any payment is a rune; else
// `anchor_script` if given); the fee (inputs - outputs, from `spent`) is at
// most `max_fee`. Invalid "spend_tx_mismatch" naming what differs.
Status CheckSpendTransaction(const bitcoin::Transaction& tx, const std::vector<bitcoin::TxOut>& spent,
                             const Bytes& change_script, const std::vector<Payment>& payments,
                             const std::optional<Bytes>& anchor_script, std::int64_t max_fee);

// Output index paying each payment (consensus check of withdrawal_batch: the
// rune id is not known there, so only `rune.has_value()` matters when
// `check_rune_ids` is false). Invalid "spend_payment_missing".
Result<std::vector<std::uint32_t>> MatchPayments(const bitcoin::Transaction& tx, const std::vector<Payment>& payments,
                                                 bool check_rune_ids);

// The PSBT the members sign: per input its witness UTXO, the leaf script
// with its control block, the NUMS internal key, the merkle root, and the
// three keys' origins [member account fingerprint/0/index]; the change
// output's internal key, tap tree and key origins.
Result<bitcoin::Psbt> MakeSpendPsbt(const bitcoin::Transaction& tx, const std::vector<SpendInput>& inputs,
                                    const Federation& federation);

// Member numbers (1..3) whose signature on input `i` of `psbt` verifies
// against the BIP-341 script-path sighash (SIGHASH_DEFAULT only) for that
// member's key of `address_index`. A signature by any other key, for any
// other leaf, or that does not verify is ignored.
Result<std::vector<int>> VerifiedSigners(const bitcoin::Psbt& psbt, std::size_t i, const Federation& federation,
                                         std::uint32_t address_index);
// Copies into `into` the signatures of `from` that verify (VerifiedSigners),
// for every input; `from` must be for the same unsigned transaction
// (Invalid "psbt_tx_mismatch"). Returns how many were added and how many
// were found invalid.
struct MergeResult {
  int added = 0;
  int invalid = 0;
};
Result<MergeResult> MergeVerifiedSignatures(bitcoin::Psbt& into, const bitcoin::Psbt& from,
                                            const std::vector<std::uint32_t>& address_indexes,
                                            const Federation& federation);

// The address index of each input, from its key origins: a PSBT_IN_TAP_BIP32_
// DERIVATION [fingerprint/0/index] of a federation member whose policy at
// that index is the spent script. Invalid "psbt_not_a_bridge_spend".
Result<std::vector<std::uint32_t>> SpendAddressIndexes(const bitcoin::Psbt& psbt, const Federation& federation);

// Signs every input as `member` (its key of each input's address index),
// after checking that the spent output is the federation's output at that
// index. Errors: "member_not_in_federation", "psbt_not_a_bridge_spend", and
// SignPsbtTapscript's.
Status SignSpendAsMember(bitcoin::Psbt& psbt, const MemberKey& member, const Federation& federation,
                         const std::vector<std::uint32_t>& address_indexes);

// The batch number a transaction anchors: its only OP_RETURN is
// OP_RETURN OP_PUSHDATA1 77 <anchor payload> (docs/ROLLUP.md); else nullopt.
std::optional<std::uint64_t> AnchoredBatch(const bitcoin::Transaction& tx);

// The member number (1..3) of `member` in `federation`, or 0.
int MemberNumber(const MemberKey& member, const Federation& federation);

// The rule every signer applies before signing (node and kray-cli): a spend
// not confirmed; for a withdrawal batch, every withdrawal it pays in status
// `signing` for this spend, its deadline at or before `now`, not challenged.
// Conflict "spend_not_signable", "withdrawal_in_challenge_period",
// "withdrawal_frozen".
Status CheckSignable(const Spend& spend, const std::vector<Withdrawal>& withdrawals, std::int64_t now);

}  // namespace kray::bridge
