// Offline Bitcoin commands of kray-cli, implemented by the bitcoin module's
// engineers (one cmd_*.cpp each). Each takes its own arguments (options after
// the command, e.g. -network=) and needs no node. main.cpp registers them via
// KRAY_CLI_BITCOIN_COMMANDS: append a line there when adding a command.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace kray::cli {

// decoderunestone <raw tx hex>: the tx's runestone / cenotaph as JSON.
int CmdDecodeRunestone(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// derive <path> [-network=<net>] [-passphrase=<text>] for `mnemonic`: BIP-39/32
// key at path (xprv, xpub, x-only key; P2TR address on BIP-86 paths). The
// mnemonic is a secret: kray-cli reads it from a key file (secrets.h,
// CmdDeriveWithOptions) and passes it here, never from `args`.
int CmdDerive(const std::string& mnemonic, const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// decodepsbt <base64 psbt> [-network=<net>]: a BIP-174/371 PSBT as JSON (fields, fee).
int CmdDecodePsbt(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// multisig <k1> <k2> <k3> [-network=<net>]: the bridge's 2-of-3 taproot policy
// tr(NUMS,sortedmulti_a(2,...)) as JSON (address, descriptor, leaf script, NUMS key).
int CmdMultisig(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace kray::cli

#define KRAY_CLI_BITCOIN_COMMANDS                           \
  btc["decoderunestone"] = ::kray::cli::CmdDecodeRunestone; \
  btc["decodepsbt"] = ::kray::cli::CmdDecodePsbt;           \
  btc["multisig"] = ::kray::cli::CmdMultisig;
