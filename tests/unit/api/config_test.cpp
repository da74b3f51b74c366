// Config: file + command line (command line wins), unknown keys, defaults,
// path resolution.
#include "kray/api/config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "kray/rollup/rollup.h"
#include "kray/state/ledger.h"

namespace kray::api {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kray_api_config_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(ConfigTest, Defaults) {
  auto c = ParseConfigArgs({"-datadir=" + (dir_ / "none").string()});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->bind, "127.0.0.1");
  EXPECT_EQ(c->port, 5000);
  EXPECT_EQ(c->network, "regtest");
  EXPECT_EQ(c->chainid, "kray-regtest-1");
  EXPECT_EQ(c->synchronous, "FULL");
  EXPECT_EQ(c->ratelimit, 0);
  EXPECT_GE(c->rpcthreads, 1);
  EXPECT_EQ(c->rpctoken, "");
  EXPECT_EQ(c->maxgroup, 2048u);
  EXPECT_EQ(c->batchinterval, 3600u);
  EXPECT_EQ(c->maxbatchtxs, 10000u);
  EXPECT_EQ(c->maxbatchleaves, 100000u);
  EXPECT_EQ(c->maxbatchleaves, static_cast<std::uint64_t>(rollup::RollupOptions{}.max_batch_leaves));
  EXPECT_EQ(c->rolluppersistms, 250u);
  EXPECT_EQ(c->rolluppersistlagms, 2000u);
  EXPECT_EQ(c->rollupprune, 0u);
  EXPECT_TRUE(c->rolluplowprio);
  EXPECT_EQ(c->rollupcache, 1024u);
  EXPECT_EQ(c->rollupcache, rollup::kDefaultRollupCacheMiB);  // config.h's literal is the rollup's default
  EXPECT_EQ(c->writeback, 10u);
  EXPECT_EQ(c->accountcache, 1024u);
  EXPECT_EQ(c->accountcache, state::kDefaultAccountCacheMiB);  // config.h's literal is the ledger's default
  EXPECT_EQ(c->groupwait, 0u);
  EXPECT_EQ(std::chrono::microseconds(c->groupwait), state::LedgerOptions{}.group_wait);  // off in both
  EXPECT_EQ(c->conf, "");
}

TEST_F(ConfigTest, FileThenCommandLineWins) {
  auto conf = Write("k.conf",
                    "# comment line\n"
                    "port=6000   # trailing comment\n"
                    "  bind = 0.0.0.0  \n"
                    "\n"
                    "rpctoken=filetoken\n"
                    "datadir=mydata\n"
                    "genesis=g.json\n"
                    "ratelimit=20\n"
                    "synchronous=normal\n"
                    "maxbatchtxs=50\n"
                    "maxbatchleaves=0\n"
                    "rolluppersistms=1000\n"
                    "rolluppersistlagms=0\n"
                    "rollupprune=24\n"
                    "rolluplowprio=0\n"
                    "rollupcache=4096\n"
                    "writeback=0\n"
                    "accountcache=3000\n"
                    "groupwait=300\n");
  auto c = ParseConfigArgs({"-conf=" + conf, "-port=7000", "--rpctoken=cli"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->conf, conf);
  EXPECT_EQ(c->port, 7000);
  EXPECT_EQ(c->bind, "0.0.0.0");
  EXPECT_EQ(c->rpctoken, "cli");
  EXPECT_EQ(c->ratelimit, 20);
  EXPECT_EQ(c->ratelimitburst, 40);  // default 2 x rate
  EXPECT_EQ(c->synchronous, "NORMAL");
  EXPECT_EQ(c->maxbatchtxs, 50u);
  EXPECT_EQ(c->maxbatchleaves, 0u);  // no bound
  EXPECT_EQ(c->rolluppersistms, 1000u);
  EXPECT_EQ(c->rolluppersistlagms, 0u);
  EXPECT_EQ(c->rollupprune, 24u);
  EXPECT_FALSE(c->rolluplowprio);
  EXPECT_EQ(c->rollupcache, 4096u);
  EXPECT_EQ(c->writeback, 0u);
  EXPECT_EQ(c->accountcache, 3000u);
  EXPECT_EQ(c->groupwait, 300u);
  // Relative paths in the file are relative to the file's directory.
  EXPECT_EQ(fs::path(c->datadir), (dir_ / "mydata").lexically_normal());
  EXPECT_EQ(fs::path(c->genesis), (dir_ / "g.json").lexically_normal());
}

TEST_F(ConfigTest, CommandLinePathsAreRelativeToCwd) {
  auto conf = Write("k.conf", "datadir=fromfile\n");
  auto c = ParseConfigArgs({"-conf=" + conf, "-datadir=rel/dir"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->datadir, "rel/dir");
}

TEST_F(ConfigTest, UnknownKeysAreErrorsNamingTheKey) {
  auto conf = Write("k.conf", "port=1\nfrobnicate=1\n");
  auto c = ParseConfigArgs({"-conf=" + conf});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "unknown_config_key");
  EXPECT_NE(c.error().message.find("frobnicate"), std::string::npos);
  EXPECT_NE(c.error().message.find(":2:"), std::string::npos);  // line number

  auto c2 = ParseConfigArgs({"-prot=5000"});
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.error().message.find("-prot"), std::string::npos);
}

