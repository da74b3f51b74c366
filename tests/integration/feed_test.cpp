// The event feed (GET /ws, docs/API.md "Event feed") against the real krayd,
// with Beast's WebSocket client: subscribe, events only after commit, the
// account topic's balances, batches, resume without gaps or duplicates (also
// under load), bad messages, limits, slow clients, caps and shutdown.
#include <atomic>
#include <set>
#include <thread>

#include "kray/testsupport/node.h"
#include "kray/testsupport/ws_client.h"

namespace kray::test {
namespace {

using namespace std::chrono_literals;

class FeedTest : public NodeTest {
 protected:
  // A connected client that got its welcome.
  std::unique_ptr<WsClient> Connect(int receive_buffer = 0) {
    auto c = std::make_unique<WsClient>();
    std::string why;
    EXPECT_TRUE(c->Connect(node_.port(), &why, receive_buffer)) << why;
    auto welcome = c->Next();
    EXPECT_TRUE(welcome.has_value());
    if (welcome) {
      EXPECT_EQ((*welcome)["type"], "welcome") << welcome->dump();
    }
    return c;
  }
  // Subscribes and returns the "subscribed" reply (events before it are
  // appended to `replayed`).
  json Subscribe(WsClient& c, const json& topics, std::optional<std::uint64_t> since = std::nullopt,
                 std::vector<json>* replayed = nullptr) {
    json msg = {{"op", "subscribe"}, {"topics", topics}};
    if (since) msg["since"] = *since;
    EXPECT_TRUE(c.SendJson(msg));
    while (auto m = c.Next()) {
      if ((*m)["type"] == "event") {
        if (replayed) replayed->push_back(*m);
        continue;
      }
      return *m;
    }
    ADD_FAILURE() << "no reply to " << msg.dump();
    return json();
  }
  // A transfer dev1 -> dev2 (or back), answered after its commit.
  json Transfer(const TestKey& from, const TestKey& to, Amount amount) {
    auto nonce = Balance(from.account_id)["nonce"].get<std::uint64_t>();
    auto r = Post("/api/transaction/send", LegacyTransfer(from, to.account_id, amount, nonce).dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  std::uint64_t LastSeq() { return GetJson("/api/rollup/state-root")["applied_seq"].get<std::uint64_t>(); }
};

TEST_F(FeedTest, WelcomeSubscribeAndEventsOnlyAfterCommit) {
  auto c = std::make_unique<WsClient>();
  std::string why;
  ASSERT_TRUE(c->Connect(node_.port(), &why)) << why;
  auto welcome = c->Next();
  ASSERT_TRUE(welcome);
  EXPECT_EQ((*welcome)["protocol"], 1);
  EXPECT_EQ((*welcome)["seq"], 0);
  EXPECT_EQ((*welcome)["limits"]["max_message_bytes"], 16384);

  ASSERT_TRUE(c->SendJson({{"op", "subscribe"}, {"topics", {"txs"}}, {"id", "a1"}}));
  auto sub = c->Next();
  ASSERT_TRUE(sub);
  EXPECT_EQ((*sub)["type"], "subscribed");
  EXPECT_EQ((*sub)["id"], "a1");
  EXPECT_EQ((*sub)["seq"], 0);
  EXPECT_EQ((*sub)["topics"], json::array({"txs"}));

  // Transfers from another thread; each event's operation must already be
  // readable as confirmed when the event arrives.
  constexpr int kTransfers = 20;
  std::thread sender([&] {
    net::HttpClient http("127.0.0.1", node_.port());
    for (int i = 0; i < kTransfers; ++i) {
      auto body = LegacyTransfer(dev1_, dev2_.account_id, 100 + i, static_cast<std::uint64_t>(i)).dump();
      auto r = http.Post("/api/transaction/send", body, {});
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->status, 200) << r->body;
    }
  });
  for (int i = 1; i <= kTransfers; ++i) {
    auto e = c->NextOfType("event");
    ASSERT_TRUE(e) << "event " << i;
    EXPECT_EQ((*e)["topic"], "txs");
    EXPECT_EQ((*e)["event"], "operation");
    EXPECT_EQ((*e)["seq"], i);
    const json& op = (*e)["data"];
    EXPECT_EQ(op["seq"], i);
    EXPECT_EQ(op["status"], "confirmed");
    EXPECT_EQ(op["amount"], std::to_string(100 + i - 1));
    json tx = GetJson("/api/transaction/" + op["tx_hash"].get<std::string>());
    EXPECT_EQ(tx["status"], "confirmed") << "event before commit: " << tx.dump();
  }
  sender.join();
  c->Close();
}

TEST_F(FeedTest, AccountTopicByAddressCarriesNewBalances) {
  auto c = Connect();
  json sub = Subscribe(*c, {"account:" + dev2_.address, "account:" + dev2_.account_id});
  ASSERT_EQ(sub["type"], "subscribed") << sub.dump();
  EXPECT_EQ(sub["topics"], json::array({"account:" + dev2_.account_id}));

  json rec = Transfer(dev1_, dev2_, 2500);
  auto e = c->NextOfType("event");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["topic"], "account:" + dev2_.account_id);
  const json& data = (*e)["data"];
  EXPECT_EQ(data["account_id"], dev2_.account_id);
  EXPECT_EQ(data["operation"]["tx_hash"], rec["tx_hash"]);
  EXPECT_EQ(data["balances_seq"], (*e)["seq"]);
  json bal = Balance(dev2_.account_id);
  for (const char* asset : {"KRAY", "BTC", "DOG"}) {
    EXPECT_EQ(data["balances"][asset]["available"], bal["balances"][asset]["available"]) << asset;
  }
  EXPECT_EQ(data["nonce"], bal["nonce"]);

