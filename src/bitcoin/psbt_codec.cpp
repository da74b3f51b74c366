// PSBT value codecs (BIP-174/371 value formats), base64 (RFC 4648) and WIF.
#include <algorithm>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/serialize.h"
#include "kray/bitcoin/taproot.h"
#include "psbt_internal.h"

namespace kray::bitcoin {
namespace psbt_internal {

Error Invalid(const char* code, std::string msg) {
  return Error::Invalid(code, std::move(msg));
}

Bytes MakeKey(std::uint8_t type, ByteSpan data) {
  Bytes key;
  key.reserve(1 + data.size());
  key.push_back(type);
  key.insert(key.end(), data.begin(), data.end());
  return key;
}

std::optional<KeyOrigin> DecodeKeyOrigin(ByteSpan value) {
  if (value.size() < 4 || value.size() % 4 != 0) return std::nullopt;
  KeyOrigin o;
  std::copy(value.begin(), value.begin() + 4, o.fingerprint.begin());
  for (std::size_t i = 4; i < value.size(); i += 4) {
    o.path.push_back(static_cast<std::uint32_t>(value[i]) | static_cast<std::uint32_t>(value[i + 1]) << 8 |
                     static_cast<std::uint32_t>(value[i + 2]) << 16 | static_cast<std::uint32_t>(value[i + 3]) << 24);
  }
  return o;
}

Bytes EncodeKeyOrigin(const KeyOrigin& origin) {
  ByteWriter w(4 + 4 * origin.path.size());
  w.WriteBytes(origin.fingerprint);
  for (std::uint32_t p : origin.path) w.WriteU32LE(p);
  return w.Take();
}

std::optional<TapKeyOrigin> DecodeTapKeyOrigin(ByteSpan value) {
  ByteReader r(value);
  auto n = r.ReadCompactSize(value.size() / 32);
  if (!n.ok()) return std::nullopt;
  TapKeyOrigin out;
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto h = r.ReadSpan(32);
    if (!h) return std::nullopt;
    Hash256 leaf;
    std::copy(h->begin(), h->end(), leaf.begin());
    out.leaf_hashes.push_back(leaf);
  }
  auto rest = r.ReadSpan(r.remaining());
  if (!rest) return std::nullopt;
  auto origin = DecodeKeyOrigin(*rest);
  if (!origin) return std::nullopt;
  out.origin = std::move(*origin);
  return out;
}

Bytes EncodeTapKeyOrigin(const TapKeyOrigin& origin) {
  ByteWriter w;
  w.WriteCompactSize(origin.leaf_hashes.size());
  for (const Hash256& h : origin.leaf_hashes) w.WriteBytes(h);
  w.WriteBytes(EncodeKeyOrigin(origin.origin));
  return w.Take();
}

std::optional<TxOut> DecodeTxOut(ByteSpan value) {
  ByteReader r(value);
  auto amount = r.ReadI64LE();
  if (!amount) return std::nullopt;
  auto script = r.ReadVarBytes(value.size());
  if (!script.ok() || !r.empty()) return std::nullopt;
  return TxOut{*amount, std::move(*script)};
}

Bytes EncodeTxOut(const TxOut& out) {
  ByteWriter w(9 + out.script_pubkey.size());
  w.WriteI64LE(out.value).WriteVarBytes(out.script_pubkey);
  return w.Take();
}

std::optional<std::vector<Bytes>> DecodeWitnessStack(ByteSpan value) {
  ByteReader r(value);
  // Every element takes at least one byte, which bounds the count.
  auto n = r.ReadCompactSize(value.size());
  if (!n.ok()) return std::nullopt;
  std::vector<Bytes> stack;
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto item = r.ReadVarBytes(value.size());
    if (!item.ok()) return std::nullopt;
    stack.push_back(std::move(*item));
  }
  if (!r.empty()) return std::nullopt;
  return stack;
}

Bytes EncodeWitnessStack(const std::vector<Bytes>& stack) {
  ByteWriter w;
  w.WriteCompactSize(stack.size());
  for (const Bytes& item : stack) w.WriteVarBytes(item);
  return w.Take();
}

