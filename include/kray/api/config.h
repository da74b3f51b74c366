// krayd configuration, bitcoind style: a key=value file (# comments) plus
// -key=value command-line options; the command line wins. Every key is
// documented with its default in config/krayd.conf.example.
//
// Relative paths (datadir, genesis, portfile) given in the config file are
// resolved against the config file's directory; on the command line, against
// the current directory. Unknown keys are an error naming the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kray/core/result.h"

namespace kray::api {

struct Config {
  std::string conf;  // config file actually read ("" if none)
  std::string bind = "127.0.0.1";
  int port = 5000;  // 0: ephemeral port (see portfile)
  std::string network = "regtest";
  std::string chainid;  // default: kray-<network>-1 (kray-regtest-1)
  std::string datadir = "./data";
  std::string genesis;  // resolved path of the genesis JSON ("" until resolved)
  std::string synchronous = "FULL";
  int rpcthreads = 0;                  // 0 until resolved: hardware threads
  std::string rpctoken;                // operator token; empty: krayd uses a cookie file (kray/api/auth_cookie.h)
  double ratelimit = 0;                // requests/s per client IP; 0 = off
  double ratelimitburst = 0;           // 0 = 2 x ratelimit
  double publicratelimit = 0;          // public (unsigned, free) operations/s per client IP; 0 = off
  double publicratelimitburst = 0;     // 0 = 10 x publicratelimit
  std::uint64_t maxbatchitems = 5000;  // transactions per POST /api/transaction/batch
  std::string loglevel = "info";
  std::uint64_t maxgroup = 2048;            // max txs per group commit
  std::uint64_t batchinterval = 3600;       // seconds between rollup batches
  std::uint64_t maxbatchtxs = 10000;        // max txs per rollup batch
  std::uint64_t maxbatchleaves = 100000;    // a batch also closes once it changed this many leaves (0: no bound)
  std::uint64_t rolluppersistms = 250;      // ms between the rollup index's checks of the open batch
  std::uint64_t rolluppersistlagms = 2000;  // ms a small open batch's changes may wait for the close
  bool rolluplowprio = true;                // the rollup index thread at the lowest priority (nice 19)
  std::uint64_t rollupprune = 0;            // proofs at the newest N batches only (0 = every batch)
  std::uint64_t rollupcache = 1024;         // MiB for the rollup's state tree cache
  std::uint64_t groupwait = 0;              // microseconds a small group may wait for more (0 = never)
  std::uint64_t writeback = 10;             // seconds per sweep of the account rows' write-back (0 = off)
  std::uint64_t accountcache = 1024;        // MiB for the sequencer's cache of accounts
  std::string portfile;                     // write the bound port here after listening
  int rpctimeout = 30;                      // seconds: header / body read timeout
  bool acceptlegacy = true;                 // accept legacy-signed transfers (docs/SIGNING.md)
  std::int64_t clockoffset = 0;             // regtest only: seconds added to the sequencer's clock
  std::uint64_t maxconnections = 512;       // open REST API connections
  std::uint64_t maxconnectionsperip = 64;
  std::uint64_t maxbufferedbodybytes = std::uint64_t{64} << 20;  // request bodies being received, all connections
  std::uint64_t feedqueue = 4096;                                // event feed: messages waiting for one client
  std::uint64_t feedmaxsubscriptions = 64;                       // event feed: topics per connection
  std::uint64_t feedreplay = 1000;                               // event feed: operations a resume may replay

  // --- bridge (docs/BRIDGE.md): enabled when bitcoinrpcurl is set ---
  std::string bitcoinrpchost;  // from bitcoinrpcurl ("" = no L1 backend)
  int bitcoinrpcport = 0;      // 0 until resolved: the URL's port, else the network's default
  std::string bitcoinrpcuser;  // user/password, or
  std::string bitcoinrpcpassword;
  std::string bitcoinrpccookiefile;  // Bitcoin Core's .cookie file (wins over user/password)
  std::string bridgexpub[3];         // the federation members' xpubs, in their published order
  std::string bridgememberkey;       // this node's member key file (0600), optional
  std::uint64_t depositconfirmations = 6;
  std::int64_t bridgestartheight = -1;  // -1 until resolved (0 on regtest; required elsewhere)
  std::string bridgerunes;              // ASSET:BLOCK:TX[:NAME],...
  std::uint64_t depositminsats = 10000;
  std::uint64_t bridgelookahead = 1000;
  std::uint64_t bridgepollms = 1000;
  // Withdrawals and anchors (docs/BRIDGE.md): the bridge's own L1 transactions.
  std::uint64_t bridgefeerate = 2;            // sat/vB when Bitcoin Core has no fee estimate
  std::uint64_t bridgemaxfeerate = 100;       // sat/vB cap; sizes each spend's fee reserve
  std::uint64_t bridgefeebumpseconds = 3600;  // unconfirmed this long: replaced with a higher fee (RBF)
  bool bridgeanchors = true;                  // publish every closed rollup batch on L1

  // Positional words on the command line (e.g. "checkconservation").
  std::vector<std::string> commands;
  bool help = false;
  bool version = false;
};

// One documented key (for -help and the example file).
struct ConfigKey {
  const char* name;
  const char* default_text;
  const char* help;
};
const std::vector<ConfigKey>& ConfigKeys();

// Parses argv (argv[0] skipped) and the config file named by -conf (or, if no
// -conf, <datadir>/krayd.conf when it exists), applies defaults and resolves
// paths (including the genesis search, see FindDefaultGenesis). Errors are
// one line, e.g. "unknown option -foo" or "krayd.conf:3: unknown key 'x'".
Result<Config> ParseConfig(int argc, const char* const* argv);

// Same, with the command line given as separate arguments (tests).
Result<Config> ParseConfigArgs(const std::vector<std::string>& args);

// Default genesis when `genesis` is not set: the first existing file named
// genesis.<network>.json in (1) the config file's directory, (2) ./config,
// (3) the installed data directory InstalledDataDir(exe_path), (4) the
// source tree's config/ directory (running from a build dir). Returns "" if
// none exists.
std::string FindDefaultGenesis(const std::string& network, const std::string& conf_path,
                               const std::string& exe_path = "");

// <prefix>/share/krayd for the executable <prefix>/bin/<name> (GNUInstallDirs
// layout, e.g. /usr/share/krayd for /usr/bin/krayd). Derived from the
// executable's own path, so a relocated tree (a DESTDIR install, a package
// extracted with dpkg-deb -x) finds its own files. An empty `exe_path` means
// the running process (/proc/self/exe). Returns "" if that cannot be read.
std::string InstalledDataDir(const std::string& exe_path = "");

// Text printed by -help.
std::string HelpText();

}  // namespace kray::api
