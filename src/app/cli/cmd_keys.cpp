// Offline key commands: keygen, address, sign, derive. No node needed; secrets
// are read through secrets.h.
#include <nlohmann/json.hpp>
#include <ostream>

#include "bitcoin_commands.h"
#include "cli.h"
#include "kray/bitcoin/address.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/state/tx_message.h"
#include "secrets.h"

namespace kray::cli {

using nlohmann::json;

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

// keygen -out=<path>: the secret goes to a new 0600 file, never to the
// terminal (scrollback, logs); with -insecure-argv-key and no -out it is
// printed, as devnet walkthroughs want.
int CmdKeygen(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  std::string path;
  if (a.size() == 1 && a[0].rfind("-out=", 0) == 0) path = a[0].substr(5);
  if (a.size() > 1 || (a.size() == 1 && path.empty())) {
    err << "error: usage: keygen -out=<path>\n";
    return 1;
  }
  if (path.empty() && !o.insecure_argv_key) {
    err << "error: keygen writes the new secret key to a file: keygen -out=<path> (it prints the secret only with "
           "-insecure-argv-key)\n";
    return 1;
  }
  crypto::SecretKey sk = crypto::GenerateSecretKey();
  auto pub = crypto::XOnlyFromSecret(sk);
  if (!pub) {
    err << "error: key generation failed\n";
    return 1;
  }
  json j = KeyInfo(o, *pub);
  if (path.empty()) {
    j["secret_key"] = ToHex(sk);
  } else {
    if (auto st = WriteKeyFile(path, ToHex(sk) + "\n"); !st.ok()) {
      err << "error: " << st.error().message << "\n";
      return 1;
    }
    j["keyfile"] = path;
  }
  out << j.dump(2) << "\n";
  return 0;
}

// address <pubkey hex> [pubkey] | address [secret] (key from secrets.h).
// Without a kind, 66 hex is a compressed pubkey and anything else is read as
// a secret, as before the key file existed: a 64-hex argument therefore
// needs -insecure-argv-key (or the explicit kind `pubkey`).
int CmdAddress(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  Args args = a;
  std::string kind;
  if (!args.empty() && (args.back() == "secret" || args.back() == "pubkey")) {
    kind = args.back();
    args.pop_back();
  }
  if (kind.empty()) kind = args.size() == 1 && args[0].size() == 66 ? "pubkey" : "secret";
  std::optional<crypto::XOnlyPubKey> pub;
  if (kind == "pubkey") {
    if (args.size() != 1) {
      err << "error: usage: address <pubkey hex> [pubkey]\n";
      return 1;
    }
    auto k = bitcoin::ParseAccountPubKey(args[0]);
    if (!k.ok()) {
      err << "error: invalid pubkey: " << k.error().message << "\n";
      return 1;
    }
    pub = *k;
  } else {
    auto sk = ReadSecretKey(o, "address", args, err);
    if (!sk) return 1;
    if (!args.empty()) {
      err << "error: usage: address [secret] (with -keyfile=<path>) | address <pubkey hex> [pubkey]\n";
      return 1;
    }
    pub = crypto::XOnlyFromSecret(*sk);
  }
  if (!pub) {
    err << "error: invalid key\n";
    return 1;
  }
  out << KeyInfo(o, *pub).dump(2) << "\n";
  return 0;
}

namespace {

// sign legacy <from> <to> <amount> <nonce>
int SignLegacy(const crypto::SecretKey& sk, const Args& p, std::ostream& out, std::ostream& err) {
  if (p.size() != 4) {
    err << "error: usage: sign legacy <from> <to> <amount> <nonce>\n";
    return 1;
  }
  auto amount = ParseU64(p[2], "amount", err);
  auto nonce = ParseU64(p[3], "nonce", err);
  if (!amount || !nonce) return 1;
  json j{{"scheme", "legacy"}, {"preimage", state::LegacyTransferString(p[0], p[1], *amount, *nonce)}};
  return PrintSignature(sk, state::LegacyTransferMessage(p[0], p[1], *amount, *nonce), j, out, err);
}

// sign transfer <to> <amount> <nonce> [asset] [data] [tx_type]
int SignTransfer(const Options& o, const crypto::SecretKey& sk, const std::string& my_id, const Args& p,
                 std::ostream& out, std::ostream& err) {
  if (p.size() < 3 || p.size() > 6) {
    err << "error: usage: sign transfer <to> <amount> <nonce> [asset] [data] [tx_type]\n";
    return 1;
  }
  std::string to_id = ResolveId(o, p[0], err);
  auto amount = ParseU64(p[1], "amount", err);
  auto nonce = ParseU64(p[2], "nonce", err);
  if (to_id.empty() || !amount || !nonce) return 1;
  std::string asset = p.size() > 3 ? p[3] : "KRAY";
  std::string data = p.size() > 4 ? p[4] : "";
  std::string op = p.size() > 5 ? p[5] : "transfer";
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
  return PrintSignature(sk, state::TransferMessageV1(ChainId(o), op, my_id, to_id, asset, *amount, *nonce, data), j,
                        out, err);
}

// sign v1 <op> <nonce> [key=value ...]
int SignV1(const Options& o, const crypto::SecretKey& sk, const std::string& my_id, const Args& p, std::ostream& out,
           std::ostream& err) {
  if (p.size() < 2) {
    err << "error: usage: sign v1 <op> <nonce> [key=value ...]\n";
    return 1;
  }
  auto nonce = ParseU64(p[1], "nonce", err);
  if (!nonce) return 1;
  state::MessageFields fields;
  json jf = json::object();
  for (std::size_t i = 2; i < p.size(); ++i) {
    auto eq = p[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      err << "error: field '" << p[i] << "' is not key=value\n";
      return 1;
    }
    std::string k = p[i].substr(0, eq), v = p[i].substr(eq + 1);
    if (jf.contains(k)) {
      err << "error: duplicate field '" << k << "'\n";
      return 1;
    }
    fields.emplace_back(k, v);
    jf[k] = v;
  }
  json j{{"scheme", "v1"},      {"chain_id", ChainId(o)}, {"op", p[0]},
         {"account_id", my_id}, {"nonce", *nonce},        {"fields", jf}};
  return PrintSignature(sk, state::SigningMessageV1(ChainId(o), p[0], my_id, *nonce, fields), j, out, err);
}

}  // namespace

// sign legacy|transfer|v1 ...: the type first, then (secrets.h) the key, then
// the type's own arguments.
int CmdSign(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  const std::string type = a.empty() ? "" : a[0];
  if (type != "legacy" && type != "transfer" && type != "v1") {
    // The argument is not echoed: it might be a misplaced secret.
    err << "error: usage: sign legacy|transfer|v1 ... (see kray-cli -help)\n";
    return 1;
  }
  Args p(a.begin() + 1, a.end());
  auto sk = ReadSecretKey(o, "sign", p, err);
  if (!sk) return 1;
  if (type == "legacy") return SignLegacy(*sk, p, out, err);
  auto pub = crypto::XOnlyFromSecret(*sk);
  std::string my_id = state::AccountIdFromAddress(Bip86Address(o, *pub));
  if (type == "transfer") return SignTransfer(o, *sk, my_id, p, out, err);
  return SignV1(o, *sk, my_id, p, out, err);
}

// derive <path> [-network=] [-passphrase=] with the mnemonic from secrets.h.
int CmdDeriveWithOptions(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  Args args = a;
  auto mnemonic = ReadSecretText(o, "derive", args, err);
  if (!mnemonic) return 1;
  return CmdDerive(*mnemonic, args, out, err);
}

}  // namespace kray::cli
