#include "kray/bitcoin/address.h"

#include <algorithm>
#include <cstring>

#include "kray/bitcoin/bech32.h"
#include "kray/bitcoin/script.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bitcoin {
namespace {

constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int Base58Value(char c) {
  const char* p = std::strchr(kAlphabet, c);
  if (c == '\0' || p == nullptr) return -1;
  return static_cast<int>(p - kAlphabet);
}

Error InvalidAddress(std::string msg) {
  return Error::Invalid("invalid_address", std::move(msg));
}

}  // namespace

std::string Base58Encode(ByteSpan data) {
  // Leading zero bytes become '1's; the rest is a big-endian base conversion.
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  std::vector<std::uint8_t> b58((data.size() - zeros) * 138 / 100 + 1, 0);
  std::size_t length = 0;
  for (std::size_t i = zeros; i < data.size(); ++i) {
    int carry = data[i];
    std::size_t j = 0;
    for (auto it = b58.rbegin(); (carry != 0 || j < length) && it != b58.rend(); ++it, ++j) {
      carry += 256 * (*it);
      *it = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    length = j;
  }
  auto it = b58.begin() + static_cast<std::ptrdiff_t>(b58.size() - length);
  while (it != b58.end() && *it == 0) ++it;
  std::string out(zeros, '1');
  for (; it != b58.end(); ++it) out += kAlphabet[*it];
  return out;
}

Result<Bytes> Base58Decode(std::string_view str, std::size_t max_len) {
  if (str.size() > max_len) return Error::Invalid("base58_too_long", "base58 string too long");
  std::size_t zeros = 0;
  while (zeros < str.size() && str[zeros] == '1') ++zeros;
  std::vector<std::uint8_t> b256((str.size() - zeros) * 733 / 1000 + 1, 0);
  std::size_t length = 0;
  for (std::size_t i = zeros; i < str.size(); ++i) {
    int carry = Base58Value(str[i]);
    if (carry < 0) return Error::Invalid("base58_invalid", "invalid base58 character");
    std::size_t j = 0;
    for (auto it = b256.rbegin(); (carry != 0 || j < length) && it != b256.rend(); ++it, ++j) {
      carry += 58 * (*it);
      *it = static_cast<std::uint8_t>(carry % 256);
      carry /= 256;
    }
    length = j;
  }
  auto it = b256.begin() + static_cast<std::ptrdiff_t>(b256.size() - length);
  Bytes out(zeros, 0);
  out.insert(out.end(), it, b256.end());
  return out;
}

std::string Base58CheckEncode(ByteSpan payload) {
  Bytes buf(payload.begin(), payload.end());
  Hash256 h = crypto::Sha256d(payload);
  buf.insert(buf.end(), h.begin(), h.begin() + 4);
  return Base58Encode(buf);
}

Result<Bytes> Base58CheckDecode(std::string_view str, std::size_t max_len) {
  auto raw = Base58Decode(str, max_len);
  if (!raw.ok()) return std::move(raw).error();
  Bytes& b = *raw;
  if (b.size() < 4) return Error::Invalid("base58_bad_checksum", "base58check data too short");
  Hash256 h = crypto::Sha256d(ByteSpan(b.data(), b.size() - 4));
  if (!std::equal(h.begin(), h.begin() + 4, b.end() - 4))
    return Error::Invalid("base58_bad_checksum", "base58check checksum mismatch");
  b.resize(b.size() - 4);
  return std::move(b);
}

Destination ClassifyScript(ByteSpan s) {
  Destination d;
  if (s.size() == 25 && s[0] == OP_DUP && s[1] == OP_HASH160 && s[2] == 20 && s[23] == OP_EQUALVERIFY &&
      s[24] == OP_CHECKSIG) {
    d.type = ScriptType::kP2PKH;
    d.program.assign(s.begin() + 3, s.begin() + 23);
    return d;
  }
  if (s.size() == 23 && s[0] == OP_HASH160 && s[1] == 20 && s[22] == OP_EQUAL) {
    d.type = ScriptType::kP2SH;
    d.program.assign(s.begin() + 2, s.begin() + 22);
    return d;
  }
  // Witness program (Core's IsWitnessProgram): version opcode + one direct push of 2..40 bytes.
  if (s.size() >= 4 && s.size() <= 42 && (s[0] == OP_0 || (s[0] >= OP_1 && s[0] <= OP_16)) &&
      static_cast<std::size_t>(s[1]) + 2 == s.size()) {
    d.witness_version = *DecodeOpN(s[0]);
    d.program.assign(s.begin() + 2, s.end());
    if (d.witness_version == 0 && d.program.size() == 20) {
      d.type = ScriptType::kP2WPKH;
    } else if (d.witness_version == 0 && d.program.size() == 32) {
      d.type = ScriptType::kP2WSH;
    } else if (d.witness_version == 0) {
      d.type = ScriptType::kNonStandard;  // v0 programs must be 20 or 32 bytes
      d.witness_version = -1;
      d.program.clear();
    } else if (d.witness_version == 1 && d.program.size() == 32) {
      d.type = ScriptType::kP2TR;
    } else {
      d.type = ScriptType::kWitnessUnknown;
    }
    return d;
  }
  if (!s.empty() && s[0] == OP_RETURN) d.type = ScriptType::kNullData;
  return d;
}

const char* ScriptTypeName(ScriptType t) {
  switch (t) {
    case ScriptType::kP2PKH:
      return "p2pkh";
    case ScriptType::kP2SH:
      return "p2sh";
    case ScriptType::kP2WPKH:
      return "p2wpkh";
    case ScriptType::kP2WSH:
      return "p2wsh";
    case ScriptType::kP2TR:
      return "p2tr";
    case ScriptType::kWitnessUnknown:
      return "witness_unknown";
    case ScriptType::kNullData:
      return "nulldata";
    case ScriptType::kNonStandard:
      break;
  }
  return "nonstandard";
}

std::uint8_t P2pkhVersion(Network net) {
  return net == Network::kMainnet ? 0x00 : 0x6f;
}
std::uint8_t P2shVersion(Network net) {
  return net == Network::kMainnet ? 0x05 : 0xc4;
}

Bytes P2pkhScript(ByteSpan hash20) {
  return ScriptBuilder().Op(OP_DUP).Op(OP_HASH160).PushRaw(hash20).Op(OP_EQUALVERIFY).Op(OP_CHECKSIG).Take();
}
Bytes P2shScript(ByteSpan hash20) {
  return ScriptBuilder().Op(OP_HASH160).PushRaw(hash20).Op(OP_EQUAL).Take();
}
Bytes P2wpkhScript(ByteSpan hash20) {
  return ScriptBuilder().Op(OP_0).PushRaw(hash20).Take();
}
Bytes P2wshScript(ByteSpan hash32) {
  return ScriptBuilder().Op(OP_0).PushRaw(hash32).Take();
}
Bytes P2trScript(ByteSpan key32) {
  return ScriptBuilder().Op(OP_1).PushRaw(key32).Take();
}

Result<std::string> ScriptPubKeyToAddress(ByteSpan script_pubkey, Network net) {
  Destination d = ClassifyScript(script_pubkey);
  switch (d.type) {
    case ScriptType::kP2PKH:
    case ScriptType::kP2SH: {
      Bytes payload{d.type == ScriptType::kP2PKH ? P2pkhVersion(net) : P2shVersion(net)};
      payload.insert(payload.end(), d.program.begin(), d.program.end());
      return Base58CheckEncode(payload);
    }
    case ScriptType::kP2WPKH:
    case ScriptType::kP2WSH:
    case ScriptType::kP2TR:
    case ScriptType::kWitnessUnknown:
      return EncodeSegwitAddress(Bech32Hrp(net), WitnessProgram{d.witness_version, d.program});
    default:
      return Error::Invalid("no_address", "script has no address form");
  }
}

Result<Bytes> AddressToScriptPubKey(std::string_view address, Network net) {
  if (address.size() > 128) return InvalidAddress("address too long");
  const std::string_view hrp = Bech32Hrp(net);
  // Segwit first: a string whose HRP matches ours must decode as segwit.
  auto bech = Bech32Decode(address);
  if (bech.ok()) {
    if (bech->hrp != hrp) {
      for (Network other : {Network::kMainnet, Network::kTestnet, Network::kRegtest}) {
        if (bech->hrp == Bech32Hrp(other) && DecodeSegwitAddress(bech->hrp, address).ok())
          return Error::Invalid("wrong_network", "segwit address for another network");
      }
      return InvalidAddress("unknown bech32 prefix");
    }
    auto wp = DecodeSegwitAddress(hrp, address);
    if (!wp.ok()) return InvalidAddress(wp.error().message);
    return WitnessScriptPubKey(*wp);
  }
  auto payload = Base58CheckDecode(address);
  if (!payload.ok()) return InvalidAddress("not a valid bech32 or base58check address");
  if (payload->size() != 21) return InvalidAddress("base58 payload must be 21 bytes");
  const std::uint8_t ver = (*payload)[0];
  ByteSpan hash(payload->data() + 1, 20);
  if (ver == P2pkhVersion(net)) return P2pkhScript(hash);
  if (ver == P2shVersion(net)) return P2shScript(hash);
  if (ver == 0x00 || ver == 0x05 || ver == 0x6f || ver == 0xc4)
    return Error::Invalid("wrong_network", "base58 address for another network");
  return InvalidAddress("unknown base58 version byte");
}

Result<std::string> CanonicalP2trAddress(std::string_view hrp, std::string_view text) {
  // Bech32Decode rejects mixed case too, but under the generic code; callers
  // get their own code for it, and checking first costs one pass.
  bool lower = false, upper = false;
  for (char c : text) {
    lower |= c >= 'a' && c <= 'z';
    upper |= c >= 'A' && c <= 'Z';
  }
  if (lower && upper) return Error::Invalid("mixed_case", "address mixes upper and lower case (BIP-173)");
  auto decoded = Bech32Decode(text);  // bounds the length (90) before any copy
  if (!decoded.ok()) return std::move(decoded).error();
  if (decoded->hrp != hrp) {
    return Error::Invalid("wrong_network", "address is for HRP '" + decoded->hrp.substr(0, 16) + "', expected '" +
                                               std::string(hrp) + "'");
  }
  auto wp = DecodeSegwitAddress(hrp, text);
  if (!wp.ok()) return std::move(wp).error();
  if (wp->version != 1 || wp->program.size() != 32) {
    return Error::Invalid("not_p2tr", "not a taproot address (witness v1 with a 32-byte program)");
  }
  crypto::XOnlyPubKey key;
  std::copy(wp->program.begin(), wp->program.end(), key.begin());
  if (!crypto::IsValidXOnly(key)) {
    return Error::Invalid("invalid_output_key", "taproot output key is not a valid x-only public key (unspendable)");
  }
  // Re-encoding gives the lower-case form; a segwit address has exactly one
  // encoding per case (padding is checked), so this equals lower-cased text.
  return EncodeSegwitAddress(hrp, *wp);
}

}  // namespace kray::bitcoin
