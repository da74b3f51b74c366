// krayd configuration parsing (see config.h): the command line and the
// config file read through the table of keys (config_keys.h), then the
// defaults that depend on other keys resolved.
#include "kray/api/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "config_keys.h"

#ifndef KRAY_SOURCE_CONFIG_DIR
#define KRAY_SOURCE_CONFIG_DIR ""
#endif
// GNUInstallDirs' bin and data directories, relative to the install prefix.
#ifndef KRAY_INSTALL_BINDIR
#define KRAY_INSTALL_BINDIR "bin"
#endif
#ifndef KRAY_INSTALL_DATADIR
#define KRAY_INSTALL_DATADIR "share"
#endif

namespace kray::api {

namespace fs = std::filesystem;

namespace {

using config_keys::KeyDef;
using config_keys::Keys;
using config_keys::Parsed;

const KeyDef* FindKey(std::string_view name) {
  for (const auto& k : Keys())
    if (name == k.doc.name) return &k;
  return nullptr;
}

std::string Trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

Status ReadConfFile(const std::string& path, Parsed& p) {
  std::ifstream in(path);
  if (!in) return Error::Invalid("invalid_config", "cannot read config file " + path);
  std::string base = fs::path(path).parent_path().string();
  if (base.empty()) base = ".";
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::string t = Trim(line);
    if (t.empty()) continue;
    std::string where = path + ":" + std::to_string(lineno) + ": ";
    auto eq = t.find('=');
    if (eq == std::string::npos) return Error::Invalid("invalid_config", where + "expected key=value, got '" + t + "'");
    std::string key = Trim(std::string_view(t).substr(0, eq));
    std::string value = Trim(std::string_view(t).substr(eq + 1));
    if (key == "conf") return Error::Invalid("invalid_config", where + "'conf' cannot be set in a config file");
    const KeyDef* def = FindKey(key);
    if (!def) return Error::Invalid("unknown_config_key", where + "unknown key '" + key + "'");
    auto st = def->set(p, value, base);
    if (!st.ok()) return Error::Invalid("invalid_config", where + st.error().message);
  }
  return Ok();
}

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> docs = [] {
    std::vector<ConfigKey> d;
    for (const auto& k : Keys()) d.push_back(k.doc);
    return d;
  }();
  return docs;
}

std::string InstalledDataDir(const std::string& exe_path) {
  std::error_code ec;
  fs::path exe = exe_path.empty() ? fs::read_symlink("/proc/self/exe", ec) : fs::path(exe_path);
  fs::path bindir(KRAY_INSTALL_BINDIR);
  if (ec || exe.empty() || bindir.is_absolute()) return {};
  // <prefix>/<bindir>/krayd -> <prefix>: one parent per component of bindir.
  fs::path prefix = exe.parent_path();
  for (auto it = bindir.begin(); it != bindir.end(); ++it) prefix = prefix.parent_path();
  return (prefix / KRAY_INSTALL_DATADIR / "krayd").lexically_normal().string();
}

std::string FindDefaultGenesis(const std::string& network, const std::string& conf_path, const std::string& exe_path) {
  std::string name = "genesis." + network + ".json";
  std::vector<fs::path> dirs;
  if (!conf_path.empty()) {
    auto d = fs::path(conf_path).parent_path();
    dirs.push_back(d.empty() ? fs::path(".") : d);
  }
  dirs.push_back(fs::path("config"));
  if (std::string installed = InstalledDataDir(exe_path); !installed.empty()) dirs.push_back(installed);
  if (std::string_view(KRAY_SOURCE_CONFIG_DIR).size() > 0) dirs.push_back(fs::path(KRAY_SOURCE_CONFIG_DIR));
  for (const auto& d : dirs) {
    std::error_code ec;
    auto p = d / name;
    if (fs::is_regular_file(p, ec)) {
      auto abs = fs::absolute(p, ec);
      return (ec ? p : abs).lexically_normal().string();
    }
  }
  return {};
}

