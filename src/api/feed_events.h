// Private to src/api: the event feed's messages (docs/API.md, "Event feed")
// and its replay read of the operation log. Pure functions of their inputs,
// so the feed thread and the replay thread share them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/api/event_feed.h"
#include "kray/api/json_util.h"
#include "kray/core/result.h"
#include "kray/rollup/batch.h"
#include "kray/state/changes.h"
#include "kray/state/types.h"

namespace kray::state {
class Ledger;
}
namespace kray::bridge {
struct ObservedDeposit;
struct Withdrawal;
}
namespace kray::rollup {
class Rollup;
}

namespace kray::api::feed {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::string_view kTxsTopic = "txs";
inline constexpr std::string_view kBatchesTopic = "batches";
inline constexpr std::string_view kDepositsTopic = "deposits";
inline constexpr std::string_view kWithdrawalsTopic = "withdrawals";
inline constexpr std::string_view kAccountPrefix = "account:";

// {"type":"event","topic","event","seq"?,"data"}
FeedMessage EventMessage(std::string_view topic, std::string_view event, std::optional<std::uint64_t> seq,
                         const Json& data);
// {"type":"error","id"?,"code","message"}
FeedMessage ErrorMessage(const Json& id, const Error& error);
// Any other server message: `body` with "type" set.
FeedMessage ControlMessage(std::string_view type, Json body);

// The account topic's payload: the operation, and the account's state
// after `balances_seq` (nullptr: the account has no state, e.g. deleted leaf).
Json AccountEventData(std::string_view account_id, const Json& operation, std::uint64_t balances_seq,
                      const state::Account* state);
// The deposits topic's payload: a deposit as the scanner stored it.
Json DepositEventData(const bridge::ObservedDeposit& d);
// The withdrawals topic's payload: a withdrawal as its leaf was committed.
Json WithdrawalEventData(const bridge::Withdrawal& w);
// Account ids of the account leaves an operation touched, each once.
std::vector<std::string> TouchedAccounts(const state::Operation& op);

// What a resume sends: events of the requested topics after `since`, up to
// the log's head at the time of the read.
struct ReplayRequest {
  std::uint64_t since = 0;
  bool txs = false, batches = false;
  std::vector<std::string> accounts;  // account ids (topics account:<id>)
  std::size_t max_replay = 0;
};
struct ReplayEvent {
  std::string topic;
  std::uint64_t seq = 0;
  FeedMessage message;
};
struct ReplayResult {
  std::uint64_t head = 0;                  // last committed seq of the read snapshot
  std::optional<std::int64_t> last_batch;  // number of the last batch in `events`
  std::vector<ReplayEvent> events;         // in seq order (batches after their last operation)
};
// Reads one snapshot of the log (and the rollup's batches up to its head).
// Invalid "invalid_since" (since > head), "resume_too_old" (more than
// max_replay operations after since); store errors as they come.
Result<ReplayResult> ReadReplay(const state::Ledger& ledger, const rollup::Rollup* rollup, const ReplayRequest& req);

}  // namespace kray::api::feed