  // An operation that does not touch dev2 is not on its topic.
  TestKey other = KeyFromSeed("feed-other");
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, other.address, 7, 1).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  Transfer(dev2_, dev1_, 5);  // dev2 signs: on its topic, with its new nonce
  auto e2 = c->NextOfType("event");
  ASSERT_TRUE(e2);
  EXPECT_EQ((*e2)["seq"], 3) << e2->dump();
  EXPECT_EQ((*e2)["data"]["nonce"], 1);
}

class BatchFeedTest : public FeedTest {
 protected:
  std::vector<std::string> NodeArgs() override { return {"-batchinterval=1"}; }
};

TEST_F(BatchFeedTest, BatchesTopicAnnouncesClosedBatchesWithRoots) {
  auto c = Connect();
  ASSERT_EQ(Subscribe(*c, {"batches", "txs"})["type"], "subscribed");
  Transfer(dev1_, dev2_, 10);
  std::optional<json> batch;
  for (int i = 0; i < 10 && !batch; ++i) {
    auto e = c->NextOfType("event", 5s);
    ASSERT_TRUE(e);
    if ((*e)["topic"] == "batches") batch = e;
  }
  ASSERT_TRUE(batch);
  const json& b = (*batch)["data"];
  EXPECT_EQ((*batch)["event"], "batch_closed");
  EXPECT_EQ((*batch)["seq"], b["last_seq"]);
  EXPECT_EQ(b["first_seq"], 1);
  EXPECT_EQ(b["state_root"].get<std::string>().size(), 64u);
  // Persisted before the event: the REST header is the same.
  json rest = GetJson("/api/rollup/batch/" + std::to_string(b["number"].get<int>()));
  EXPECT_EQ(rest["state_root"], b["state_root"]);
  EXPECT_EQ(rest["tx_root"], b["tx_root"]);

  // Resume replays batches too: a new client from since=0.
  auto late = Connect();
  std::vector<json> replayed;
  json sub = Subscribe(*late, {"batches"}, 0, &replayed);
  ASSERT_EQ(sub["type"], "subscribed") << sub.dump();
  ASSERT_FALSE(replayed.empty());
  EXPECT_EQ(replayed.front()["data"]["number"], b["number"]);
}

TEST_F(FeedTest, ResumeReplaysWhatWasMissedThenGoesLive) {
  for (int i = 0; i < 3; ++i) Transfer(dev1_, dev2_, 10 + i);
  auto c = Connect();
  std::vector<json> replayed;
  json sub = Subscribe(*c, {"txs", "account:" + dev1_.account_id}, 1, &replayed);
  ASSERT_EQ(sub["type"], "subscribed") << sub.dump();
  EXPECT_EQ(sub["seq"], 3);
  EXPECT_EQ(sub["replayed"], 4);  // seqs 2 and 3, each on txs and on dev1's topic
  ASSERT_EQ(replayed.size(), 4u);
  std::map<std::string, std::vector<std::uint64_t>> seqs;
  for (const auto& e : replayed) seqs[e["topic"]].push_back(e["seq"]);
  EXPECT_EQ(seqs["txs"], (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(seqs["account:" + dev1_.account_id], (std::vector<std::uint64_t>{2, 3}));
  // Replayed account events carry the balances at the replay's head.
  json bal = Balance(dev1_.account_id);
  EXPECT_EQ(replayed.back()["data"]["balances_seq"], 3);
  EXPECT_EQ(replayed.back()["data"]["balances"]["KRAY"]["available"], bal["balances"]["KRAY"]["available"]);
  EXPECT_EQ(replayed.front()["data"]["batch_id"], nullptr);

  Transfer(dev1_, dev2_, 99);
  auto live = c->NextOfType("event");
  ASSERT_TRUE(live);
  EXPECT_EQ((*live)["seq"], 4);
}

// The race between the log read and live events: clients resume while
// transfers commit continuously; every stream must be exactly since+1..end.
TEST_F(FeedTest, ResumeUnderLoadHasNoGapAndNoDuplicate) {
  constexpr int kTransfers = 600;
  // Two senders (one per account, each in nonce order), so groups commit
  // while replays read the log.
  std::atomic<int> finished{0};
  auto send_all = [&](const TestKey& from, const TestKey& to) {
    net::HttpClient http("127.0.0.1", node_.port());
    for (int i = 0; i < kTransfers / 2; ++i) {
      auto body = LegacyTransfer(from, to.account_id, 1, static_cast<std::uint64_t>(i)).dump();
      auto r = http.Post("/api/transaction/send", body, {});
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->status, 200) << r->body;
    }
    ++finished;
  };
  std::thread sender1(send_all, std::cref(dev1_), std::cref(dev2_));
  std::thread sender2(send_all, std::cref(dev2_), std::cref(dev1_));
  struct Reader {
    std::unique_ptr<WsClient> client;
    std::uint64_t from = 0;  // first seq expected
    std::vector<std::uint64_t> seqs;
  };
  std::vector<Reader> readers;
  int during_load = 0;  // subscriptions that raced with commits
  for (int k = 0; k < 16; ++k) {
    std::this_thread::sleep_for(10ms);
    Reader r;
    r.client = Connect();
    std::vector<json> replayed;
    const bool live = k % 3 == 2;
    std::uint64_t since = 0;
    if (!live) {
      std::uint64_t head = LastSeq();
      since = head > 25 ? head - 25 : 0;
    }
    json sub = live ? Subscribe(*r.client, {"txs"}) : Subscribe(*r.client, {"txs"}, since, &replayed);
    ASSERT_EQ(sub["type"], "subscribed") << sub.dump();
    if (finished < 2) ++during_load;
    r.from = (live ? sub["seq"].get<std::uint64_t>() : since) + 1;
    for (const auto& e : replayed) r.seqs.push_back(e["seq"]);
    readers.push_back(std::move(r));
  }
  sender1.join();
  sender2.join();
  EXPECT_GE(during_load, 3) << "the load ended too early to test the race";
  for (auto& r : readers) {
    const std::uint64_t last = kTransfers;
    while (r.from <= last && (r.seqs.empty() || r.seqs.back() < last)) {
      auto e = r.client->NextOfType("event");
      ASSERT_TRUE(e) << "stream from " << r.from << " stopped at " << (r.seqs.empty() ? 0 : r.seqs.back());
      r.seqs.push_back((*e)["seq"]);
    }
    ASSERT_EQ(r.seqs.size(), last + 1 - r.from) << "from " << r.from;
    for (std::size_t i = 0; i < r.seqs.size(); ++i) ASSERT_EQ(r.seqs[i], r.from + i) << "from " << r.from;
    EXPECT_FALSE(r.client->NextOfType("event", 100ms)) << "an event past the last operation";
  }
}

class BoundedFeedTest : public FeedTest {
 protected:
  std::vector<std::string> NodeArgs() override {
    return {"-feedreplay=5", "-feedmaxsubscriptions=3", "-maxconnectionsperip=4"};
  }
};

TEST_F(BoundedFeedTest, ResumeBeyondTheBoundOrAheadIsRefusedAndSubscribesNothing) {
  for (int i = 0; i < 7; ++i) Transfer(dev1_, dev2_, 1);
  auto c = Connect();
  json r = Subscribe(*c, {"txs"}, 1);
  EXPECT_EQ(r["type"], "error");
  EXPECT_EQ(r["code"], "resume_too_old") << r.dump();
  r = Subscribe(*c, {"txs"}, 8);
  EXPECT_EQ(r["code"], "invalid_since") << r.dump();
  r = Subscribe(*c, {"txs"}, 2);  // exactly the bound: 5 operations
  EXPECT_EQ(r["type"], "subscribed") << r.dump();
  EXPECT_EQ(r["replayed"], 5);
  // The refused subscribes left nothing behind: one event per operation.
  Transfer(dev1_, dev2_, 1);
  auto e = c->NextOfType("event");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["seq"], 8);
  EXPECT_FALSE(c->NextOfType("event", 300ms));
}

TEST_F(BoundedFeedTest, BadMessagesGetStableErrorsAndTheConnectionStays) {
  auto c = Connect();
  auto error_for = [&](const std::string& text) -> std::string {
    EXPECT_TRUE(c->SendText(text));
    auto m = c->Next();
    if (!m) return "<none>";
    EXPECT_EQ((*m)["type"], "error") << text << " -> " << m->dump();
    return (*m)["code"].get<std::string>();
  };
  EXPECT_EQ(error_for("not json"), "invalid_json");
  EXPECT_EQ(error_for("[1,2]"), "invalid_json");
  EXPECT_EQ(error_for(R"({"op":"ping","op":"subscribe"})"), "invalid_json");
  EXPECT_EQ(error_for(R"({"topics":["txs"]})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"publish","topics":["txs"]})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe"})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":"txs"})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":[]})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":[1]})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":["txs"],"since":-1})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":["txs"],"since":1.5})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":["txs"],"id":{"x":1}})"), "invalid_message");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":["tx"]})"), "unknown_topic");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":[")" + std::string(5000, 'a') + R"("]})"), "unknown_topic");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":["account:nobody"]})"), "invalid_account");
  EXPECT_EQ(
      error_for(
          R"({"op":"subscribe","topics":["account:tb1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj"]})"),
      "invalid_account");
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":["deposits"]})"), "topic_unavailable");  // no L1 backend
  EXPECT_EQ(error_for(R"({"op":"subscribe","topics":["txs","batches","account:)" + dev1_.account_id + R"(","account:)" +
                      dev2_.account_id + R"("]})"),
            "too_many_subscriptions");
  // The id is echoed on errors too.
  ASSERT_TRUE(c->SendText(R"({"op":"nope","id":7})"));
  auto m = c->Next();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["id"], 7);
  // A binary frame is refused the same way.
  ASSERT_TRUE(c->SendBinary(std::string("\x00\x01", 2)));
  m = c->Next();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["code"], "invalid_json");
  // Still open and working: nothing was subscribed by the refusals.
  ASSERT_TRUE(c->SendJson({{"op", "ping"}, {"id", "p"}}));
  m = c->Next();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "pong");
  EXPECT_EQ((*m)["id"], "p");
  ASSERT_TRUE(c->SendJson({{"op", "unsubscribe"}, {"topics", {"txs"}}}));
  m = c->Next();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "unsubscribed");
  Transfer(dev1_, dev2_, 1);
  EXPECT_FALSE(c->NextOfType("event", 300ms));
}

