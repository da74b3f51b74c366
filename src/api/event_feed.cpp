// The event feed's hub (event_feed.h): subscriptions, fan-out and resume.
// Everything in Impl marked "feed thread" is touched only there, so the hub
// needs no lock; sources and clients reach it by posting to feed_io.
#include "kray/api/event_feed.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <charconv>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "feed_events.h"
#include "kray/bridge/scanner.h"
#include "kray/bridge/withdrawals.h"
#include "kray/rollup/json.h"
#include "kray/rollup/rollup.h"
#include "kray/state/leaves.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "kray/state/request.h"
#include "kray/validators/validators.h"
#include "op_json.h"
#include "validators_json.h"

namespace kray::api {

namespace net = boost::asio;
using namespace feed;

namespace {

constexpr std::size_t kMaxTopicLength = 128;
constexpr std::size_t kMaxTopicsPerMessage = 64;
constexpr std::size_t kMaxIdLength = 64;

// What identifies an event the replay may also have sent: an operation's
// seq, or a closed batch's number. Other events (deposits, Publish()) are
// never replayed, so never dropped as duplicates.
struct ReplayKey {
  std::optional<std::uint64_t> op_seq;
  std::optional<std::int64_t> batch;
};

// A held-back live event (its topic is being replayed).
struct HeldEvent {
  std::string topic;
  ReplayKey key;
  FeedMessage message;
};

struct Client {
  std::weak_ptr<FeedClient> sink;
  std::set<std::string> topics;     // subscribed, live or being replayed
  std::set<std::string> replaying;  // topics whose live events are held back
  bool replay_running = false;      // one replay at a time per connection
  std::vector<HeldEvent> held;      // bounded by max_queue
  // Replayed topics: how far the replay went. A commit is in the store (so
  // in a replay's snapshot) a moment before the feed hears of it, so a live
  // event can arrive after the replay that already sent it.
  std::map<std::string, ReplayKey> covered;
  std::vector<FeedMessage> outbox;  // this round's messages, sent at Flush
};

// One parsed client message.
struct Request {
  std::string op;
  Json id;  // null when absent
  std::vector<std::string> topics;
  std::optional<std::uint64_t> since;
};

Error InvalidMessage(std::string message) {
  return Error::Invalid("invalid_message", std::move(message));
}

std::string Clip(std::string_view s) {
  return s.size() <= 80 ? std::string(s) : std::string(s.substr(0, 80)) + "…";
}

Result<Json> ParseId(const Json& msg) {
  auto it = msg.find("id");
  if (it == msg.end() || it->is_null()) return Json();
  if (it->is_string() && it->get_ref<const std::string&>().size() <= kMaxIdLength) return *it;
  if (it->is_number_unsigned()) return *it;
  return InvalidMessage("'id' must be a string of at most 64 characters or a non-negative integer");
}

Result<Request> ParseRequest(std::string_view text, std::size_t max_topics) {
  auto msg = ParseJsonObject(text);
  if (!msg.ok()) return std::move(msg).error();
  Request r;
  auto id = ParseId(*msg);
  if (!id.ok()) return std::move(id).error();
  r.id = std::move(*id);
  auto op = msg->find("op");
  if (op == msg->end() || !op->is_string()) return InvalidMessage("'op' must be subscribe, unsubscribe or ping");
  r.op = op->get<std::string>();
  if (r.op == "ping") return r;
  if (r.op != "subscribe" && r.op != "unsubscribe") {
    return InvalidMessage("unknown op '" + Clip(r.op) + "' (ops: subscribe, unsubscribe, ping)");
  }
  auto topics = msg->find("topics");
  if (topics == msg->end() || !topics->is_array() || topics->empty() || topics->size() > max_topics) {
    return InvalidMessage("'topics' must be an array of 1.." + std::to_string(max_topics) + " topic strings");
  }
  for (const auto& t : *topics) {
    if (!t.is_string()) return InvalidMessage("'topics' must hold strings");
    r.topics.push_back(t.get<std::string>());
  }
  auto since = msg->find("since");
  if (since != msg->end() && !since->is_null()) {
    if (r.op != "subscribe" || !since->is_number_unsigned()) {
      return InvalidMessage("'since' must be a non-negative integer (subscribe only)");
    }
    r.since = since->get<std::uint64_t>();
  }
  return r;
}

}  // namespace

struct EventFeed::Impl : std::enable_shared_from_this<EventFeed::Impl> {
  Impl(FeedOptions o, state::Ledger& l, rollup::Rollup* r, bridge::DepositScanner* s)
      : options(std::move(o)), ledger(l), rollup(r), scanner(s) {}