std::optional<std::vector<TapTreeLeaf>> DecodeTapTree(ByteSpan value) {
  ByteReader r(value);
  std::vector<TapTreeLeaf> leaves;
  // Depths of the subtrees completed so far, merged pairwise like Bitcoin
  // Core's TaprootBuilder: the leaves must form one complete binary tree.
  std::vector<std::uint8_t> pending;
  while (!r.empty()) {
    if (pending.size() == 1 && pending[0] == 0) return std::nullopt;  // tree already complete
    auto depth = r.ReadU8();
    auto version = r.ReadU8();
    if (!depth || !version) return std::nullopt;
    if (*depth > kTaprootControlMaxNodes || (*version & 1) != 0) return std::nullopt;
    auto script = r.ReadVarBytes(value.size());
    if (!script.ok()) return std::nullopt;
    leaves.push_back({*depth, *version, std::move(*script)});
    pending.push_back(*depth);
    while (pending.size() >= 2 && pending[pending.size() - 1] == pending[pending.size() - 2]) {
      std::uint8_t d = pending.back();
      if (d == 0) return std::nullopt;
      pending.pop_back();
      pending.back() = static_cast<std::uint8_t>(d - 1);
    }
  }
  if (leaves.empty() || pending.size() != 1 || pending[0] != 0) return std::nullopt;
  return leaves;
}

Bytes EncodeTapTree(const std::vector<TapTreeLeaf>& leaves) {
  ByteWriter w;
  for (const TapTreeLeaf& l : leaves) w.WriteU8(l.depth).WriteU8(l.leaf_version).WriteVarBytes(l.script);
  return w.Take();
}

bool ValidControlBlockSize(std::size_t size) {
  return size >= kTaprootControlBaseSize && (size - kTaprootControlBaseSize) % kTaprootControlNodeSize == 0 &&
         size <= kTaprootControlBaseSize + kTaprootControlNodeSize * kTaprootControlMaxNodes;
}

}  // namespace psbt_internal

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string Base64Encode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t v =
        static_cast<std::uint32_t>(data[i]) << 16 | static_cast<std::uint32_t>(data[i + 1]) << 8 | data[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  std::size_t rest = data.size() - i;
  if (rest == 1) {
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16 | static_cast<std::uint32_t>(data[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Error::Invalid("base64_invalid", "base64 length is not a multiple of 4");
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return Error::Invalid("base64_invalid", "data after base64 padding");
      v[k] = B64Value(c);
      if (v[k] < 0) return Error::Invalid("base64_invalid", "invalid base64 character");
    }
    std::uint32_t n = static_cast<std::uint32_t>(v[0]) << 18 | static_cast<std::uint32_t>(v[1]) << 12 |
                      static_cast<std::uint32_t>(v[2]) << 6 | static_cast<std::uint32_t>(v[3]);
    // Canonical: the bits dropped by the padding must be zero.
    if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0))
      return Error::Invalid("base64_invalid", "non-canonical base64 padding bits");
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(n >> 8));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(n));
  }
  return out;
}

Result<WifKey> DecodeWif(std::string_view wif) {
  auto payload = Base58CheckDecode(wif, 60);
  if (!payload.ok()) return Error::Invalid("wif_invalid", "WIF: " + payload.error().message);
  const Bytes& p = *payload;
  if ((p.size() != 33 && p.size() != 34) || (p[0] != 0x80 && p[0] != 0xef) || (p.size() == 34 && p[33] != 0x01))
    return Error::Invalid("wif_invalid", "WIF: bad version byte, length or compression flag");
  WifKey out;
  std::copy(p.begin() + 1, p.begin() + 33, out.key.begin());
  out.compressed = p.size() == 34;
  out.mainnet = p[0] == 0x80;
  if (!crypto::IsValidSecretKey(out.key)) return Error::Invalid("wif_invalid", "WIF: secret key out of range");
  return out;
}

}  // namespace kray::bitcoin
