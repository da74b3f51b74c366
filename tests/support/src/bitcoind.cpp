#include "kray/testsupport/bitcoind.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

namespace kray::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::optional<std::string> FindBitcoind() {
  if (const char* env = std::getenv("BITCOIND"); env && *env) {
    if (IsExecutable(env)) return std::string(env);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/bitcoind";
    if (IsExecutable(candidate)) return candidate;
  }
  return std::nullopt;
}

bool BitcoindRequired() {
  const char* env = std::getenv("KRAY_REQUIRE_BITCOIND");
  return env && std::string(env) == "1";
}

std::uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  std::uint16_t port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

BitcoindProcess::~BitcoindProcess() {
  if (pid_ > 0) Stop();
}

std::string BitcoindProcess::log_tail() const {
  std::string log = ReadFile(datadir_ + "/bitcoind.out") + ReadFile(datadir_ + "/regtest/debug.log");
  return log.size() > 3000 ? log.substr(log.size() - 3000) : log;
}

bool BitcoindProcess::Start(const std::string& binary, std::string* why, const std::vector<std::string>& extra_args) {
  binary_ = binary;
  extra_args_ = extra_args;
  // A port found free may be taken before bitcoind binds it: retry.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (StartOnce(binary, extra_args, why)) return true;
    if (pid_ > 0) Kill();
  }
  return false;
}

bool BitcoindProcess::StartOnce(const std::string& binary, const std::vector<std::string>& extra_args,
                                std::string* why) {
  if (datadir_.empty() || !fs::exists(datadir_)) datadir_ = MakeTempDir("kray-bitcoind-");
  if (datadir_.empty()) {
    *why = "cannot create a temp datadir";
    return false;
  }
  port_ = fixed_port_ != 0 ? fixed_port_ : FreeLoopbackPort();
  if (port_ == 0) {
    *why = "no free loopback port";
    return false;
  }
  std::vector<std::string> args = {binary,
                                   "-regtest",
                                   "-datadir=" + datadir_,
                                   "-listen=0",
                                   "-rpcbind=127.0.0.1",
                                   "-rpcallowip=127.0.0.1",
                                   "-rpcport=" + std::to_string(port_),
                                   "-fallbackfee=0.0002",
                                   "-txindex=1",
                                   "-printtoconsole=0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out = datadir_ + "/bitcoind.out";
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test runner
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid_ < 0) {
    *why = "fork failed";
    return false;
  }
  rpc_ = std::make_unique<bridge::BitcoinRpc>(RpcOptions());
  wallet_rpcs_.clear();
  return WaitForRpc(why);
}

bool BitcoindProcess::WaitForRpc(std::string* why) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bridge::RpcOptions o = RpcOptions();
  o.max_attempts = 1;  // this loop is the retry
  o.request_timeout = 5s;
  bridge::BitcoinRpc probe(o);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *why = "bitcoind exited with " + std::to_string(ExitCodeOf(status)) + " during start-up: " + log_tail();
      return false;
    }
    auto r = probe.CallRaw("getblockchaininfo", "[]");
    if (r.ok() && !r->error) return true;
    last = r.ok() ? r->error->message : r.error().message;  // e.g. -28 "Loading block index..."
    std::this_thread::sleep_for(100ms);
  }
  *why = "bitcoind RPC not ready within 60 s (" + last + "): " + log_tail();
  Kill();
  return false;
}

int BitcoindProcess::Stop() {
  if (pid_ <= 0) return -1;
  if (rpc_) {
    auto r = rpc_->CallRaw("stop", "[]");
    (void)r;  // an error here is fine: the wait below decides
  }
  int status = 0;
  int code = -2;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      code = ExitCodeOf(status);
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (pid_ > 0) Kill();
  rpc_.reset();
  wallet_rpcs_.clear();
  if (!keep_ && !datadir_.empty()) {
    std::error_code ec;
    fs::remove_all(datadir_, ec);
    datadir_.clear();
  }
  return code;
}

int BitcoindProcess::StopKeepingData() {
  const bool keep = keep_;
  keep_ = true;
  const int code = Stop();
  keep_ = keep;
  return code;
}