TEST_F(BoundedFeedTest, FloodOfSubscriptionsStaysBounded) {
  auto c = Connect();
  // Pipelined: 300 subscribes to distinct accounts without reading replies.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(
        c->SendJson({{"op", "subscribe"}, {"topics", {"account:" + KeyFromSeed("f" + std::to_string(i)).address}}}));
  }
  int subscribed = 0, refused = 0;
  for (int i = 0; i < 300; ++i) {
    auto m = c->Next();
    ASSERT_TRUE(m) << i;
    if ((*m)["type"] == "subscribed") ++subscribed;
    if ((*m)["type"] == "error" && (*m)["code"] == "too_many_subscriptions") ++refused;
  }
  EXPECT_EQ(subscribed, 3);
  EXPECT_EQ(refused, 297);
}

TEST_F(FeedTest, OversizedMessageClosesWith1009) {
  auto c = Connect();
  ASSERT_TRUE(c->SendText(std::string(20000, ' ')));
  ASSERT_TRUE(c->WaitClosed());
  EXPECT_EQ(c->close_code(), 1009);
  EXPECT_EQ(GetJson("/health")["status"], "ok");
}

TEST_F(FeedTest, GetWsWithoutUpgradeIs426) {
  auto r = Get("/ws");
  EXPECT_EQ(r.status, 426) << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "upgrade_required");
}

