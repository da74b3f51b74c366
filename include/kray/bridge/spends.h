// The spend coordinator (docs/BRIDGE.md, "Withdrawals", "Anchors"): the
// node-side work that turns due withdrawals and closed rollup batches into
// L1 transactions Bitcoin Core accepts, signed 2-of-3 by PSBT.
//
// On its own thread (kray-spends), about once per poll:
//   - withdrawals whose deadline passed (pending, not challenged) are
//     batched into one transaction (spend_tx.h): coin selection over the
//     federation's outputs the scanner knows, with their runes; the inputs
//     are reserved in bridge.sqlite BEFORE anything is signed, then the
//     withdrawal_batch operation makes the batch final in L2;
//   - each closed batch (except one holding only anchor bookkeeping) gets an
//     anchor transaction (anchor_publish), one at a time;
//   - this node, if it is a federation member, adds its signature after
//     checking the spend in L2 (CheckSignable: never before a deadline, never
//     for a challenged withdrawal);
//   - with two verified signatures: finalize, testmempoolaccept, broadcast;
//     a rejection is recorded and the spend stays pending (no refund while a
//     broadcast transaction could still confirm);
//   - a broadcast version unconfirmed past `fee_bump_after` is replaced (RBF,
//     same inputs, lower change) and must be signed again; a version that
//     left the mempool is broadcast again;
//   - at `confirmations` the bridge_spend_confirmed operation settles it.
// Nothing is signed or built while the scanner has open alarms.
//
// Co-signers submit PSBTs through SubmitSignatures (the REST API); only
// signatures that verify against the BIP-341 sighash for a member's key are
// kept.
//
// Thread-safety: every public method may be called from any thread; spend
// mutations are serialised internally.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kray/bridge/bitcoin_rpc.h"
#include "kray/bridge/member_key.h"
#include "kray/bridge/scanner.h"
#include "kray/core/result.h"
#include "kray/state/ledger.h"

namespace kray::rollup {
class Rollup;
}

namespace kray::bridge {

struct SpendOptions {
  RpcOptions rpc;
  std::uint32_t confirmations = 6;            // a spend is settled at N confirmations
  std::int64_t fallback_feerate = 2000;       // sat/kvB when Core has no estimate (bridgefeerate)
  std::int64_t max_feerate = 100000;          // sat/kvB cap (bridgemaxfeerate); also sizes the fee reserve
  std::uint32_t fee_target_blocks = 6;        // estimatesmartfee target
  std::chrono::seconds fee_bump_after{3600};  // bridgefeebumpseconds
  bool anchors = true;                        // bridgeanchors
  std::chrono::milliseconds poll_interval{1000};
};

// One version of a spend (the original or a replacement), for the API.
struct SpendVersionView {
  int version = 1;
  std::string txid;
  std::int64_t fee = 0, feerate = 0;
  std::size_t vsize = 0;
  std::vector<int> signers;  // members whose signatures verify on every input
  bool finalized = false;
  std::optional<std::int64_t> broadcast_at;
  std::string reject_reason;
  std::string l1;  // "" | mempool | block | missing
};

// What this node knows about a spend beyond L2 state.
struct SpendView {
  std::string id, kind;
  std::int64_t batch = 0;
  std::string state;  // reserving | signing | done
  std::string detail;
  std::vector<SpendVersionView> versions;
  std::string psbt_base64;  // the latest version, with every verified signature
  std::optional<std::uint32_t> mined_height;
  std::string mined_txid;
  std::uint32_t confirmations = 0;
  std::vector<std::string> inputs;  // "txid:vout"
};

struct SubmitResult {
  int added = 0, invalid = 0;
  std::vector<int> signers;
  std::optional<std::string> broadcast_txid;
  std::string rejected;  // Bitcoin Core's reason when it refused the finalized transaction
};

// A batch's anchor as the bridge sees it (docs/ROLLUP.md "anchor_status").
struct AnchorView {
  std::string status = "built";  // built | anchored | finalized
  std::optional<std::string> txid;
  std::optional<std::int64_t> height;
  std::string spend_id;
};

struct CoordinatorStatus {
  bool member = false;
  int member_number = 0;
  std::optional<Error> last_error;
  std::map<std::uint64_t, std::string> waiting;  // due withdrawals not batched yet, with why
  std::int64_t last_step = 0;
};

class SpendCoordinator {
 public:
  // Opens its own connections to the scanner's bridge.sqlite and starts the
  // thread. `member` is this node's member key (nullopt: it only collects
  // co-signers' signatures); `rollup` may be null (no anchors). The ledger,
  // scanner and rollup must outlive the coordinator.
  static Result<std::unique_ptr<SpendCoordinator>> Open(state::Ledger& ledger, const DepositScanner& scanner,
                                                        rollup::Rollup* rollup, std::optional<MemberKey> member,
                                                        const SpendOptions& options);
  ~SpendCoordinator();  // stops the thread (after the step in progress)

  // Runs a step soon (a batch closed).
  void Wake();

  CoordinatorStatus GetStatus() const;
  const SpendOptions& options() const;

  // NotFound "spend_not_found" if this node has no record of it.
  Result<SpendView> GetSpend(std::string_view spend_id) const;
  // Merges a co-signer's PSBT for the spend's latest version and, with two
  // signatures on every input, finalizes and broadcasts. Errors: NotFound
  // "spend_not_found"; Invalid "invalid_psbt", "psbt_tx_mismatch" (signed
  // another version: fetch the PSBT again); Unauthorized "invalid_signature"
  // (it carried signatures and none verified); Conflict "spend_not_signable",
  // "withdrawal_frozen", "withdrawal_in_challenge_period".
  Result<SubmitResult> SubmitSignatures(std::string_view spend_id, std::string_view psbt_base64);
  AnchorView AnchorOf(std::int64_t batch) const;

  struct Impl;

 private:
  explicit SpendCoordinator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kray::bridge
