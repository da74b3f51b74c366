// kray-cli `decodepsbt <base64> [-network=<net>]`: a PSBT (BIP-174/371) as
// readable JSON, in the spirit of Bitcoin Core's decodepsbt: the unsigned
// transaction, every input's and output's known fields (taproot ones
// included), unknown records as hex, and the fee when every UTXO is known.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "bitcoin_commands.h"
#include "kray/bitcoin/address.h"
#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/script.h"
#include "kray/core/params.h"

namespace kray::cli {
namespace {

using nlohmann::ordered_json;
using namespace kray::bitcoin;

std::string PathString(const KeyOrigin& o) {
  std::string s = "m";
  for (std::uint32_t p : o.path) {
    s += "/" + std::to_string(p & 0x7fffffffu);
    if (p & 0x80000000u) s += "'";
  }
  return s;
}

ordered_json OriginJson(const KeyOrigin& o) {
  return {{"master_fingerprint", ToHex(o.fingerprint)}, {"path", PathString(o)}};
}

ordered_json ScriptJson(const Bytes& script, Network net) {
  ordered_json j{{"asm", ScriptToAsm(script)}, {"hex", ToHex(script)}};
  Destination d = ClassifyScript(script);
  j["type"] = ScriptTypeName(d.type);
  if (auto addr = ScriptPubKeyToAddress(script, net); addr.ok()) j["address"] = *addr;
  return j;
}

// Records whose type the typed fields above do not cover.
ordered_json UnknownJson(const PsbtMap& map, bool (*known)(std::uint8_t)) {
  ordered_json j = ordered_json::object();
  for (const auto& [k, v] : map)
    if (!known(k[0])) j[ToHex(k)] = ToHex(v);
  return j;
}

bool KnownInput(std::uint8_t t) {
  return t <= 0x08 || (t >= 0x0a && t <= 0x0d) || (t >= 0x13 && t <= 0x18);
}
bool KnownOutput(std::uint8_t t) {
  return t <= 0x02 || (t >= 0x05 && t <= 0x07);
}
bool KnownGlobal(std::uint8_t t) {
  return t == 0x00 || t == 0x01 || t == 0xfb;
}

ordered_json TxJson(const Transaction& tx, Network net) {
  ordered_json vin = ordered_json::array(), vout = ordered_json::array();
  for (const TxIn& in : tx.vin)
    vin.push_back({{"txid", HashToDisplayHex(in.prevout.txid)}, {"vout", in.prevout.n}, {"sequence", in.sequence}});
  for (std::size_t i = 0; i < tx.vout.size(); ++i)
    vout.push_back(
        {{"n", i}, {"value_sat", tx.vout[i].value}, {"scriptPubKey", ScriptJson(tx.vout[i].script_pubkey, net)}});
  return {{"txid", HashToDisplayHex(Txid(tx))},
          {"version", tx.version},
          {"locktime", tx.locktime},
          {"vsize", TxVsize(tx)},
          {"vin", vin},
          {"vout", vout}};
}

ordered_json TapDerivationsJson(const std::map<crypto::XOnlyPubKey, TapKeyOrigin>& derivations) {
  ordered_json a = ordered_json::array();
  for (const auto& [k, o] : derivations) {
    ordered_json e = OriginJson(o.origin);
    e["pubkey"] = ToHex(k);
    ordered_json lh = ordered_json::array();
    for (const Hash256& h : o.leaf_hashes) lh.push_back(ToHex(h));
    e["leaf_hashes"] = lh;
    a.push_back(e);
  }
  return a;
}

ordered_json InputJson(const PsbtInput& in, Network net) {
  ordered_json j = ordered_json::object();
  if (auto t = in.NonWitnessUtxo()) j["non_witness_utxo"] = TxJson(*t, net);
  if (auto u = in.WitnessUtxo())
    j["witness_utxo"] = {{"value_sat", u->value}, {"scriptPubKey", ScriptJson(u->script_pubkey, net)}};
  auto sigs = in.PartialSigs();
  if (!sigs.empty()) {
    ordered_json s = ordered_json::object();
    for (const auto& [pk, sig] : sigs) s[ToHex(pk)] = ToHex(sig);
    j["partial_signatures"] = s;
  }
  if (auto h = in.SighashType()) j["sighash_type"] = *h;
  if (auto s = in.RedeemScript()) j["redeem_script"] = ScriptJson(*s, net);
  if (auto s = in.WitnessScript()) j["witness_script"] = ScriptJson(*s, net);
  auto der = in.Bip32Derivations();
  if (!der.empty()) {
    ordered_json a = ordered_json::array();
    for (const auto& [pk, o] : der) {
      ordered_json e = OriginJson(o);
      e["pubkey"] = ToHex(pk);
      a.push_back(e);
    }
    j["bip32_derivs"] = a;
  }
  if (auto s = in.FinalScriptSig()) j["final_scriptSig"] = {{"asm", ScriptToAsm(*s)}, {"hex", ToHex(*s)}};
  if (auto w = in.FinalScriptWitness()) {
    ordered_json a = ordered_json::array();
    for (const Bytes& item : *w) a.push_back(ToHex(item));
    j["final_scriptwitness"] = a;
  }
  if (auto s = in.TapKeySig()) j["taproot_key_path_sig"] = ToHex(*s);
  auto tss = in.TapScriptSigs();
  if (!tss.empty()) {
    ordered_json a = ordered_json::array();
    for (const auto& [k, sig] : tss)
      a.push_back({{"pubkey", ToHex(k.first)}, {"leaf_hash", ToHex(k.second)}, {"sig", ToHex(sig)}});
    j["taproot_script_path_sigs"] = a;
  }
  auto leaves = in.TapLeafScripts();
  if (!leaves.empty()) {
    ordered_json a = ordered_json::array();
    for (const auto& l : leaves)
      a.push_back({{"script", ToHex(l.script)},
                   {"asm", ScriptToAsm(l.script)},
                   {"leaf_ver", l.leaf_version},
                   {"control_block", ToHex(l.control_block)}});
    j["taproot_scripts"] = a;
  }
  if (auto tder = in.TapBip32Derivations(); !tder.empty()) j["taproot_bip32_derivs"] = TapDerivationsJson(tder);
  if (auto k = in.TapInternalKey()) j["taproot_internal_key"] = ToHex(*k);
  if (auto r = in.TapMerkleRoot()) j["taproot_merkle_root"] = ToHex(*r);
  auto unknown = UnknownJson(in.map, KnownInput);
  if (!unknown.empty()) j["unknown"] = unknown;
  return j;
}

ordered_json OutputJson(const PsbtOutput& out, Network net) {
  ordered_json j = ordered_json::object();
  if (auto s = out.RedeemScript()) j["redeem_script"] = ScriptJson(*s, net);
  if (auto s = out.WitnessScript()) j["witness_script"] = ScriptJson(*s, net);
  auto der = out.Bip32Derivations();
  if (!der.empty()) {
    ordered_json a = ordered_json::array();
    for (const auto& [pk, o] : der) {
      ordered_json e = OriginJson(o);
      e["pubkey"] = ToHex(pk);
      a.push_back(e);
    }
    j["bip32_derivs"] = a;
  }
  if (auto k = out.TapInternalKey()) j["taproot_internal_key"] = ToHex(*k);
  if (auto t = out.TapTree()) {
    ordered_json a = ordered_json::array();
    for (const auto& l : *t)
      a.push_back({{"depth", l.depth}, {"leaf_ver", l.leaf_version}, {"script", ToHex(l.script)}});
    j["taproot_tree"] = a;
  }
  if (auto tder = out.TapBip32Derivations(); !tder.empty()) j["taproot_bip32_derivs"] = TapDerivationsJson(tder);
  auto unknown = UnknownJson(out.map, KnownOutput);
  if (!unknown.empty()) j["unknown"] = unknown;
  return j;
}

}  // namespace

int CmdDecodePsbt(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Network net = Network::kRegtest;  // kray-cli's default network
  std::vector<std::string> pos;
  for (const std::string& a : args) {
    if (a.rfind("-network=", 0) == 0) {
      auto n = ParseNetwork(a.substr(9));
      if (!n) {
        err << "error: unknown network '" << a.substr(9) << "'\n";
        return 1;
      }
      net = *n;
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() != 1) {
    err << "error: usage: decodepsbt <base64 psbt> [-network=<net>]\n";
    return 1;
  }
  auto psbt = ParsePsbtBase64(pos[0]);
  if (!psbt.ok()) {
    err << "error: " << psbt.error().code << ": " << psbt.error().message << "\n";
    return 1;
  }
  ordered_json j;
  j["tx"] = TxJson(psbt->tx, net);
  ordered_json global = ordered_json::object();
  ordered_json xpubs = ordered_json::array();
  for (const auto& [k, v] : psbt->global) {
    if (k[0] != psbt::kGlobalXpub || k.size() != 79) continue;
    KeyOrigin o;
    if (v.size() >= 4) {
      std::copy(v.begin(), v.begin() + 4, o.fingerprint.begin());
      for (std::size_t i = 4; i + 4 <= v.size(); i += 4)
        o.path.push_back(v[i] | v[i + 1] << 8 | v[i + 2] << 16 | static_cast<std::uint32_t>(v[i + 3]) << 24);
    }
    ordered_json e = OriginJson(o);
    e["xpub"] = Base58CheckEncode(ByteSpan(k).subspan(1));
    xpubs.push_back(e);
  }
  if (!xpubs.empty()) global["xpubs"] = xpubs;
  global["psbt_version"] = 0;
  auto unknown = UnknownJson(psbt->global, KnownGlobal);
  if (!unknown.empty()) global["unknown"] = unknown;
  j["global"] = global;
  ordered_json inputs = ordered_json::array(), outputs = ordered_json::array();
  for (const PsbtInput& in : psbt->inputs) inputs.push_back(InputJson(in, net));
  for (const PsbtOutput& o : psbt->outputs) outputs.push_back(OutputJson(o, net));
  j["inputs"] = inputs;
  j["outputs"] = outputs;
  if (auto fee = PsbtFee(*psbt))
    j["fee_sat"] = *fee;
  else
    j["fee_sat"] = nullptr;
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace kray::cli
