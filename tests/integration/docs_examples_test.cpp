// Every request/response example of docs/API.md, executed against a real
// krayd, so the documentation cannot drift (docs/API.md, "Executable
// examples", states the convention this test enforces):
//
// - Every fenced block is either ```text (not executed: serializations,
//   tables of messages) or an example: `$ ` command lines, each followed by
//   the documented output. A command continues over the next lines until
//   bash sees it complete (backslash continuations, open quotes).
// - `<!-- example-node: NAME -->` starts a fresh node of configuration NAME
//   (default, market, validators, bridge); the examples after it run
//   against it, in document order, in one bash session (variables carry
//   over).
// - Commands run in bash with a `curl` that sends the documented
//   127.0.0.1:5000 / localhost:5000 to the test's node and records the HTTP
//   status, a `kray-cli` bound to the test's node, and (bridge) a
//   `bitcoin-cli` bound to the test's bitcoind.
// - The output is compared as a pattern (doc_pattern.h): JSON with "…"
//   elisions; volatile keys (listed in docs/API.md) by type only; a
//   trailing "(NNN)" is the expected HTTP status, otherwise 2xx.
// - A plain GET (no -X, -d) whose answer does not match yet is retried for
//   up to 10 s: the rollup index and the bridge's scanner follow the node
//   asynchronously, as a reader would see by running it again.
//
// Writing examples: KRAY_DOCS_RECORD=<file> records every step's actual
// output in <file> instead of failing on the first difference.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "doc_pattern.h"
#include "kray/bridge/federation.h"
#include "kray/bridge/member_key.h"
#include "kray/testsupport/bitcoind.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const std::string kSourceDir = KRAY_SOURCE_DIR;

// ---------------------------------------------------------------- the document

struct Step {
  int line = 0;          // of the `$ ` line in docs/API.md
  std::string command;   // without the "$ "
  std::string expected;  // the documented output (may be empty)
  int status = 0;        // documented "(NNN)", 0: any 2xx
};

struct Segment {
  std::string node;  // configuration name
  int line = 0;
  std::vector<Step> steps;
};

struct ApiDoc {
  std::vector<Segment> segments;
  std::set<std::string> volatile_keys;
  std::vector<std::string> problems;  // convention violations
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string l;
  while (std::getline(ss, l)) out.push_back(l);
  return out;
}

// bash -n: is `command` complete (no open quote, no trailing backslash)?
bool BashComplete(const std::string& command) {
  // bash -n accepts a trailing backslash at the end of its input.
  if (!command.empty() && command.back() == '\\') return false;
  std::string path = fs::temp_directory_path() / ("kray-doc-syntax-" + std::to_string(::getpid()) + ".sh");
  std::ofstream(path) << command << "\n";
  std::string cmd = "bash -n '" + path + "' 2>/dev/null";
  int rc = std::system(cmd.c_str());
  std::remove(path.c_str());
  return rc == 0;
}

// "…})   (401)" -> status 401 and the text without it.
void SplitStatus(Step& step) {
  static const std::regex kStatus(R"(^([\s\S]*?)\s*\((\d{3})\)\s*$)");
  std::smatch m;
  if (std::regex_match(step.expected, m, kStatus)) {
    step.status = std::stoi(m[2]);
    step.expected = m[1];
  }
}

// The steps of one example block (the lines between the fences).
void ParseBlock(const std::vector<std::string>& lines, int first_line, Segment& segment, ApiDoc& doc) {
  std::size_t i = 0;
  if (lines.empty() || lines[0].rfind("$ ", 0) != 0) {
    doc.problems.push_back("docs/API.md:" + std::to_string(first_line) +
                           ": a block that is neither ```text nor an example starting with `$ `");
    return;
  }
  while (i < lines.size()) {
    Step step;
    step.line = first_line + static_cast<int>(i);
    step.command = lines[i].substr(2);
    ++i;
    while (!BashComplete(step.command) && i < lines.size()) step.command += "\n" + lines[i++];
    if (!BashComplete(step.command))
      doc.problems.push_back("docs/API.md:" + std::to_string(step.line) + ": command never completes");
    while (i < lines.size() && lines[i].rfind("$ ", 0) != 0) {
      if (!step.expected.empty()) step.expected += "\n";
      step.expected += lines[i++];
    }
    SplitStatus(step);
    segment.steps.push_back(std::move(step));
  }
}

