// BIP-32 (https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki).
#include "kray/bitcoin/bip32.h"

#include <secp256k1.h>

#include <algorithm>
#include <cstring>

#include "kray/bitcoin/address.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {
namespace {

constexpr std::uint32_t kXprv = 0x0488ADE4, kXpub = 0x0488B21E;
constexpr std::uint32_t kTprv = 0x04358394, kTpub = 0x043587CF;

const secp256k1_context* Ctx() {
  return static_cast<const secp256k1_context*>(crypto::Secp256k1Context());
}

// Adds tweak*G to a compressed public key. nullopt if tweak >= n or the
// result is infinity.
std::optional<crypto::CompressedPubKey> PubTweakAdd(const crypto::CompressedPubKey& pub, const std::uint8_t* tweak) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_parse(Ctx(), &pk, pub.data(), pub.size())) return std::nullopt;
  if (!secp256k1_ec_pubkey_tweak_add(Ctx(), &pk, tweak)) return std::nullopt;
  crypto::CompressedPubKey out;
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(Ctx(), out.data(), &len, &pk, SECP256K1_EC_COMPRESSED);
  return out;
}

bool ValidPubKey(const std::uint8_t* data33) {
  secp256k1_pubkey pk;
  return secp256k1_ec_pubkey_parse(Ctx(), &pk, data33, 33) == 1;
}

