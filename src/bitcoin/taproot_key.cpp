#include "kray/bitcoin/taproot_key.h"

#include "kray/bitcoin/bech32.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {

Hash256 TapTweakHash(const crypto::XOnlyPubKey& internal, const std::optional<Hash256>& merkle_root) {
  auto h = crypto::TaggedHasher("TapTweak");
  h.Write(internal);
  if (merkle_root) h.Write(*merkle_root);
  return h.Finalize();
}

std::optional<crypto::TweakedKey> TaprootOutputKey(const crypto::XOnlyPubKey& internal,
                                                   const std::optional<Hash256>& merkle_root) {
  return crypto::TweakXOnly(internal, TapTweakHash(internal, merkle_root));
}

std::string P2trAddress(std::string_view hrp, const crypto::XOnlyPubKey& output_key) {
  WitnessProgram wp{1, Bytes(output_key.begin(), output_key.end())};
  return EncodeSegwitAddress(hrp, wp).value();
}

Result<crypto::XOnlyPubKey> DecodeP2trAddress(std::string_view hrp, std::string_view addr) {
  auto wp = DecodeSegwitAddress(hrp, addr);
  if (!wp) return wp.error();
  if (wp->version != 1 || wp->program.size() != 32)
    return Error::Invalid("invalid_address", "not a taproot (P2TR, witness v1) address");
  crypto::XOnlyPubKey key;
  std::copy(wp->program.begin(), wp->program.end(), key.begin());
  return key;
}

Result<crypto::XOnlyPubKey> ParseAccountPubKey(std::string_view hex) {
  auto bytes = FromHex(hex);
  if (!bytes) return Error::Invalid("invalid_pubkey", "pubkey must be hex");
  if (bytes->size() == 32) {
    crypto::XOnlyPubKey key;
    std::copy(bytes->begin(), bytes->end(), key.begin());
    if (!crypto::IsValidXOnly(key)) return Error::Invalid("invalid_pubkey", "pubkey is not a valid curve point");
    return key;
  }
  if (bytes->size() == 33) {
    auto key = crypto::XOnlyFromCompressed(*bytes);
    if (!key) return Error::Invalid("invalid_pubkey", "pubkey is not a valid compressed key");
    return *key;
  }
  return Error::Invalid("invalid_pubkey", "pubkey must be 32 bytes (x-only) or 33 bytes (compressed)");
}

Status CheckBip86Key(std::string_view hrp, std::string_view address, const crypto::XOnlyPubKey& internal) {
  auto output = DecodeP2trAddress(hrp, address);
  if (!output) return output.error();
  auto tweaked = TaprootOutputKey(internal, std::nullopt);
  if (!tweaked || tweaked->key != *output)
    return Error::Invalid("pubkey_address_mismatch",
                          "pubkey is not the BIP-86 internal key of this address "
                          "(TapTweak of the pubkey with no script tree does not give the address's output key)");
  return Ok();
}

}  // namespace kray::bitcoin