TEST_F(ConfigTest, BadValuesAreErrors) {
  for (const char* arg : {"-port=70000",
                          "-port=abc",
                          "-port=",
                          "-network=moon",
                          "-synchronous=OFF",
                          "-rpcthreads=0",
                          "-ratelimit=-1",
                          "-loglevel=loud",
                          "-maxgroup=0",
                          "-rollupprune=-1",
                          "-rollupprune=1000000001",
                          "-rollupcache=15",
                          "-writeback=301",
                          "-writeback=-1",
                          "-writeback=1s",
                          "-groupwait=10001",
                          "-groupwait=-1",
                          "-groupwait=300us",
                          "-rollupcache=1048577",
                          "-rollupcache=1G",
                          "-accountcache=15",
                          "-accountcache=1048577",
                          "-accountcache=2G",
                          "-port",
                          "-rolluplowprio=2",
                          "-rolluplowprio=yes",
                          "-maxbatchleaves=999",  // 0, or 1000..10^8
                          "-maxbatchleaves=100000001",
                          "-maxbatchleaves=-1",
                          "-maxbatchleaves="}) {
    auto c = ParseConfigArgs({arg});
    EXPECT_FALSE(c.ok()) << arg;
  }
  auto bad_line = Write("b.conf", "justakey\n");
  EXPECT_FALSE(ParseConfigArgs({"-conf=" + bad_line}).ok());
  EXPECT_FALSE(ParseConfigArgs({"-conf=" + (dir_ / "missing.conf").string()}).ok());
  auto conf_in_conf = Write("c.conf", "conf=other\n");
  EXPECT_FALSE(ParseConfigArgs({"-conf=" + conf_in_conf}).ok());
  auto leaves = ParseConfigArgs({"-maxbatchleaves=1000"});
  ASSERT_TRUE(leaves.ok()) << leaves.error().message;
  EXPECT_EQ(leaves->maxbatchleaves, 1000u);
  auto small = ParseConfigArgs({"-maxbatchleaves=500"});
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("expected 0 or an integer in [1000, 100000000]"), std::string::npos)
      << small.error().message;
}

