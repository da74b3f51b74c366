// Withdrawals and the bridge's own L1 transactions as operations of the
// bridge module (docs/BRIDGE.md, "Withdrawals", "Anchors", "Operations").
// Replayed by `krayd verify` like the deposit operations (deposits.h).
//
//   withdrawal_request   signed (v1); fields amount (request name
//                        credits_amount), asset, l1_address (canonical
//                        address of the network: P2PKH, P2SH, P2WPKH, P2WSH or
//                        P2TR). Moves amount + the 100-credit KRAY fee from the
//                        signer into the module's books; deadline = now +
//                        challenge_period. Result: withdrawal_id, deadline.
//   withdrawal_challenge operator; fields id, reason. Freezes a pending one.
//   withdrawal_validator_challenge  signed by an active validator
//                        (ValidatorFacts); fields id, reason. Same effect.
//   withdrawal_resolve   operator; fields id, action (release | refund), note.
//                        release: pending again (same deadline); refund:
//                        amount + fee back to the account.
//   withdrawal_batch     system; fields spend (the L1 txid), withdrawals
//                        ("1,4,7"), fee_reserve, dust (sats); evidence tx
//                        (the unsigned transaction, hex). Every listed
//                        withdrawal must be pending with its deadline passed
//                        and paid by an output of tx; they become `signing`
//                        (no challenge or refund after this point: the
//                        transaction may be broadcast), and fee_reserve + dust
//                        BTC move from the fee account into the spend.
//   anchor_publish       system; fields spend, batch, fee_reserve; evidence
//                        tx, whose one OP_RETURN is the batch's anchor payload.
//   bridge_spend_confirmed  system; fields spend, txid (the version that
//                        confirmed); evidence block_hash, height, fee (sats the
//                        confirmed transaction pays). Burns fee + dust from the
//                        reserve (the rest goes back to the fee account), and
//                        for a withdrawal batch burns each withdrawn amount
//                        and splits each fee like gas: completed.
//
// Leaves: 0x32 bridge.config ("config"), 0x33 bridge.withdrawal (decimal
// id), 0x34 bridge.spend (spend id); layouts in docs/BRIDGE.md.
// Audit: bridge.withdrawals (amounts and fees of open withdrawals), and
// bridge.spend_reserves (BTC held for fees of unconfirmed spends).
//
// Thread-safety: read queries take the caller's connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::store {
class Database;
}

namespace kray::bridge {

inline constexpr std::string_view kWithdrawalRequestOp = "withdrawal_request";
inline constexpr std::string_view kWithdrawalChallengeOp = "withdrawal_challenge";
inline constexpr std::string_view kWithdrawalValidatorChallengeOp = "withdrawal_validator_challenge";
inline constexpr std::string_view kWithdrawalResolveOp = "withdrawal_resolve";
inline constexpr std::string_view kWithdrawalBatchOp = "withdrawal_batch";
inline constexpr std::string_view kAnchorPublishOp = "anchor_publish";
inline constexpr std::string_view kSpendConfirmedOp = "bridge_spend_confirmed";

inline constexpr std::uint8_t kBridgeConfigLeaf = 0x32;
inline constexpr std::uint8_t kBridgeWithdrawalLeaf = 0x33;
inline constexpr std::uint8_t kBridgeSpendLeaf = 0x34;

inline constexpr std::int64_t kDefaultChallengePeriod = 86400;  // 24 h
// Sats of the output a rune recipient gets (Bitcoin Core's dust limit for
// the costliest standard output, P2PKH: safe for every address type).
inline constexpr Amount kRuneDustSats = 546;
inline constexpr Amount kMinBtcWithdrawal = 546;
inline constexpr std::size_t kMaxWithdrawalsPerSpend = 50;

// The bridge's consensus parameters (genesis section "bridge").
struct BridgeConfig {
  std::int64_t challenge_period = kDefaultChallengePeriod;
  std::string fee_account;                            // "" = none: no withdrawals, no anchors
  std::vector<std::string> withdrawal_assets{"BTC"};  // sorted
};
// The configuration (defaults when the genesis has no section).
Result<BridgeConfig> ReadBridgeConfig(store::Database& db);

struct Withdrawal {
  std::uint64_t id = 0;
  std::string account_id, asset;
  Amount amount = 0, fee = 0;
  std::string l1_address;
  std::int64_t requested_at = 0, deadline = 0;
  std::string status;  // pending | challenged | signing | completed | refunded
  std::string challenged_by, challenge_reason, resolution, spend_id;
};

struct Spend {
  std::string id;    // txid of the first version (display hex)
  std::string kind;  // withdrawals | anchor
  std::int64_t batch = 0;
  Amount fee_reserve = 0, dust = 0;
  std::string fee_account;
  std::string status;  // signing | confirmed
  std::int64_t created_at = 0;
  std::string txid, block_hash;  // the confirmed version
  std::uint32_t height = 0;
  Amount fee_paid = 0;
  std::int64_t confirmed_at = 0;
};

Result<std::optional<Withdrawal>> FindWithdrawal(store::Database& db, std::uint64_t id);
// The account's withdrawals, newest first; keyset paging below `before_id` (0: from the newest).
Result<std::vector<Withdrawal>> AccountWithdrawals(store::Database& db, std::string_view account_id, int limit,
                                                   std::uint64_t before_id = 0);
// How many withdrawals the account requested (every status).
Result<std::uint64_t> CountAccountWithdrawals(store::Database& db, std::string_view account_id);
// Pending withdrawals whose deadline is at or before `now`, oldest first.
Result<std::vector<Withdrawal>> DueWithdrawals(store::Database& db, std::int64_t now, int limit);
// The withdrawals a spend pays, by id.
Result<std::vector<Withdrawal>> SpendWithdrawals(store::Database& db, std::string_view spend_id);

Result<std::optional<Spend>> FindSpend(store::Database& db, std::string_view id);
Result<std::optional<Spend>> AnchorSpendOfBatch(store::Database& db, std::int64_t batch);
// Spends not confirmed yet, oldest first.
Result<std::vector<Spend>> OpenSpends(store::Database& db);
// The highest batch with an anchor spend (0 if none).
Result<std::int64_t> LastAnchoredBatch(store::Database& db);

// The withdrawal a bridge.withdrawal leaf's data (type 0x33, as committed)
// describes: what the event feed reads from a change set, without the store.
// Invalid "invalid_leaf" if the data is not such a leaf.
Result<Withdrawal> DecodeWithdrawalLeaf(ByteSpan data);

// "1,4,7" <-> ids (canonical: ascending, unique, 1..kMaxWithdrawalsPerSpend).
std::string FormatIdList(const std::vector<std::uint64_t>& ids);
Result<std::vector<std::uint64_t>> ParseIdList(std::string_view text);

}  // namespace kray::bridge
