// kray-cli internals shared by the command files: options (bitcoin-cli
// style -key=value before the command), the node connection and output
// helpers. Every command returns the process exit code and writes errors as
// one line on `err`.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::cli {

struct Options {
  std::string rpcconnect = "127.0.0.1";
  std::uint16_t rpcport = 5000;
  std::string rpctoken;            // -rpctoken, else the token in <datadir>/.cookie
  std::string datadir = "./data";  // where krayd's .cookie is read from without -rpctoken
  std::string no_token_reason;     // why no token was found (for operator commands' errors)
  Network network = Network::kRegtest;
  std::string chainid;  // default kray-<network>-1
  int rpctimeout = 30;  // seconds
  bool legacy = false;  // send: sign the legacy transfer message (KRAY only)
  // Where commands read their secret (secrets.h): -keyfile=<path|->, or the
  // first argument with -insecure-argv-key.
  std::string keyfile;
  bool insecure_argv_key = false;
};

using Args = std::vector<std::string>;

// The result of one API call.
struct ApiReply {
  int status = 0;
  std::string body;
};

// Calls the node; nullopt after printing a one-line connection error.
std::optional<ApiReply> CallApi(const Options& o, const std::string& method, const std::string& target,
                                const std::string& body, std::ostream& err);
// Prints a reply: pretty JSON on `out` for 2xx (exit 0); otherwise one line
// "error: <status> <code>: <message>" on `err` (exit 1).
int PrintReply(const ApiReply& r, std::ostream& out, std::ostream& err);

// BIP-86 taproot address (network hrp) of an internal x-only key.
std::string Bip86Address(const Options& o, const crypto::XOnlyPubKey& internal);
std::string ChainId(const Options& o);

// Commands (cmd_keys.cpp).
int CmdKeygen(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdAddress(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdSign(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
// derive with its mnemonic read through secrets.h (the BIP-32 work is
// CmdDerive in bitcoin_commands.h).
int CmdDeriveWithOptions(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
// Prints "error: usage: <text>" and returns 1.
int Usage(std::ostream& err, const char* text);
// The account's next nonce (GET …/balance); nullopt after printing an error.
std::optional<std::uint64_t> FetchNonce(const Options& o, const std::string& account_id, std::ostream& err);
// Commands (cmd_ops.cpp): any registered operation, and the node's list of them.
int CmdOp(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdOpTypes(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
// Commands (cmd_node.cpp).
int CmdSend(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdCreateAccount(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdBalance(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdTx(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdStatus(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdCheckConservation(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
// Commands (cmd_validator.cpp): what a validator signs with its validator key.
int CmdAttest(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdHeartbeat(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdSignAttestation(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdSignRegistration(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
// Commands (cmd_federation.cpp, offline): bridge federation keys and addresses.
int CmdFederationInit(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdFederationAddress(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
// Command (cmd_signpsbt.cpp): a member co-signs a withdrawal batch or an anchor.
int CmdSignPsbt(const Options& o, const Args& a, std::ostream& out, std::ostream& err);

}  // namespace kray::cli