  const FeedOptions options;
  state::Ledger& ledger;
  rollup::Rollup* const rollup;
  bridge::DepositScanner* const scanner;
  int batch_handle = -1;
  int deposit_handle = -1;

  net::io_context feed_io;    // the feed thread: hub state, fan-out
  net::io_context replay_io;  // the replay thread: log reads
  std::optional<net::executor_work_guard<net::io_context::executor_type>> feed_work, replay_work;
  std::thread feed_thread, replay_thread;

  std::atomic<std::uint64_t> next_client{1};
  struct {
    std::atomic<std::uint64_t> connections{0}, subscriptions{0}, events_sent{0}, replays{0}, replayed_events{0},
        client_errors{0}, dropped_slow{0};
  } stats;

  // The last seq of a group not handed to the feed thread because no client
  // was attached (OnGroupCommitted); Head() catches up with it.
  std::atomic<std::uint64_t> skipped_head{0};

  // --- feed thread ---
  std::uint64_t last_seq = 0;  // last operation dispatched (or found committed at start)
  // The head a client is told (welcome, subscribed, pong).
  std::uint64_t Head() {
    last_seq = std::max(last_seq, skipped_head.load());
    return last_seq;
  }
  std::unordered_map<std::uint64_t, Client> clients;
  std::unordered_map<std::string, std::unordered_set<std::uint64_t>> by_topic;
  std::vector<std::uint64_t> dirty;  // clients with a non-empty outbox