// The volatile keys: every `key` of the "Volatile keys" list item.
std::set<std::string> VolatileKeys(const std::vector<std::string>& lines) {
  std::set<std::string> keys;
  bool in_item = false;
  static const std::regex kCode("`([a-z0-9_]+)`");
  for (const auto& l : lines) {
    if (l.rfind("- **Volatile keys**", 0) == 0) {
      in_item = true;
    } else if (in_item && (l.empty() || l.rfind("  ", 0) != 0)) {
      break;
    }
    if (!in_item) continue;
    for (std::sregex_iterator it(l.begin(), l.end(), kCode), end; it != end; ++it) keys.insert((*it)[1]);
  }
  return keys;
}

ApiDoc ParseApiDoc() {
  ApiDoc doc;
  auto lines = Lines(ReadAll(kSourceDir + "/docs/API.md"));
  doc.volatile_keys = VolatileKeys(lines);
  if (doc.volatile_keys.empty()) doc.problems.push_back("docs/API.md: no \"- **Volatile keys**\" list");
  static const std::regex kNode(R"(^<!-- example-node: ([a-z0-9_-]+) -->\s*$)");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_match(lines[i], m, kNode)) {
      doc.segments.push_back(Segment{m[1], static_cast<int>(i + 1), {}});
      continue;
    }
    if (lines[i].rfind("```", 0) != 0) continue;
    std::string info = lines[i].substr(3);
    std::size_t start = ++i;
    while (i < lines.size() && lines[i].rfind("```", 0) != 0) ++i;
    if (info == "text") continue;
    std::vector<std::string> block(lines.begin() + start, lines.begin() + i);
    if (doc.segments.empty()) {
      doc.problems.push_back("docs/API.md:" + std::to_string(start) +
                             ": an example before the first <!-- example-node: … --> line");
      continue;
    }
    ParseBlock(block, static_cast<int>(start + 1), doc.segments.back(), doc);
  }
  return doc;
}

const ApiDoc& Doc() {
  static const ApiDoc doc = ParseApiDoc();
  return doc;
}

// ---------------------------------------------------------------- bash

// One bash process; commands run in it one after the other, so variables
// set by one example are there for the next.
class BashSession {
 public:
  ~BashSession() { Close(); }

