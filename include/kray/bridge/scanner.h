// The L1 deposit scanner (docs/BRIDGE.md, "Scanner"): a follower thread
// with its own store, <datadir>/bridge.sqlite, and its own position on
// Bitcoin, as Bitcoin Core's indexes and krayd's rollup index follow theirs.
//
// It follows Bitcoin Core block by block from a start height (blocks are
// parsed and checked by BitcoinRpc::GetBlock), storing every processed
// (height, hash), the runes index of the configured runes (ord's rules,
// SqliteRunesStore) and every output that pays a bridge address: index 0
// (the bridge's own) up to the highest assigned index plus a lookahead
// window, extended as addresses are handed out. A block's runes, deposits
// and position are written in one transaction, so a restart resumes at a
// block boundary.
//
// When Bitcoin Core's chain no longer has the scanner's tip it walks back
// to the fork point, block by block, undoing the runes index and forgetting
// the deposits of orphaned blocks that were not credited yet. A deposit that
// was already credited (it had N confirmations) cannot be undone: the
// scanner records an alarm, logs it as an error, and open alarms freeze
// withdrawals until the operator resolves them (or the same outpoint is
// confirmed again in the new chain).
//
// At N confirmations (at least 100 for a coinbase output) a deposit is acted
// on once, through the Ledger (never by writing krayd.sqlite): a
// deposit_credit system operation when its address index belongs to an
// account, else a deposit_unattributed one (index 0, or an index nobody has),
// which its depositor may later claim (deposit_claim, signed by a funding
// key). Exactly-once is the operations' uniqueness check on the outpoint,
// not this scanner's memory: after a crash, or with bridge.sqlite deleted
// and rescanned, an outpoint already in krayd.sqlite is recognised and never
// submitted again.
//
// Errors from Bitcoin Core (l1_unreachable, l1_bad_reply, ...) are retried
// with exponential backoff (poll interval doubling up to 30 s) and reported
// by GetStatus(); the rest of krayd keeps serving. Errors that mean the scanner
// cannot go on (a reorg deeper than max_reorg_depth, a store error, a runes
// index inconsistency) stop it ("failed" in GetStatus) until restart.
//
// Thread-safety: Open/destructor from one thread; every other method from
// any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kray/bitcoin/runestone.h"
#include "kray/bridge/bitcoin_rpc.h"
#include "kray/bridge/federation.h"
#include "kray/core/amount.h"
#include "kray/core/result.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"

