#include "bridge_setup.h"

#include <spdlog/spdlog.h>

#include <array>
#include <optional>
#include <utility>

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

BridgeNode::BridgeNode(BridgeNode&& other) noexcept {
  *this = std::move(other);
}

BridgeNode& BridgeNode::operator=(BridgeNode&& other) noexcept {
  if (this == &other) return *this;
  Stop();
  scanner = std::move(other.scanner);
  spends = std::move(other.spends);
  member = other.member;
  rollup = other.rollup;
  batch_listener = std::exchange(other.batch_listener, -1);
  return *this;
}

void BridgeNode::Stop() {
  if (rollup && batch_listener >= 0) rollup->RemoveBatchListener(batch_listener);
  batch_listener = -1;
  spends.reset();
  scanner.reset();
}

Result<BridgeNode> OpenBridge(const api::Config& cfg, state::Ledger& ledger, rollup::Rollup* rollup) {
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
  std::optional<bridge::MemberKey> member_key;
  if (!cfg.bridgememberkey.empty()) {
    auto key = bridge::LoadMemberKeyFile(cfg.bridgememberkey, params.network);
    if (!key.ok()) return Bad("bridgememberkey: " + key.error().message);
    for (std::size_t i = 0; i < xpubs.size(); ++i)
      if (federation->xpubs()[i] == key->Xpub()) node.member = static_cast<int>(i + 1);
    if (node.member == 0) return Bad("bridgememberkey: its xpub is none of bridgexpub1..3");
    member_key = std::move(*key);
  }
  if (cfg.bridgemaxfeerate < cfg.bridgefeerate) return Bad("bridgemaxfeerate is below bridgefeerate");

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

  bridge::SpendOptions so;
  so.rpc = o.rpc;
  so.confirmations = o.confirmations;
  so.fallback_feerate = static_cast<std::int64_t>(cfg.bridgefeerate) * 1000;
  so.max_feerate = static_cast<std::int64_t>(cfg.bridgemaxfeerate) * 1000;
  so.fee_bump_after = std::chrono::seconds(cfg.bridgefeebumpseconds);
  so.anchors = cfg.bridgeanchors;
  so.poll_interval = o.poll_interval;
  auto spends = bridge::SpendCoordinator::Open(ledger, *node.scanner, rollup, std::move(member_key), so);
  if (!spends.ok()) return Error{spends.error().kind, spends.error().code, "bridge: " + spends.error().message};
  node.spends = std::move(*spends);
  node.rollup = rollup;
  if (rollup) {
    // Quick: the coordinator's thread does the work (rollup.h: a listener
    // must not call back into the index).
    bridge::SpendCoordinator* c = node.spends.get();
    node.batch_listener = rollup->AddBatchListener([c](const rollup::BatchHeader&) { c->Wake(); });
  }
  spdlog::info("bridge: L1 backend {}:{}, federation member {}", cfg.bitcoinrpchost, cfg.bitcoinrpcport,
               node.member == 0 ? std::string("none (watching only)") : std::to_string(node.member));
  return node;
}

}  // namespace kray::app