TEST_F(BoundedFeedTest, FeedConnectionsCountAgainstThePerIpCap) {
  // The fixture's own HTTP client holds one of the 4 slots (and a connection
  // closed just before may still hold one until the server sees its FIN).
  GetJson("/health");
  std::vector<std::unique_ptr<WsClient>> clients;
  std::string why;
  for (int i = 0; i < 6; ++i) {
    auto c = std::make_unique<WsClient>();
    if (!c->Connect(node_.port(), &why)) break;
    ASSERT_TRUE(c->NextOfType("welcome"));
    clients.push_back(std::move(c));
  }
  EXPECT_LE(clients.size(), 3u) << "more feeds than maxconnectionsperip allows";
  ASSERT_GE(clients.size(), 2u) << why;
  auto metrics = Get("/metrics", true);
  EXPECT_NE(metrics.body.find("krayd_http_connections_refused_total{cap=\"maxconnectionsperip\"} "), std::string::npos);
  EXPECT_EQ(metrics.body.find("krayd_http_connections_refused_total{cap=\"maxconnectionsperip\"} 0"),
            std::string::npos);
  // A closed feed gives its slot back.
  clients.back()->Close();
  clients.pop_back();
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    WsClient again;
    admitted = again.Connect(node_.port(), &why);
    if (!admitted) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(admitted) << why;
}

