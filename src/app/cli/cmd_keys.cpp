// Offline key commands: keygen, address, sign. No node needed.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.h"
#include "kray/bitcoin/address.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/state/tx_message.h"

namespace kray::cli {

using nlohmann::json;

std::optional<crypto::SecretKey> ParseSecret(const std::string& hex, std::ostream& err) {
  auto key = FromHexFixed<32>(hex);
  if (!key || !crypto::IsValidSecretKey(*key)) {
    err << "error: invalid secret key (expected 64 hex chars, 1 <= key < n)\n";
    return std::nullopt;
  }
  return key;
}

std::string ChainId(const Options& o) {
  if (!o.chainid.empty()) return o.chainid;
  return "kray-" + std::string(NetworkName(o.network)) + "-1";
}

std::string Bip86Address(const Options& o, const crypto::XOnlyPubKey& internal) {
  auto out = bitcoin::TaprootOutputKey(internal, std::nullopt);  // BIP-86: no script tree
  if (!out) return {};
  return bitcoin::P2trAddress(Bech32Hrp(o.network), out->key);
}

namespace {

json KeyInfo(const Options& o, const crypto::XOnlyPubKey& pub) {
  std::string addr = Bip86Address(o, pub);
  return json{{"pubkey", ToHex(pub)},
              {"address", addr},
              {"account_id", state::AccountIdFromAddress(addr)},
              {"network", std::string(NetworkName(o.network))}};
}

// An account named as a kray_ id or an L1 address -> the resolved kray_ id
// (what v1 messages bind). Empty after printing an error.
std::string ResolveId(const Options& o, const std::string& who, std::ostream& err) {
  if (state::IsAccountId(who)) return who;
  // Hash the canonical (lower-case) text, as the node does.
  auto addr = bitcoin::CanonicalP2trAddress(Bech32Hrp(o.network), who);
  if (addr.ok()) return state::AccountIdFromAddress(*addr);
  err << "error: '" << who << "' is neither a kray_ account id nor a P2TR address of " << NetworkName(o.network) << ": "
      << addr.error().message << "\n";
  return {};
}

std::optional<std::uint64_t> ParseU64(const std::string& s, const char* what, std::ostream& err) {
  auto v = ParseAmount(s);  // digits only, <= 2^63-1
  if (!v.ok()) {
    err << "error: invalid " << what << " '" << s << "': " << v.error().message << "\n";
    return std::nullopt;
  }
  return *v;
}

int PrintSignature(const crypto::SecretKey& sk, const Hash256& msg, json extra, std::ostream& out, std::ostream& err) {
  auto sig = crypto::SchnorrSign(sk, msg);
  if (!sig) {
    err << "error: signing failed\n";
    return 1;
  }
  extra["message"] = ToHex(msg);
  extra["signature"] = ToHex(*sig);
  out << extra.dump(2) << "\n";
  return 0;
}

}  // namespace

int CmdKeygen(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (!a.empty()) {
    err << "error: keygen takes no arguments\n";
    return 1;
  }
  crypto::SecretKey sk = crypto::GenerateSecretKey();
  auto pub = crypto::XOnlyFromSecret(sk);
  if (!pub) {
    err << "error: key generation failed\n";
    return 1;
  }
  json j = KeyInfo(o, *pub);
  j["secret_key"] = ToHex(sk);
  out << j.dump(2) << "\n";
  return 0;
}

int CmdAddress(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (a.empty() || a.size() > 2) {
    err << "error: usage: address <hex> [secret|pubkey]\n";
    return 1;
  }
  std::string kind = a.size() == 2 ? a[1] : (a[0].size() == 66 ? "pubkey" : "secret");
  std::optional<crypto::XOnlyPubKey> pub;
  if (kind == "secret") {
    auto sk = ParseSecret(a[0], err);
    if (!sk) return 1;
    pub = crypto::XOnlyFromSecret(*sk);
  } else if (kind == "pubkey") {
    auto k = bitcoin::ParseAccountPubKey(a[0]);
    if (!k.ok()) {
      err << "error: invalid pubkey: " << k.error().message << "\n";
      return 1;
    }
    pub = *k;
  } else {
    err << "error: key kind must be 'secret' or 'pubkey', got '" << kind << "'\n";
    return 1;
  }
  if (!pub) {
    err << "error: invalid key\n";
    return 1;
  }
  out << KeyInfo(o, *pub).dump(2) << "\n";
  return 0;
}

// sign legacy <secret> <from> <to> <amount> <nonce>
// sign transfer <secret> <to> <amount> <nonce> [asset] [data] [tx_type]
// sign v1 <secret> <op> <nonce> [key=value ...]
int CmdSign(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (a.size() < 2) {
    err << "error: usage: sign legacy|transfer|v1 <secret> ... (see kray-cli -help)\n";
    return 1;
  }
  const std::string& type = a[0];
  auto sk = ParseSecret(a[1], err);
  if (!sk) return 1;
  auto pub = crypto::XOnlyFromSecret(*sk);
  std::string my_id = state::AccountIdFromAddress(Bip86Address(o, *pub));

  if (type == "legacy") {
    if (a.size() != 6) {
      err << "error: usage: sign legacy <secret> <from> <to> <amount> <nonce>\n";
      return 1;
    }
    auto amount = ParseU64(a[4], "amount", err);
    auto nonce = ParseU64(a[5], "nonce", err);
    if (!amount || !nonce) return 1;
    json j{{"scheme", "legacy"}, {"preimage", state::LegacyTransferString(a[2], a[3], *amount, *nonce)}};
    return PrintSignature(*sk, state::LegacyTransferMessage(a[2], a[3], *amount, *nonce), j, out, err);
  }
  if (type == "transfer") {
    if (a.size() < 5 || a.size() > 8) {
      err << "error: usage: sign transfer <secret> <to> <amount> <nonce> [asset] [data] [tx_type]\n";
      return 1;
    }
    std::string to_id = ResolveId(o, a[2], err);
    auto amount = ParseU64(a[3], "amount", err);
    auto nonce = ParseU64(a[4], "nonce", err);
    if (to_id.empty() || !amount || !nonce) return 1;
    std::string asset = a.size() > 5 ? a[5] : "KRAY";
    std::string data = a.size() > 6 ? a[6] : "";
    std::string op = a.size() > 7 ? a[7] : "transfer";
    if (!ParseTxType(op)) {
      err << "error: unknown tx_type '" << op << "'\n";
      return 1;
    }
    json j{{"scheme", "v1"},
           {"chain_id", ChainId(o)},
           {"op", op},
           {"account_id", my_id},
           {"to", to_id},
           {"asset", asset},
           {"amount", std::to_string(*amount)},
           {"nonce", *nonce}};
    return PrintSignature(*sk, state::TransferMessageV1(ChainId(o), op, my_id, to_id, asset, *amount, *nonce, data), j,
                          out, err);
  }
  if (type == "v1") {
    if (a.size() < 4) {
      err << "error: usage: sign v1 <secret> <op> <nonce> [key=value ...]\n";
      return 1;
    }
    auto nonce = ParseU64(a[3], "nonce", err);
    if (!nonce) return 1;
    state::MessageFields fields;
    json jf = json::object();
    for (std::size_t i = 4; i < a.size(); ++i) {
      auto eq = a[i].find('=');
      if (eq == std::string::npos || eq == 0) {
        err << "error: field '" << a[i] << "' is not key=value\n";
        return 1;
      }
      std::string k = a[i].substr(0, eq), v = a[i].substr(eq + 1);
      if (jf.contains(k)) {
        err << "error: duplicate field '" << k << "'\n";
        return 1;
      }
      fields.emplace_back(k, v);
      jf[k] = v;
    }
    json j{{"scheme", "v1"},      {"chain_id", ChainId(o)}, {"op", a[2]},
           {"account_id", my_id}, {"nonce", *nonce},        {"fields", jf}};
    return PrintSignature(*sk, state::SigningMessageV1(ChainId(o), a[2], my_id, *nonce, fields), j, out, err);
  }
  err << "error: unknown message type '" << type << "' (legacy, transfer, v1)\n";
  return 1;
}

}  // namespace kray::cli
