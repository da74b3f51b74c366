// Integration-test harness: starts the real krayd binary (KraydPath()) on an
// ephemeral loopback port (-port=0 -portfile=...) in a fresh temp datadir with
// the regtest genesis, talks to it over HTTP, and stops it at teardown.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kray/core/amount.h"
#include "kray/net/http_client.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::test {

using nlohmann::json;

// Paths of the binaries under test (set by the build).
std::string KraydPath();
std::string KrayCliPath();

// The operator token KraydProcess passes by default.
constexpr const char* kToken = "test-token";

// A krayd child process.
class KraydProcess {
 public:
  ~KraydProcess();
  // Starts krayd with -datadir, -genesis, -port=0, -portfile, -rpctoken
  // (unless set_rpctoken("") was called) and `extra` args; waits until
  // GET /health answers 200 (up to 20 s). Returns false (with the log tail in
  // `why`) if it exited or never answered.
  bool Start(const std::string& datadir, const std::string& genesis, const std::vector<std::string>& extra,
             std::string* why);
  // SIGTERM and wait; returns the exit code (or 128+signal).
  int Stop();
  // SIGKILL and reap.
  void Kill9();
  // Runs krayd to completion with the given args (for refused starts);
  // returns the exit code and fills `output` with its stdout+stderr.
  static int RunToExit(const std::vector<std::string>& args, const std::string& log_path, std::string* output);

  // Options for the next Start(): the -rpctoken passed ("" = none, so krayd
  // uses its cookie file), and the child's RLIMIT_NOFILE (soft and hard; 0 =
  // inherited), e.g. to drive krayd out of file descriptors.
  void set_rpctoken(std::string token) { rpctoken_ = std::move(token); }
  void set_open_files_limit(unsigned long limit) { open_files_limit_ = limit; }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log_path() const { return log_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string log_;
  std::string rpctoken_ = kToken;
  unsigned long open_files_limit_ = 0;
};

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Checks conservation via the operator endpoint, then SIGTERM -> exit 0.
  void TearDown() override;

  // Restart on the same datadir (after Stop or Kill9).
  void StartNode(const std::vector<std::string>& extra = {});
  // Extra krayd arguments for every start by SetUp/StartNode() (a fixture
  // that needs the bridge configured overrides it).
  virtual std::vector<std::string> NodeArgs() { return {}; }
  // The genesis file every start uses (a fixture may write its own).
  virtual std::string GenesisPath();

  // HTTP helpers (one keep-alive client per test thread).
  net::HttpResponse Get(const std::string& target, bool auth = false);
  net::HttpResponse Post(const std::string& target, const std::string& body);
  json GetJson(const std::string& target, int expect_status = 200);
  json Balance(const std::string& who);  // GET balance, expects 200

  // Signed transfer bodies.
  json LegacyTransfer(const TestKey& from, const std::string& to, Amount amount, std::uint64_t nonce);
  json V1Transfer(const TestKey& from, const std::string& to_id, const std::string& asset, Amount amount,
                  std::uint64_t nonce);
  // Asserts conservation OK via GET /api/node/conservation.
  void ExpectConservation();
  // A snapshot of what must not change when a request is rejected.
  std::string StateSnapshot();

  KraydProcess node_;
  bool start_in_setup_ = true;  // a subclass that starts the node itself sets this false in its constructor
  std::string token_ = kToken;  // operator token sent by Get(target, /*auth=*/true) and the conservation check
  std::string dir_, datadir_;
  std::unique_ptr<net::HttpClient> http_;
  TestKey dev1_, dev2_;
  bool stopped_ = false;  // a test that stops the node itself sets this
};

}  // namespace kray::test
