// kray-cli: the command-line client of krayd (bitcoin-cli conventions).
//   kray-cli [options] <command> [args...]
// Options (before the command): -rpcconnect=<host> -rpcport=<port>
// -rpctoken=<token> -datadir=<dir> -network=<regtest|testnet|signet|mainnet>
// -chainid=<id> -rpctimeout=<s> -legacy -keyfile=<path|-> -insecure-argv-key. See docs/CLI.md.
#include <charconv>
#include <functional>
#include <iostream>
#include <map>

#include "cli.h"
#include "kray/api/auth_cookie.h"
#include "rollup_commands.h"
#if __has_include("bitcoin_commands.h")
#include "bitcoin_commands.h"
#define KRAY_CLI_HAS_BITCOIN 1
#endif

namespace {

using kray::cli::Args;
using kray::cli::Options;

const char* kHelp = R"(kray-cli [options] <command> [args...]

Options (before the command):
  -rpcconnect=<host>   node address (default 127.0.0.1)
  -rpcport=<port>      node port (default 5000)
  -rpctoken=<token>    operator token (Authorization: Bearer); default: the token in <datadir>/.cookie
  -datadir=<dir>       the node's data directory, for its .cookie (default ./data)
  -network=<net>       regtest (default), testnet, signet, mainnet
  -chainid=<id>        chain id bound by v1 signatures (default kray-<network>-1)
  -rpctimeout=<s>      request timeout in seconds (default 30)
  -legacy              send: sign the legacy transfer message (KRAY only)
  -keyfile=<path>      read the secret key (or derive's mnemonic) from this file; it must
                       not be accessible by group/others (chmod 600). -keyfile=- reads stdin
  -insecure-argv-key   devnet only: take the secret as the command's first argument instead
                       (visible in ps and shell history); keygen without -out prints it

Keys (offline; secrets come from -keyfile, see docs/CLI.md "Secrets"):
  keygen -out=<path>                      new key file (mode 0600, never overwritten); prints
                                          x-only pubkey, BIP-86 address, account id
  address                                 address and account id of the -keyfile key
  address <pubkey hex> [pubkey]           address of a public key (64 hex x-only or 66 hex)
  sign legacy <from> <to> <amount> <nonce>
  sign transfer <to> <amount> <nonce> [asset] [data] [tx_type]
  sign v1 <op> <nonce> [key=value ...]    any chain-bound message (docs/SIGNING.md)
  derive <path> [-network=<net>] [-passphrase=<text>]   BIP-32 key of the -keyfile mnemonic

Node:
  send|transfer <to> <amount> [asset]     fetch nonce, sign with the -keyfile key, submit
  createaccount                           bind the -keyfile key to its BIP-86 address
  balance <account_id|l1_address>
  tx <tx_hash>
  op <type> [field=value ...] [-nonce=N]  any operation (kray-cli optypes): signed with the -keyfile
                                          key (v1, nonce fetched), or as operator (-rpctoken); fields
                                          are made canonical and signed exactly as the node checks them
  optypes                                 every operation the node accepts: auth, gas, fields
  status                                  GET /health
  checkconservation                       operator: supply conservation check (exit 2 if violated)

Validators (docs/VALIDATORS.md; -keyfile is the validator key, not the staking account's):
  attest <batch>                          sign the batch's published roots and submit the attestation
  heartbeat                               sign the node's time and submit a heartbeat
  sign-attestation <batch> <state_root> <tx_root>   offline: the attestation message and signature
  sign-registration <account>             offline: the validator key's proof of possession for
                                          op validator_register (its validator_signature)

Rollup (docs/ROLLUP.md):
  verifychain [-from=N] [-quiet] [-bitcoinrpcconnect=<host> -bitcoinrpcport=<port>
              -bitcoinrpccookiefile=<file> | -bitcoinrpcuser=<u> -bitcoinrpcpassword=<p>]
                                          replay every batch over the API, check each published root (exit 2 +
                                          fraud proof on divergence); with a Bitcoin node, also each finalized
                                          batch's root against the OP_RETURN it reads from L1
  verifyproof <address|account_id> [-batch=N]   fetch an account proof and check it against the batch's published root
  verifyproof <account> -file=<proof.json|-> -root=<hex>  check a proof offline

Bridge federation (offline, docs/BRIDGE.md):
  federation-init [-network=<net>] -out=<dir> [-show-secrets]
                                          three member keys (mode 0600 files), xpubs, descriptor, config lines
  federation-address <xpub1> <xpub2> <xpub3> [-network=<net>] [-index=N] [-count=N]
                                          bridge descriptor and deposit addresses

Bridge signing (a federation member, docs/BRIDGE.md):
  signpsbt <withdrawal id> | -spend=<spend id> | -anchor=<batch>  -memberkey=<file> [-dryrun]
                                          check the spend (deadline passed, not challenged,
                                          pays exactly what L2 says), sign it as the member and
                                          post the PSBT (-dryrun: print it)

Bitcoin (offline):
  multisig ...  decodepsbt <base64>  decoderunestone <hex>
)";

bool ParseOption(const std::string& arg, Options& o, std::ostream& err) {
  std::string s = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
  auto eq = s.find('=');
  std::string key = s.substr(0, eq);
  std::string val = eq == std::string::npos ? "" : s.substr(eq + 1);
  auto need = [&]() {
    if (eq == std::string::npos || val.empty()) {
      err << "error: option -" << key << " needs a value (-" << key << "=...)\n";
      return false;
    }
    return true;
  };
  auto to_int = [&](long min, long max, long& out) {
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), out);
    if (ec != std::errc() || p != val.data() + val.size() || out < min || out > max) {
      err << "error: invalid value for -" << key << ": '" << val << "'\n";
      return false;
    }
    return true;
  };
  long n = 0;
  if (key == "rpcconnect") {
    if (!need()) return false;
    o.rpcconnect = val;
  } else if (key == "rpcport") {
    if (!need() || !to_int(1, 65535, n)) return false;
    o.rpcport = static_cast<std::uint16_t>(n);
  } else if (key == "rpctoken") {
    if (!need()) return false;
    o.rpctoken = val;
  } else if (key == "datadir") {
    if (!need()) return false;
    o.datadir = val;
  } else if (key == "network") {
    if (!need()) return false;
    auto net = kray::ParseNetwork(val);
    if (!net) {
      err << "error: unknown network '" << val << "'\n";
      return false;
    }
    o.network = *net;
  } else if (key == "chainid") {
    if (!need()) return false;
    o.chainid = val;
  } else if (key == "rpctimeout") {
    if (!need() || !to_int(1, 3600, n)) return false;
    o.rpctimeout = static_cast<int>(n);
  } else if (key == "legacy") {
    o.legacy = val.empty() || val == "1";
  } else if (key == "keyfile") {
    if (!need()) return false;
    o.keyfile = val;
  } else if (key == "insecure-argv-key") {
    o.insecure_argv_key = val.empty() || val == "1";
  } else {
    err << "error: unknown option -" << key << " (see kray-cli -help)\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; ++i) {
    std::string arg = argv[i];
    if (arg == "-help" || arg == "--help" || arg == "-h" || arg == "-?") {
      std::cout << kHelp;
      return 0;
    }
    if (!ParseOption(arg, o, std::cerr)) return 1;
  }
  if (i >= argc) {
    std::cerr << "error: no command given (see kray-cli -help)\n";
    return 1;
  }
  // bitcoin-cli's convention: without -rpctoken, the node's cookie file.
  if (o.rpctoken.empty()) {
    auto token = kray::api::ReadAuthCookie(o.datadir);
    if (token.ok()) {
      o.rpctoken = std::move(*token);
    } else {
      o.no_token_reason = token.error().message;
    }
  }
  std::string cmd = argv[i++];
  Args args(argv + i, argv + argc);