  void Dispatch(const state::GroupChanges& changes);
  void DispatchAttestations(const state::GroupChanges& changes);
  void DispatchTopic(const std::string& topic, const ReplayKey& key, const FeedMessage& message);
  void Deliver(std::uint64_t id, Client& c, const std::string& topic, const ReplayKey& key, const FeedMessage& message);
  void Queue(std::uint64_t id, Client& c, FeedMessage message);
  void Flush();
  void Handle(std::uint64_t id, std::string_view text);
  void Reply(std::uint64_t id, FeedMessage message);
  void ReplyError(std::uint64_t id, const Json& req_id, const Error& e);
  Result<std::string> CanonicalTopic(std::string_view topic) const;
  void Subscribe(std::uint64_t id, Client& c, const Request& r);
  void Unsubscribe(std::uint64_t id, Client& c, const Request& r);
  void StartReplay(std::uint64_t id, const Request& r, std::vector<std::string> topics);
  void FinishReplay(std::uint64_t id, const Json& req_id, const std::vector<std::string>& topics,
                    Result<ReplayResult> result);
  void AddTopic(std::uint64_t id, Client& c, const std::string& topic);
  void RemoveTopic(std::uint64_t id, Client& c, const std::string& topic);
  void Remove(std::uint64_t id);
  Json Limits() const;
};

// ---- fan-out (feed thread) ----

void EventFeed::Impl::Queue(std::uint64_t id, Client& c, FeedMessage message) {
  if (c.outbox.empty()) dirty.push_back(id);
  c.outbox.push_back(std::move(message));
}

void EventFeed::Impl::Flush() {
  for (auto id : dirty) {
    auto it = clients.find(id);
    if (it == clients.end() || it->second.outbox.empty()) continue;
    stats.events_sent += it->second.outbox.size();
    if (auto sink = it->second.sink.lock()) sink->Send(std::move(it->second.outbox));
    it->second.outbox.clear();
  }
  dirty.clear();
}

namespace {
// Whether the replay of `topic` already sent the event `key`.
bool Covered(const Client& c, const std::string& topic, const ReplayKey& key) {
  auto it = c.covered.find(topic);
  if (it == c.covered.end()) return false;
  const ReplayKey& upto = it->second;
  if (key.op_seq && upto.op_seq && *key.op_seq <= *upto.op_seq) return true;
  return key.batch && upto.batch && *key.batch <= *upto.batch;
}
}  // namespace

void EventFeed::Impl::Deliver(std::uint64_t id, Client& c, const std::string& topic, const ReplayKey& key,
                              const FeedMessage& message) {
  if (!c.replaying.count(topic)) {
    if (Covered(c, topic, key)) return;
    return Queue(id, c, message);
  }
  if (c.held.size() >= options.max_queue) {
    // The replay is slower than the live stream: the client gets what a slow
    // consumer gets, and resumes from what it processed.
    if (auto sink = c.sink.lock()) sink->Drop(kCloseSlowConsumer, "slow_consumer: too many events during replay");
    stats.dropped_slow++;
    return Remove(id);
  }
  c.held.push_back({topic, key, message});
}

void EventFeed::Impl::DispatchTopic(const std::string& topic, const ReplayKey& key, const FeedMessage& message) {
  auto it = by_topic.find(topic);
  if (it == by_topic.end()) return;
  // Deliver may remove a client (and so its topic entries): iterate a copy.
  std::vector<std::uint64_t> ids(it->second.begin(), it->second.end());
  for (auto id : ids) {
    auto c = clients.find(id);
    if (c != clients.end()) Deliver(id, c->second, topic, key, message);
  }
}

void EventFeed::Impl::Dispatch(const state::GroupChanges& changes) {
  const std::uint64_t group_last = changes.last_seq();
  if (group_last <= last_seq) return;  // already counted as committed at start
  const bool any_accounts = std::any_of(by_topic.begin(), by_topic.end(), [](const auto& entry) {
    return entry.first.compare(0, kAccountPrefix.size(), kAccountPrefix) == 0;
  });
  const bool txs = by_topic.count(std::string(kTxsTopic)) > 0;
  if (txs || any_accounts) {
    // The account leaves' new data, decoded on first use (the change set
    // holds each touched leaf once, after the group).
    std::unordered_map<std::string, const state::LeafChange*> account_leaves;
    if (any_accounts) {
      for (const auto& leaf : changes.leaves) {
        if (leaf.id.type == state::kAccountLeaf) account_leaves.emplace(leaf.id.id, &leaf);
      }
    }
    std::unordered_map<std::string, std::optional<state::Account>> states;
    auto state_of = [&](const std::string& account_id) -> const state::Account* {
      auto [it, fresh] = states.try_emplace(account_id);
      if (fresh) {
        auto leaf = account_leaves.find(account_id);
        if (leaf != account_leaves.end() && leaf->second->data) {
          auto decoded = state::DecodeLeaf(*leaf->second->data);
          if (decoded.ok()) it->second = std::move(decoded->account);
        }
      }
      return it->second ? &*it->second : nullptr;
    };
    for (const auto& shared : changes.operations) {
      const state::Operation& op = *shared;
      if (op.seq <= last_seq) continue;
      Json op_json = OperationJson(op, "confirmed", std::nullopt);
      const ReplayKey key{op.seq, std::nullopt};
      if (txs) DispatchTopic(std::string(kTxsTopic), key, EventMessage(kTxsTopic, "operation", op.seq, op_json));
      if (!any_accounts) continue;
      for (const auto& account_id : TouchedAccounts(op)) {
        std::string topic = std::string(kAccountPrefix) + account_id;
        if (!by_topic.count(topic)) continue;
        Json data = AccountEventData(account_id, op_json, group_last, state_of(account_id));
        DispatchTopic(topic, key, EventMessage(topic, "operation", op.seq, data));
      }
    }
  }
  if (rollup && by_topic.count(std::string(kBatchesTopic))) DispatchAttestations(changes);
  // Withdrawals: each one whose leaf the group changed, as committed (live
  // only, like deposits: a resume does not replay them).
  if (by_topic.count(std::string(kWithdrawalsTopic))) {
    for (const auto& leaf : changes.leaves) {
      if (leaf.id.type != bridge::kBridgeWithdrawalLeaf || !leaf.data) continue;
      auto w = bridge::DecodeWithdrawalLeaf(*leaf.data);
      if (!w.ok()) {
        spdlog::warn("feed: withdrawal leaf {}: {}", leaf.id.id, w.error().message);
        continue;
      }
      DispatchTopic(std::string(kWithdrawalsTopic), ReplayKey{},
                    EventMessage(kWithdrawalsTopic, "withdrawal_status", group_last, WithdrawalEventData(*w)));
    }
  }
  last_seq = group_last;
  Flush();
}

// batch_attested on `batches`: for each batch the group added an attestation
// to, its attestations as GET /api/rollup/batch/:id shows them after the
// commit (live only: a resume replays batch_closed, not these).
void EventFeed::Impl::DispatchAttestations(const state::GroupChanges& changes) {
  std::set<std::uint64_t> batches;
  for (const auto& leaf : changes.leaves) {
    if (leaf.id.type != validators::kAttestationLeaf || !leaf.data) continue;
    const auto colon = leaf.id.id.rfind(':');  // "<validator id>:<batch>"
    std::uint64_t batch = 0;
    const char* first = leaf.id.id.data() + colon + 1;
    const char* last = leaf.id.id.data() + leaf.id.id.size();
    if (colon == std::string::npos || std::from_chars(first, last, batch).ptr != last) continue;
    batches.insert(batch);
  }
  for (std::uint64_t batch : batches) {
    auto block = BatchAttestationsJson(ledger, batch);
    if (!block.ok()) {
      spdlog::warn("feed: attestations of batch {}: {}", batch, block.error().message);
      continue;
    }
    Json data = {{"number", batch}, {"attestations", std::move(*block)}};
    DispatchTopic(std::string(kBatchesTopic), ReplayKey{},
                  EventMessage(kBatchesTopic, "batch_attested", std::nullopt, std::move(data)));
  }
}

// ---- client messages (feed thread) ----

void EventFeed::Impl::Reply(std::uint64_t id, FeedMessage message) {
  auto it = clients.find(id);
  if (it != clients.end()) Queue(id, it->second, std::move(message));
}

void EventFeed::Impl::ReplyError(std::uint64_t id, const Json& req_id, const Error& e) {
  stats.client_errors++;
  Reply(id, ErrorMessage(req_id, e));
}

Json EventFeed::Impl::Limits() const {
  return {{"max_subscriptions", options.max_subscriptions},
          {"max_queue", options.max_queue},
          {"max_replay", options.max_replay},
          {"max_message_bytes", options.max_message_bytes}};
}

Result<std::string> EventFeed::Impl::CanonicalTopic(std::string_view topic) const {
  if (topic.size() > kMaxTopicLength) return Error::Invalid("unknown_topic", "unknown topic '" + Clip(topic) + "'");
  if (topic.substr(0, kAccountPrefix.size()) == kAccountPrefix) {
    auto who = topic.substr(kAccountPrefix.size());
    auto resolved = state::ResolveAccount(ledger.params(), who);
    if (!resolved.ok()) {
      return Error::Invalid("invalid_account",
                            "'" + Clip(who) + "' is neither an account id nor an address of this network");
    }
    return std::string(kAccountPrefix) + resolved->account_id;
  }
  if (std::find(options.topics.begin(), options.topics.end(), topic) == options.topics.end()) {
    std::string known;
    for (const auto& t : options.topics) known += t + ", ";
    return Error::Invalid("unknown_topic",
                          "unknown topic '" + Clip(topic) + "' (topics: " + known + "account:<id or address>)");
  }
  const bool needs_l1 = topic == kDepositsTopic || topic == kWithdrawalsTopic;
  if ((topic == kBatchesTopic && !rollup) || (needs_l1 && !scanner)) {
    return Error::Unavailable("topic_unavailable", "topic '" + std::string(topic) + "' is not available on this node" +
                                                       (needs_l1 ? " (no L1 backend)" : ""));
  }
  return std::string(topic);
}

void EventFeed::Impl::AddTopic(std::uint64_t id, Client& c, const std::string& topic) {
  if (c.topics.insert(topic).second) {
    by_topic[topic].insert(id);
    stats.subscriptions++;
  }
}

void EventFeed::Impl::RemoveTopic(std::uint64_t id, Client& c, const std::string& topic) {
  if (!c.topics.erase(topic)) return;
  c.replaying.erase(topic);
  c.covered.erase(topic);
  stats.subscriptions--;
  auto it = by_topic.find(topic);
  if (it == by_topic.end()) return;
  it->second.erase(id);
  if (it->second.empty()) by_topic.erase(it);
}

void EventFeed::Impl::Remove(std::uint64_t id) {
  auto it = clients.find(id);
  if (it == clients.end()) return;
  auto topics = it->second.topics;
  for (const auto& t : topics) RemoveTopic(id, it->second, t);
  clients.erase(it);
  stats.connections--;
}

void EventFeed::Impl::Handle(std::uint64_t id, std::string_view text) {
  auto it = clients.find(id);
  if (it == clients.end()) return;
  auto r = ParseRequest(text, kMaxTopicsPerMessage);
  if (!r.ok()) {
    // The id is echoed when the message was an object with a valid one.
    auto obj = ParseJsonObject(text);
    Json req_id;
    if (obj.ok()) {
      if (auto parsed_id = ParseId(*obj); parsed_id.ok()) req_id = std::move(*parsed_id);
    }
    return ReplyError(id, req_id, r.error());
  }
  if (r->op == "ping") {
    Json pong = {{"seq", Head()}};
    if (!r->id.is_null()) pong["id"] = r->id;
    return Reply(id, ControlMessage("pong", std::move(pong)));
  }
  if (r->op == "subscribe") return Subscribe(id, it->second, *r);
  Unsubscribe(id, it->second, *r);
}

void EventFeed::Impl::Unsubscribe(std::uint64_t id, Client& c, const Request& r) {
  Json removed = Json::array();
  for (const auto& t : r.topics) {
    auto canonical = CanonicalTopic(t);
    std::string topic = canonical.ok() ? *canonical : t;
    RemoveTopic(id, c, topic);
    removed.push_back(topic);
  }
  Json body = {{"topics", removed}};
  if (!r.id.is_null()) body["id"] = r.id;
  Reply(id, ControlMessage("unsubscribed", std::move(body)));
}

void EventFeed::Impl::Subscribe(std::uint64_t id, Client& c, const Request& r) {
  std::vector<std::string> canonical, fresh;
  for (const auto& t : r.topics) {
    auto topic = CanonicalTopic(t);
    if (!topic.ok()) return ReplyError(id, r.id, topic.error());
    if (std::find(canonical.begin(), canonical.end(), *topic) != canonical.end()) continue;
    canonical.push_back(*topic);
    // A topic already subscribed keeps its stream (neither replayed nor restarted).
    if (!c.topics.count(*topic)) fresh.push_back(*topic);
  }
  if (c.topics.size() + fresh.size() > options.max_subscriptions) {
    return ReplyError(id, r.id,
                      Error::Invalid("too_many_subscriptions", "at most " + std::to_string(options.max_subscriptions) +
                                                                   " topics per connection"));
  }
  if (r.since) {
    if (c.replay_running) {
      return ReplyError(id, r.id,
                        Error::Conflict("replay_in_progress", "this connection's previous replay is still running"));
    }
    for (const auto& t : fresh) {
      AddTopic(id, c, t);
      c.replaying.insert(t);
    }
    c.replay_running = true;
    return StartReplay(id, r, std::move(canonical));
  }
  for (const auto& t : fresh) AddTopic(id, c, t);
  Json body = {{"topics", canonical}, {"seq", Head()}, {"replayed", 0}};
  if (!r.id.is_null()) body["id"] = r.id;
  Reply(id, ControlMessage("subscribed", std::move(body)));
}

void EventFeed::Impl::StartReplay(std::uint64_t id, const Request& r, std::vector<std::string> topics) {
  ReplayRequest req;
  req.since = *r.since;
  req.max_replay = options.max_replay;
  const Client& c = clients.at(id);
  for (const auto& t : c.replaying) {
    if (t == kTxsTopic) req.txs = true;
    if (t == kBatchesTopic) req.batches = true;
    if (t.compare(0, kAccountPrefix.size(), kAccountPrefix) == 0)
      req.accounts.push_back(t.substr(kAccountPrefix.size()));
  }
  stats.replays++;
  net::post(replay_io, [self = shared_from_this(), id, req_id = r.id, topics = std::move(topics), req] {
    auto result = ReadReplay(self->ledger, self->rollup, req);
    net::post(self->feed_io, [self, id, req_id, topics, result = std::move(result)]() mutable {
      self->FinishReplay(id, req_id, topics, std::move(result));
      self->Flush();
    });
  });
}

// Sends the replay, then the held-back live events it did not cover, then
// lets the topics go live. On an error nothing of the subscribe remains.
void EventFeed::Impl::FinishReplay(std::uint64_t id, const Json& req_id, const std::vector<std::string>& topics,
                                   Result<ReplayResult> result) {
  auto it = clients.find(id);
  if (it == clients.end()) return;
  Client& c = it->second;
  std::set<std::string> replayed = std::move(c.replaying);
  std::vector<HeldEvent> held = std::move(c.held);
  c.replaying.clear();
  c.held.clear();
  c.replay_running = false;
  if (!result.ok()) {
    if (result.error().kind == ErrorKind::kInternal) spdlog::error("feed: replay failed: {}", result.error().message);
    for (const auto& t : replayed) RemoveTopic(id, c, t);
    return ReplyError(id, req_id, result.error());
  }
  // A replay is sent at once, so it must fit the client's queue with what
  // was held back meanwhile (bounded per-connection memory).
  std::size_t count = std::count_if(result->events.begin(), result->events.end(),
                                    [&](const ReplayEvent& e) { return replayed.count(e.topic) > 0; });
  if (count + held.size() + 1 > options.max_queue) {
    for (const auto& t : replayed) RemoveTopic(id, c, t);
    return ReplyError(id, req_id,
                      Error::Invalid("resume_too_old", "the replay holds " + std::to_string(count) +
                                                           " events, more than a client may have waiting (" +
                                                           std::to_string(options.max_queue) +
                                                           "); resynchronise over REST, then subscribe without since"));
  }
  std::size_t sent = 0;
  for (auto& e : result->events) {
    if (!replayed.count(e.topic)) continue;
    Queue(id, c, std::move(e.message));
    ++sent;
  }
  stats.replayed_events += sent;
  Json body = {{"topics", topics}, {"seq", result->head}, {"replayed", sent}};
  if (!req_id.is_null()) body["id"] = req_id;
  Queue(id, c, ControlMessage("subscribed", std::move(body)));
  // Skip what the replay already sent, held now or arriving later:
  // operations up to its snapshot's head, batches up to the last one it read.
  for (const auto& t : replayed) c.covered[t] = ReplayKey{result->head, result->last_batch};
  for (auto& e : held) {
    if (Covered(c, e.topic, e.key)) continue;
    Queue(id, c, std::move(e.message));
  }
}

// ---- EventFeed ----

EventFeed::EventFeed(FeedOptions options, state::Ledger& ledger, rollup::Rollup* rollup,
                     bridge::DepositScanner* scanner)
    : impl_(std::make_shared<Impl>(std::move(options), ledger, rollup, scanner)) {
  auto impl = impl_;
  impl->feed_work.emplace(impl->feed_io.get_executor());
  impl->replay_work.emplace(impl->replay_io.get_executor());
  impl->feed_thread = std::thread([impl] { impl->feed_io.run(); });
  impl->replay_thread = std::thread([impl] { impl->replay_io.run(); });
  // Listen first, then read the head: a group committed in between is both
  // in the head and in a change set, and Dispatch skips it by its seq.
  ledger.AddListener(this);
  std::uint64_t head = 0;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    auto last = state::LastSeq(db);
    if (!last.ok()) return std::move(last).error();
    head = *last;
    return Ok();
  });
  if (!s.ok()) spdlog::warn("feed: cannot read the last committed seq: {}", s.error().message);
  net::post(impl->feed_io, [impl, head] { impl->last_seq = std::max(impl->last_seq, head); });
  if (rollup) {
    impl->batch_handle = rollup->AddBatchListener([weak = std::weak_ptr<Impl>(impl)](const rollup::BatchHeader& b) {
      auto self = weak.lock();
      if (!self) return;
      Json data = Json::parse(rollup::BatchJson(b), nullptr, false);
      auto seq = static_cast<std::uint64_t>(b.last_seq);
      ReplayKey key{std::nullopt, b.number};
      net::post(self->feed_io, [self, key, message = EventMessage(kBatchesTopic, "batch_closed", seq, data)] {
        self->DispatchTopic(std::string(kBatchesTopic), key, message);
        self->Flush();
      });
    });
  }
  if (scanner) {
    impl->deposit_handle =
        scanner->AddDepositListener([weak = std::weak_ptr<Impl>(impl)](const bridge::ObservedDeposit& d) {
          auto self = weak.lock();
          if (!self) return;
          net::post(self->feed_io, [self, message = EventMessage(kDepositsTopic, "deposit_status", std::nullopt,
                                                                 DepositEventData(d))] {
            self->DispatchTopic(std::string(kDepositsTopic), ReplayKey{}, message);
            self->Flush();
          });
        });
  }
}

