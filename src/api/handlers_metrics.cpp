// GET /metrics (operator): the Prometheus text exposition format 0.0.4
// (docs/API.md, "Metrics"). Counters recorded on hot paths are atomics read
// here; everything else (operations by type, batch height, store sizes,
// process CPU and memory) is read at scrape time.
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "kray/api/event_feed.h"
#include "kray/api/handlers.h"
#include "kray/api/metrics.h"
#include "kray/api/router.h"
#include "kray/bridge/scanner.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/rollup.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "kray/store/database.h"
#include "op_json.h"

namespace kray::api {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes families in the text format: HELP and TYPE once per family, label
// values escaped (backslash, double quote, newline), histograms as
// cumulative _bucket{le} series ending in +Inf, then _sum and _count.
class PromText {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ << "# HELP " << name << ' ' << EscapeHelp(help) << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void Sample(std::string_view name, const Labels& labels, double value) {
    out_ << name << LabelText(labels) << ' ' << Number(value) << '\n';
  }
  void Histogram(std::string_view name, const Labels& labels, const metrics::Histogram::Snapshot& h) {
    for (std::size_t i = 0; i < h.cumulative.size(); ++i) {
      Labels with_le = labels;
      with_le.emplace_back("le", i < h.upper_bounds.size() ? Number(h.upper_bounds[i]) : "+Inf");
      Sample(std::string(name) + "_bucket", with_le, static_cast<double>(h.cumulative[i]));
    }
    Sample(std::string(name) + "_sum", labels, h.sum);
    Sample(std::string(name) + "_count", labels, static_cast<double>(h.count()));
  }
  // A family with one unlabelled sample.
  void Single(std::string_view name, std::string_view type, std::string_view help, double value) {
    Family(name, type, help);
    Sample(name, {}, value);
  }
  std::string str() const { return out_.str(); }

 private:
  static std::string Number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : "NaN";
  }
  static std::string EscapeHelp(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    return out;
  }
  static std::string LabelText(const Labels& labels) {
    if (labels.empty()) return "";
    std::string out = "{";
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i) out += ',';
      out += labels[i].first + "=\"";
      for (char c : labels[i].second) {
        if (c == '\\')
          out += "\\\\";
        else if (c == '"')
          out += "\\\"";
        else if (c == '\n')
          out += "\\n";
        else
          out += c;
      }
      out += '"';
    }
    return out + "}";
  }
  std::ostringstream out_;
};

void WriteHttp(PromText& p, const HttpMetrics& m) {
  auto routes = m.Read();
  p.Family("krayd_http_requests_total", "counter",
           "HTTP requests answered, by method, route pattern and status (route \"other\": not routed)");
  for (const auto& r : routes) {
    for (const auto& [status, n] : r.by_status) {
      p.Sample("krayd_http_requests_total", {{"method", r.method}, {"route", r.route}, {"status", status}},
               static_cast<double>(n));
    }
  }
  p.Family("krayd_http_request_duration_seconds", "histogram",
           "Seconds from a request's header to its response being queued, by method and route");
  for (const auto& r : routes) {
    p.Histogram("krayd_http_request_duration_seconds", {{"method", r.method}, {"route", r.route}}, r.latency);
  }
  p.Single("krayd_http_connections_accepted_total", "counter", "Connections admitted (REST and event feed)",
           static_cast<double>(m.connections_accepted.value()));
  p.Family("krayd_http_connections_refused_total", "counter",
           "Connections closed at once because a cap was reached, by the config key of the cap");
  p.Sample("krayd_http_connections_refused_total", {{"cap", "maxconnections"}},
           static_cast<double>(m.refused_max_connections.value()));
  p.Sample("krayd_http_connections_refused_total", {{"cap", "maxconnectionsperip"}},
           static_cast<double>(m.refused_per_ip.value()));
  p.Single("krayd_http_rate_limited_total", "counter", "Requests answered 429 rate_limited",
           static_cast<double>(m.rate_limited.value()));
  p.Single("krayd_http_server_busy_total", "counter", "Requests answered 503 server_busy (maxbufferedbodybytes)",
           static_cast<double>(m.server_busy.value()));
}

