#include "kray/crypto/secp256k1.h"

#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstring>
#include <stdexcept>

namespace kray::crypto {

namespace {
// Created once and randomised (side-channel blinding); read-only afterwards,
// which libsecp256k1 documents as safe to share across threads.
secp256k1_context* Ctx() {
  static secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    std::array<std::uint8_t, 32> seed;
    RandomBytes(seed.data(), seed.size());
    if (!secp256k1_context_randomize(c, seed.data())) throw std::runtime_error("secp256k1 randomize failed");
    return c;
  }();
  return ctx;
}
}  // namespace

const void* Secp256k1Context() {
  return Ctx();
}

void RandomBytes(std::uint8_t* out, std::size_t len) {
  if (RAND_bytes(out, static_cast<int>(len)) != 1) throw std::runtime_error("RAND_bytes failed");
}

bool IsValidXOnly(const XOnlyPubKey& key) {
  secp256k1_xonly_pubkey pk;
  return secp256k1_xonly_pubkey_parse(Ctx(), &pk, key.data()) == 1;
}

static_assert(sizeof(secp256k1_xonly_pubkey) == 64, "VerifyingKey holds a secp256k1_xonly_pubkey");

std::optional<VerifyingKey> VerifyingKey::Parse(const XOnlyPubKey& key) {
  VerifyingKey out;
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(Ctx(), &pk, key.data())) return std::nullopt;
  std::memcpy(out.parsed_.data(), pk.data, sizeof(pk.data));
  out.bytes_ = key;
  return out;
}

std::optional<VerifyingKey> VerifyingKey::FromPoint(const XOnlyPubKey& x, const FieldBytes& y) {
  std::array<std::uint8_t, 65> uncompressed;
  uncompressed[0] = 0x04;
  std::memcpy(uncompressed.data() + 1, x.data(), x.size());
  std::memcpy(uncompressed.data() + 33, y.data(), y.size());
  secp256k1_pubkey full;  // parsing checks y^2 = x^3 + 7
  if (!secp256k1_ec_pubkey_parse(Ctx(), &full, uncompressed.data(), uncompressed.size())) return std::nullopt;
  secp256k1_xonly_pubkey pk;  // the point or its negation: the key of x either way
  if (!secp256k1_xonly_pubkey_from_pubkey(Ctx(), &pk, nullptr, &full)) return std::nullopt;
  VerifyingKey out;
  std::memcpy(out.parsed_.data(), pk.data, sizeof(pk.data));
  out.bytes_ = x;
  return out;
}

std::optional<FieldBytes> EvenY(const XOnlyPubKey& x) {
  std::array<std::uint8_t, 33> compressed;
  compressed[0] = 0x02;  // BIP-340's lift_x: the even y
  std::memcpy(compressed.data() + 1, x.data(), x.size());
  secp256k1_pubkey full;
  if (!secp256k1_ec_pubkey_parse(Ctx(), &full, compressed.data(), compressed.size())) return std::nullopt;
  std::array<std::uint8_t, 65> uncompressed;
  size_t len = uncompressed.size();
  secp256k1_ec_pubkey_serialize(Ctx(), uncompressed.data(), &len, &full, SECP256K1_EC_UNCOMPRESSED);
  FieldBytes y;
  std::memcpy(y.data(), uncompressed.data() + 33, y.size());
  return y;
}

bool SchnorrVerify(const VerifyingKey& key, ByteSpan msg, const SchnorrSig& sig) {
  secp256k1_xonly_pubkey pk;
  std::memcpy(pk.data, key.parsed_.data(), sizeof(pk.data));
  return secp256k1_schnorrsig_verify(Ctx(), sig.data(), msg.data(), msg.size(), &pk) == 1;
}

bool IsValidSecretKey(const SecretKey& key) {
  return secp256k1_ec_seckey_verify(Ctx(), key.data()) == 1;
}