void PutU32BE(Bytes& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint32_t GetU32BE(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

Bytes Serialize(const ExtKey& key, std::uint32_t version, bool priv) {
  Bytes out;
  out.reserve(78);
  PutU32BE(out, version);
  out.push_back(key.depth);
  out.insert(out.end(), key.parent_fingerprint.begin(), key.parent_fingerprint.end());
  PutU32BE(out, key.child_number);
  out.insert(out.end(), key.chain_code.begin(), key.chain_code.end());
  if (priv) {
    out.push_back(0);
    out.insert(out.end(), key.secret->begin(), key.secret->end());
  } else {
    out.insert(out.end(), key.pubkey.begin(), key.pubkey.end());
  }
  return out;
}

Error Bad(const char* code, const char* msg) {
  return Error::Invalid(code, msg);
}

}  // namespace

Result<ExtKey> Bip32MasterKey(ByteSpan seed) {
  if (seed.size() < 16 || seed.size() > 64) return Bad("bip32_bad_seed_length", "BIP-32 seeds are 16..64 bytes");
  static constexpr std::string_view kKey = "Bitcoin seed";
  const crypto::Hash512 i = crypto::HmacSha512(AsBytes(kKey), seed);
  ExtKey key;
  crypto::SecretKey sk;
  std::copy(i.begin(), i.begin() + 32, sk.begin());
  if (!crypto::IsValidSecretKey(sk)) return Bad("bip32_invalid_master", "master key out of range; use another seed");
  std::copy(i.begin() + 32, i.end(), key.chain_code.begin());
  key.secret = sk;
  key.pubkey = *crypto::PubKeyFromSecret(sk);
  return key;
}

Result<ExtKey> Bip32DeriveChild(const ExtKey& parent, std::uint32_t index) {
  const bool hardened = (index & kBip32Hardened) != 0;
  if (hardened && !parent.is_private())
    return Bad("bip32_hardened_from_public", "hardened derivation needs the private key");
  if (parent.depth == 255) return Bad("bip32_depth_overflow", "BIP-32 depth is limited to 255");
  Bytes data;
  data.reserve(37);
  if (hardened) {
    data.push_back(0);
    data.insert(data.end(), parent.secret->begin(), parent.secret->end());
  } else {
    data.insert(data.end(), parent.pubkey.begin(), parent.pubkey.end());
  }
  PutU32BE(data, index);
  const crypto::Hash512 i = crypto::HmacSha512(parent.chain_code, data);

  ExtKey child;
  child.depth = static_cast<std::uint8_t>(parent.depth + 1);
  child.parent_fingerprint = Bip32Fingerprint(parent);
  child.child_number = index;
  std::copy(i.begin() + 32, i.end(), child.chain_code.begin());
  crypto::SecretKey il;
  std::copy(i.begin(), i.begin() + 32, il.begin());
  if (parent.is_private()) {
    // k_i = parse256(I_L) + k_par (mod n); tweak_add fails if I_L >= n or the sum is 0.
    crypto::SecretKey k = *parent.secret;
    if (!secp256k1_ec_seckey_tweak_add(Ctx(), k.data(), il.data()))
      return Bad("bip32_invalid_child", "invalid child key at this index; use the next one");
    child.secret = k;
    child.pubkey = *crypto::PubKeyFromSecret(k);
  } else {
    auto pub = PubTweakAdd(parent.pubkey, il.data());
    if (!pub) return Bad("bip32_invalid_child", "invalid child key at this index; use the next one");
    child.pubkey = *pub;
  }
  return child;
}

Result<ExtKey> Bip32DerivePath(const ExtKey& root, std::span<const std::uint32_t> path) {
  ExtKey key = root;
  for (std::uint32_t index : path) {
    auto next = Bip32DeriveChild(key, index);
    if (!next) return next.error();
    key = std::move(*next);
  }
  return key;
}

ExtKey Bip32Neuter(const ExtKey& key) {
  ExtKey pub = key;
  pub.secret.reset();
  return pub;
}

Fingerprint Bip32Fingerprint(const ExtKey& key) {
  const crypto::Hash160 h = crypto::HashOf160(key.pubkey);
  return {h[0], h[1], h[2], h[3]};
}

crypto::XOnlyPubKey Bip32XOnly(const ExtKey& key) {
  return *crypto::XOnlyFromCompressed(key.pubkey);
}

Result<std::string> EncodeExtPrivKey(const ExtKey& key, Network net) {
  if (!key.is_private()) return Bad("bip32_not_private", "not a private extended key");
  return Base58CheckEncode(Serialize(key, net == Network::kMainnet ? kXprv : kTprv, true));
}

std::string EncodeExtPubKey(const ExtKey& key, Network net) {
  return Base58CheckEncode(Serialize(key, net == Network::kMainnet ? kXpub : kTpub, false));
}

Result<ParsedExtKey> ParseExtKey(std::string_view str) {
  auto raw = Base58CheckDecode(str, 120);
  if (!raw) {
    Error e = std::move(raw).error();
    if (e.code == "base58_bad_checksum") e.code = "extkey_bad_checksum";
    return e;
  }
  const Bytes& b = *raw;
  if (b.size() != 78) return Bad("extkey_bad_length", "extended keys are 78 bytes");
  const std::uint32_t version = GetU32BE(b.data());
  bool priv, mainnet;
  switch (version) {
    case kXprv:
      priv = true;
      mainnet = true;
      break;
    case kXpub:
      priv = false;
      mainnet = true;
      break;
    case kTprv:
      priv = true;
      mainnet = false;
      break;
    case kTpub:
      priv = false;
      mainnet = false;
      break;
    default:
      return Bad("extkey_unknown_version", "unknown extended key version");
  }
  ParsedExtKey out;
  out.mainnet = mainnet;
  ExtKey& key = out.key;
  key.depth = b[4];
  std::copy(b.begin() + 5, b.begin() + 9, key.parent_fingerprint.begin());
  key.child_number = GetU32BE(b.data() + 9);
  std::copy(b.begin() + 13, b.begin() + 45, key.chain_code.begin());
  const std::uint8_t prefix = b[45];
  if (priv) {
    if (prefix == 0x02 || prefix == 0x03)
      return Bad("extkey_version_mismatch", "private key version with public key data");
    if (prefix != 0x00) return Bad("extkey_bad_key_prefix", "private key data must start with 0x00");
  } else {
    if (prefix == 0x00) return Bad("extkey_version_mismatch", "public key version with private key data");
    if (prefix != 0x02 && prefix != 0x03) return Bad("extkey_bad_key_prefix", "public key must start with 02 or 03");
  }
  if (key.depth == 0 && (key.parent_fingerprint != Fingerprint{} || key.child_number != 0))
    return Bad("extkey_zero_depth", "depth 0 key with a parent fingerprint or child number");
  if (priv) {
    crypto::SecretKey sk;
    std::copy(b.begin() + 46, b.end(), sk.begin());
    if (!crypto::IsValidSecretKey(sk)) return Bad("extkey_invalid_private_key", "private key not in 1..n-1");
    key.secret = sk;
    key.pubkey = *crypto::PubKeyFromSecret(sk);
  } else {
    if (!ValidPubKey(b.data() + 45)) return Bad("extkey_invalid_public_key", "public key is not on the curve");
    std::copy(b.begin() + 45, b.end(), key.pubkey.begin());
  }
  return out;
}

Result<std::vector<std::uint32_t>> ParseBip32Path(std::string_view path) {
  if (path.empty() || path[0] != 'm') return Bad("bip32_bad_path", "a path starts with m");
  std::vector<std::uint32_t> out;
  std::size_t i = 1;
  while (i < path.size()) {
    if (path[i] != '/') return Bad("bip32_bad_path", "path levels are separated by /");
    ++i;
    std::uint64_t v = 0;
    std::size_t digits = 0;
    while (i < path.size() && path[i] >= '0' && path[i] <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(path[i] - '0');
      if (v >= kBip32Hardened) return Bad("bip32_bad_path", "path index must be below 2^31");
      ++i;
      ++digits;
    }
    if (digits == 0) return Bad("bip32_bad_path", "empty or non-numeric path level");
    if (i < path.size() && (path[i] == '\'' || path[i] == 'h' || path[i] == 'H')) {
      v |= kBip32Hardened;
      ++i;
    }
    if (out.size() == 255) return Bad("bip32_bad_path", "paths have at most 255 levels");
    out.push_back(static_cast<std::uint32_t>(v));
  }
  return out;
}

std::string FormatBip32Path(std::span<const std::uint32_t> path) {
  std::string out = "m";
  for (std::uint32_t v : path) {
    out += "/" + std::to_string(v & ~kBip32Hardened);
    if (v & kBip32Hardened) out += "'";
  }
  return out;
}

std::vector<std::uint32_t> Bip86Path(Network net, std::uint32_t account, std::uint32_t change, std::uint32_t index) {
  const std::uint32_t coin = net == Network::kMainnet ? 0 : 1;
  return {86 | kBip32Hardened, coin | kBip32Hardened, account | kBip32Hardened, change, index};
}

bool IsBip86Path(std::span<const std::uint32_t> path) {
  return path.size() == 5 && path[0] == (86 | kBip32Hardened) && (path[1] & kBip32Hardened) &&
         (path[2] & kBip32Hardened) && !(path[3] & kBip32Hardened) && !(path[4] & kBip32Hardened);
}

}  // namespace kray::bitcoin