Result<Config> ParseConfigArgs(const std::vector<std::string>& args) {
  Parsed p;
  std::vector<std::pair<std::string, std::string>> cli;  // key, value
  std::string conf;
  bool conf_set = false;
  // -help/-version win over everything else on the line (even bad options).
  for (const auto& a : args) {
    std::string_view s(a);
    while (!s.empty() && s.front() == '-') s.remove_prefix(1);
    if (s == "help" || s == "h" || s == "?") p.cfg.help = true;
    if (s == "version") p.cfg.version = true;
  }
  if (p.cfg.help || p.cfg.version) return p.cfg;
  for (const auto& a : args) {
    if (a.empty() || a[0] != '-' || a == "-") {
      p.cfg.commands.push_back(a);
      continue;
    }
    std::string_view s(a);
    s.remove_prefix(s.size() > 1 && s[1] == '-' ? 2 : 1);  // -key or --key
    auto eq = s.find('=');
    std::string key(s.substr(0, eq));
    bool has_value = eq != std::string_view::npos;
    std::string value = has_value ? std::string(s.substr(eq + 1)) : std::string();
    if (key == "conf") {
      if (value.empty()) return Error::Invalid("invalid_config", "-conf needs a file: -conf=<file>");
      conf = value;
      conf_set = true;
      continue;
    }
    if (!FindKey(key)) return Error::Invalid("unknown_config_key", "unknown option -" + key + " (see krayd -help)");
    if (!has_value) return Error::Invalid("invalid_config", "option -" + key + " needs a value: -" + key + "=<value>");
    cli.emplace_back(std::move(key), std::move(value));
  }
  if (!conf_set) {
    // bitcoind's convention: <datadir>/krayd.conf is read when present.
    std::string datadir = p.cfg.datadir;
    for (auto& [k, v] : cli)
      if (k == "datadir") datadir = v;
    std::error_code ec;
    auto candidate = fs::path(datadir) / "krayd.conf";
    if (fs::is_regular_file(candidate, ec)) conf = candidate.string();
  }
  if (!conf.empty()) {
    KRAY_TRY(ReadConfFile(conf, p));
    p.cfg.conf = conf;
  }
  for (auto& [k, v] : cli) {
    auto st = FindKey(k)->set(p, v, "");
    if (!st.ok()) return std::move(st).error();
  }

  Config& c = p.cfg;
  if (!p.chainid_set) c.chainid = "kray-" + c.network + "-1";
  if (!p.ratelimit_set) c.ratelimit = c.network == "regtest" ? 0 : 100;
  if (!p.burst_set || c.ratelimitburst <= 0) c.ratelimitburst = c.ratelimit * 2;
  if (c.ratelimit > 0 && c.ratelimitburst < 1) c.ratelimitburst = 1;
  if (!p.publicrate_set) c.publicratelimit = c.network == "regtest" ? 0 : 1;
  if (!p.publicburst_set || c.publicratelimitburst <= 0) c.publicratelimitburst = c.publicratelimit * 10;
  if (c.publicratelimit > 0 && c.publicratelimitburst < 1) c.publicratelimitburst = 1;
  if (c.rpcthreads <= 0) c.rpcthreads = std::max(1u, std::thread::hardware_concurrency());
  if (!p.genesis_set) c.genesis = FindDefaultGenesis(c.network, c.conf);
  if (c.clockoffset != 0 && c.network != "regtest")
    return Error::Invalid("invalid_config", "clockoffset is a test setting and is refused outside regtest");
  // Bridge: the L1 endpoint's port and the scan start height by network.
  if (p.rpcport_arg != 0) c.bitcoinrpcport = p.rpcport_arg;
  if (c.bitcoinrpcport == 0) {
    c.bitcoinrpcport = c.network == "mainnet"   ? 8332
                       : c.network == "testnet" ? 18332
                       : c.network == "signet"  ? 38332
                                                : 18443;
  }
  if (c.bridgestartheight < 0 && c.network == "regtest") c.bridgestartheight = 0;
  return c;
}

Result<Config> ParseConfig(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return ParseConfigArgs(args);
}

std::string HelpText() {
  std::ostringstream o;
  o << "Usage: krayd [-conf=<file>] [-datadir=<dir>] [-<key>=<value> ...]\n"
       "       krayd checkconservation -datadir=<dir> [-conf=<file>]\n"
       "       krayd verify -datadir=<dir>              (replay and check every rollup batch)\n"
       "       krayd -help | -version\n\n"
       "Every key below may be set in the config file (key=value, # comments) or on the\n"
       "command line as -key=value; the command line wins. Without -conf, <datadir>/krayd.conf\n"
       "is read if it exists. Relative paths in the config file are relative to its directory.\n\n"
       "Keys (default):\n";
  for (const auto& k : ConfigKeys()) {
    o << "  -" << k.name << "=<v>  (" << k.default_text << ")\n      " << k.help << "\n";
  }
  o << "  -conf=<file>\n      Config file to read\n";
  return o.str();
}

}  // namespace kray::api