namespace kray::bridge {

// A rune the bridge accepts, and the L2 asset it is credited as (whose
// decimals must equal the rune's divisibility).
struct BridgeRune {
  bitcoin::RuneId id;
  std::optional<bitcoin::Rune> name;  // when set, the index checks the etching's name
  std::string asset;
};

// "ASSET:BLOCK:TX[:NAME]" (NAME without spacers), comma separated, e.g.
// "DOG:840000:3,KRAY:925516:1550". Assets must be in `params` and not BTC;
// ids and assets unique. Invalid "invalid_bridge_runes".
Result<std::vector<BridgeRune>> ParseBridgeRunes(const ChainParams& params, std::string_view text);
std::string FormatBridgeRunes(const std::vector<BridgeRune>& runes);

struct ScannerOptions {
  RpcOptions rpc;                   // wallet-less
  std::uint32_t confirmations = 6;  // N (depositconfirmations)
  std::uint32_t start_height = 0;   // first block scanned for deposits (bridgestartheight)
  std::uint32_t lookahead = 1000;   // watched indexes past the highest assigned one
  Amount min_deposit_sats = 10000;  // a BTC-only deposit below this is not credited
  std::vector<BridgeRune> runes;    // accepted runes (the runes index tracks exactly these)
  std::chrono::milliseconds poll_interval{1000};
  std::uint32_t max_reorg_depth = 100;  // deeper reorgs stop the scanner (and the runes index's undo)
  std::uint32_t blocks_per_step = 100;  // blocks connected between credit passes
};

// What the scanner knows about L1 and itself (for /health and /api/bridge/info).
struct ScannerStatus {
  bool l1_reachable = false;  // the last call to Bitcoin Core succeeded
  std::string l1_error_code;  // the last L1 error ("" after a success)
  std::string l1_error;
  std::string l1_chain;                      // Core's chain name ("regtest", "main", ...)
  std::optional<std::uint32_t> l1_height;    // Core's tip height (last seen)
  std::string l1_best_hash;                  // display hex
  std::optional<std::uint32_t> scan_height;  // last processed block
  std::string scan_hash;
  std::uint32_t first_height = 0;  // the first block the scanner processes
  bool catching_up = false;
  double blocks_per_second = 0;
  std::optional<std::int64_t> eta_seconds;
  std::optional<Error> failed;  // sticky: scanning stopped until restart
  std::int64_t last_poll = 0;   // unix seconds of the last completed poll
  std::size_t open_alarms = 0;
  std::uint32_t watched_indexes = 0;  // addresses 0..watched_indexes-1 are watched
};

// An output paying a bridge address, as the scanner saw it.
struct ObservedDeposit {
  std::string txid;  // display hex
  std::uint32_t vout = 0;
  std::uint32_t height = 0;
  std::string block_hash;  // display hex
  std::uint32_t address_index = 0;
  std::int64_t sats = 0;
  std::string runes;   // "block:tx=amount,..." (runes index)
  std::string assets;  // what it credits ("" if nothing)
  std::uint32_t required = 0;
  // confirming | credited | unattributed | not_creditable | failed |
  // orphaned (its block left the chain after it was credited) | reconfirming
  std::string status;
  std::string detail;     // why not creditable / failed
  std::string operation;  // the operation that credited or recorded it
};

struct BridgeAlarm {
  std::int64_t id = 0;
  std::string txid;
  std::uint32_t vout = 0;
  std::string block_hash;  // the orphaned block
  std::uint32_t height = 0;
  std::string operation;  // the credit that can no longer be backed
  std::int64_t detected_at = 0;
  std::string status;  // open | reconfirmed | resolved
  std::string note;
};

class DepositScanner {
 public:
  // Opens (or creates) <datadir>/bridge.sqlite next to the ledger's store,
  // checks that it was made for this store, federation, network, start
  // height and rune set ("bridge_scan_mismatch" otherwise: delete it to
  // rescan, which is safe), and starts the thread. Errors also:
  // "invalid_bridge_config" (confirmations 0, no lookahead), the runes
  // index's option errors, store errors. `ledger` must outlive the scanner.
  static Result<std::unique_ptr<DepositScanner>> Open(state::Ledger& ledger, const Federation& federation,
                                                      const ScannerOptions& options);
  // Stops the thread (after the block or credit in progress). Destroy the
  // scanner before the Ledger: it submits operations to it.
  ~DepositScanner();

  const Federation& federation() const;
  const ScannerOptions& options() const;
  ScannerStatus GetStatus() const;

  // Polls L1 now and waits until the scanner has processed Core's tip and
  // credited what is due, or hit an error (returned), or `timeout` passed
  // ("bridge_sync_timeout"). For tests and tools.
  Status SyncNow(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // --- reads of bridge.sqlite ---
  Result<std::optional<ObservedDeposit>> FindObserved(std::string_view txid, std::uint32_t vout) const;
  // Deposits to `index` the scanner saw, newest first.
  Result<std::vector<ObservedDeposit>> ObservedAtIndex(std::uint32_t index, int limit) const;
  // Every alarm, newest first.
  Result<std::vector<BridgeAlarm>> Alarms() const;
  // The federation's unspent outputs the scanner knows: how many, their
  // sats, and how many are reserved by a spend.
  struct FederationHoldings {
    std::int64_t outputs = 0, sats = 0, reserved = 0;
  };
  Result<FederationHoldings> Holdings() const;
  // Marks an open alarm resolved with the operator's note. NotFound
  // "alarm_not_found"; Conflict "alarm_not_open".
  Status ResolveAlarm(std::int64_t id, const std::string& note);

  std::string path() const;

  // Deposit listeners are called on the scanner thread, in the order added,
  // each time a deposit's new status is stored (a deposit seen in a block:
  // confirming, not_creditable or reconfirming; then credited,
  // unattributed, failed, orphaned), with the deposit as stored. A listener
  // must be quick and must not call back into the scanner.
  using DepositListener = std::function<void(const ObservedDeposit&)>;
  int AddDepositListener(DepositListener listener);  // returns a handle for RemoveDepositListener
  void RemoveDepositListener(int handle);            // after it returns, the listener is never called again

  struct Impl;

 private:
  explicit DepositScanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kray::bridge
