#include "kray/core/params.h"

#include <array>
#include <utility>

#include "kray/core/result.h"

namespace kray {

int HttpStatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return 400;
    case ErrorKind::kUnauthorized:
      return 401;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kTooLarge:
      return 413;
    case ErrorKind::kRateLimited:
      return 429;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kInternal:
      return 500;
  }
  return 500;
}

std::optional<Network> ParseNetwork(std::string_view name) {
  if (name == "main" || name == "mainnet") return Network::kMainnet;
  if (name == "test" || name == "testnet") return Network::kTestnet;
  if (name == "signet") return Network::kSignet;
  if (name == "regtest") return Network::kRegtest;
  return std::nullopt;
}

std::string_view NetworkName(Network net) {
  switch (net) {
    case Network::kMainnet:
      return "mainnet";
    case Network::kTestnet:
      return "testnet";
    case Network::kSignet:
      return "signet";
    case Network::kRegtest:
      return "regtest";
  }
  return "regtest";
}

std::string_view Bech32Hrp(Network net) {
  switch (net) {
    case Network::kMainnet:
      return "bc";
    case Network::kTestnet:
    case Network::kSignet:
      return "tb";
    case Network::kRegtest:
      return "bcrt";
  }
  return "bcrt";
}

namespace {
struct TxTypeInfo {
  TxType type;
  std::string_view name;
  Amount gas;
};
constexpr std::array<TxTypeInfo, 8> kTxTypes = {{
    {TxType::kTransfer, "transfer", 1},
    {TxType::kSwap, "swap", 5},
    {TxType::kStake, "stake", 2},
    {TxType::kUnstake, "unstake", 2},
    {TxType::kMarketList, "marketplace_list", 10},
    {TxType::kMarketBuy, "marketplace_buy", 5},
    {TxType::kDefiComplex, "defi_complex", 20},
    {TxType::kWithdrawal, "withdrawal", 100},
}};
}  // namespace

std::optional<TxType> ParseTxType(std::string_view name) {
  for (const auto& t : kTxTypes)
    if (t.name == name) return t.type;
  return std::nullopt;
}

std::string_view TxTypeName(TxType type) {
  for (const auto& t : kTxTypes)
    if (t.type == type) return t.name;
  return "transfer";
}

Amount GasFor(TxType type) {
  for (const auto& t : kTxTypes)
    if (t.type == type) return t.gas;
  return 1;
}

GasSplit SplitGas(Amount fee) {
  Amount to_validators = fee / 2;
  return {fee - to_validators, to_validators};
}

}  // namespace kray
