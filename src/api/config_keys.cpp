// The table of config keys (config_keys.h): each key's default, help line
// and setter, with the value parsers they share.
#include "config_keys.h"

#include <cctype>
#include <charconv>
#include <filesystem>

#include "kray/core/params.h"

namespace kray::api::config_keys {

namespace fs = std::filesystem;

namespace {

Error Bad(const std::string& key, const std::string& why) {
  return Error::Invalid("invalid_config", "invalid value for " + key + ": " + why);
}

std::string ResolvePath(const std::string& value, const std::string& base_dir) {
  if (value.empty() || base_dir.empty()) return value;
  fs::path p(value);
  if (p.is_absolute()) return value;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

template <class T>
Status ParseUnsigned(const std::string& key, const std::string& v, T min, T max, T& out) {
  T x{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || x < min || x > max) {
    return Bad(key, "'" + v + "' (expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "])");
  }
  out = x;
  return Ok();
}

Status ParseFlag(const std::string& key, const std::string& v, bool& out) {
  if (v != "0" && v != "1") return Bad(key, "'" + v + "' (expected 0 or 1)");
  out = v == "1";
  return Ok();
}

Status ParseRate(const std::string& key, const std::string& v, double& out) {
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || !(x >= 0) || x > 1e9) {
    return Bad(key, "'" + v + "' (expected a number >= 0)");
  }
  out = x;
  return Ok();
}

}  // namespace

