// GET /metrics against the real krayd: operator only, the text format's
// shape (HELP/TYPE, histogram buckets ending in +Inf with _sum and _count),
// and counters that follow what the node did.
#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

// "name{labels}" -> value, for every sample line.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

class MetricsTest : public NodeTest {
 protected:
  std::map<std::string, double> Scrape() {
    auto r = Get("/metrics", true);
    EXPECT_EQ(r.status, 200) << r.body;
    text_ = r.body;
    return Samples(r.body);
  }
  std::string text_;
};

TEST_F(MetricsTest, OperatorOnlyAndTextFormat) {
  auto anonymous = Get("/metrics");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json::parse(anonymous.body)["code"], "unauthorized");

  auto r = Get("/metrics", true);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
  // Every sample's family has HELP and TYPE lines, exactly once.
  std::map<std::string, int> help, type;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex("# HELP (\\S+) .*"))) help[m[1]]++;
    if (std::regex_match(line, m, std::regex("# TYPE (\\S+) (counter|gauge|histogram)"))) type[m[1]]++;
  }
  for (const auto& [name, n] : help) {
    EXPECT_EQ(n, 1) << name;
    EXPECT_EQ(type[name], 1) << name;
  }
  for (const char* family : {"krayd_http_requests_total",
                             "krayd_http_request_duration_seconds",
                             "krayd_sequencer_group_operations",
                             "krayd_sequencer_commit_duration_seconds",
                             "krayd_sequencer_queue_depth",
                             "krayd_sequencer_group_waits_total",
                             "krayd_sequencer_operations_gathered_total",
                             "krayd_state_unwritten_accounts",
                             "krayd_sequencer_account_cache_max_entries",
                             "krayd_sequencer_account_cache_clears_total",
                             "krayd_operations_total",
                             "krayd_rollup_batch_height",
                             "krayd_rollup_state_root_lag_operations",
                             "krayd_rollup_batch_close_duration_seconds",
                             "krayd_rollup_tree_cache_nodes",
                             "krayd_rollup_tree_cache_max_nodes",
                             "krayd_rollup_tree_cache_clears_total",
                             "krayd_rollup_low_priority",
                             "krayd_signature_verifications_total",
                             "krayd_signature_failures_total",
                             "krayd_http_connections_refused_total",
                             "krayd_http_rate_limited_total",
                             "krayd_store_size_bytes",
                             "krayd_store_wal_size_bytes",
                             "krayd_store_checkpoints_total",
                             "krayd_store_checkpoint_failures_total",
                             "krayd_history_index_lag_operations",
                             "krayd_history_index_pass_failures_total",
                             "krayd_history_index_operations_total",
                             "process_cpu_seconds_total",
                             "process_resident_memory_bytes",
                             "krayd_feed_connections"}) {
    EXPECT_EQ(help[family], 1) << "missing " << family;
  }
}

