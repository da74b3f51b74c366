// ECDSA wrappers over libsecp256k1; see include/kray/crypto/ecdsa.h.
#include "kray/crypto/ecdsa.h"

#include <secp256k1.h>

namespace kray::crypto {
namespace {

const secp256k1_context* Ctx() {
  return static_cast<const secp256k1_context*>(Secp256k1Context());
}

// Bitcoin Core's ecdsa_signature_parse_der_lax is not exported by the
// library; secp256k1_ecdsa_signature_parse_der is strict BIP-66 DER, which
// is what every signature krayd produces or accepts in a PSBT.
bool ParseDer(ByteSpan der, secp256k1_ecdsa_signature* sig) {
  if (der.empty()) return false;
  return secp256k1_ecdsa_signature_parse_der(Ctx(), sig, der.data(), der.size()) == 1;
}

}  // namespace

bool IsValidPubKey(ByteSpan pubkey) {
  if (pubkey.size() != 33 && pubkey.size() != 65) return false;
  if (pubkey.size() == 33 && pubkey[0] != 0x02 && pubkey[0] != 0x03) return false;
  if (pubkey.size() == 65 && pubkey[0] != 0x04) return false;  // hybrid keys are not valid PSBT keys
  secp256k1_pubkey pk;
  return secp256k1_ec_pubkey_parse(Ctx(), &pk, pubkey.data(), pubkey.size()) == 1;
}

std::optional<Bytes> EcdsaSignDer(const SecretKey& seckey, const Hash256& msg_hash) {
  if (!IsValidSecretKey(seckey)) return std::nullopt;
  secp256k1_ecdsa_signature sig;
  // nullptr nonce function = secp256k1_nonce_function_rfc6979, no extra data.
  if (secp256k1_ecdsa_sign(Ctx(), &sig, msg_hash.data(), seckey.data(), nullptr, nullptr) != 1) return std::nullopt;
  // libsecp256k1 always produces low-S signatures; normalising is a no-op guard.
  secp256k1_ecdsa_signature_normalize(Ctx(), &sig, &sig);
  unsigned char der[72];
  size_t len = sizeof(der);
  if (secp256k1_ecdsa_signature_serialize_der(Ctx(), der, &len, &sig) != 1) return std::nullopt;
  return Bytes(der, der + len);
}

bool EcdsaVerifyDer(ByteSpan pubkey, const Hash256& msg_hash, ByteSpan der_sig) {
  if (pubkey.size() != 33 && pubkey.size() != 65) return false;
  secp256k1_pubkey pk;
  if (secp256k1_ec_pubkey_parse(Ctx(), &pk, pubkey.data(), pubkey.size()) != 1) return false;
  secp256k1_ecdsa_signature sig;
  if (!ParseDer(der_sig, &sig)) return false;
  secp256k1_ecdsa_signature_normalize(Ctx(), &sig, &sig);
  return secp256k1_ecdsa_verify(Ctx(), &sig, msg_hash.data(), &pk) == 1;
}

std::optional<std::array<std::uint8_t, 65>> UncompressedPubKeyFromSecret(const SecretKey& seckey) {
  if (!IsValidSecretKey(seckey)) return std::nullopt;
  secp256k1_pubkey pk;
  if (secp256k1_ec_pubkey_create(Ctx(), &pk, seckey.data()) != 1) return std::nullopt;
  std::array<std::uint8_t, 65> out;
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(Ctx(), out.data(), &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  return out;
}

}  // namespace kray::crypto
