// Rune name rules used when indexing etchings: ord's
// crates/ordinals/src/rune.rs (RESERVED, reserved(), commitment(),
// first_rune_height(), minimum_at_height()).
#include "kray/bitcoin/runestone.h"

namespace kray::bitcoin {
namespace {

// ord's SUBSIDY_HALVING_INTERVAL (the mainnet value; ord uses it on every
// network).
constexpr std::uint32_t kSubsidyHalvingInterval = 210'000;
// Names of up to 12 letters unlock after FirstRuneHeight; 13+ letters are
// open from the start.
constexpr std::uint32_t kUnlocked = 12;
constexpr std::uint32_t kUnlockInterval = kSubsidyHalvingInterval / 12;

// ord's Rune::STEPS[i]: the first name with i + 1 letters, i.e.
// 26 + 26^2 + ... + 26^i. Only i <= 12 is needed here (fits in u64).
u128 Step(std::uint32_t i) {
  u128 sum = 0, power = 1;
  for (std::uint32_t k = 1; k <= i; ++k) {
    power *= 26;
    sum += power;
  }
  return sum;
}

}  // namespace

bool IsReservedRune(Rune rune) {
  return rune.value >= kReservedRune;
}

Rune ReservedRune(std::uint64_t block, std::uint32_t tx) {
  // (block << 32 | tx) < 2^96 and kReservedRune < 2^123: no overflow.
  return Rune{kReservedRune + ((u128{block} << 32) | u128{tx})};
}

Bytes RuneCommitment(Rune rune) {
  Bytes out;
  for (int i = 0; i < 16; ++i) out.push_back(static_cast<std::uint8_t>(rune.value >> (8 * i)));
  while (!out.empty() && out.back() == 0) out.pop_back();
  return out;
}

std::uint32_t FirstRuneHeight(Network network) {
  switch (network) {
    case Network::kMainnet:
      return kSubsidyHalvingInterval * 4;
    case Network::kTestnet:
      return kSubsidyHalvingInterval * 12;
    case Network::kSignet:
    case Network::kRegtest:
      return 0;
  }
  return 0;
}

Rune MinimumRuneAtHeight(Network network, std::uint32_t height) {
  // ord: offset = height + 1 (saturating); progress measured from the start.
  const std::uint32_t offset = height == UINT32_MAX ? height : height + 1;
  const std::uint32_t start = FirstRuneHeight(network);
  const std::uint32_t end = start + kSubsidyHalvingInterval;
  if (offset < start) return Rune{Step(kUnlocked)};
  if (offset >= end) return Rune{0};
  const std::uint32_t progress = offset - start;
  const std::uint32_t length = kUnlocked - progress / kUnlockInterval;  // 1..12
  const u128 step_end = Step(length - 1);
  const u128 step_start = Step(length);
  const u128 remainder = progress % kUnlockInterval;
  return Rune{step_start - ((step_start - step_end) * remainder / kUnlockInterval)};
}

}  // namespace kray::bitcoin
