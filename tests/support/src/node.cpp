#include "kray/testsupport/node.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/state/tx_message.h"

namespace kray::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string KraydPath() {
  return KRAYD_PATH;
}
std::string KrayCliPath() {
  return KRAY_CLI_PATH;
}

namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path, unsigned long open_files_limit = 0) {
  std::vector<char*> argv;
  std::string bin = KraydPath();
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test runner
    if (open_files_limit > 0) {
      rlimit rl{open_files_limit, open_files_limit};
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
    }
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string Tail(const std::string& s) {
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

}  // namespace

KraydProcess::~KraydProcess() {
  if (pid_ > 0) Kill9();
}

bool KraydProcess::Start(const std::string& datadir, const std::string& genesis, const std::vector<std::string>& extra,
                         std::string* why) {
  std::string portfile = datadir + ".port";
  log_ = datadir + ".log";
  std::remove(portfile.c_str());
  std::vector<std::string> args = {"-datadir=" + datadir, "-genesis=" + genesis, "-port=0", "-portfile=" + portfile,
                                   "-loglevel=warn"};
  if (!rpctoken_.empty()) args.push_back("-rpctoken=" + rpctoken_);
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = Spawn(args, log_, open_files_limit_);
  if (pid_ <= 0) {
    *why = "fork failed";
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *why = "krayd exited with " + std::to_string(ExitCodeOf(status)) + ": " + Tail(ReadFile(log_));
      return false;
    }
    std::string p = ReadFile(portfile);
    if (!p.empty() && p.back() == '\n') {
      port_ = static_cast<std::uint16_t>(std::atoi(p.c_str()));
    } else if (!p.empty() && port_ == 0) {
      // A writer may not end the file with a newline; accept digits only.
      bool digits = p.find_first_not_of("0123456789") == std::string::npos;
      if (digits) port_ = static_cast<std::uint16_t>(std::atoi(p.c_str()));
    }
    if (port_ != 0) {
      net::ClientOptions o;
      o.connect_timeout = 1s;
      o.request_timeout = 2s;
      net::HttpClient c("127.0.0.1", port_, o);
      auto r = c.Get("/health");
      if (r.ok() && r->status == 200) return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  *why = "krayd did not answer /health within 20 s: " + Tail(ReadFile(log_));
  Kill9();
  return false;
}

int KraydProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -2;  // did not stop within 30 s
    }
    std::this_thread::sleep_for(20ms);
  }
  pid_ = -1;
  port_ = 0;
  return ExitCodeOf(status);
}

void KraydProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  port_ = 0;
}

int KraydProcess::RunToExit(const std::vector<std::string>& args, const std::string& log_path, std::string* output) {
  std::remove(log_path.c_str());
  pid_t pid = Spawn(args, log_path);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      *output = ReadFile(log_path);
      return -2;
    }
    std::this_thread::sleep_for(20ms);
  }
  *output = ReadFile(log_path);
  return ExitCodeOf(status);
}

void NodeTest::SetUp() {
  dev1_ = DevAccount(1);
  dev2_ = DevAccount(2);
  dir_ = MakeTempDir("kray-itest-");
  ASSERT_FALSE(dir_.empty());
  datadir_ = dir_ + "/data";
  if (start_in_setup_) StartNode();
}

void NodeTest::StartNode(const std::vector<std::string>& extra) {
  std::string why;
  std::vector<std::string> args = NodeArgs();
  args.insert(args.end(), extra.begin(), extra.end());
  ASSERT_TRUE(node_.Start(datadir_, GenesisPath(), args, &why)) << why;
  http_ = std::make_unique<net::HttpClient>("127.0.0.1", node_.port());
}

std::string NodeTest::GenesisPath() {
  return RegtestGenesisPath();
}

void NodeTest::TearDown() {
  if (!stopped_ && node_.pid() > 0) {
    ExpectConservation();
    http_.reset();
    EXPECT_EQ(node_.Stop(), 0) << "krayd did not exit 0 on SIGTERM: " << ReadFile(node_.log_path());
  }
  node_.Kill9();
  if (!HasFailure()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

net::HttpResponse NodeTest::Get(const std::string& target, bool auth) {
  net::Headers h;
  if (auth) h.emplace_back("Authorization", "Bearer " + token_);
  auto r = http_->Get(target, h);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : net::HttpResponse{};
}

net::HttpResponse NodeTest::Post(const std::string& target, const std::string& body) {
  auto r = http_->Post(target, body);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : net::HttpResponse{};
}

json NodeTest::GetJson(const std::string& target, int expect_status) {
  auto r = Get(target);
  EXPECT_EQ(r.status, expect_status) << target << ": " << r.body;
  json j = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << target << ": " << r.body;
  return j.is_discarded() ? json::object() : j;
}

json NodeTest::Balance(const std::string& who) {
  return GetJson("/api/account/" + who + "/balance");
}

json NodeTest::LegacyTransfer(const TestKey& from, const std::string& to, Amount amount, std::uint64_t nonce) {
  auto sig = crypto::SchnorrSign(from.secret, state::LegacyTransferMessage(from.account_id, to, amount, nonce));
  return json{{"from_account", from.account_id},
              {"to_account", to},
              {"amount", std::to_string(amount)},
              {"nonce", nonce},
              {"signature", ToHex(sig.value())}};
}

json NodeTest::V1Transfer(const TestKey& from, const std::string& to_id, const std::string& asset, Amount amount,
                          std::uint64_t nonce) {
  Hash256 msg =
      state::TransferMessageV1("kray-regtest-1", "transfer", from.account_id, to_id, asset, amount, nonce, "");
  auto sig = crypto::SchnorrSign(from.secret, msg);
  return json{{"from_account", from.account_id},
              {"to_account", to_id},
              {"amount", std::to_string(amount)},
              {"nonce", nonce},
              {"asset", asset},
              {"sig_scheme", "v1"},
              {"signature", ToHex(sig.value())}};
}

void NodeTest::ExpectConservation() {
  auto r = Get("/api/node/conservation", /*auth=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["ok"], true) << r.body;
  EXPECT_FALSE(j["assets"].empty()) << r.body;
}

std::string NodeTest::StateSnapshot() {
  json s;
  s["a1"] = Balance(dev1_.account_id);
  s["a2"] = Balance(dev2_.account_id);
  json stats = GetJson("/api/transaction/stats");
  s["total"] = stats["total_transactions"];
  s["fee_pool"] = stats["fee_pool_credits"];
  s["burned"] = stats["gas_burned_credits"];
  return s.dump();
}

}  // namespace kray::test