const std::vector<KeyDef>& Keys() {
  static const std::vector<KeyDef> keys = {
      {{"bind", "127.0.0.1", "Address to listen on for the REST API"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         if (v.empty()) return Bad("bind", "empty");
         p.cfg.bind = v;
         return Ok();
       }},
      {{"port", "5000", "TCP port of the REST API (0: an ephemeral port, see portfile)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned("port", v, 0, 65535, p.cfg.port);
       }},
      {{"network", "regtest", "Bitcoin network: mainnet, testnet, signet or regtest"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         auto n = ParseNetwork(v);
         if (!n) return Bad("network", "'" + v + "' (expected mainnet, testnet, signet or regtest)");
         p.cfg.network = std::string(NetworkName(*n));
         return Ok();
       }},
      {{"chainid", "kray-<network>-1", "L2 chain id bound into v1 signatures (kray-regtest-1 on regtest)"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         if (v.empty() || v.size() > 64) return Bad("chainid", "must be 1..64 characters");
         p.cfg.chainid = v;
         p.chainid_set = true;
         return Ok();
       }},
      {{"datadir", "./data", "Data directory (store file krayd.sqlite); created if missing"},
       [](Parsed& p, const std::string& v, const std::string& base) -> Status {
         if (v.empty()) return Bad("datadir", "empty");
         p.cfg.datadir = ResolvePath(v, base);
         return Ok();
       }},
      {{"genesis",
        "genesis.<network>.json next to the config file, else ./config/, else <prefix>/share/krayd/ of the "
        "installed krayd (/usr/share/krayd/ from the Debian package), else the source tree's config/",
        "Genesis allocation JSON, applied once when the datadir is created"},
       [](Parsed& p, const std::string& v, const std::string& base) -> Status {
         if (v.empty()) return Bad("genesis", "empty");
         p.cfg.genesis = ResolvePath(v, base);
         p.genesis_set = true;
         return Ok();
       }},
      {{"synchronous", "FULL",
        "SQLite synchronous mode: NORMAL, FULL or EXTRA (FULL: an acknowledged tx survives power loss)"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         std::string u;
         for (char c : v) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
         if (u != "NORMAL" && u != "FULL" && u != "EXTRA")
           return Bad("synchronous", "'" + v + "' (NORMAL, FULL or EXTRA)");
         p.cfg.synchronous = u;
         return Ok();
       }},
      {{"rpcthreads", "<number of cores>", "HTTP worker threads"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned("rpcthreads", v, 1, 256, p.cfg.rpcthreads);
       }},
      {{"rpctoken", "(empty: a random token in <datadir>/.cookie)",
        "Operator token: clients send 'Authorization: Bearer <token>' to operator-only endpoints. Empty: krayd "
        "writes a fresh random token to <datadir>/.cookie (mode 0600) at start and removes it at shutdown"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.cfg.rpctoken = v;
         return Ok();
       }},
      {{"ratelimit", "0 on regtest, 100 on other networks",
        "Requests per second per client IP (token bucket); 0 = off"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.ratelimit_set = true;
         return ParseRate("ratelimit", v, p.cfg.ratelimit);
       }},
      {{"ratelimitburst", "2 x ratelimit", "Token bucket size: requests a client may burst above the rate"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.burst_set = true;
         return ParseRate("ratelimitburst", v, p.cfg.ratelimitburst);
       }},
      {{"publicratelimit", "0 on regtest, 1 on other networks",
        "Public (unsigned, free) operations per second per client IP: account creation without a proof of "
        "possession, bridge address assignment; on top of ratelimit; 0 = off"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.publicrate_set = true;
         return ParseRate("publicratelimit", v, p.cfg.publicratelimit);
       }},
      {{"publicratelimitburst", "10 x publicratelimit", "Token bucket size for public operations"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.publicburst_set = true;
         return ParseRate("publicratelimitburst", v, p.cfg.publicratelimitburst);
       }},
      {{"maxbatchitems", "5000",
        "Max transactions in one POST /api/transaction/batch (each also takes one ratelimit token)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("maxbatchitems", v, 1, 100000, p.cfg.maxbatchitems);
       }},
      {{"loglevel", "info", "trace, debug (one line per request), info, warn, error, critical, off"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
         for (auto* l : kLevels)
           if (v == l) {
             p.cfg.loglevel = v;
             return Ok();
           }
         return Bad("loglevel", "'" + v + "'");
       }},
      {{"maxgroup", "2048", "Max transactions applied per group commit (one fsync)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("maxgroup", v, 1, 1000000, p.cfg.maxgroup);
       }},
      {{"batchinterval", "3600", "Seconds between rollup batches"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("batchinterval", v, 1, 86400 * 365, p.cfg.batchinterval);
       }},
      {{"maxbatchtxs", "10000", "Max transactions per rollup batch"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("maxbatchtxs", v, 1, 100000000, p.cfg.maxbatchtxs);
       }},
      {{"maxbatchleaves", "100000",
        "A rollup batch also closes once it changed this many leaves (accounts, supplies, pools...), checked as the "
        "index writes the open batch's tree; past a few hundred thousand the index costs more per transfer the "
        "longer the batch stays open (0 = no bound)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         std::uint64_t x = 0;
         if (!ParseUnsigned<std::uint64_t>("maxbatchleaves", v, 0, 100000000, x).ok() || (x != 0 && x < 1000))
           return Status(Bad("maxbatchleaves", "'" + v + "' (expected 0 or an integer in [1000, 100000000])"));
         p.cfg.maxbatchleaves = x;
         return Ok();
       }},
      {{"rolluppersistms", "250",
        "Milliseconds between the rollup index's checks of the open batch's tree, which write it once enough changes "
        "wait (a batch close writes the rest)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("rolluppersistms", v, 10, 60000, p.cfg.rolluppersistms);
       }},
      {{"rolluppersistlagms", "2000",
        "Milliseconds the open batch's tree changes may wait to be written while they are few (0 = write them at "
        "every rolluppersistms)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("rolluppersistlagms", v, 0, 3600000, p.cfg.rolluppersistlagms);
       }},
      {{"rollupprune", "0",
        "Serve Merkle proofs at the newest N rollup batches only and delete the tree history older ones read "
        "(0 = keep every batch)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("rollupprune", v, 0, 1000000000, p.cfg.rollupprune);
       }},
      {{"rolluplowprio", "1",
        "Run the rollup index thread at the lowest priority (nice 19), so that batch closes yield the cores to "
        "requests; a normal thread takes the index over if it falls behind (1/0)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseFlag("rolluplowprio", v, p.cfg.rolluplowprio);
       }},
      {{"rollupcache", "1024",
        "MiB of memory for the rollup's state tree (~300 MiB per million accounts); a tree that outgrows it is "
        "read back from the index at every update, several times the CPU (16..1048576)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("rollupcache", v, 16, 1048576, p.cfg.rollupcache);
       }},
      {{"groupwait", "0",
        "Microseconds a group of fewer than 8 operations may wait for more while submissions overlap (many "
        "clients, a steady load below saturation): fewer commits and fsyncs per transfer, a little more latency; "
        "one client's requests never wait; 0 never waits (0..10000)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("groupwait", v, 0, 10000, p.cfg.groupwait);
       }},
      {{"writeback", "10",
        "Seconds per sweep of the account rows' write-back: a changed account row is written back within about "
        "this long, each page of the table once per sweep, and held until then as a small record and in memory "
        "(~100 bytes per row); 0 writes every row at every group commit (0..300)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("writeback", v, 0, 300, p.cfg.writeback);
       }},
      {{"accountcache", "1024",
        "MiB of memory for the sequencer's cache of the accounts in use (~480 MiB per million accounts of one "
        "asset); past it the cache is emptied and each account read from the store again at its next use "
        "(16..1048576)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("accountcache", v, 16, 1048576, p.cfg.accountcache);
       }},
      {{"portfile", "(none)", "After binding, write the listening port (decimal) to this file"},
       [](Parsed& p, const std::string& v, const std::string& base) -> Status {
         p.cfg.portfile = ResolvePath(v, base);
         return Ok();
       }},
      {{"rpctimeout", "30", "Seconds allowed for reading a request's headers (incl. keep-alive idle) and its body"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned("rpctimeout", v, 1, 3600, p.cfg.rpctimeout);
       }},
      {{"acceptlegacy", "1",
        "Accept transfers signed with the legacy message (1/0). It binds no chain id: a legacy transfer signed "
        "for another krayd chain with the same accounts is valid here too (docs/SIGNING.md)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseFlag("acceptlegacy", v, p.cfg.acceptlegacy);
       }},
      {{"clockoffset", "0",
        "Regtest only: seconds added to the clock that stamps operations (tests advance time without sleeping)"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         std::int64_t x = 0;
         auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
         if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || x < 0 || x > 100LL * 365 * 86400)
           return Bad("clockoffset", "'" + v + "' (expected whole seconds >= 0)");
         p.cfg.clockoffset = x;
         return Ok();
       }},
      {{"maxconnections", "512",
        "Max open REST API connections; past it new connections are closed at once (keep the file descriptor "
        "limit, ulimit -n, above this plus 64)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("maxconnections", v, 1, 1000000, p.cfg.maxconnections);
       }},
      {{"maxconnectionsperip", "64", "Max open REST API connections from one client IP address"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("maxconnectionsperip", v, 1, 1000000, p.cfg.maxconnectionsperip);
       }},
      {{"maxbufferedbodybytes", "67108864",
        "Max request-body bytes being received at once over all connections (declared sizes; at least 1048576, "
        "the body limit); past it a request is answered 503 server_busy"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("maxbufferedbodybytes", v, std::uint64_t{1} << 20, std::uint64_t{1} << 40,
                                             p.cfg.maxbufferedbodybytes);
       }},
      // --- event feed (docs/API.md "Event feed") ---------------------------
      {{"feedqueue", "4096",
        "Max event feed messages waiting to be sent to one WebSocket client; past it the client is closed with "
        "code 4000 (slow consumer)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("feedqueue", v, 16, 1000000, p.cfg.feedqueue);
       }},
      {{"feedmaxsubscriptions", "64", "Max topics one event feed connection may subscribe to"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("feedmaxsubscriptions", v, 1, 10000, p.cfg.feedmaxsubscriptions);
       }},
      {{"feedreplay", "1000",
        "Max operations an event feed resume (subscribe with since) may replay from the log; further back the "
        "client resynchronises over REST"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("feedreplay", v, 0, 1000000, p.cfg.feedreplay);
       }},
      // --- bridge (docs/BRIDGE.md) ------------------------------------------
      {{"bitcoinrpcurl", "(none: no L1 backend, bridge endpoints answer 503)",
        "Bitcoin Core JSON-RPC endpoint: host, host:port or http://host[:port] (wallet-less)"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         std::string rest = v;
         if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
         while (!rest.empty() && rest.back() == '/') rest.pop_back();
         if (rest.empty() || rest.find_first_of("/?#@ ") != std::string::npos)
           return Bad("bitcoinrpcurl", "'" + v + "' (expected host, host:port or http://host[:port])");
         auto colon = rest.rfind(':');
         if (colon != std::string::npos && rest.find(':') == colon) {
           KRAY_TRY(ParseUnsigned("bitcoinrpcurl", rest.substr(colon + 1), 1, 65535, p.cfg.bitcoinrpcport));
           rest = rest.substr(0, colon);
         }
         p.cfg.bitcoinrpchost = rest;
         return Ok();
       }},
      {{"bitcoinrpcport", "the URL's port, else 8332 / 18332 / 38332 / 18443 by network",
        "Bitcoin Core RPC port (overrides the port in bitcoinrpcurl)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned("bitcoinrpcport", v, 1, 65535, p.rpcport_arg);
       }},
      {{"bitcoinrpcuser", "(none)", "Bitcoin Core RPC user (with bitcoinrpcpassword)"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.cfg.bitcoinrpcuser = v;
         return Ok();
       }},
      {{"bitcoinrpcpassword", "(none)", "Bitcoin Core RPC password"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.cfg.bitcoinrpcpassword = v;
         return Ok();
       }},
      {{"bitcoinrpccookiefile", "(none)",
        "Bitcoin Core's cookie file (<bitcoin datadir>/<chain>/.cookie); re-read before every request"},
       [](Parsed& p, const std::string& v, const std::string& base) -> Status {
         p.cfg.bitcoinrpccookiefile = ResolvePath(v, base);
         return Ok();
       }},
      {{"bridgexpub1", "(none)", "Federation member 1's extended public key (kray-cli federation-init prints them)"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.cfg.bridgexpub[0] = v;
         return Ok();
       }},
      {{"bridgexpub2", "(none)", "Federation member 2's extended public key"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.cfg.bridgexpub[1] = v;
         return Ok();
       }},
      {{"bridgexpub3", "(none)", "Federation member 3's extended public key"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.cfg.bridgexpub[2] = v;
         return Ok();
       }},
      {{"bridgememberkey", "(none)",
        "This node's federation member key file (mode 0600; kray-cli federation-init writes them)"},
       [](Parsed& p, const std::string& v, const std::string& base) -> Status {
         p.cfg.bridgememberkey = ResolvePath(v, base);
         return Ok();
       }},
      {{"depositconfirmations", "6", "Confirmations before a deposit is credited (N)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("depositconfirmations", v, 1, 10000, p.cfg.depositconfirmations);
       }},
      {{"bridgestartheight", "0 on regtest (required on other networks)",
        "First Bitcoin block scanned for deposits (the federation's creation height)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::int64_t>("bridgestartheight", v, 0, 0xffffffffLL, p.cfg.bridgestartheight);
       }},
      {{"bridgerunes", "(none: BTC only)",
        "Runes the bridge credits, ASSET:BLOCK:TX[:NAME] comma separated (e.g. DOG:840000:3); the asset's "
        "decimals must equal the rune's divisibility"},
       [](Parsed& p, const std::string& v, const std::string&) -> Status {
         p.cfg.bridgerunes = v;
         return Ok();
       }},
      {{"depositminsats", "10000", "Smallest BTC-only deposit credited, in sats (rune deposits carry any amount)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("depositminsats", v, 0, 2100000000000000ULL, p.cfg.depositminsats);
       }},
      {{"bridgelookahead", "1000", "Deposit address indexes watched past the highest one handed out"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("bridgelookahead", v, 1, 100000, p.cfg.bridgelookahead);
       }},
      {{"bridgepollms", "1000", "Milliseconds between polls of Bitcoin Core for new blocks"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("bridgepollms", v, 10, 600000, p.cfg.bridgepollms);
       }},
      {{"bridgefeerate", "2",
        "Fee rate in sat/vB of the bridge's transactions (withdrawals, anchors) when Bitcoin Core has no "
        "estimatesmartfee estimate"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("bridgefeerate", v, 0, 100000, p.cfg.bridgefeerate);
       }},
      {{"bridgemaxfeerate", "100",
        "Highest fee rate in sat/vB the bridge pays (estimates and replacements are capped); each transaction "
        "reserves this rate times its size from the fee account"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("bridgemaxfeerate", v, 1, 100000, p.cfg.bridgemaxfeerate);
       }},
      {{"bridgefeebumpseconds", "3600",
        "Seconds a broadcast bridge transaction may stay unconfirmed before it is replaced with a higher fee (RBF; "
        "signed 2-of-3 again)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseUnsigned<std::uint64_t>("bridgefeebumpseconds", v, 1, 30 * 86400, p.cfg.bridgefeebumpseconds);
       }},
      {{"bridgeanchors", "1", "Publish every closed rollup batch's anchor on Bitcoin, signed 2-of-3 (1/0)"},
       [](Parsed& p, const std::string& v, const std::string&) {
         return ParseFlag("bridgeanchors", v, p.cfg.bridgeanchors);
       }},
  };
  return keys;
}

}  // namespace kray::api::config_keys
