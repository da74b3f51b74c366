// Internal to src/api: the table of config keys behind config.h
// (config_keys.cpp). Each key has a default text, a help line and a setter,
// so -help, the example file and the parser cannot drift apart; config.cpp
// reads the command line and the file and resolves the defaults that
// depend on other keys.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kray/api/config.h"
#include "kray/core/result.h"

namespace kray::api::config_keys {

// What the setters fill: the config, and which keys were given (their
// defaults depend on other keys, resolved once all are read).
struct Parsed {
  Config cfg;
  bool ratelimit_set = false, burst_set = false, chainid_set = false, genesis_set = false;
  bool publicrate_set = false, publicburst_set = false;
  int rpcport_arg = 0;  // bitcoinrpcport (wins over bitcoinrpcurl's port)
};

using Setter = std::function<Status(Parsed&, const std::string& value, const std::string& base_dir)>;

struct KeyDef {
  ConfigKey doc;
  Setter set;
};

// Every key, in the order -help lists them.
const std::vector<KeyDef>& Keys();

}  // namespace kray::api::config_keys
