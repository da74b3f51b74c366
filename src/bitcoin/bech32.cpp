#include "kray/bitcoin/bech32.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace kray::bitcoin {

namespace {
constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr std::uint32_t kBech32Const = 1;
constexpr std::uint32_t kBech32mConst = 0x2bc830a3;

std::uint32_t PolyMod(const std::vector<std::uint8_t>& values) {
  static constexpr std::uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::uint32_t chk = 1;
  for (std::uint8_t v : values) {
    std::uint32_t top = chk >> 25;
    chk = (chk & 0x1ffffff) << 5 ^ v;
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) chk ^= kGen[i];
  }
  return chk;
}

std::vector<std::uint8_t> HrpExpand(std::string_view hrp) {
  std::vector<std::uint8_t> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(c) & 31);
  return out;
}

std::uint32_t ConstFor(Bech32Encoding enc) {
  return enc == Bech32Encoding::kBech32 ? kBech32Const : kBech32mConst;
}

Error AddrError(std::string msg) {
  return Error::Invalid("invalid_address", std::move(msg));
}
}  // namespace

std::string Bech32Encode(Bech32Encoding enc, std::string_view hrp, const std::vector<std::uint8_t>& data5) {
  std::vector<std::uint8_t> values = HrpExpand(hrp);
  values.insert(values.end(), data5.begin(), data5.end());
  values.insert(values.end(), 6, 0);
  std::uint32_t mod = PolyMod(values) ^ ConstFor(enc);
  std::string out(hrp);
  out.push_back('1');
  for (std::uint8_t v : data5) out.push_back(kCharset[v]);
  for (int i = 0; i < 6; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

Result<Bech32Decoded> Bech32Decode(std::string_view str) {
  if (str.size() > 90) return AddrError("bech32 string longer than 90 characters");
  bool lower = false, upper = false;
  for (char c : str) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126) return AddrError("bech32 string has a character outside US-ASCII 33..126");
    if (c >= 'a' && c <= 'z') lower = true;
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  if (lower && upper) return AddrError("bech32 string mixes upper and lower case");
  std::size_t sep = str.rfind('1');
  if (sep == std::string_view::npos || sep == 0 || sep + 7 > str.size())
    return AddrError("bech32 separator missing or misplaced");
  std::string s(str);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  Bech32Decoded out;
  out.hrp = s.substr(0, sep);
  for (std::size_t i = sep + 1; i < s.size(); ++i) {
    const char* p = std::strchr(kCharset, s[i]);
    if (p == nullptr || *p == '\0') return AddrError("bech32 data has an invalid character");
    out.data.push_back(static_cast<std::uint8_t>(p - kCharset));
  }
  std::vector<std::uint8_t> values = HrpExpand(out.hrp);
  values.insert(values.end(), out.data.begin(), out.data.end());
  std::uint32_t mod = PolyMod(values);
  if (mod == kBech32Const)
    out.encoding = Bech32Encoding::kBech32;
  else if (mod == kBech32mConst)
    out.encoding = Bech32Encoding::kBech32m;
  else
    return AddrError("bech32 checksum is invalid");
  out.data.resize(out.data.size() - 6);
  return out;
}

std::optional<std::vector<std::uint8_t>> ConvertBits(const std::vector<std::uint8_t>& in, int from, int to, bool pad) {
  std::uint32_t acc = 0;
  int bits = 0;
  const std::uint32_t maxv = (1u << to) - 1;
  std::vector<std::uint8_t> out;
  for (std::uint8_t v : in) {
    if (v >> from) return std::nullopt;
    acc = acc << from | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits) out.push_back(static_cast<std::uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv)) {
    return std::nullopt;
  }
  return out;
}

Result<WitnessProgram> DecodeSegwitAddress(std::string_view expected_hrp, std::string_view addr) {
  auto dec = Bech32Decode(addr);
  if (!dec) return dec.error();
  if (dec->hrp != expected_hrp)
    return AddrError("address is for network '" + dec->hrp + "', expected '" + std::string(expected_hrp) + "'");
  if (dec->data.empty()) return AddrError("segwit address has no witness version");
  WitnessProgram wp;
  wp.version = dec->data[0];
  if (wp.version > 16) return AddrError("witness version above 16");
  auto prog = ConvertBits({dec->data.begin() + 1, dec->data.end()}, 5, 8, false);
  if (!prog) return AddrError("witness program has invalid padding");
  if (prog->size() < 2 || prog->size() > 40) return AddrError("witness program length out of range");
  if (wp.version == 0 && prog->size() != 20 && prog->size() != 32)
    return AddrError("v0 witness program must be 20 or 32 bytes");
  Bech32Encoding want = wp.version == 0 ? Bech32Encoding::kBech32 : Bech32Encoding::kBech32m;
  if (dec->encoding != want)
    return AddrError(wp.version == 0 ? "v0 address must use bech32" : "v1+ address must use bech32m (BIP-350)");
  wp.program = std::move(*prog);
  return wp;
}

Result<std::string> EncodeSegwitAddress(std::string_view hrp, const WitnessProgram& wp) {
  if (wp.version < 0 || wp.version > 16 || wp.program.size() < 2 || wp.program.size() > 40)
    return AddrError("invalid witness program");
  std::vector<std::uint8_t> data5 = {static_cast<std::uint8_t>(wp.version)};
  auto conv = ConvertBits(wp.program, 8, 5, true);
  data5.insert(data5.end(), conv->begin(), conv->end());
  return Bech32Encode(wp.version == 0 ? Bech32Encoding::kBech32 : Bech32Encoding::kBech32m, hrp, data5);
}

Bytes WitnessScriptPubKey(const WitnessProgram& wp) {
  Bytes out;
  out.push_back(wp.version == 0 ? 0x00 : static_cast<std::uint8_t>(0x50 + wp.version));
  out.push_back(static_cast<std::uint8_t>(wp.program.size()));
  out.insert(out.end(), wp.program.begin(), wp.program.end());
  return out;
}

}  // namespace kray::bitcoin
