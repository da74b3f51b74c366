// krayd: the KRAY layer-2 node.
//
//   krayd [-conf=<file>] [-datadir=<dir>] [-key=value ...]   run the node
//   krayd checkconservation -datadir=<dir>                    audit a store, exit 1 if violated
//   krayd -help | -version
//
// Lifecycle: parse config -> open the Ledger (store, migrations, genesis,
// sequencer), the rollup index, the validators' batch recorder and, with an
// L1 backend, the bridge's deposit scanner and spend coordinator -> listen ->
// serve until SIGINT/SIGTERM -> stop accepting and finish in-flight requests
// -> stop the bridge (spends, scanner) and the recorder -> destroy the Ledger
// (drains the queue, closes the store) -> exit 0. Every startup failure is one line on stderr and exit 1.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "../node/modules.h"
#include "bridge_setup.h"
#include "kray/api/auth_cookie.h"
#include "kray/api/config.h"
#include "kray/api/event_feed.h"
#include "kray/api/handlers.h"
#include "kray/api/metrics.h"
#include "kray/api/rate_limiter.h"
#include "kray/api/router.h"
#include "kray/api/server.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/verify.h"
#include "kray/state/conservation.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "kray/validators/batch_recorder.h"

#ifdef KRAY_MIMALLOC
#include <mimalloc.h>
#endif

#ifndef KRAY_VERSION
#define KRAY_VERSION "0.0.0"
#endif

namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "krayd: error: %s\n", msg.c_str());
  return 1;
}

kray::Result<kray::state::LedgerOptions> LedgerOptionsFrom(const kray::api::Config& cfg) {
  kray::state::LedgerOptions o;
  o.datadir = cfg.datadir;
  auto net = kray::ParseNetwork(cfg.network);
  if (!net) return kray::Error::Invalid("invalid_config", "unknown network " + cfg.network);
  o.params.network = *net;
  o.params.chain_id = cfg.chainid;
  if (cfg.genesis.empty()) {
    return kray::Error::Invalid("invalid_config",
                                "no genesis file found (genesis." + cfg.network + ".json); set -genesis=<path>");
  }
  o.genesis_path = cfg.genesis;
  o.synchronous = cfg.synchronous;
  o.max_group = cfg.maxgroup;
  o.account_write_back_seconds = static_cast<double>(cfg.writeback);
  o.group_wait = std::chrono::microseconds(cfg.groupwait);
  o.max_cached_entries = kray::state::CachedAccountEntriesFor(cfg.accountcache);
  o.read_connections = static_cast<std::size_t>(std::max(2, cfg.rpcthreads));
  o.accept_legacy = cfg.acceptlegacy;
  o.clock_offset = cfg.clockoffset;
  return o;
}

// Like bitcoind's RaiseFileDescriptorLimit: every connection is a file
// descriptor, so raise the soft RLIMIT_NOFILE to what maxconnections needs
// (up to the hard limit), and say so when it cannot be. Past the limit
// accept() fails with EMFILE and the server pauses accepting (server.h).
void RaiseFileDescriptorLimit(std::uint64_t maxconnections) {
  constexpr rlim_t kReserved = 64;  // store and WAL files, listener, epoll, timers, log
  const rlim_t want = static_cast<rlim_t>(maxconnections) + kReserved;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) return;
  rlimit raised = rl;
  raised.rlim_cur = std::min(want, rl.rlim_max);
  if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  if (rl.rlim_cur < want) {
    spdlog::warn(
        "file descriptor limit (ulimit -n) is {}, below maxconnections ({}) + {}: connections past it wait "
        "in the listen backlog until descriptors are free",
        static_cast<unsigned long long>(rl.rlim_cur), maxconnections, static_cast<unsigned long long>(kReserved));
  }
}

// `krayd checkconservation`: opens the store READ-ONLY (safe next to a
// running node: WAL readers never block the writer) and runs the same check
// as GET /api/node/conservation. Exit 0 if every asset balances, else 1.
int CheckConservationCommand(const kray::api::Config& cfg) {
  spdlog::set_level(spdlog::level::warn);  // stdout is the report
  std::error_code ec;
  auto store = std::filesystem::path(cfg.datadir) / "krayd.sqlite";
  if (!std::filesystem::exists(store, ec)) return Fail("no store at " + store.string());
  kray::store::OpenOptions oo;
  oo.read_only = true;
  auto db = kray::store::Database::Open(store.string(), oo);
  if (!db.ok()) return Fail(db.error().message);
  kray::store::ReadTransaction snapshot(**db);
  auto report = kray::state::CheckConservation(**db, kray::app::NodeModules());
  if (!report.ok()) return Fail(report.error().message);
  std::string text = report->ToString();
  if (!text.empty() && text.back() != '\n') text += '\n';
  std::printf("%s", text.c_str());
  return report->ok ? 0 : 1;
}