TEST_F(ConfigTest, NetworkDrivesDefaults) {
  auto c = ParseConfigArgs({"-network=testnet", "-datadir=" + dir_.string()});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->chainid, "kray-testnet-1");
  EXPECT_GT(c->ratelimit, 0);  // public networks are rate limited by default
  EXPECT_EQ(c->publicratelimit, 1);
  EXPECT_EQ(c->publicratelimitburst, 10);
  EXPECT_EQ(c->maxbatchitems, 5000u);
  auto regtest = ParseConfigArgs({"-datadir=" + dir_.string()});
  ASSERT_TRUE(regtest.ok());
  EXPECT_EQ(regtest->publicratelimit, 0);
  auto set = ParseConfigArgs({"-publicratelimit=0.5", "-maxbatchitems=100", "-datadir=" + dir_.string()});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->publicratelimit, 0.5);
  EXPECT_EQ(set->publicratelimitburst, 5);
  EXPECT_EQ(set->maxbatchitems, 100u);
  EXPECT_FALSE(ParseConfigArgs({"-maxbatchitems=0"}).ok());
  auto c2 = ParseConfigArgs({"-network=testnet", "-ratelimit=0", "-chainid=x-1"});
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->ratelimit, 0);
  EXPECT_EQ(c2->chainid, "x-1");
}

TEST_F(ConfigTest, DatadirConfIsReadWithoutConf) {
  Write("krayd.conf", "port=5555\n");
  auto c = ParseConfigArgs({"-datadir=" + dir_.string()});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 5555);
}

TEST_F(ConfigTest, GenesisNextToConfigFileIsFound) {
  auto g = Write("genesis.regtest.json", "{}");
  auto conf = Write("k.conf", "port=1\n");
  auto c = ParseConfigArgs({"-conf=" + conf});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(fs::path(c->genesis), fs::path(g).lexically_normal());
}

// An installed krayd (<prefix>/bin/krayd) finds <prefix>/share/krayd/genesis.*
// wherever the tree was put (DESTDIR, dpkg-deb -x), after the config dir.
TEST_F(ConfigTest, GenesisOfTheInstalledTreeIsFound) {
  EXPECT_EQ(InstalledDataDir("/usr/bin/krayd"), "/usr/share/krayd");
  EXPECT_EQ(InstalledDataDir("/opt/k/bin/krayd"), "/opt/k/share/krayd");
  fs::create_directories(dir_ / "root/usr/bin");
  fs::create_directories(dir_ / "root/usr/share/krayd");
  fs::create_directories(dir_ / "root/etc/krayd");
  std::string exe = Write("root/usr/bin/krayd", "");
  std::string installed = Write("root/usr/share/krayd/genesis.regtest.json", "{}");
  std::string conf = Write("root/etc/krayd/krayd.conf", "");
  // ./config is searched before the installed tree: run from a directory without one.
  fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  EXPECT_EQ(fs::path(FindDefaultGenesis("regtest", conf, exe)), fs::path(installed).lexically_normal());
  EXPECT_EQ(FindDefaultGenesis("testnet", conf, exe), "");  // only the network's own file
  std::string next_to_conf = Write("root/etc/krayd/genesis.regtest.json", "{}");
  EXPECT_EQ(fs::path(FindDefaultGenesis("regtest", conf, exe)), fs::path(next_to_conf).lexically_normal());
  fs::current_path(cwd);
}

TEST_F(ConfigTest, HelpVersionAndCommands) {
  auto c = ParseConfigArgs({"-help", "-bogus=1"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->help);
  EXPECT_TRUE(ParseConfigArgs({"-version"})->version);
  auto cmd = ParseConfigArgs({"checkconservation", "-datadir=" + dir_.string()});
  ASSERT_TRUE(cmd.ok());
  ASSERT_EQ(cmd->commands.size(), 1u);
  EXPECT_EQ(cmd->commands[0], "checkconservation");
  auto help = HelpText();
  for (const auto& k : ConfigKeys()) EXPECT_NE(help.find(std::string("-") + k.name + "="), std::string::npos) << k.name;
}

}  // namespace
}  // namespace kray::api