void WriteLedger(PromText& p, const state::Ledger& ledger) {
  const auto& m = ledger.metrics();
  p.Family("krayd_sequencer_group_operations", "histogram", "Operations per committed group");
  p.Histogram("krayd_sequencer_group_operations", {}, m.group_operations.Read());
  p.Family("krayd_sequencer_commit_duration_seconds", "histogram", "Seconds of a group's COMMIT (WAL write and fsync)");
  p.Histogram("krayd_sequencer_commit_duration_seconds", {}, m.commit_seconds.Read());
  p.Family("krayd_sequencer_group_duration_seconds", "histogram",
           "Seconds from taking a group off the queue to its commit (execute and commit)");
  p.Histogram("krayd_sequencer_group_duration_seconds", {}, m.group_seconds.Read());
  p.Single("krayd_sequencer_queue_depth", "gauge", "Operations queued for the sequencer",
           static_cast<double>(ledger.queue_depth()));
  p.Single("krayd_state_unwritten_accounts", "gauge",
           "Accounts whose changed rows wait for the write-back's sweep (config writeback), held in memory",
           static_cast<double>(ledger.unwritten_accounts()));
  p.Single("krayd_sequencer_account_cache_max_entries", "gauge",
           "The sequencer's account cache bound in entries, an account's row and each balance row one each "
           "(accountcache)",
           static_cast<double>(ledger.options().max_cached_entries));
  p.Single("krayd_sequencer_account_cache_clears_total", "counter",
           "Times the sequencer's account cache passed its bound and was emptied (each account is then read from "
           "the store again at its next use: raise accountcache)",
           static_cast<double>(m.account_cache_clears.value()));
  p.Single("krayd_sequencer_failed_groups_total", "counter",
           "Groups whose transaction failed (the node then refuses writes until restarted)",
           static_cast<double>(m.groups_failed.value()));
  p.Single("krayd_sequencer_logged_groups_total", "counter",
           "Groups recorded in the input log and committed without a sync of their own (applied while the sequencer "
           "was idle)",
           static_cast<double>(m.logged_groups.value()));
  p.Single("krayd_sequencer_group_waits_total", "counter",
           "Small groups that waited for more operations while submissions overlapped (config groupwait)",
           static_cast<double>(m.group_waits.value()));
  p.Single("krayd_sequencer_operations_gathered_total", "counter",
           "Operations that joined a group while it waited for more (config groupwait)",
           static_cast<double>(m.operations_gathered.value()));
  p.Single("krayd_input_log_replayed_total", "counter",
           "Input log records applied again at start-up because the store had lost their commit",
           static_cast<double>(m.input_records_replayed.value()));
  p.Single("krayd_signature_verifications_total", "counter", "BIP-340 signatures of submitted operations verified",
           static_cast<double>(m.signature_verifications.value()));
  p.Single("krayd_ledger_keys_preloaded_total", "counter",
           "Bound account keys read into the signature-check cache at start-up",
           static_cast<double>(m.keys_preloaded.value()));
  p.Single("krayd_ledger_keys_preloaded_from_points_total", "counter",
           "Bound keys the start-up preload read with their stored points (cached parsed, no square root at first use)",
           static_cast<double>(m.keys_preloaded_from_points.value()));
  p.Single("krayd_signature_failures_total", "counter", "Signatures that did not verify (401 invalid_signature)",
           static_cast<double>(m.signature_failures.value()));
}