// `krayd verify`: replays the datadir's history and checks every rollup batch
// (kray/rollup/verify.h). Read-only; safe next to a running node.
int VerifyCommand(const kray::api::Config& cfg) {
  spdlog::set_level(spdlog::level::warn);
  auto opts = LedgerOptionsFrom(cfg);
  if (!opts.ok()) return Fail(opts.error().message);
  kray::rollup::VerifyOptions vo;
  vo.params = opts->params;
  auto summary = kray::rollup::VerifyDatadir(cfg.datadir, vo, kray::app::NodeModules(), [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!summary.ok()) return Fail(summary.error().code + ": " + summary.error().message);
  std::printf(
      "verify: OK: %lld batches, %lld operations (%lld after the last batch), %lld leaves and the conservation sums "
      "match the store; "
      "last batch root %s\n",
      static_cast<long long>(summary->batches), static_cast<long long>(summary->operations),
      static_cast<long long>(summary->unbatched), static_cast<long long>(summary->leaves_compared),
      summary->final_root.c_str());
  return 0;
}

// Which allocator serves malloc: with KRAY_MIMALLOC (src/app/CMakeLists.txt)
// mimalloc should, for every thread; the log says if it does not, and
// whether 2 MiB pages were asked for (TuneAllocator).
std::string AllocatorName() {
#ifdef KRAY_MIMALLOC
  void* probe = std::malloc(64);
  const bool served = mi_is_in_heap_region(probe);
  std::free(probe);
  const int v = mi_version();
  const std::string name =
      "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  if (!served) return "glibc malloc (" + name + " is linked but does not serve malloc)";
  return mi_option_is_enabled(mi_option_large_os_pages) ? name + ", large OS pages requested" : name;
#else
  return "glibc malloc";
#endif
}

// Whether the kernel grants transparent huge pages to memory that asks for
// them: /sys/kernel/mm/transparent_hugepage/enabled marks "always" or
// "madvise" (not "never"; no file: no THP in the kernel).
bool TransparentHugePagesOffered() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  if (!std::getline(in, modes)) return false;
  return modes.find("[always]") != std::string::npos || modes.find("[madvise]") != std::string::npos;
}