  bool Start(const std::string& cwd, const std::map<std::string, std::string>& env, const std::string& log) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(in[0], 0);
      dup2(out[1], 1);
      int err = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) dup2(err, 2);
      close(in[1]);
      close(out[0]);
      if (chdir(cwd.c_str()) != 0) _exit(126);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      execl("/bin/bash", "bash", "--noprofile", "--norc", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
    return pid_ > 0;
  }

  struct Run {
    int rc = -1;
    std::string output;
    bool timed_out = false;
  };

  Run Execute(const std::string& command, std::chrono::seconds timeout) {
    static const std::string kDone = "__KRAY_DOC_EXAMPLE_DONE__";
    std::string script = command + "\nprintf '\\n" + kDone + " %d\\n' \"$?\"\n";
    Run run;
    if (write(to_, script.data(), script.size()) != static_cast<ssize_t>(script.size())) return run;
    std::string buf;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto at = buf.find("\n" + kDone + " ");
      if (at != std::string::npos && buf.find('\n', at + 1) != std::string::npos) {
        run.output = buf.substr(0, at);
        run.rc = std::atoi(buf.c_str() + at + kDone.size() + 2);
        return run;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        run.timed_out = true;
        run.output = buf;
        return run;
      }
      pollfd p{from_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      ssize_t n = read(from_, chunk, sizeof chunk);
      if (n <= 0) {
        run.output = buf;
        return run;
      }
      buf.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void Close() {
    if (pid_ <= 0) return;
    close(to_);
    close(from_);
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
};

void WriteExecutable(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

std::string FindOnPath(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// ---------------------------------------------------------------- the test

std::string Trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A plain read: retried while the node catches up (see the file comment).
bool IsRetryableRead(const std::string& command) {
  static const std::regex kAssignment(R"(^[A-Za-z_][A-Za-z0-9_]*=)");
  if (command.find("curl") == std::string::npos || std::regex_search(command, kAssignment)) return false;
  for (const char* write : {" -X", " -d", "--data", "bitcoin-cli"})
    if (command.find(write) != std::string::npos) return false;
  return true;
}

// Empty if `output` (and the status curl recorded) is what the step documents.
std::string Compare(const Step& step, const std::string& output, int status) {
  std::string expected = Trim(step.expected);
  std::string actual = Trim(output);
  if (step.status != 0 && status != step.status)
    return "HTTP status " + std::to_string(status) + ", documented " + std::to_string(step.status);
  if (step.status == 0 && status != 0 && (status < 200 || status > 299))
    return "HTTP status " + std::to_string(status) + " (documented: a success)";
  if (expected.empty()) return actual.empty() ? "" : "undocumented output";
  if (expected[0] != '{' && expected[0] != '[') return GlobMatches(expected, actual) ? "" : "the text differs";
  std::string why;
  auto pattern = ParseDocPattern(expected, &why);
  if (!pattern) return "the documented response is not JSON-with-…: " + why;
  json j = json::parse(actual, nullptr, false);
  if (j.is_discarded()) return "the response is not JSON";
  return MatchDocPattern(*pattern, j, Doc().volatile_keys);
}

class DocsExamples : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("kray-docs-examples-");
    ASSERT_FALSE(dir_.empty());
    ASSERT_FALSE(FindOnPath("curl").empty()) << "the examples need curl (contrib/install-deps.sh installs it)";
  }
  void TearDown() override {
    bash_.Close();
    node_.Stop();
    if (bitcoind_.running()) {
      if (HasFailure()) bitcoind_.keep_datadir();
      bitcoind_.Stop();
    }
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Runs every segment of configuration `name`, each on a fresh node.
  void RunSegments(const std::string& name) {
    ASSERT_TRUE(Doc().problems.empty()) << "docs/API.md breaks the example convention";
    int runs = 0;
    for (const auto& segment : Doc().segments) {
      if (segment.node != name) continue;
      ++runs;
      RunSegment(segment, runs);
      if (HasFatalFailure()) return;
    }
    EXPECT_GT(runs, 0) << "no <!-- example-node: " << name << " --> segment in docs/API.md";
  }

  void RunSegment(const Segment& segment, int index) {
    std::string work = dir_ + "/" + segment.node + "-" + std::to_string(index);
    fs::create_directories(work + "/bin");
    std::string why;
    std::vector<std::string> args = NodeArgs(segment.node, work);
    if (HasFatalFailure()) return;
    node_.Stop();
    ASSERT_TRUE(node_.Start(work + "/data", Genesis(segment.node), args, &why)) << why;
    status_file_ = work + "/status";
    WriteTools(work);
    bash_.Close();
    ASSERT_TRUE(bash_.Start(work, Env(work), work + "/bash.log"));
    for (const auto& step : segment.steps) {
      RunStep(step);
      if (HasFailure()) return;  // later steps depend on this one
    }
    ExpectConservation();
  }

  // Whatever the examples did, every asset still balances.
  void ExpectConservation() {
    net::HttpClient http("127.0.0.1", node_.port());
    auto r = http.Get("/api/node/conservation", {{"Authorization", "Bearer secret"}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    json j = json::parse(r->body, nullptr, false);
    EXPECT_EQ(j.value("ok", false), true) << r->body;
  }

  void RunStep(const Step& step) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string why, output;
    int status = 0;
    do {
      std::remove(status_file_.c_str());
      auto run = bash_.Execute(step.command, 60s);
      ASSERT_FALSE(run.timed_out) << "docs/API.md:" << step.line << ": timed out: " << step.command;
      output = run.output;
      status = LastStatus();
      why = run.rc != 0 ? "exit code " + std::to_string(run.rc) : Compare(step, output, status);
      if (why.empty() || !IsRetryableRead(step.command)) break;
      std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < deadline);
    if (const char* record = std::getenv("KRAY_DOCS_RECORD")) {
      // Writing the documentation: record what every step answers, go on.
      std::ofstream(record, std::ios::app) << "### docs/API.md:" << step.line << (why.empty() ? "" : " DIFFERS: " + why)
                                           << "\n$ " << step.command << "\n"
                                           << output << "\n(" << status << ")\n";
      return;
    }
    EXPECT_TRUE(why.empty()) << "docs/API.md:" << step.line << ": " << why << "\n$ " << step.command
                             << "\n--- documented:\n"
                             << step.expected << (step.status ? " (" + std::to_string(step.status) + ")" : "")
                             << "\n--- actual (HTTP " << status << "):\n"
                             << output << "\n--- krayd log: " << node_.log_path();
  }

  int LastStatus() {
    auto lines = Lines(ReadAll(status_file_));
    for (auto it = lines.rbegin(); it != lines.rend(); ++it)
      if (!Trim(*it).empty()) return std::atoi(it->c_str());
    return 0;
  }

  std::map<std::string, std::string> Env(const std::string& work) {
    return {{"PATH", work + "/bin:/usr/bin:/bin"},
            {"HOME", work},
            {"LC_ALL", "C.UTF-8"},
            {"KRAY_DOC_PORT", std::to_string(node_.port())},
            {"KRAY_DOC_STATUS", status_file_}};
  }

  // `curl` and `bitcoin-cli` as the examples call them.
  void WriteTools(const std::string& work) {
    WriteExecutable(work + "/bin/curl",
                    "#!/bin/bash\n"
                    "# docs/API.md's curl: the documented node address is the test's node;\n"
                    "# the HTTP status goes to $KRAY_DOC_STATUS.\n"
                    "args=()\n"
                    "for a in \"$@\"; do\n"
                    "  a=${a//127.0.0.1:5000/127.0.0.1:$KRAY_DOC_PORT}\n"
                    "  a=${a//localhost:5000/127.0.0.1:$KRAY_DOC_PORT}\n"
                    "  args+=(\"$a\")\n"
                    "done\n"
                    "exec " +
                        FindOnPath("curl") +
                        " --write-out '%{stderr}%{http_code}\\n' \"${args[@]}\" "
                        "2>>\"$KRAY_DOC_STATUS\"\n");
    // kray-cli (the validator examples sign with it) talks to the test's node.
    WriteExecutable(work + "/bin/kray-cli", "#!/bin/bash\nexec " + KrayCliPath() + " -rpcport=$KRAY_DOC_PORT \"$@\"\n");
    if (!bitcoin_cli_.empty()) {
      WriteExecutable(work + "/bin/bitcoin-cli", "#!/bin/bash\nexec " + bitcoin_cli_ +
                                                     " -datadir=" + bitcoind_.datadir() +
                                                     " -rpcport=" + std::to_string(bitcoind_.rpc_port()) + " \"$@\"\n");
    }
  }

  std::string Genesis(const std::string& name) {
    if (name == "market") return kSourceDir + "/docs/examples/genesis.market.json";
    if (name == "validators") return kSourceDir + "/docs/examples/genesis.validators.json";
    return RegtestGenesisPath();
  }

  // The configurations docs/API.md names; each is described there.
  std::vector<std::string> NodeArgs(const std::string& name, const std::string& work) {
    std::vector<std::string> args = {"-rpctoken=secret"};
    if (name == "default" || name == "market") {
      args.push_back("-maxbatchtxs=2");
      return args;
    }
    if (name == "validators") {
      args.push_back("-maxbatchtxs=4");
      return args;
    }
    if (name == "bridge") return BridgeArgs(work, args);
    ADD_FAILURE() << "docs/API.md names an unknown example node '" << name << "'";
    return args;
  }

  // A regtest bitcoind with a funded wallet "miner", and the bridge of the
  // public example federation (docs/examples/bridge/).
  std::vector<std::string> BridgeArgs(const std::string& work, std::vector<std::string> args) {
    auto binary = FindBitcoind();
    if (!binary) {
      if (BitcoindRequired()) ADD_FAILURE() << "bitcoind not found; KRAY_REQUIRE_BITCOIND=1 makes this a failure";
      return args;
    }
    if (!bitcoind_.running()) {
      std::string why;
      if (!bitcoind_.Start(*binary, &why)) {
        ADD_FAILURE() << why;
        return args;
      }
      bitcoind_.Call("createwallet", json::array({"miner"}));
      auto miner = bitcoind_.Call("getnewaddress", json::array({"", "bech32m"}), "miner");
      bitcoind_.Call("generatetoaddress", json::array({101, miner}));
    }
    bitcoin_cli_ = fs::path(*binary).parent_path() / "bitcoin-cli";
    std::string examples = kSourceDir + "/docs/examples/bridge";
    // The member key file must be private to the operator (krayd checks).
    std::string key = work + "/member-2.json";
    fs::copy_file(examples + "/member-2.json", key, fs::copy_options::overwrite_existing);
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
    json xpubs = json::parse(ReadAll(examples + "/xpubs.json"));
    args.insert(args.end(), {"-bitcoinrpcurl=http://127.0.0.1:" + std::to_string(bitcoind_.rpc_port()),
                             "-bitcoinrpccookiefile=" + bitcoind_.cookie_file(), "-depositconfirmations=6",
                             "-bridgepollms=50", "-bridgememberkey=" + key});
    for (int i = 0; i < 3; ++i)
      args.push_back("-bridgexpub" + std::to_string(i + 1) + "=" + xpubs[i].get<std::string>());
    return args;
  }

  std::string dir_, status_file_, bitcoin_cli_;
  KraydProcess node_;
  BitcoindProcess bitcoind_;
  BashSession bash_;
};

TEST(DocsExamplesConvention, EveryBlockIsAnExampleOrText) {
  const ApiDoc& doc = Doc();
  std::string all;
  for (const auto& p : doc.problems) all += "\n  " + p;
  EXPECT_TRUE(doc.problems.empty()) << all;
  std::size_t steps = 0;
  for (const auto& s : doc.segments) steps += s.steps.size();
  EXPECT_GT(steps, 40u);
  for (const char* key : {"timestamp", "created_at", "confirmed_at"}) EXPECT_TRUE(doc.volatile_keys.count(key)) << key;
}

TEST_F(DocsExamples, DefaultNode) {
  RunSegments("default");
}

TEST_F(DocsExamples, MarketNode) {
  RunSegments("market");
}

TEST_F(DocsExamples, ValidatorsNode) {
  RunSegments("validators");
}

TEST_F(DocsExamples, BridgeNode) {
  if (!FindBitcoind() && !BitcoindRequired()) GTEST_SKIP() << "bitcoind not found: set BITCOIND=/path/to/bitcoind";
  RunSegments("bridge");
}

// The matcher itself: what each documented form accepts and refuses.
TEST(DocPatternTest, EllipsesGlobsAndVolatileKeys) {
  std::string why;
  auto p = ParseDocPattern(R"({"a":"bcrt1p5mlu…kghfj","n":1,"t":5, …})", &why);
  ASSERT_TRUE(p) << why;
  std::set<std::string> vol = {"t"};
  EXPECT_EQ(MatchDocPattern(*p, json::parse(R"({"a":"bcrt1p5mluXYZkghfj","n":1,"t":99,"extra":true})"), vol), "");
  EXPECT_NE(MatchDocPattern(*p, json::parse(R"({"a":"bcrt1p5mluXYZkghfx","n":1,"t":99})"), vol), "");
  EXPECT_NE(MatchDocPattern(*p, json::parse(R"({"a":"bcrt1p5mlukghfj","n":2,"t":99})"), vol), "");
  EXPECT_NE(MatchDocPattern(*p, json::parse(R"({"a":"bcrt1p5mlukghfj","n":1,"t":"x"})"), vol), "");
  auto exact = ParseDocPattern(R"({"n":1})", &why);
  ASSERT_TRUE(exact);
  EXPECT_NE(MatchDocPattern(*exact, json::parse(R"({"n":1,"m":2})"), {}), "") << "an undocumented member";
  auto arr = ParseDocPattern(R"([{"x":1}, …, {"x":9}, …])", &why);
  ASSERT_TRUE(arr) << why;
  EXPECT_EQ(MatchDocPattern(*arr, json::parse(R"([{"x":1},{"x":2},{"x":9}])"), {}), "");
  EXPECT_NE(MatchDocPattern(*arr, json::parse(R"([{"x":2},{"x":9}])"), {}), "");
  auto any = ParseDocPattern(R"({… "op":"swap","from":…})", &why);
  ASSERT_TRUE(any) << why;
  EXPECT_EQ(MatchDocPattern(*any, json::parse(R"({"op":"swap","from":[1],"seq":3})"), {}), "");
  EXPECT_FALSE(ParseDocPattern(R"({"a":1)", &why));
  EXPECT_TRUE(GlobMatches("a…c…e", "abcde"));
  EXPECT_FALSE(GlobMatches("a…c…e", "abde"));
  EXPECT_TRUE(GlobMatches("…", ""));
}

}  // namespace
}  // namespace kray::test