// Read at scrape time from the store's counters (kept in the same
// transaction as the operations: O(1)).
void WriteOperations(PromText& p, const state::Ledger& ledger) {
  auto stats = ledger.GetTxStats();
  std::uint64_t last_seq = 0;
  (void)ledger.WithReader([&](store::Database& db) -> Status {
    auto last = state::LastSeq(db);
    if (last.ok()) last_seq = *last;
    return Ok();
  });
  p.Family("krayd_operations_total", "counter", "Committed operations since genesis, by operation type");
  if (stats.ok()) {
    for (const auto& [type, n] : stats->by_type) p.Sample("krayd_operations_total", {{"type", type}}, double(n));
  }
  p.Single("krayd_ledger_last_seq", "gauge", "Seq of the last committed operation", static_cast<double>(last_seq));
  const auto history = ledger.history_index_status();
  p.Single("krayd_history_index_lag_operations", "gauge",
           "Committed operations the history index has not reached (reads take them from the log; past "
           "100,000 they answer 503 history_catching_up)",
           static_cast<double>(last_seq > history.read_seq ? last_seq - history.read_seq : 0));
  p.Family("krayd_history_index_operations_total", "counter",
           "Operations the history index took since the start, by source: the committed groups handed to it in "
           "memory, or read back from the log (at a start, after a gap or groups past its queue's bound, and what "
           "committed while a pass began, before its group was handed over)");
  p.Sample("krayd_history_index_operations_total", {{"source", "groups"}},
           static_cast<double>(history.taken_from_groups));
  p.Sample("krayd_history_index_operations_total", {{"source", "log"}}, static_cast<double>(history.read_from_log));
  p.Single("krayd_history_index_pass_failures_total", "counter",
           "Passes of the history index that failed (logged; each is retried)",
           static_cast<double>(history.passes_failed));
  if (stats.ok()) {
    p.Single("krayd_accounts", "gauge", "Accounts in the ledger", static_cast<double>(stats->accounts));
  }
}

void WriteRollup(PromText& p, const rollup::Rollup& rollup, const state::Ledger& ledger) {
  std::optional<rollup::RollupStatus> status;
  (void)rollup.WithReader([&](store::Database& db) -> Status {
    auto st = rollup::GetRollupStatus(db);
    if (st.ok()) status = std::move(*st);
    return Ok();
  });
  if (!status) return;
  std::uint64_t last_seq = 0;
  (void)ledger.WithReader([&](store::Database& db) -> Status {
    auto last = state::LastSeq(db);
    if (last.ok()) last_seq = *last;
    return Ok();
  });
  auto applied = static_cast<std::uint64_t>(std::max<std::int64_t>(status->applied_seq, 0));
  p.Single("krayd_rollup_batch_height", "gauge", "Number of the last closed rollup batch",
           static_cast<double>(status->last_batch()));
  p.Single("krayd_rollup_applied_seq", "gauge", "Last operation whose changes are in the state tree",
           static_cast<double>(applied));
  p.Single("krayd_rollup_state_root_lag_operations", "gauge",
           "Committed operations not yet in the state root (ledger last seq minus rollup applied seq)",
           static_cast<double>(last_seq > applied ? last_seq - applied : 0));
  p.Family("krayd_rollup_batch_close_duration_seconds", "histogram",
           "Seconds a batch close took on the rollup thread (tree update, transaction root, persisting the root)");
  p.Histogram("krayd_rollup_batch_close_duration_seconds", {}, rollup.close_seconds().Read());
  p.Single("krayd_rollup_tree_cache_nodes", "gauge", "Nodes of the state tree held in the rollup's cache",
           static_cast<double>(rollup.cached_tree_nodes()));
  p.Single("krayd_rollup_tree_cache_max_nodes", "gauge", "The rollup tree cache's bound in nodes (rollupcache)",
           static_cast<double>(rollup.max_cached_nodes()));
  p.Single("krayd_rollup_tree_cache_clears_total", "counter",
           "Times the state tree outgrew the rollup's cache and the cache was emptied (each update then reads its "
           "paths back: raise rollupcache)",
           static_cast<double>(rollup.tree_cache_clears()));
  p.Single("krayd_rollup_low_priority", "gauge",
           "1 while the rollup index thread runs at the lowest priority (rolluplowprio); 0 if not asked for, "
           "refused by the kernel, or taken over at normal priority after it fell behind",
           rollup.at_low_priority() ? 1.0 : 0.0);
}

double FileSize(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<double>(n);
}

