// kray-cli offline Bitcoin commands: `decoderunestone <tx hex>` (ord's
// Runestone::decipher as JSON) and `derive <path>` of a mnemonic (BIP-39 seed
// -> BIP-32 key -> xprv/xpub/x-only key, plus the P2TR address on BIP-86
// paths). u128 amounts are printed as decimal strings: JSON numbers lose
// precision beyond 2^53.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "bitcoin_commands.h"
#include "kray/bitcoin/bip32.h"
#include "kray/bitcoin/bip39.h"
#include "kray/bitcoin/runestone.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/bitcoin/transaction.h"
#include "kray/core/params.h"

namespace kray::cli {
namespace {

using nlohmann::ordered_json;
using namespace kray::bitcoin;

std::string Utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    s.push_back(static_cast<char>(0xc0 | (c >> 6)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    s.push_back(static_cast<char>(0xe0 | (c >> 12)));
    s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else {
    s.push_back(static_cast<char>(0xf0 | (c >> 18)));
    s.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
    s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  }
  return s;
}

template <class T>
ordered_json Opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return *v;
}
ordered_json Opt128(const std::optional<u128>& v) {
  if (!v) return nullptr;
  return U128ToString(*v);
}

ordered_json RunestoneJson(const Runestone& rs) {
  ordered_json j;
  ordered_json edicts = ordered_json::array();
  for (const Edict& e : rs.edicts)
    edicts.push_back({{"id", RuneIdToString(e.id)}, {"amount", U128ToString(e.amount)}, {"output", e.output}});
  j["edicts"] = edicts;
  if (rs.etching) {
    const Etching& e = *rs.etching;
    ordered_json et;
    et["rune"] = e.rune ? ordered_json(RuneName(*e.rune)) : ordered_json(nullptr);
    et["spaced_rune"] = e.rune ? ordered_json(SpacedRuneName(*e.rune, e.spacers.value_or(0))) : ordered_json(nullptr);
    et["divisibility"] = Opt(e.divisibility);
    et["spacers"] = Opt(e.spacers);
    et["symbol"] = e.symbol ? ordered_json(Utf8(*e.symbol)) : ordered_json(nullptr);
    et["premine"] = Opt128(e.premine);
    if (e.terms) {
      const Terms& t = *e.terms;
      et["terms"] = {{"amount", Opt128(t.amount)},
                     {"cap", Opt128(t.cap)},
                     {"height", {Opt(t.height_start), Opt(t.height_end)}},
                     {"offset", {Opt(t.offset_start), Opt(t.offset_end)}}};
    } else {
      et["terms"] = nullptr;
    }
    et["turbo"] = e.turbo;
    auto supply = EtchingSupply(e);
    et["supply"] = supply ? ordered_json(U128ToString(*supply)) : ordered_json(nullptr);
    j["etching"] = et;
  } else {
    j["etching"] = nullptr;
  }
  j["mint"] = rs.mint ? ordered_json(RuneIdToString(*rs.mint)) : ordered_json(nullptr);
  j["pointer"] = Opt(rs.pointer);
  return j;
}

ordered_json CenotaphJson(const Cenotaph& c) {
  ordered_json j;
  j["flaw"] = c.flaw ? ordered_json(std::string(FlawName(*c.flaw))) : ordered_json(nullptr);
  j["etching"] = c.etching ? ordered_json(RuneName(*c.etching)) : ordered_json(nullptr);
  j["mint"] = c.mint ? ordered_json(RuneIdToString(*c.mint)) : ordered_json(nullptr);
  return j;
}

// Splits trailing -key=value options from positional arguments.
bool SplitArgs(const std::vector<std::string>& args, std::vector<std::string>& pos,
               std::vector<std::pair<std::string, std::string>>& opts) {
  for (const auto& a : args) {
    if (a.size() > 1 && a[0] == '-') {
      std::string s = a.substr(a.rfind("--", 0) == 0 ? 2 : 1);
      auto eq = s.find('=');
      opts.emplace_back(s.substr(0, eq), eq == std::string::npos ? "" : s.substr(eq + 1));
    } else {
      pos.push_back(a);
    }
  }
  return true;
}

}  // namespace

int CmdDecodeRunestone(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() != 1) {
    err << "error: usage: decoderunestone <raw transaction hex>\n";
    return 1;
  }
  auto tx = ParseTransactionHex(args[0]);
  if (!tx) {
    err << "error: " << tx.error().code << ": " << tx.error().message << "\n";
    return 1;
  }
  ordered_json j;
  j["txid"] = HashToDisplayHex(Txid(*tx));
  auto art = DecipherRunestone(*tx);
  if (!art) {
    j["runestone"] = nullptr;
    j["cenotaph"] = nullptr;
  } else if (const auto* rs = std::get_if<Runestone>(&*art)) {
    j["runestone"] = RunestoneJson(*rs);
    j["cenotaph"] = nullptr;
  } else {
    j["runestone"] = nullptr;
    j["cenotaph"] = CenotaphJson(std::get<Cenotaph>(*art));
  }
  out << j.dump(2) << "\n";
  return 0;
}