class SlowFeedTest : public FeedTest {
 protected:
  std::vector<std::string> NodeArgs() override { return {"-feedqueue=16"}; }
};

// Small enough that the slow client is dropped within the run, not so small
// that the fast one, read by this test on a busy machine, falls behind (with
// 16 it was dropped once in CI, at event 182).
class SlowConsumerFeedTest : public FeedTest {
 protected:
  std::vector<std::string> NodeArgs() override { return {"-feedqueue=64"}; }
};

TEST_F(SlowConsumerFeedTest, ClientThatDoesNotReadIsDroppedAndNeverSlowsTheSequencer) {
  // A small receive buffer, so the kernel buffers fill quickly.
  auto slow = Connect(4096);
  ASSERT_EQ(Subscribe(*slow, {"txs", "account:" + dev1_.account_id, "account:" + dev2_.account_id})["type"],
            "subscribed");
  auto fast = Connect();
  ASSERT_EQ(Subscribe(*fast, {"txs"})["type"], "subscribed");
  // The slow client stops reading now.
  constexpr int kTransfers = 300;
  std::thread sender([&] {
    net::HttpClient http("127.0.0.1", node_.port());
    for (int i = 0; i < kTransfers; ++i) {
      auto body = LegacyTransfer(dev1_, dev2_.account_id, 1, static_cast<std::uint64_t>(i)).dump();
      auto r = http.Post("/api/transaction/send", body, {});
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->status, 200) << r->body;
    }
  });
  auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= kTransfers; ++i) {
    auto e = fast->NextOfType("event");
    ASSERT_TRUE(e) << i;
    ASSERT_EQ((*e)["seq"], i);
  }
  sender.join();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 60s);
  // The slow client was closed: reading now drains what the kernel held,
  // then the connection ends (with 4000 if our close frame got through).
  ASSERT_TRUE(slow->WaitClosed(20s));
  EXPECT_TRUE(slow->close_code() == 4000 || slow->close_code() == -1) << slow->close_code();
  EXPECT_LT(slow->received(), static_cast<std::size_t>(3 * kTransfers));
  auto metrics = Get("/metrics", true);
  EXPECT_NE(metrics.body.find("krayd_feed_slow_consumers_total 1"), std::string::npos);
}

