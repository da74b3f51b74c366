// The bridge federation and its deposit addresses. Three members each publish
// one extended public key (in a fixed, published order); the bridge is the
// ranged output descriptor
//
//   tr(NUMS,sortedmulti_a(2,XPUB1/0/*,XPUB2/0/*,XPUB3/0/*))#checksum
//
// (BIP-386 tr(), BIP-387 sortedmulti_a, BIP-380 checksum; NUMS is BIP-341's
// unspendable H point, bitcoin::kNumsInternalKey, so there is no key path).
// Address index i is the 2-of-3 tapscript policy over the x-only forms of each
// member's unhardened child XPUBj/0/i, sorted (bitcoin::MakeBridgePolicy).
// Bitcoin Core derives the same addresses from the same descriptor
// (deriveaddresses, or importdescriptors into a watch-only wallet).
//
// Extended keys are network-encoded as Bitcoin Core expects them: xpub on
// mainnet, tpub on testnet, signet and regtest.
//
// Thread-safety: a Federation is immutable after MakeFederation; its methods
// are const and safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "kray/bitcoin/bip32.h"
#include "kray/bitcoin/multisig.h"
#include "kray/core/params.h"
#include "kray/core/result.h"

namespace kray::bridge {

inline constexpr std::size_t kFederationSize = 3;
inline constexpr std::uint32_t kFederationThreshold = 2;

class Federation {
 public:
  // Parses the members' extended public keys, in their published order.
  // Errors (kInvalidInput): the extkey_* codes of bitcoin::ParseExtKey;
  // "federation_wrong_network" (xpub on a test network or tpub on mainnet);
  // "federation_private_key" (an xprv/tprv: members publish public keys
  // only); "federation_duplicate_key" (two members share a key);
  // "federation_bad_key" (a member key's /0 child is invalid, probability
  // below 2^-127).
  static Result<Federation> Make(Network network, const std::array<std::string, kFederationSize>& xpubs);

  Network network() const { return network_; }
  // The members' keys, re-encoded canonically, in the published order.
  const std::array<std::string, kFederationSize>& xpubs() const { return xpubs_; }

  // The ranged descriptor with its BIP-380 checksum (NUMS as x-only hex).
  std::string Descriptor() const;

  // The 2-of-3 policy of address index `index` (for deposits now, signing
  // later). Errors: "federation_bad_index" (index >= 2^31: ranged
  // descriptors derive unhardened children only), "federation_bad_key"
  // (a child key is invalid: BIP-32 says skip the index; probability below
  // 2^-127), or MakeBridgePolicy's errors (e.g. "multisig_duplicate_key").
  Result<bitcoin::BridgePolicy> Policy(std::uint32_t index) const;
  // Policy(index).Address(network()).
  Result<std::string> Address(std::uint32_t index) const;
  // The x-only keys of address index `index` in member order (member 1
  // first; the policy's leaf holds them sorted). Errors as Policy.
  Result<std::array<crypto::XOnlyPubKey, kFederationSize>> MemberKeys(std::uint32_t index) const;
  // BIP-32 fingerprint of each member's account xpub, in member order: the
  // key origin a PSBT names for a member's key is [fingerprint/0/index].
  std::array<bitcoin::Fingerprint, kFederationSize> Fingerprints() const;

 private:
  Network network_ = Network::kRegtest;
  std::array<std::string, kFederationSize> xpubs_;
  std::array<bitcoin::ExtKey, kFederationSize> receive_;  // each member's XPUB/0
};

}  // namespace kray::bridge