int CmdDerive(const std::string& mnemonic, const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> pos;
  std::vector<std::pair<std::string, std::string>> opts;
  SplitArgs(args, pos, opts);
  Network net = Network::kRegtest;  // kray-cli's default network
  std::string passphrase;
  for (const auto& [k, v] : opts) {
    if (k == "network") {
      auto n = ParseNetwork(v);
      if (!n) {
        err << "error: unknown network '" << v << "'\n";
        return 1;
      }
      net = *n;
    } else if (k == "passphrase") {
      passphrase = v;
    } else {
      err << "error: unknown option -" << k << " (derive takes -network= and -passphrase=)\n";
      return 1;
    }
  }
  if (pos.size() != 1) {
    err << "error: usage: derive <path> [-network=<net>] [-passphrase=<text>] (mnemonic from -keyfile)\n";
    return 1;
  }
  auto entropy = Bip39MnemonicToEntropy(mnemonic);
  if (!entropy) {
    err << "error: " << entropy.error().code << ": " << entropy.error().message << "\n";
    return 1;
  }
  auto path = ParseBip32Path(pos[0]);
  if (!path) {
    err << "error: " << path.error().code << ": " << path.error().message << "\n";
    return 1;
  }
  // Seed from the canonical sentence (single spaces), as BIP-39 wallets do.
  const std::string sentence = *Bip39EntropyToMnemonic(*entropy);
  auto seed = Bip39MnemonicToSeed(sentence, passphrase);
  if (!seed) {
    err << "error: " << seed.error().code << ": " << seed.error().message << "\n";
    return 1;
  }
  auto master = Bip32MasterKey(*seed);
  if (!master) {
    err << "error: " << master.error().code << ": " << master.error().message << "\n";
    return 1;
  }
  auto key = Bip32DerivePath(*master, *path);
  if (!key) {
    err << "error: " << key.error().code << ": " << key.error().message << "\n";
    return 1;
  }
  ordered_json j;
  j["network"] = std::string(NetworkName(net));
  j["path"] = FormatBip32Path(*path);
  j["master_fingerprint"] = ToHex(Bip32Fingerprint(*master));
  j["xprv"] = *EncodeExtPrivKey(*key, net);
  j["xpub"] = EncodeExtPubKey(*key, net);
  j["pubkey"] = ToHex(key->pubkey);
  const crypto::XOnlyPubKey xonly = Bip32XOnly(*key);
  j["xonly_pubkey"] = ToHex(xonly);
  if (IsBip86Path(*path)) {
    auto q = TaprootOutputKey(xonly, std::nullopt);
    if (q) {
      j["output_key"] = ToHex(q->key);
      j["address"] = P2trAddress(Bech32Hrp(net), q->key);
    }
    const std::uint32_t want_coin = (net == Network::kMainnet ? 0u : 1u) | kBip32Hardened;
    if ((*path)[1] != want_coin)
      j["warning"] = "BIP-86 coin type should be " + std::to_string(want_coin & ~kBip32Hardened) + "' on " +
                     std::string(NetworkName(net));
  }
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace kray::cli