// mimalloc returns freed pages to the OS 25 ms after they fall empty. Under
// load the same pages were returned and faulted in again all the time
// (madvise and page faults were ~8 % of krayd's CPU in batch runs,
// docs/BENCHMARKS.md, sixteenth round); after a second unused they go back.
// A delay set in the environment (MIMALLOC_DECOMMIT_DELAY, as mimalloc reads
// it) still decides: this only changes the default.
//
// Where the kernel offers transparent huge pages, mimalloc asks for 2 MiB
// pages (large_os_pages). At a million accounts krayd holds ~3 GiB read at
// random places (the sequencer's accounts, the state tree, SQLite's page
// caches); with 2 MiB pages more than half of it was on huge pages and a
// second pass over a million accounts ran faster in each of five pairs, at
// 3.5-10.6 % less CPU per transfer in a slow hour, 3.8-4.7 % in a fast one
// (docs/BENCHMARKS.md, sixty-second round; fewer TLB misses is the likely
// reason, not shown). The costs, from
// mimalloc 2.0.9's source: memory on large OS pages is never decommitted,
// so krayd keeps what it took at its peak (and decommit_delay no longer
// applies to it); where a hugetlbfs pool is reserved (vm.nr_hugepages),
// mimalloc takes 2 MiB pages from it first. Set here, after mimalloc's own
// start, the option misses the main thread's first segment, as mimalloc's
// eager_commit_delay keeps every other thread's first one on 4 KiB pages.
// MIMALLOC_LARGE_OS_PAGES in the environment still decides.
void TuneAllocator() {
#ifdef KRAY_MIMALLOC
  mi_option_set_default(mi_option_decommit_delay, 1000);
  if (TransparentHugePagesOffered()) mi_option_set_default(mi_option_large_os_pages, 1);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  TuneAllocator();
  auto parsed = kray::api::ParseConfig(argc, argv);
  if (!parsed.ok()) return Fail(parsed.error().message);
  kray::api::Config cfg = std::move(*parsed);
  if (cfg.help) {
    std::printf("krayd %s\n\n%s", KRAY_VERSION, kray::api::HelpText().c_str());
    return 0;
  }
  if (cfg.version) {
    std::printf("krayd %s\n", KRAY_VERSION);
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.loglevel));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ [%l] %v", spdlog::pattern_time_type::utc);

  if (!cfg.commands.empty()) {
    if (cfg.commands.size() == 1 && cfg.commands[0] == "checkconservation") return CheckConservationCommand(cfg);
    if (cfg.commands.size() == 1 && cfg.commands[0] == "verify") return VerifyCommand(cfg);
    return Fail("unknown command '" + cfg.commands[0] + "' (commands: checkconservation, verify)");
  }

  auto opts = LedgerOptionsFrom(cfg);
  if (!opts.ok()) return Fail(opts.error().message);
  spdlog::info("krayd {} starting: network {}, chain id {}, datadir {}, genesis {}", KRAY_VERSION, cfg.network,
               cfg.chainid, cfg.datadir, cfg.genesis);
  if (!cfg.conf.empty()) spdlog::info("config file {}", cfg.conf);
  const std::string allocator = AllocatorName();
  if (allocator.find("does not serve") != std::string::npos)
    spdlog::warn("memory allocator: {}", allocator);
  else
    spdlog::info("memory allocator: {}", allocator);

  // Routes capture ctx by reference; ctx.ledger is set once the store is open
  // (before Run(), so no request can see it null).
  kray::api::ApiContext ctx;
  ctx.rpctoken = cfg.rpctoken;
  ctx.version = KRAY_VERSION;
  ctx.started_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  kray::api::Router router;
  kray::api::RegisterAllRoutes(router, ctx);
  kray::api::HttpMetrics http_metrics(router);  // after every route is added
  ctx.http_metrics = &http_metrics;
  kray::rollup::RollupOptions rollup_options;
  rollup_options.batch_interval = static_cast<std::int64_t>(cfg.batchinterval);
  rollup_options.max_batch_txs = static_cast<std::int64_t>(cfg.maxbatchtxs);
  rollup_options.max_batch_leaves = static_cast<std::int64_t>(cfg.maxbatchleaves);
  rollup_options.persist_interval_ms = static_cast<std::int64_t>(cfg.rolluppersistms);
  rollup_options.persist_max_lag_ms = static_cast<std::int64_t>(cfg.rolluppersistlagms);
  rollup_options.prune_keep_batches = static_cast<std::int64_t>(cfg.rollupprune);
  rollup_options.low_priority = cfg.rolluplowprio;
  rollup_options.max_cached_nodes = kray::rollup::CachedTreeNodesFor(cfg.rollupcache);
  // Declared before the Ledger so it is destroyed after it: the Ledger
  // publishes to the index until its sequencer stops.
  std::unique_ptr<kray::rollup::Rollup> rollup;

  kray::api::RateLimiter limiter(cfg.ratelimit, cfg.ratelimitburst);
  kray::api::RateLimiter public_limiter(cfg.publicratelimit, cfg.publicratelimitburst);
  kray::api::ServerOptions so;
  so.bind = cfg.bind;
  so.port = static_cast<std::uint16_t>(cfg.port);
  so.threads = cfg.rpcthreads;
  so.read_timeout_seconds = cfg.rpctimeout;
  so.max_connections = static_cast<std::size_t>(cfg.maxconnections);
  so.max_connections_per_ip = static_cast<std::size_t>(cfg.maxconnectionsperip);
  so.max_buffered_body_bytes = static_cast<std::size_t>(cfg.maxbufferedbodybytes);
  RaiseFileDescriptorLimit(cfg.maxconnections);
  std::unique_ptr<kray::state::Ledger> ledger;
  // Declared after the Ledger so it is destroyed first: it submits to it.
  kray::app::BridgeNode bridge;
  // Records closed batches (validator rewards); submits to the Ledger too.
  std::unique_ptr<kray::validators::BatchRecorder> recorder;
  // Destroyed first of all (it listens to the Ledger, the index and the scanner).
  std::unique_ptr<kray::api::EventFeed> feed;
  {
    kray::api::HttpServer server(so, router, limiter.enabled() ? &limiter : nullptr);
    // Bind first: "port in use" must fail before the datadir is touched.
    // Connections that arrive meanwhile wait in the listen backlog.
    auto port = server.Listen();
    if (!port.ok()) return Fail(port.error().message);

    auto opened = kray::state::Ledger::Open(*opts, kray::app::NodeModules());
    if (!opened.ok()) return Fail(opened.error().message);
    ledger = std::move(*opened);
    auto index = kray::rollup::Rollup::Open(*ledger, rollup_options);
    if (!index.ok()) return Fail("rollup: " + index.error().message);
    rollup = std::move(*index);
    ctx.ledger = ledger.get();
    ctx.rollup = rollup.get();
    recorder = kray::validators::BatchRecorder::Start(*ledger, *rollup);
    ctx.limiter = limiter.enabled() ? &limiter : nullptr;
    ctx.public_limiter = public_limiter.enabled() ? &public_limiter : nullptr;
    ctx.max_batch_items = static_cast<std::size_t>(cfg.maxbatchitems);
    if (kray::app::BridgeConfigured(cfg)) {
      auto opened_bridge = kray::app::OpenBridge(cfg, *ledger, rollup.get());
      if (!opened_bridge.ok()) return Fail(opened_bridge.error().message);
      bridge = std::move(*opened_bridge);
      ctx.bridge = bridge.scanner.get();
      ctx.bridge_member = bridge.member;
      ctx.spends = bridge.spends.get();
    } else {
      spdlog::info("bitcoinrpcurl not set: no L1 backend, bridge endpoints answer 503 bridge_unavailable");
    }
    kray::api::FeedOptions feed_options;
    feed_options.max_queue = static_cast<std::size_t>(cfg.feedqueue);
    feed_options.max_subscriptions = static_cast<std::size_t>(cfg.feedmaxsubscriptions);
    feed_options.max_replay = static_cast<std::size_t>(cfg.feedreplay);
    feed = std::make_unique<kray::api::EventFeed>(feed_options, *ledger, rollup.get(), bridge.scanner.get());
    server.SetFeed(feed.get());
    server.SetMetrics(&http_metrics);
    ctx.feed = feed.get();
    spdlog::info("store open: format {}, genesis {}, synchronous={}", kray::store::StoreVersion(),
                 ledger->genesis_hash(), cfg.synchronous);
    if (!cfg.acceptlegacy) spdlog::info("acceptlegacy=0: legacy-signed transfers are refused");
    if (cfg.clockoffset != 0)
      spdlog::warn("clockoffset={}s: operations are stamped in the future (regtest)", cfg.clockoffset);
    // bitcoind's cookie authentication: without a configured token, a fresh
    // one in <datadir>/.cookie, readable only by the operator's account and
    // removed when this scope ends (shutdown, or a failed start below).
    std::optional<kray::api::AuthCookieGuard> cookie;
    if (cfg.rpctoken.empty()) {
      auto token = kray::api::WriteAuthCookie(cfg.datadir);
      if (!token.ok()) return Fail(token.error().message);
      cookie.emplace(cfg.datadir);
      ctx.rpctoken = std::move(*token);
      spdlog::info("rpctoken not set: operator endpoints use cookie authentication ({})",
                   kray::api::CookiePath(cfg.datadir));
    }
    if (limiter.enabled()) spdlog::info("rate limit {} req/s per IP, burst {}", cfg.ratelimit, cfg.ratelimitburst);
    if (public_limiter.enabled())
      spdlog::info("public operations: {} /s per IP, burst {}", cfg.publicratelimit, cfg.publicratelimitburst);

    if (!cfg.portfile.empty()) {
      // Write to a temp file and rename, so a reader never sees a partial
      // port; written only once the node is ready to answer.
      std::string tmp = cfg.portfile + ".tmp";
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << *port << "\n";
        if (!out) return Fail("cannot write portfile " + tmp);
      }
      std::error_code ec;
      std::filesystem::rename(tmp, cfg.portfile, ec);
      if (ec) return Fail("cannot write portfile " + cfg.portfile + ": " + ec.message());
    }
    spdlog::info("listening on {}:{} ({} threads)", cfg.bind, *port, cfg.rpcthreads);
    server.Run();
    spdlog::info("HTTP server stopped; all in-flight requests answered");
  }
  feed.reset();      // unregisters from the Ledger, the index and the scanner
  bridge.Stop();     // stops the spend coordinator and the L1 scanner, which submit to the Ledger
  recorder.reset();  // removes its batch listener and stops submitting
  ledger.reset();    // drains the sequencer, flushes and closes the store
  rollup.reset();    // applies the last groups, persists the index
  spdlog::info("store closed, exiting");
  return 0;
}