bool SchnorrVerify(const XOnlyPubKey& pubkey, ByteSpan msg, const SchnorrSig& sig) {
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(Ctx(), &pk, pubkey.data())) return false;
  return secp256k1_schnorrsig_verify(Ctx(), sig.data(), msg.data(), msg.size(), &pk) == 1;
}

std::optional<SchnorrSig> SchnorrSign(const SecretKey& seckey, ByteSpan msg, const std::array<std::uint8_t, 32>& aux) {
  secp256k1_keypair kp;
  if (!secp256k1_keypair_create(Ctx(), &kp, seckey.data())) return std::nullopt;
  secp256k1_schnorrsig_extraparams params = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
  params.ndata = const_cast<std::uint8_t*>(aux.data());
  SchnorrSig sig;
  if (!secp256k1_schnorrsig_sign_custom(Ctx(), sig.data(), msg.data(), msg.size(), &kp, &params)) return std::nullopt;
  return sig;
}

std::optional<SchnorrSig> SchnorrSign(const SecretKey& seckey, ByteSpan msg) {
  std::array<std::uint8_t, 32> aux;
  RandomBytes(aux.data(), aux.size());
  return SchnorrSign(seckey, msg, aux);
}

std::optional<XOnlyPubKey> XOnlyFromSecret(const SecretKey& seckey) {
  secp256k1_keypair kp;
  if (!secp256k1_keypair_create(Ctx(), &kp, seckey.data())) return std::nullopt;
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_keypair_xonly_pub(Ctx(), &pk, nullptr, &kp)) return std::nullopt;
  XOnlyPubKey out;
  secp256k1_xonly_pubkey_serialize(Ctx(), out.data(), &pk);
  return out;
}

std::optional<CompressedPubKey> PubKeyFromSecret(const SecretKey& seckey) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_create(Ctx(), &pk, seckey.data())) return std::nullopt;
  CompressedPubKey out;
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(Ctx(), out.data(), &len, &pk, SECP256K1_EC_COMPRESSED);
  return out;
}

std::optional<XOnlyPubKey> XOnlyFromCompressed(ByteSpan compressed33) {
  if (compressed33.size() != 33) return std::nullopt;
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_parse(Ctx(), &pk, compressed33.data(), 33)) return std::nullopt;
  secp256k1_xonly_pubkey xpk;
  if (!secp256k1_xonly_pubkey_from_pubkey(Ctx(), &xpk, nullptr, &pk)) return std::nullopt;
  XOnlyPubKey out;
  secp256k1_xonly_pubkey_serialize(Ctx(), out.data(), &xpk);
  return out;
}

std::optional<TweakedKey> TweakXOnly(const XOnlyPubKey& internal, const Hash256& tweak) {
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(Ctx(), &pk, internal.data())) return std::nullopt;
  secp256k1_pubkey full;
  if (!secp256k1_xonly_pubkey_tweak_add(Ctx(), &full, &pk, tweak.data())) return std::nullopt;
  secp256k1_xonly_pubkey out_pk;
  int parity = 0;
  if (!secp256k1_xonly_pubkey_from_pubkey(Ctx(), &out_pk, &parity, &full)) return std::nullopt;
  TweakedKey out;
  secp256k1_xonly_pubkey_serialize(Ctx(), out.key.data(), &out_pk);
  out.odd_y = parity == 1;
  return out;
}

std::optional<SecretKey> TweakSecretForTaproot(const SecretKey& seckey, const Hash256& tweak) {
  secp256k1_keypair kp;
  if (!secp256k1_keypair_create(Ctx(), &kp, seckey.data())) return std::nullopt;
  if (!secp256k1_keypair_xonly_tweak_add(Ctx(), &kp, tweak.data())) return std::nullopt;
  SecretKey out;
  if (!secp256k1_keypair_sec(Ctx(), out.data(), &kp)) return std::nullopt;
  return out;
}

SecretKey GenerateSecretKey() {
  SecretKey key;
  do {
    RandomBytes(key.data(), key.size());
  } while (!IsValidSecretKey(key));
  return key;
}

}  // namespace kray::crypto