TEST_F(SlowFeedTest, ResumeLargerThanTheClientQueueIsRefused) {
  for (int i = 0; i < 6; ++i) Transfer(dev1_, dev2_, 1);
  auto c = Connect();
  // 6 operations, each on txs and on both account topics: 18 events > 16.
  json r = Subscribe(*c, {"txs", "account:" + dev1_.account_id, "account:" + dev2_.account_id}, 0);
  EXPECT_EQ(r["type"], "error") << r.dump();
  EXPECT_EQ(r["code"], "resume_too_old");
  r = Subscribe(*c, {"txs"}, 0);  // 6 events fit
  EXPECT_EQ(r["type"], "subscribed") << r.dump();
  EXPECT_EQ(r["replayed"], 6);
}

class RateLimitedFeedTest : public FeedTest {
 protected:
  std::vector<std::string> NodeArgs() override { return {"-ratelimit=1", "-ratelimitburst=3"}; }
};

TEST_F(RateLimitedFeedTest, EveryClientMessageTakesARateLimitToken) {
  auto c = Connect();  // the upgrade request took one token
  int pongs = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c->SendJson({{"op", "ping"}}));
    auto m = c->Next();
    ASSERT_TRUE(m);
    if ((*m)["type"] == "pong") ++pongs;
    if ((*m)["type"] == "error" && (*m)["code"] == "rate_limited") ++limited;
  }
  EXPECT_GE(limited, 3);
  EXPECT_LE(pongs, 3);
  EXPECT_FALSE(c->closed());            // refused messages do not close the connection
  std::this_thread::sleep_for(2500ms);  // tokens back for the teardown's conservation check
}

TEST_F(FeedTest, ShutdownClosesFeedsWithGoingAway) {
  auto c = Connect();
  ASSERT_EQ(Subscribe(*c, {"txs"})["type"], "subscribed");
  ExpectConservation();
  std::thread stopper([&] { EXPECT_EQ(node_.Stop(), 0); });
  EXPECT_TRUE(c->WaitClosed(20s));
  EXPECT_EQ(c->close_code(), 1001);
  stopper.join();
  stopped_ = true;
}

// A stop while clients subscribe, read and close and events are published:
// the sessions are released on the workers, the feed's thread and the
// sequencer's, in any order with the server's own teardown; krayd exits 0
// and every acknowledged transfer is there after a restart.
TEST_F(FeedTest, StopWhileClientsTalkCloseAndEventsFlow) {
  ExpectConservation();
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> acknowledged{0};
  std::thread sender([&] {
    net::ClientOptions o;
    o.request_timeout = 5s;
    net::HttpClient http("127.0.0.1", node_.port(), o);
    for (std::uint64_t nonce = 0; !stopping; ++nonce) {
      auto r = http.Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 1, nonce).dump(), {});
      if (!r.ok() || r->status != 200) break;
      acknowledged++;
    }
  });
  constexpr int kClients = 8;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      WsClient c;
      std::string why;
      if (!c.Connect(node_.port(), &why)) return;
      // Half close on their own, at different times; half are open at the stop.
      const int rounds = i % 2 == 0 ? 2 + 3 * i : 1000000;
      for (int r = 0; r < rounds && !c.closed(); ++r) {
        if (!c.SendJson({{"op", "subscribe"}, {"topics", {"txs"}}, {"id", std::to_string(r)}})) break;
        c.Next(200ms);
      }
      c.Close();
    });
  }
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(node_.Stop(), 0) << ReadFile(node_.log_path());
  stopping = true;
  sender.join();
  for (auto& t : clients) t.join();
  StartNode();
  EXPECT_GE(Balance(dev1_.account_id)["nonce"].get<std::uint64_t>(), acknowledged.load());
  EXPECT_GT(acknowledged.load(), 0u);
}

}  // namespace
}  // namespace kray::test