  using Fn = std::function<int(const Options&, const Args&, std::ostream&, std::ostream&)>;
  const std::map<std::string, Fn> commands = {
      {"keygen", kray::cli::CmdKeygen},
      {"address", kray::cli::CmdAddress},
      {"sign", kray::cli::CmdSign},
      {"derive", kray::cli::CmdDeriveWithOptions},
      {"send", kray::cli::CmdSend},
      {"op", kray::cli::CmdOp},
      {"optypes", kray::cli::CmdOpTypes},
      {"transfer", kray::cli::CmdSend},
      {"createaccount", kray::cli::CmdCreateAccount},
      {"balance", kray::cli::CmdBalance},
      {"tx", kray::cli::CmdTx},
      {"status", kray::cli::CmdStatus},
      {"checkconservation", kray::cli::CmdCheckConservation},
      {"verifychain", kray::cli::CmdVerifyChainWithOptions},
      {"verifyproof", kray::cli::CmdVerifyProofWithOptions},
      {"federation-init", kray::cli::CmdFederationInit},
      {"federation-address", kray::cli::CmdFederationAddress},
      {"signpsbt", kray::cli::CmdSignPsbt},
      {"attest", kray::cli::CmdAttest},
      {"heartbeat", kray::cli::CmdHeartbeat},
      {"sign-attestation", kray::cli::CmdSignAttestation},
      {"sign-registration", kray::cli::CmdSignRegistration},
  };
  if (auto it = commands.find(cmd); it != commands.end()) return it->second(o, args, std::cout, std::cerr);
  if (cmd == "help") {
    std::cout << kHelp;
    return 0;
  }

  // Bitcoin commands (src/app/cli/bitcoin_commands.h, written by the Bitcoin
  // module engineers). They take their own arguments and need no node.
  using BtcFn = std::function<int(const std::vector<std::string>&, std::ostream&, std::ostream&)>;
  std::map<std::string, BtcFn> btc;
#ifdef KRAY_CLI_HAS_BITCOIN
  KRAY_CLI_BITCOIN_COMMANDS
#endif
  if (auto it = btc.find(cmd); it != btc.end()) return it->second(args, std::cout, std::cerr);
  if (cmd == "multisig" || cmd == "decodepsbt" || cmd == "decoderunestone") {
    std::cerr << "error: command '" << cmd << "' is not available in this build\n";
    return 1;
  }
  std::cerr << "error: unknown command '" << cmd << "' (see kray-cli -help)\n";
  return 1;
}
