// Chain parameters: which Bitcoin network the node anchors to, its chain id,
// its asset set and the gas schedule. Immutable after startup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/asset.h"

namespace kray {

enum class Network { kMainnet, kTestnet, kSignet, kRegtest };

std::optional<Network> ParseNetwork(std::string_view name);  // "main"/"mainnet", "testnet", "signet", "regtest"
std::string_view NetworkName(Network net);                   // "mainnet", "testnet", "signet", "regtest"
std::string_view Bech32Hrp(Network net);                     // "bc", "tb", "tb", "bcrt"

// Transaction types and their gas, from the original's schedule (in KRAY credits).
enum class TxType {
  kTransfer,
  kSwap,
  kStake,
  kUnstake,
  kMarketList,
  kMarketBuy,
  kDefiComplex,
  kWithdrawal,
};

std::optional<TxType> ParseTxType(std::string_view name);  // "transfer", "swap", ...
std::string_view TxTypeName(TxType type);
Amount GasFor(TxType type);  // transfer 1, swap 5, stake 2, unstake 2, list 10, buy 5, defi 20, withdrawal 100

// Half of every gas fee is burned, the other half accrues to the validator fee
// pool. Odd fees: the extra credit is burned (burn = fee - fee/2).
struct GasSplit {
  Amount burned;
  Amount to_validators;
};
GasSplit SplitGas(Amount fee);

struct ChainParams {
  Network network = Network::kRegtest;
  std::string chain_id = "kray-regtest-1";
  std::vector<AssetInfo> assets = DefaultAssets();

  std::string_view hrp() const { return Bech32Hrp(network); }
};

}  // namespace kray