EventFeed::~EventFeed() {
  impl_->ledger.RemoveListener(this);
  if (impl_->scanner && impl_->deposit_handle >= 0) impl_->scanner->RemoveDepositListener(impl_->deposit_handle);
  if (impl_->rollup && impl_->batch_handle >= 0) impl_->rollup->RemoveBatchListener(impl_->batch_handle);
  impl_->replay_work.reset();
  impl_->replay_io.stop();
  impl_->replay_thread.join();
  impl_->feed_work.reset();
  impl_->feed_io.stop();
  impl_->feed_thread.join();
}

void EventFeed::OnGroupCommitted(const std::shared_ptr<const state::GroupChanges>& changes) {
  // No client attached: nothing to deliver, so record the head instead of
  // waking the feed thread (a context switch per group). Attach() counts a
  // client before its welcome reads the head; checking again after the store
  // means that a client counted too late to see this group posted is told a
  // head that includes it (all seq_cst).
  if (impl_->stats.connections.load() == 0) {
    impl_->skipped_head.store(changes->last_seq());  // groups arrive in commit order
    if (impl_->stats.connections.load() == 0) return;
  }
  net::post(impl_->feed_io, [impl = impl_, changes] { impl->Dispatch(*changes); });
}

void EventFeed::Publish(std::string topic, std::string event, Json data, std::optional<std::uint64_t> seq) {
  net::post(impl_->feed_io,
            [impl = impl_, topic = std::move(topic), event = std::move(event), data = std::move(data), seq] {
              impl->DispatchTopic(topic, ReplayKey{}, EventMessage(topic, event, seq, data));
              impl->Flush();
            });
}

