#include "kray/bridge/federation.h"

#include "kray/bitcoin/descriptor.h"

namespace kray::bridge {
namespace {

bool IsMainnetEncoding(Network net) {
  // BIP-32 version bytes: xpub (0x0488B21E) on mainnet, tpub (0x043587CF) on
  // every test network, as Bitcoin Core's chainparams define them.
  return net == Network::kMainnet;
}

}  // namespace

Result<Federation> Federation::Make(Network network, const std::array<std::string, kFederationSize>& xpubs) {
  Federation f;
  f.network_ = network;
  for (std::size_t i = 0; i < kFederationSize; ++i) {
    auto parsed = bitcoin::ParseExtKey(xpubs[i]);
    if (!parsed.ok()) {
      Error e = std::move(parsed).error();
      e.message = "member " + std::to_string(i + 1) + ": " + e.message;
      return e;
    }
    if (parsed->key.is_private())
      return Error::Invalid("federation_private_key",
                            "member " + std::to_string(i + 1) + " gave a private key; publish the xpub only");
    if (parsed->mainnet != IsMainnetEncoding(network))
      return Error::Invalid("federation_wrong_network", "member " + std::to_string(i + 1) + "'s key is encoded for " +
                                                            (parsed->mainnet ? "mainnet" : "a test network") +
                                                            ", not " + std::string(NetworkName(network)));
    f.xpubs_[i] = bitcoin::EncodeExtPubKey(parsed->key, network);
    auto child = bitcoin::Bip32DeriveChild(parsed->key, 0);
    if (!child.ok())
      return Error::Invalid("federation_bad_key", "member " + std::to_string(i + 1) + ": " + child.error().message);
    f.receive_[i] = std::move(*child);
  }
  for (std::size_t i = 0; i < kFederationSize; ++i) {
    for (std::size_t j = i + 1; j < kFederationSize; ++j) {
      // Two members with the same public key would make every leaf hold one
      // key twice; Bitcoin Core also rejects duplicate keys in sortedmulti_a.
      if (f.receive_[i].pubkey == f.receive_[j].pubkey)
        return Error::Invalid("federation_duplicate_key",
                              "members " + std::to_string(i + 1) + " and " + std::to_string(j + 1) + " share a key");
    }
  }
  return f;
}

std::string Federation::Descriptor() const {
  std::string d = "tr(" + ToHex(bitcoin::kNumsInternalKey) + ",sortedmulti_a(" + std::to_string(kFederationThreshold);
  for (const std::string& x : xpubs_) d += "," + x + "/0/*";
  d += "))";
  // Base58 and the descriptor punctuation are all in BIP-380's INPUT_CHARSET.
  return d + "#" + *bitcoin::DescriptorChecksum(d);
}

Result<std::array<crypto::XOnlyPubKey, kFederationSize>> Federation::MemberKeys(std::uint32_t index) const {
  if (index >= bitcoin::kBip32Hardened)
    return Error::Invalid("federation_bad_index", "address index must be below 2^31");
  std::array<crypto::XOnlyPubKey, kFederationSize> keys;
  for (std::size_t i = 0; i < kFederationSize; ++i) {
    auto child = bitcoin::Bip32DeriveChild(receive_[i], index);
    if (!child.ok()) return Error::Invalid("federation_bad_key", child.error().message);
    keys[i] = bitcoin::Bip32XOnly(*child);
  }
  return keys;
}

std::array<bitcoin::Fingerprint, kFederationSize> Federation::Fingerprints() const {
  // receive_[i] is XPUB_i/0, so its parent fingerprint is XPUB_i's own.
  std::array<bitcoin::Fingerprint, kFederationSize> out{};
  for (std::size_t i = 0; i < kFederationSize; ++i) out[i] = receive_[i].parent_fingerprint;
  return out;
}

Result<bitcoin::BridgePolicy> Federation::Policy(std::uint32_t index) const {
  auto keys = MemberKeys(index);
  if (!keys.ok()) return std::move(keys).error();
  return bitcoin::MakeBridgePolicy(*keys);
}

Result<std::string> Federation::Address(std::uint32_t index) const {
  auto policy = Policy(index);
  if (!policy.ok()) return std::move(policy).error();
  return policy->Address(network_);
}

}  // namespace kray::bridge
