#include "bridge_setup.h"

#include <spdlog/spdlog.h>

#include <array>

#include "kray/bridge/member_key.h"

namespace kray::app {
namespace {

Error Bad(const std::string& why) {
  return Error::Invalid("invalid_config", "bridge: " + why);
}

}  // namespace

bool BridgeConfigured(const api::Config& cfg) {
  return !cfg.bitcoinrpchost.empty();
}

Result<BridgeNode> OpenBridge(const api::Config& cfg, state::Ledger& ledger) {
  const ChainParams& params = ledger.params();
  std::array<std::string, bridge::kFederationSize> xpubs;
  for (std::size_t i = 0; i < xpubs.size(); ++i) {
    if (cfg.bridgexpub[i].empty())
      return Bad("bitcoinrpcurl is set but bridgexpub" + std::to_string(i + 1) + " is not");
    xpubs[i] = cfg.bridgexpub[i];
  }
  auto federation = bridge::Federation::Make(params.network, xpubs);
  if (!federation.ok()) return Bad("bridgexpub1..3: " + federation.error().message);
  if (cfg.bitcoinrpccookiefile.empty() && cfg.bitcoinrpcuser.empty())
    return Bad("set bitcoinrpccookiefile, or bitcoinrpcuser and bitcoinrpcpassword");
  if (cfg.bridgestartheight < 0)
    return Bad("bridgestartheight is required on " + cfg.network + " (the federation's creation height)");

  BridgeNode node;
  if (!cfg.bridgememberkey.empty()) {
    auto key = bridge::LoadMemberKeyFile(cfg.bridgememberkey, params.network);
    if (!key.ok()) return Bad("bridgememberkey: " + key.error().message);
    for (std::size_t i = 0; i < xpubs.size(); ++i)
      if (federation->xpubs()[i] == key->Xpub()) node.member = static_cast<int>(i + 1);
    if (node.member == 0) return Bad("bridgememberkey: its xpub is none of bridgexpub1..3");
  }

  bridge::ScannerOptions o;
  o.rpc.host = cfg.bitcoinrpchost;
  o.rpc.port = static_cast<std::uint16_t>(cfg.bitcoinrpcport);
  o.rpc.user = cfg.bitcoinrpcuser;
  o.rpc.password = cfg.bitcoinrpcpassword;
  o.rpc.cookie_file = cfg.bitcoinrpccookiefile;
  // A dead node must not hold the scanner (or shutdown) for long: the
  // scanner's own backoff does the waiting.
  o.rpc.request_timeout = std::chrono::seconds(10);
  o.rpc.max_attempts = 2;
  o.confirmations = static_cast<std::uint32_t>(cfg.depositconfirmations);
  o.start_height = static_cast<std::uint32_t>(cfg.bridgestartheight);
  o.lookahead = static_cast<std::uint32_t>(cfg.bridgelookahead);
  o.min_deposit_sats = cfg.depositminsats;
  o.poll_interval = std::chrono::milliseconds(cfg.bridgepollms);
  auto runes = bridge::ParseBridgeRunes(params, cfg.bridgerunes);
  if (!runes.ok()) return Bad(runes.error().message);
  o.runes = std::move(*runes);
  auto scanner = bridge::DepositScanner::Open(ledger, *federation, o);
  if (!scanner.ok()) return Error{scanner.error().kind, scanner.error().code, "bridge: " + scanner.error().message};
  node.scanner = std::move(*scanner);
  spdlog::info("bridge: L1 backend {}:{}, federation member {}", cfg.bitcoinrpchost, cfg.bitcoinrpcport,
               node.member == 0 ? std::string("none (watching only)") : std::to_string(node.member));
  return node;
}

}  // namespace kray::app
