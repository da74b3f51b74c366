#include "kray/core/asset.h"

namespace kray {

const std::vector<AssetInfo>& DefaultAssets() {
  // Rune ids as API.md gives them; only KRAY's full id is known to the spec,
  // the others are configurable (`asset=` in krayd.conf) once looked up on L1.
  static const std::vector<AssetInfo> kAssets = {
      {"KRAY", 3, "925516:1550", ""}, {"DOG", 5, "", ""}, {"DOGSOCIAL", 5, "", ""},
      {"RADIOLA", 5, "", ""},         {"BTC", 8, "", ""},
  };
  return kAssets;
}

const AssetInfo* FindAsset(const std::vector<AssetInfo>& assets, std::string_view symbol) {
  for (const auto& a : assets)
    if (a.symbol == symbol) return &a;
  return nullptr;
}

}  // namespace kray
