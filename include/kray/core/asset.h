// The assets an L2 account can hold. KRAY is the gas token.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kray {

struct AssetInfo {
  std::string symbol;        // "KRAY", "DOG", "BTC", ...
  int decimals = 0;          // base units per whole unit = 10^decimals
  std::string rune_id;       // "block:tx" on L1, empty for BTC
  std::string etching_txid;  // etching transaction, informational
};

inline constexpr std::string_view kGasAsset = "KRAY";

// The default asset set from API.md (KRAY, DOG, DOGSOCIAL, RADIOLA, BTC).
const std::vector<AssetInfo>& DefaultAssets();

// Finds an asset by symbol (exact, upper case) in `assets`.
const AssetInfo* FindAsset(const std::vector<AssetInfo>& assets, std::string_view symbol);

}  // namespace kray