std::uint64_t EventFeed::Attach(const std::shared_ptr<FeedClient>& client) {
  const std::uint64_t id = impl_->next_client++;
  impl_->stats.connections++;
  net::post(impl_->feed_io, [impl = impl_, id, weak = std::weak_ptr<FeedClient>(client)] {
    Client& c = impl->clients[id];
    c.sink = weak;
    impl->Queue(
        id, c,
        ControlMessage("welcome", {{"protocol", kProtocolVersion}, {"seq", impl->Head()}, {"limits", impl->Limits()}}));
    impl->Flush();
  });
  return id;
}

void EventFeed::Receive(std::uint64_t client, std::string text, std::function<void()> done) {
  net::post(impl_->feed_io, [impl = impl_, client, text = std::move(text), done = std::move(done)] {
    impl->Handle(client, text);
    impl->Flush();
    if (done) done();
  });
}

void EventFeed::Detach(std::uint64_t client) {
  net::post(impl_->feed_io, [impl = impl_, client] { impl->Remove(client); });
}

const FeedOptions& EventFeed::options() const {
  return impl_->options;
}

FeedStats EventFeed::Stats() const {
  const auto& s = impl_->stats;
  return {s.connections.load(),     s.subscriptions.load(), s.events_sent.load(), s.replays.load(),
          s.replayed_events.load(), s.client_errors.load(), s.dropped_slow.load()};
}

void EventFeed::CountSlowDrop() {
  impl_->stats.dropped_slow++;
}

}  // namespace kray::api