void WriteStore(PromText& p, const ApiContext& ctx) {
  std::vector<std::pair<std::string, std::string>> files = {{"state", ctx.ledger->store_path()},
                                                            {"history", ctx.ledger->history_index_status().path}};
  if (ctx.rollup) files.emplace_back("rollup", ctx.rollup->path());
  if (ctx.bridge) files.emplace_back("bridge", ctx.bridge->path());
  p.Family("krayd_store_size_bytes", "gauge", "Size of a SQLite store's main file, by store");
  for (const auto& [store, path] : files) p.Sample("krayd_store_size_bytes", {{"store", store}}, FileSize(path));
  p.Family("krayd_store_wal_size_bytes", "gauge", "Size of a SQLite store's write-ahead log (-wal file), by store");
  for (const auto& [store, path] : files) {
    p.Sample("krayd_store_wal_size_bytes", {{"store", store}}, FileSize(path + "-wal"));
  }
  // The state and rollup stores checkpoint on threads of their own.
  p.Family("krayd_store_checkpoints_total", "counter",
           "WAL checkpoints by store and thread (background: kray-checkpoint; writer: the store's writer itself, past "
           "its bound: an eighth past the threshold, four times it for the rollup)");
  for (const auto& [store, path] : files) {
    const store::CheckpointCounts cp = store::CheckpointCountsFor(path);
    p.Sample("krayd_store_checkpoints_total", {{"store", store}, {"thread", "background"}},
             static_cast<double>(cp.background));
    p.Sample("krayd_store_checkpoints_total", {{"store", store}, {"thread", "writer"}},
             static_cast<double>(cp.on_writer));
  }
  p.Family("krayd_store_checkpoint_failures_total", "counter",
           "Background WAL checkpoints that failed (not busy), by store: disk full or an I/O error; the WAL grows "
           "until one succeeds");
  for (const auto& [store, path] : files) {
    p.Sample("krayd_store_checkpoint_failures_total", {{"store", store}},
             static_cast<double>(store::CheckpointCountsFor(path).failed));
  }
}

// /proc/self/stat fields after the command name (which may hold spaces).
std::vector<std::string> ProcStatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 2));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;  // fields[0] is field 3 (state)
}

double BootTime() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

void WriteProcess(PromText& p) {
  auto f = ProcStatFields();
  if (f.size() < 22) return;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto field = [&](int n) { return std::strtod(f[static_cast<std::size_t>(n - 3)].c_str(), nullptr); };
  p.Single("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds",
           (field(14) + field(15)) / ticks);
  p.Single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes", field(24) * page);
  p.Single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes", field(23));
  p.Single("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds",
           BootTime() + field(22) / ticks);
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != decltype(it)();
       it.increment(ec))
    ++fds;
  p.Single("process_open_fds", "gauge", "Number of open file descriptors", fds);
}

void WriteFeed(PromText& p, const EventFeed& feed) {
  auto s = feed.Stats();
  p.Single("krayd_feed_connections", "gauge", "Open event feed (WebSocket) connections", double(s.connections));
  p.Single("krayd_feed_subscriptions", "gauge", "Topics subscribed over all feed connections", double(s.subscriptions));
  p.Single("krayd_feed_messages_sent_total", "counter", "Messages handed to feed clients (events and replies)",
           double(s.events_sent));
  p.Single("krayd_feed_replays_total", "counter", "Resumes (subscribe with since) served", double(s.replays));
  p.Single("krayd_feed_replayed_events_total", "counter", "Events sent by resumes", double(s.replayed_events));
  p.Single("krayd_feed_client_errors_total", "counter", "Error messages sent to feed clients", double(s.client_errors));
  p.Single("krayd_feed_slow_consumers_total", "counter", "Feed clients closed with 4000 (slow consumer)",
           double(s.dropped_slow));
}

void Metrics(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto auth = CheckOperator(req, ctx);
  if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  PromText p;
  p.Family("krayd_build_info", "gauge", "Always 1; the krayd version as a label");
  p.Sample("krayd_build_info", {{"version", ctx.version}}, 1);
  p.Single("krayd_uptime_seconds", "gauge", "Seconds since krayd started",
           static_cast<double>(std::time(nullptr) - ctx.started_at));
  if (ctx.http_metrics) WriteHttp(p, *ctx.http_metrics);
  if (ctx.ledger) {
    WriteLedger(p, *ctx.ledger);
    WriteOperations(p, *ctx.ledger);
    if (ctx.rollup) WriteRollup(p, *ctx.rollup, *ctx.ledger);
    WriteStore(p, ctx);
  }
  if (ctx.feed) WriteFeed(p, *ctx.feed);
  WriteProcess(p);
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = p.str();
  reply(std::move(r));
}

}  // namespace

void RegisterMetricsRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/metrics", [&ctx](const HttpRequest& req, Reply reply) { Metrics(ctx, req, std::move(reply)); });
}

}  // namespace kray::api
