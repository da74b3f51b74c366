// Rollup commands of kray-cli (docs/ROLLUP.md). Each takes its own arguments
// (bitcoin-cli style -key=value options may appear anywhere) and returns the
// exit code; errors are one line on `err`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli.h"

namespace kray::cli {

// verifychain [-rpcconnect=127.0.0.1] [-rpcport=5000] [-rpctimeout=30]
//   [-from=1] [-quiet]
// Downloads the genesis file and every batch's operations over the API,
// re-validates, re-authorises and re-executes every operation with the same
// executor and modules as krayd, and compares each published tx root and
// state root. Exit 0 if all match; on the first divergence prints a
// self-contained fraud proof (JSON on `out`: batch, operation, pre-state
// proofs against the previous batch root, expected vs. published root) and
// exits 2. Exit 1 on connection/format errors.
int CmdVerifyChain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// verifyproof <address|account_id> -file=<proof.json|-> -root=<hex>   (offline)
// verifyproof <address|account_id> [-batch=N] [-rpcconnect=...] [-rpcport=...]
//   (fetches the proof and, separately, the batch's published root; without
//   -batch the latest closed batch)
// Checks an account proof (GET /api/account/:address/proof) against a root:
// it must be a proof for that account at that batch. Prints the proven leaf
// (or "absent") and exits 0 if valid, 1 otherwise.
int CmdVerifyProof(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The same two commands with kray-cli's global options (-rpcconnect, -rpcport,
// -rpctimeout given before the command) applied first; signatures match the
// `commands` table in main.cpp.
int CmdVerifyChainWithOptions(const Options& o, const Args& a, std::ostream& out, std::ostream& err);
int CmdVerifyProofWithOptions(const Options& o, const Args& a, std::ostream& out, std::ostream& err);

}  // namespace kray::cli