namespace kray::api {
namespace {

// The example file documents every key and is itself a valid config.
TEST_F(ConfigTest, BridgeKeys) {
  const std::string dd = "-datadir=" + (dir_ / "none").string();
  // Off by default; defaults by network.
  auto c = ParseConfigArgs({dd});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->bitcoinrpchost, "");
  EXPECT_EQ(c->bitcoinrpcport, 18443);
  EXPECT_EQ(c->bridgestartheight, 0);
  EXPECT_EQ(c->depositconfirmations, 6u);
  auto main = ParseConfigArgs({dd, "-network=mainnet"});
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(main->bitcoinrpcport, 8332);
  EXPECT_EQ(main->bridgestartheight, -1);  // required there: krayd refuses to start the bridge without it
  // The URL forms; the explicit port wins over the URL's.
  for (const auto& [url, host, port] :
       std::vector<std::tuple<std::string, std::string, int>>{{"127.0.0.1", "127.0.0.1", 18443},
                                                              {"127.0.0.1:1234", "127.0.0.1", 1234},
                                                              {"http://node.lan:8332/", "node.lan", 8332},
                                                              {"http://node.lan", "node.lan", 18443}}) {
    auto u = ParseConfigArgs({dd, "-bitcoinrpcurl=" + url});
    ASSERT_TRUE(u.ok()) << url << ": " << u.error().message;
    EXPECT_EQ(u->bitcoinrpchost, host) << url;
    EXPECT_EQ(u->bitcoinrpcport, port) << url;
  }
  auto both = ParseConfigArgs({dd, "-bitcoinrpcurl=h:1234", "-bitcoinrpcport=999"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->bitcoinrpcport, 999);
  // Cookie file paths in a config file are relative to it.
  auto conf = Write("b.conf", "bitcoinrpccookiefile=regtest/.cookie\nbridgexpub2=tpubX\ndepositconfirmations=3\n");
  auto f = ParseConfigArgs({"-conf=" + conf});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->bitcoinrpccookiefile, (dir_ / "regtest/.cookie").string());
  EXPECT_EQ(f->bridgexpub[1], "tpubX");
  EXPECT_EQ(f->depositconfirmations, 3u);
  for (const char* bad : {"-bitcoinrpcurl=", "-bitcoinrpcurl=https://x", "-bitcoinrpcurl=u:p@h", "-bitcoinrpcurl=h:0",
                          "-bitcoinrpcurl=h:99999", "-bitcoinrpcport=0", "-depositconfirmations=0",
                          "-bridgestartheight=-1", "-bridgelookahead=0", "-bridgepollms=1", "-bridgeanchors=2",
                          "-bridgemaxfeerate=0", "-bridgefeerate=-1", "-bridgefeebumpseconds=0"}) {
    auto b = ParseConfigArgs({dd, bad});
    EXPECT_FALSE(b.ok()) << bad;
  }
}

TEST(ConfigExample, DocumentsEveryKeyAndParses) {
  std::string path = std::string(KRAY_SOURCE_DIR) + "/config/krayd.conf.example";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& k : ConfigKeys()) {
    EXPECT_NE(text.find(std::string("#") + k.name + "="), std::string::npos) << "undocumented key " << k.name;
  }
  auto c = ParseConfigArgs({"-conf=" + path});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->port, 5000);
  // Uncommenting every line must parse too (the documented values are valid).
  std::string uncommented;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    for (const auto& k : ConfigKeys()) {
      if (line.rfind(std::string("#") + k.name + "=", 0) == 0) {
        std::string kv = line.substr(1);
        if (kv.back() == '=') continue;  // empty default (portfile, rpctoken)
        if (std::string(k.name) == "genesis" || std::string(k.name) == "datadir") continue;
        uncommented += kv + "\n";
      }
    }
  }
  auto tmp = std::filesystem::temp_directory_path() / ("kray_example_" + std::to_string(::getpid()) + ".conf");
  std::ofstream(tmp) << uncommented;
  auto c2 = ParseConfigArgs({"-conf=" + tmp.string()});
  std::filesystem::remove(tmp);
  ASSERT_TRUE(c2.ok()) << c2.error().message << "\n" << uncommented;
  EXPECT_EQ(c2->ratelimit, 0);
  EXPECT_EQ(c2->rpcthreads, 2);
}

}  // namespace
}  // namespace kray::api
