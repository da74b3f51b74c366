// Hash functions used across krayd, backed by OpenSSL libcrypto.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "kray/core/bytes.h"

namespace kray::crypto {

using Hash160 = std::array<std::uint8_t, 20>;
using Hash512 = std::array<std::uint8_t, 64>;

Hash256 Sha256(ByteSpan data);
Hash256 Sha256d(ByteSpan data);  // SHA256(SHA256(x)), Bitcoin's txid hash
Hash512 Sha512(ByteSpan data);
Hash160 Ripemd160(ByteSpan data);
Hash160 HashOf160(ByteSpan data);  // RIPEMD160(SHA256(x)), Bitcoin's HASH160

// Incremental SHA-256. Not thread-safe; a copy clones the state (no
// allocation), which tagged hashes use to reuse the tag prefix.
class Sha256Hasher {
 public:
  Sha256Hasher();
  Sha256Hasher(const Sha256Hasher& other) = default;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  Sha256Hasher& Write(ByteSpan data);
  Sha256Hasher& Write(std::string_view s) { return Write(AsBytes(s)); }
  Hash256 Finalize();

 private:
  // OpenSSL's SHA256_CTX, kept inline so that a copy is a memcpy (hash.cpp
  // checks the size and alignment against the real struct).
  alignas(8) std::array<std::uint8_t, 112> ctx_;
};

// BIP-340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || data).
Hash256 TaggedHash(std::string_view tag, ByteSpan data);
// A hasher already primed with the tag prefix, for incremental tagged hashing.
Sha256Hasher TaggedHasher(std::string_view tag);

Hash512 HmacSha512(ByteSpan key, ByteSpan data);
Hash256 HmacSha256(ByteSpan key, ByteSpan data);
// PBKDF2-HMAC-SHA512 with a 64-byte output (BIP-39 seed derivation).
Hash512 Pbkdf2HmacSha512(ByteSpan password, ByteSpan salt, int iterations);

// a == b in time independent of the contents (OpenSSL CRYPTO_memcmp), for
// comparing secrets. Digests have a fixed size, so the length leaks nothing.
bool ConstantTimeEqual(const Hash256& a, const Hash256& b);

}  // namespace kray::crypto