bool BitcoindProcess::StartAgain(std::string* why) {
  if (pid_ > 0) {
    *why = "bitcoind is still running";
    return false;
  }
  fixed_port_ = port_;
  // The port was ours a moment ago; a restart right after a stop may find it
  // in TIME_WAIT for a moment (bitcoind binds with SO_REUSEADDR), so retry.
  bool ok = false;
  for (int attempt = 0; attempt < 5 && !ok; ++attempt) {
    ok = StartOnce(binary_, extra_args_, why);
    if (!ok) {
      if (pid_ > 0) Kill();
      std::this_thread::sleep_for(200ms);
    }
  }
  fixed_port_ = 0;
  return ok;
}

void BitcoindProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bridge::RpcOptions BitcoindProcess::RpcOptions(const std::string& wallet) const {
  bridge::RpcOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.cookie_file = cookie_file();
  o.wallet = wallet;
  o.request_timeout = 60s;  // generatetoaddress of 100+ blocks on a busy machine
  o.max_attempts = 3;
  return o;
}

bridge::BitcoinRpc& BitcoindProcess::rpc() {
  if (!rpc_) rpc_ = std::make_unique<bridge::BitcoinRpc>(RpcOptions());
  return *rpc_;
}

Result<json> BitcoindProcess::Rpc(const std::string& method, const json& params, const std::string& wallet) {
  bridge::BitcoinRpc* client = &rpc();
  if (!wallet.empty()) {
    auto& w = wallet_rpcs_[wallet];
    if (!w) w = std::make_unique<bridge::BitcoinRpc>(RpcOptions(wallet));
    client = w.get();
  }
  auto r = client->Call(method, params.dump());
  if (!r.ok()) return std::move(r).error();
  json j = json::parse(*r, nullptr, false);
  if (j.is_discarded()) return Error::Internal("result is not JSON: " + *r);
  return j;
}

json BitcoindProcess::Call(const std::string& method, const json& params, const std::string& wallet) {
  auto r = Rpc(method, params, wallet);
  EXPECT_TRUE(r.ok()) << method << " " << params.dump() << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : json();
}

void BitcoindTest::SetUp() {
  auto binary = FindBitcoind();
  if (!binary) {
    const char* env = std::getenv("BITCOIND");
    const std::string msg = env && *env
                                ? "BITCOIND=" + std::string(env) + " is not an executable file"
                                : std::string(
                                      "bitcoind not found: set BITCOIND=/path/to/bitcoind or put bitcoind on PATH "
                                      "(e.g. BITCOIND=../shared/bitcoin-core/bitcoind)");
    if (BitcoindRequired()) FAIL() << msg << "; KRAY_REQUIRE_BITCOIND=1 makes this a failure";
    GTEST_SKIP() << msg;
  }
  std::string why;
  ASSERT_TRUE(bitcoind_.Start(*binary, &why)) << why;
}

void BitcoindTest::TearDown() {
  if (HasFailure()) bitcoind_.keep_datadir();
  if (bitcoind_.running()) {
    const std::string dir = bitcoind_.datadir();
    const int code = bitcoind_.Stop();
    EXPECT_EQ(code, 0) << "bitcoind did not stop cleanly; datadir " << dir;
  }
}

void BitcoindTest::CreateWallet(const std::string& name) {
  bitcoind_.Call("createwallet", json::array({name}));
}

std::string BitcoindTest::NewAddress(const std::string& wallet, const std::string& type) {
  json a = bitcoind_.Call("getnewaddress", json::array({"", type}), wallet);
  return a.is_string() ? a.get<std::string>() : std::string();
}

std::vector<std::string> BitcoindTest::Mine(int n, const std::string& address) {
  json hashes = bitcoind_.Call("generatetoaddress", json::array({n, address}));
  std::vector<std::string> out;
  if (hashes.is_array()) {
    for (const auto& h : hashes) out.push_back(h.get<std::string>());
  }
  return out;
}

}  // namespace kray::test
