#include "kray/crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kray::crypto {

namespace {
template <std::size_t N>
std::array<std::uint8_t, N> Digest(const EVP_MD* md, ByteSpan data) {
  std::array<std::uint8_t, N> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N)
    throw std::runtime_error("EVP_Digest failed");
  return out;
}
}  // namespace

Hash256 Sha256(ByteSpan data) {
  return Sha256Hasher().Write(data).Finalize();
}

Hash256 Sha256d(ByteSpan data) {
  Hash256 once = Sha256(data);
  return Sha256(once);
}

Hash512 Sha512(ByteSpan data) {
  Hash512 out;
  SHA512(data.data(), data.size(), out.data());
  return out;
}

Hash160 Ripemd160(ByteSpan data) {
  return Digest<20>(EVP_ripemd160(), data);
}

Hash160 HashOf160(ByteSpan data) {
  return Ripemd160(Sha256(data));
}

// SHA256_CTX is a plain struct, so copying the state clones the hash: the
// cheapest way to reuse a tagged-hash prefix, which the Merkle tree does
// millions of times. OpenSSL 3 deprecates these calls but keeps them; the
// EVP equivalent costs an allocation per hasher, and the one-shot SHA256()
// fetches the algorithm on every call (4x slower for a 64-byte input).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
namespace {
SHA256_CTX* Ctx(std::array<std::uint8_t, 112>& bytes) {
  static_assert(sizeof(SHA256_CTX) == 112 && alignof(SHA256_CTX) <= 8, "Sha256Hasher::ctx_ must fit SHA256_CTX");
  return reinterpret_cast<SHA256_CTX*>(bytes.data());
}
}  // namespace

Sha256Hasher::Sha256Hasher() {
  SHA256_Init(Ctx(ctx_));
}

Sha256Hasher& Sha256Hasher::Write(ByteSpan data) {
  SHA256_Update(Ctx(ctx_), data.data(), data.size());
  return *this;
}

Hash256 Sha256Hasher::Finalize() {
  Hash256 out;
  SHA256_Final(out.data(), Ctx(ctx_));
  return out;
}

#pragma GCC diagnostic pop

// The state after SHA256(tag) || SHA256(tag) is the same for every use of a
// tag: computed once per tag and thread, then copied (a program uses a
// handful of tags; the copy is a 112-byte struct).
Sha256Hasher TaggedHasher(std::string_view tag) {
  thread_local std::vector<std::pair<std::string, Sha256Hasher>> prefixes;
  for (const auto& [t, h] : prefixes)
    if (t == tag) return h;
  Hash256 tag_hash = Sha256(AsBytes(tag));
  Sha256Hasher h;
  h.Write(tag_hash).Write(tag_hash);
  if (prefixes.size() < 64) prefixes.emplace_back(std::string(tag), h);
  return h;
}

Hash256 TaggedHash(std::string_view tag, ByteSpan data) {
  Sha256Hasher h = TaggedHasher(tag);
  return h.Write(data).Finalize();
}

Hash512 HmacSha512(ByteSpan key, ByteSpan data) {
  Hash512 out;
  unsigned int len = 0;
  HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  return out;
}

Hash256 HmacSha256(ByteSpan key, ByteSpan data) {
  Hash256 out;
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  return out;
}

Hash512 Pbkdf2HmacSha512(ByteSpan password, ByteSpan salt, int iterations) {
  Hash512 out;
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), iterations, EVP_sha512(), static_cast<int>(out.size()),
                        out.data()) != 1)
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  return out;
}

bool ConstantTimeEqual(const Hash256& a, const Hash256& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kray::crypto
