// kray-cli federation commands (docs/BRIDGE.md):
//   federation-init [-network=<net>] -out=<dir> [-show-secrets]
//     three member keys for a single-machine devnet: <dir>/member<N>.json
//     (BIP-39 mnemonic + BIP-87 account xprv, mode 0600, never overwritten);
//     prints the xpubs, the bridge descriptor, address 0 and the config lines.
//     Mnemonics are printed only with -show-secrets.
//   federation-address <xpub1> <xpub2> <xpub3> [-network=<net>] [-index=N] [-count=N]
//     the bridge descriptor and the addresses index..index+count-1.
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "cli.h"
#include "kray/bridge/federation.h"
#include "kray/bridge/member_key.h"

namespace kray::cli {
namespace {

struct FedArgs {
  Network network;
  std::string out;
  bool show_secrets = false;
  std::uint32_t index = 0;
  std::uint32_t count = 1;
  std::vector<std::string> positional;
};

bool ParseU32(const std::string& s, std::uint32_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Options after the command; -network defaults to the global one.
bool ParseFedArgs(const Options& o, const Args& a, FedArgs& f, std::ostream& err) {
  f.network = o.network;
  for (const std::string& arg : a) {
    if (arg.empty() || arg[0] != '-') {
      f.positional.push_back(arg);
      continue;
    }
    const std::string s = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
    const auto eq = s.find('=');
    const std::string key = s.substr(0, eq), val = eq == std::string::npos ? "" : s.substr(eq + 1);
    if (key == "network") {
      auto n = ParseNetwork(val);
      if (!n) {
        err << "error: unknown network '" << val << "'\n";
        return false;
      }
      f.network = *n;
    } else if (key == "out" && !val.empty()) {
      f.out = val;
    } else if (key == "show-secrets" && eq == std::string::npos) {
      f.show_secrets = true;
    } else if (key == "index" && ParseU32(val, f.index)) {
    } else if (key == "count" && ParseU32(val, f.count) && f.count >= 1 && f.count <= 10000) {
    } else {
      err << "error: bad option " << arg << "\n";
      return false;
    }
  }
  return true;
}

}  // namespace

int CmdFederationInit(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  FedArgs f;
  if (!ParseFedArgs(o, a, f, err)) return 1;
  if (f.out.empty() || !f.positional.empty()) {
    err << "error: usage: federation-init [-network=<net>] -out=<dir> [-show-secrets]\n";
    return 1;
  }
  if (::mkdir(f.out.c_str(), 0700) != 0 && errno != EEXIST) {
    err << "error: cannot create " << f.out << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::array<std::string, 3> paths;
  for (int i = 0; i < 3; ++i) {
    paths[i] = f.out + "/member" + std::to_string(i + 1) + ".json";
    struct stat st {};
    if (::stat(paths[i].c_str(), &st) == 0) {
      err << "error: member_key_exists: " << paths[i] << " already exists; not overwriting keys\n";
      return 1;
    }
  }
  std::array<bridge::MemberKey, 3> keys;
  std::array<std::string, 3> xpubs;
  for (int i = 0; i < 3; ++i) {
    auto k = bridge::GenerateMemberKey(f.network);
    if (!k.ok()) {
      err << "error: " << k.error().code << ": " << k.error().message << "\n";
      return 1;
    }
    keys[i] = std::move(*k);
    keys[i].member = i + 1;
    xpubs[i] = keys[i].Xpub();
  }
  auto fed = bridge::Federation::Make(f.network, xpubs);
  if (!fed.ok()) {
    err << "error: " << fed.error().code << ": " << fed.error().message << "\n";
    return 1;
  }
  for (int i = 0; i < 3; ++i) {
    auto s = bridge::WriteMemberKeyFile(paths[i], keys[i]);
    if (!s.ok()) {
      err << "error: " << s.error().code << ": " << s.error().message << "\n";
      return 1;
    }
  }
  nlohmann::ordered_json j;
  j["network"] = std::string(NetworkName(f.network));
  nlohmann::ordered_json members = nlohmann::ordered_json::array();
  for (int i = 0; i < 3; ++i) {
    nlohmann::ordered_json m;
    m["member"] = i + 1;
    m["xpub"] = xpubs[i];
    m["path"] = bitcoin::FormatBip32Path(bridge::MemberAccountPath(f.network));
    m["master_fingerprint"] = ToHex(keys[i].master_fingerprint);
    m["file"] = paths[i];
    if (f.show_secrets) m["mnemonic"] = keys[i].mnemonic;
    members.push_back(m);
  }
  j["members"] = members;
  j["descriptor"] = fed->Descriptor();
  j["address_0"] = *fed->Address(0);
  j["config"] = {"bridgexpub1=" + xpubs[0], "bridgexpub2=" + xpubs[1], "bridgexpub3=" + xpubs[2]};
  out << j.dump(2) << "\n";
  return 0;
}

int CmdFederationAddress(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  FedArgs f;
  if (!ParseFedArgs(o, a, f, err)) return 1;
  if (f.positional.size() != 3 || !f.out.empty() || f.show_secrets) {
    err << "error: usage: federation-address <xpub1> <xpub2> <xpub3> [-network=<net>] [-index=N] [-count=N]\n";
    return 1;
  }
  auto fed = bridge::Federation::Make(f.network, {f.positional[0], f.positional[1], f.positional[2]});
  if (!fed.ok()) {
    err << "error: " << fed.error().code << ": " << fed.error().message << "\n";
    return 1;
  }
  nlohmann::ordered_json j;
  j["network"] = std::string(NetworkName(f.network));
  j["descriptor"] = fed->Descriptor();
  nlohmann::ordered_json addresses = nlohmann::ordered_json::array();
  for (std::uint64_t i = f.index; i < std::uint64_t{f.index} + f.count; ++i) {
    auto addr = fed->Address(static_cast<std::uint32_t>(i));
    if (!addr.ok()) {
      err << "error: " << addr.error().code << ": " << addr.error().message << "\n";
      return 1;
    }
    addresses.push_back({{"index", i}, {"address", *addr}});
  }
  j["addresses"] = addresses;
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace kray::cli
