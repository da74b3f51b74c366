// The event feed behind GET /ws (docs/API.md, "Event feed"): clients
// subscribe to topics (txs, account:<id>, batches, deposits, withdrawals) and receive an
// event for each thing that happened, only after the commit it describes.
//
// Sources: the Ledger's change sets (ChangeListener, on the sequencer
// thread), the rollup index's closed batches (its batch listener, on the
// index thread), the deposit scanner's status changes (its listener, on the
// scanner thread), the bridge.withdrawal leaves of the change sets (the
// withdrawals topic), and Publish() for any other module. Each source call only
// hands the event to the feed's own thread and returns: the sequencer is
// never slowed by subscribers, and never touches SQLite for them.
//
// The feed thread owns every subscription and fans events out to the
// clients. Resume (a subscribe with `since`) reads the operation log on a
// second thread through the Ledger's readers; live events of the topics
// being replayed are held back meanwhile and sent after the replay, skipping
// those the replay already sent, so each topic's stream has no gap and no
// duplicate.
//
// A client is anything that implements FeedClient (the WebSocket session in
// src/api); the feed knows nothing of sockets. Per-client memory is bounded
// by the client's own queue (FeedOptions::max_queue, enforced by the
// session) and by the same bound on events held back during a replay.
//
// Thread-safety: every public method may be called from any thread.
// Lifetime: construct after the Ledger, the Rollup and the scanner are open;
// destroy before any of them (the destructor unregisters every listener and
// joins its threads).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kray/api/json_util.h"
#include "kray/state/changes.h"

namespace kray::state {
class Ledger;
}
namespace kray::rollup {
class Rollup;
}
namespace kray::bridge {
class DepositScanner;
}

namespace kray::api {

using FeedMessage = std::shared_ptr<const std::string>;

// One connection as the feed sees it. Implemented by the WebSocket session.
class FeedClient {
 public:
  virtual ~FeedClient() = default;
  // Queues text messages, in order. Called on the feed thread: must return
  // at once. A client whose queue would exceed max_queue closes itself with
  // kCloseSlowConsumer.
  virtual void Send(std::vector<FeedMessage> messages) = 0;
  // Closes the connection with a WebSocket close code (the feed gave up on
  // the client, e.g. too many events held back during its replay).
  virtual void Drop(int close_code, std::string reason) = 0;
};

// Close codes (RFC 6455 section 7.4; 4000-4999 are ours).
inline constexpr int kCloseGoingAway = 1001;     // the node is shutting down
inline constexpr int kCloseTooBig = 1009;        // a client message over max_message_bytes
inline constexpr int kCloseSlowConsumer = 4000;  // more than max_queue messages waited

struct FeedOptions {
  std::size_t max_subscriptions = 64;                                // topics per connection (feedmaxsubscriptions)
  std::size_t max_queue = 4096;                                      // messages waiting for one client (feedqueue)
  std::size_t max_replay = 1000;                                     // operations a resume may read (feedreplay)
  std::size_t max_message_bytes = 16384;                             // client -> node message size
  std::vector<std::string> topics = {"txs", "batches", "deposits", "withdrawals"};  // plus account:<id>
};

// Counters for /metrics (monotonic since start, except the gauges).
struct FeedStats {
  std::uint64_t connections = 0;    // gauge: attached clients
  std::uint64_t subscriptions = 0;  // gauge: topics subscribed, all clients
  std::uint64_t events_sent = 0;    // messages handed to clients
  std::uint64_t replays = 0;        // resumes served
  std::uint64_t replayed_events = 0;
  std::uint64_t client_errors = 0;  // error messages sent to clients
  std::uint64_t dropped_slow = 0;   // clients closed with kCloseSlowConsumer
};

class EventFeed : public state::ChangeListener {
 public:
  // Registers with the ledger (and with `rollup` and `scanner` when not
  // null: the batches and deposits topics are unavailable without them) and
  // starts the feed's two threads. `ledger` must outlive the feed.
  EventFeed(FeedOptions options, state::Ledger& ledger, rollup::Rollup* rollup, bridge::DepositScanner* scanner);
  ~EventFeed() override;
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  // Sequencer thread: hands the change set to the feed thread and returns.
  void OnGroupCommitted(const std::shared_ptr<const state::GroupChanges>& changes) override;

  // Any other event: `data` becomes the event's payload on `topic` (one of
  // options().topics); `seq` orders it on that topic (nullopt: live only, no
  // seq). Returns at once. Call it only after what it describes is durable.
  void Publish(std::string topic, std::string event, Json data, std::optional<std::uint64_t> seq);

  // A new connection: sends it the welcome message. Returns its id. The
  // feed keeps only a weak reference.
  std::uint64_t Attach(const std::shared_ptr<FeedClient>& client);
  // One text message from the client (already bounded by the session);
  // replies and subscription changes follow on the feed thread. `done` runs
  // on the feed thread once the message is handled (the session reads the
  // next message only then: one message in flight per connection).
  void Receive(std::uint64_t client, std::string text, std::function<void()> done);
  // The connection ended: its subscriptions are removed.
  void Detach(std::uint64_t client);

  const FeedOptions& options() const;
  FeedStats Stats() const;
  // Counts a client closed for being slow (the session decides that).
  void CountSlowDrop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kray::api