TEST_F(MetricsTest, CountersFollowWhatTheNodeDid) {
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 10, 0).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 10, 1).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json bad = LegacyTransfer(dev1_, dev2_.account_id, 10, 2);
  bad["amount"] = "11";  // signed for 10
  r = Post("/api/transaction/send", bad.dump());
  ASSERT_EQ(r.status, 401) << r.body;
  GetJson("/api/transaction/" + std::string(64, '0'), 404);

  auto s = Scrape();
  EXPECT_EQ(s["krayd_operations_total{type=\"transfer\"}"], 2) << text_;
  EXPECT_EQ(s["krayd_signature_verifications_total"], 3);
  EXPECT_EQ(s["krayd_signature_failures_total"], 1);
  EXPECT_EQ(s["krayd_http_requests_total{method=\"POST\",route=\"/api/transaction/send\",status=\"200\"}"], 2);
  EXPECT_EQ(s["krayd_http_requests_total{method=\"POST\",route=\"/api/transaction/send\",status=\"401\"}"], 1);
  EXPECT_EQ(s["krayd_http_requests_total{method=\"GET\",route=\"/api/transaction/:hash\",status=\"404\"}"], 1);
  // A histogram: cumulative buckets ending in +Inf == _count.
  const std::string h = "krayd_http_request_duration_seconds";
  const std::string labels = "method=\"POST\",route=\"/api/transaction/send\"";
  EXPECT_EQ(s[h + "_count{" + labels + "}"], 3);
  EXPECT_EQ(s[h + "_bucket{" + labels + ",le=\"+Inf\"}"], 3);
  EXPECT_GT(s[h + "_sum{" + labels + "}"], 0);
  EXPECT_LE(s[h + "_bucket{" + labels + ",le=\"0.0005\"}"], s[h + "_bucket{" + labels + ",le=\"30\"}"]);
  EXPECT_EQ(s["krayd_sequencer_group_operations_count"], 2);
  EXPECT_EQ(s["krayd_sequencer_group_operations_sum"], 2);
  // Three: each request arrived at an idle sequencer, so each was a logged
  // group, and a logged group commits its input position even when its
  // operation is refused (src/state/input_log.h).
  EXPECT_EQ(s["krayd_sequencer_commit_duration_seconds_count"], 3);
  EXPECT_EQ(s["krayd_sequencer_logged_groups_total"], 3);
  EXPECT_EQ(s["krayd_input_log_replayed_total"], 0);
  // One client, one request after another: no group waited for more.
  EXPECT_EQ(s["krayd_sequencer_group_waits_total"], 0);
  EXPECT_EQ(s["krayd_sequencer_operations_gathered_total"], 0);
  EXPECT_EQ(s["krayd_ledger_last_seq"], 2);
  EXPECT_GE(s["krayd_http_connections_accepted_total"], 1);
  EXPECT_GT(s["krayd_store_size_bytes{store=\"state\"}"], 0);
  EXPECT_GT(s["krayd_store_size_bytes{store=\"rollup\"}"], 0);
  EXPECT_GT(s["krayd_store_size_bytes{store=\"history\"}"], 0);
  EXPECT_LE(s["krayd_history_index_lag_operations"], 2);  // the two transfers, until the index's next pass
  // The default rollupcache (1024 MiB at 128 bytes a node); a small tree fits it.
  EXPECT_EQ(s["krayd_rollup_tree_cache_max_nodes"], 1024.0 * 1024 * 1024 / 128);
  EXPECT_EQ(s["krayd_rollup_tree_cache_clears_total"], 0);
  // The default accountcache (1024 MiB at 250 bytes an entry); a few accounts fit it.
  EXPECT_EQ(s["krayd_sequencer_account_cache_max_entries"], std::floor(1024.0 * 1024 * 1024 / 250));
  EXPECT_EQ(s["krayd_sequencer_account_cache_clears_total"], 0);
  // 1 (rolluplowprio=1) unless the index fell behind on a busy machine and was
  // taken over at normal priority: the rollup's own tests check which.
  EXPECT_TRUE(s["krayd_rollup_low_priority"] == 1 || s["krayd_rollup_low_priority"] == 0);
  EXPECT_EQ(s["krayd_history_index_pass_failures_total"], 0);
  // Present from the first scrape (a fresh node has not filled the WAL yet).
  EXPECT_TRUE(s.count("krayd_store_checkpoints_total{store=\"state\",thread=\"background\"}"));
  EXPECT_TRUE(s.count("krayd_store_checkpoints_total{store=\"state\",thread=\"writer\"}"));
  EXPECT_TRUE(s.count("krayd_store_checkpoints_total{store=\"rollup\",thread=\"background\"}"));
  EXPECT_TRUE(s.count("krayd_store_checkpoint_failures_total{store=\"state\"}"));
  EXPECT_EQ(s["krayd_store_checkpoint_failures_total{store=\"state\"}"], 0);
  EXPECT_EQ(s["krayd_store_checkpoint_failures_total{store=\"rollup\"}"], 0);
  EXPECT_GT(s["process_resident_memory_bytes"], 1e6);
  EXPECT_GT(s["process_start_time_seconds"], 1.7e9);
  EXPECT_GE(s["process_open_fds"], 5);
}

// The history index takes what the sequencer commits from the committed
// groups handed to it in memory (src/state/history_index.h), and counts
// each operation once, by where it took it from. Every pass also reads the
// log's end (the log is the truth): an operation committed while a pass
// begins, before its group is handed over (a logged group waits for its
// input record's sync in between), is read from there instead, and its
// group skipped when it arrives. So the test asks for transfers taken from
// groups, not for all of them (with the groups path switched off: none).
TEST_F(MetricsTest, HistoryIndexTakesCommittedGroupsNotTheLog) {
  const std::string groups = "krayd_history_index_operations_total{source=\"groups\"}";
  const std::string log = "krayd_history_index_operations_total{source=\"log\"}";
  // The index at the log's end, every operation counted (a fresh node
  // started at position 0).
  auto caught_up = [&] {
    for (int i = 0; i < 400; ++i) {
      auto s = Scrape();
      if (s.count(groups) && s.count(log) && s["krayd_history_index_lag_operations"] == 0 &&
          s[groups] + s[log] == s["krayd_ledger_last_seq"])
        return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "the history index did not reach the log's end: " << text_;
    return Scrape();
  };
  // The log is empty at the start (a genesis writes no operation).
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 10, 0).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto before = caught_up();
  ASSERT_EQ(before.at("krayd_ledger_last_seq"), 1) << text_;
  for (int nonce = 1; nonce <= 6; ++nonce) {
    r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, 10, nonce).dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const auto after = caught_up();
  ASSERT_EQ(after.at("krayd_ledger_last_seq"), 7) << text_;
  EXPECT_GE(after.at(groups) - before.at(groups), 1) << text_;
}

class RateLimitedMetricsTest : public MetricsTest {
 protected:
  std::vector<std::string> NodeArgs() override { return {"-ratelimit=1", "-ratelimitburst=2"}; }
};

TEST_F(RateLimitedMetricsTest, RateLimitedRequestsAreCounted) {
  int limited = 0;
  for (int i = 0; i < 6; ++i) limited += Get("/health").status == 429;
  ASSERT_GT(limited, 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // refill, so the scrape itself is let through
  auto s = Scrape();
  EXPECT_EQ(s["krayd_http_rate_limited_total"], limited);
  EXPECT_EQ(s["krayd_http_requests_total{method=\"\",route=\"other\",status=\"429\"}"], limited);
}

}  // namespace
}  // namespace kray::test
