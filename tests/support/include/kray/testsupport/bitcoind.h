// A real Bitcoin Core node for tests: a fresh regtest bitcoind in a temp
// datadir on a free loopback RPC port (no P2P listening, cookie auth,
// -txindex=1, -fallbackfee=0.0002), run in the foreground as a child of the
// test, spoken to through the bridge's own RPC client, stopped with the
// `stop` RPC at teardown.
//
// The binary is $BITCOIND, else `bitcoind` on PATH. With neither, tests
// using BitcoindTest SKIP with a message, unless KRAY_REQUIRE_BITCOIND=1,
// which makes the missing binary a failure (CI sets it: see .ci/run).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kray/bridge/bitcoin_rpc.h"
#include "kray/core/result.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::test {

// $BITCOIND if set (must be an executable file), else the first `bitcoind`
// on PATH; nullopt if none.
std::optional<std::string> FindBitcoind();
// True when KRAY_REQUIRE_BITCOIND=1.
bool BitcoindRequired();

// A free TCP port on 127.0.0.1 (bound and released; a race with another
// process is possible, so callers retry a failed start).
std::uint16_t FreeLoopbackPort();

class BitcoindProcess {
 public:
  BitcoindProcess() = default;
  ~BitcoindProcess();  // Stop() if still running
  BitcoindProcess(const BitcoindProcess&) = delete;
  BitcoindProcess& operator=(const BitcoindProcess&) = delete;

  // Starts `binary` on a new temp datadir and waits (up to 60 s) until RPC
  // answers. Retries on another port if the node exits during start-up.
  // Returns false with the reason and the log tail in `why`.
  bool Start(const std::string& binary, std::string* why, const std::vector<std::string>& extra_args = {});
  // `stop` RPC, then waits up to 30 s for the process (SIGKILL after that).
  // Returns the exit code (0 = clean), -1 if not running, -2 if it had to be
  // killed. Removes the datadir unless keep_datadir() was called.
  int Stop();
  // SIGKILL and reap (for tests of an L1 that disappears).
  void Kill();
  // Stops the node (the `stop` RPC) keeping its datadir, so StartAgain can
  // bring the same chain back. Returns as Stop().
  int StopKeepingData();
  // Starts the node again on the same datadir and RPC port (a stopped or
  // killed node: an L1 that comes back), with the arguments of Start.
  bool StartAgain(std::string* why);
  void keep_datadir() { keep_ = true; }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::uint16_t rpc_port() const { return port_; }
  const std::string& datadir() const { return datadir_; }
  std::string cookie_file() const { return datadir_ + "/regtest/.cookie"; }
  std::string log_tail() const;

  // Options for a BitcoinRpc to this node (cookie auth); `wallet` selects a
  // wallet endpoint.
  bridge::RpcOptions RpcOptions(const std::string& wallet = "") const;
  // The node-level client (no wallet), owned by this object.
  bridge::BitcoinRpc& rpc();

  // Calls `method` (optionally on `wallet`) with `params`, which must be a
  // JSON array: write json::array({x}) for one parameter, since nlohmann
  // reads a one-element brace list {x} as x itself. The result parsed as JSON.
  // Non-integer numbers come back as strings of their exact text (see
  // BitcoinRpc::Call). Errors are BitcoinRpc's.
  Result<nlohmann::json> Rpc(const std::string& method, const nlohmann::json& params = nlohmann::json::array(),
                             const std::string& wallet = "");
  // As Rpc, but records a test failure on an error and returns null.
  nlohmann::json Call(const std::string& method, const nlohmann::json& params = nlohmann::json::array(),
                      const std::string& wallet = "");

 private:
  bool StartOnce(const std::string& binary, const std::vector<std::string>& extra_args, std::string* why);
  bool WaitForRpc(std::string* why);

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t fixed_port_ = 0;  // StartAgain: reuse this port
  std::string binary_;
  std::vector<std::string> extra_args_;
  std::string datadir_;
  bool keep_ = false;
  std::unique_ptr<bridge::BitcoinRpc> rpc_;
  std::map<std::string, std::unique_ptr<bridge::BitcoinRpc>> wallet_rpcs_;
};

// GoogleTest fixture: a started node in bitcoind_ (or the test is skipped /
// failed as described above), stopped at teardown; its datadir is kept when
// the test failed.
class BitcoindTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Regtest helpers (each records a failure on an RPC error).
  // createwallet <name> (descriptor wallet with keys).
  void CreateWallet(const std::string& name);
  // getnewaddress "" <type> on `wallet` (default bech32m).
  std::string NewAddress(const std::string& wallet, const std::string& type = "bech32m");
  // generatetoaddress n <address>; returns the block hashes (display hex).
  std::vector<std::string> Mine(int n, const std::string& address);

  BitcoindProcess bitcoind_;
};

}  // namespace kray::test
