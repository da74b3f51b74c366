// Commands that talk to krayd over its REST API (docs/API.md).
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.h"
#include "kray/bitcoin/address.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/net/http_client.h"
#include "kray/state/tx_message.h"
#include "secrets.h"

namespace kray::cli {

using nlohmann::json;

// Operator endpoint that runs Ledger::CheckConservation (docs/API.md).
constexpr const char* kConservationPath = "/api/node/conservation";

std::optional<ApiReply> CallApi(const Options& o, const std::string& method, const std::string& target,
                                const std::string& body, std::ostream& err) {
  net::ClientOptions copts;
  copts.request_timeout = std::chrono::seconds(o.rpctimeout);
  net::HttpClient http(o.rpcconnect, o.rpcport, copts);
  net::Headers headers;
  if (!o.rpctoken.empty()) headers.emplace_back("Authorization", "Bearer " + o.rpctoken);
  auto r = http.Request(method, target, body, headers);
  if (!r.ok()) {
    err << "error: " << r.error().message << " (is krayd running? -rpcconnect/-rpcport)\n";
    return std::nullopt;
  }
  return ApiReply{r->status, r->body};
}

int PrintReply(const ApiReply& r, std::ostream& out, std::ostream& err) {
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (r.status >= 200 && r.status < 300) {
    if (j.is_discarded())
      out << r.body << "\n";
    else
      out << j.dump(2) << "\n";
    return 0;
  }
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    err << "error: " << r.status << " " << j.value("code", std::string("?")) << ": "
        << (j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump()) << "\n";
  } else {
    err << "error: HTTP " << r.status << ": " << r.body.substr(0, 200) << "\n";
  }
  return 1;
}

namespace {

// Percent-encodes a path segment (account ids and addresses are safe, but a
// user may type anything).
std::string Seg(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

int Usage(std::ostream& err, const char* text) {
  err << "error: usage: " << text << "\n";
  return 1;
}

// send <to> <amount> [asset] (key from secrets.h): nonce from GET balance,
// sign, submit.
int CmdSend(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  Args a = args;
  auto sk = ReadSecretKey(o, "send", a, err);
  if (!sk) return 1;
  if (a.size() < 2 || a.size() > 3) return Usage(err, "send <to> <amount> [asset]");
  auto amount = ParseAmount(a[1]);
  if (!amount.ok()) {
    err << "error: invalid amount '" << a[1] << "': " << amount.error().message << "\n";
    return 1;
  }
  std::string asset = a.size() > 2 ? a[2] : "KRAY";
  auto pub = crypto::XOnlyFromSecret(*sk);
  std::string from_id = state::AccountIdFromAddress(Bip86Address(o, *pub));
  std::string to = a[0];
  std::string to_id;
  if (state::IsAccountId(to)) {
    to_id = to;
  } else if (auto addr = bitcoin::CanonicalP2trAddress(Bech32Hrp(o.network), to); addr.ok()) {
    // The id is the hash of the canonical (lower-case) text, as the node
    // computes it; an upper-case address must bind the same id.
    to_id = state::AccountIdFromAddress(*addr);
  } else {
    err << "error: '" << to << "' is neither a kray_ account id nor a P2TR address of " << NetworkName(o.network)
        << ": " << addr.error().message << "\n";
    return 1;
  }

  auto fetched = FetchNonce(o, from_id, err);
  if (!fetched) return 1;
  std::uint64_t nonce = *fetched;

  // The legacy message binds neither asset nor chain: only for KRAY, and only
  // when asked for (-legacy). Default: the chain-bound v1 message.
  bool legacy = o.legacy;
  if (legacy && asset != "KRAY") {
    err << "error: -legacy signatures are only accepted for KRAY transfers\n";
    return 1;
  }
  Hash256 msg = legacy ? state::LegacyTransferMessage(from_id, to, *amount, nonce)
                       : state::TransferMessageV1(ChainId(o), "transfer", from_id, to_id, asset, *amount, nonce, "");
  auto sig = crypto::SchnorrSign(*sk, msg);
  if (!sig) {
    err << "error: signing failed\n";
    return 1;
  }
  json req{{"from_account", from_id},
           {"to_account", to},
           {"amount", std::to_string(*amount)},
           {"nonce", nonce},
           {"signature", ToHex(*sig)},
           {"asset", asset},
           {"tx_type", "transfer"},
           {"sig_scheme", legacy ? "legacy" : "v1"}};
  auto r = CallApi(o, "POST", "/api/transaction/send", req.dump(), err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

// createaccount (key from secrets.h): binds the key to its BIP-86 address.
int CmdCreateAccount(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  Args a = args;
  auto sk = ReadSecretKey(o, "createaccount", a, err);
  if (!sk) return 1;
  if (!a.empty()) return Usage(err, "createaccount");
  auto pub = crypto::XOnlyFromSecret(*sk);
  json req{{"l1_address", Bip86Address(o, *pub)}, {"pubkey", ToHex(*pub)}};
  auto r = CallApi(o, "POST", "/api/account/create", req.dump(), err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

int CmdBalance(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (a.size() != 1) return Usage(err, "balance <account_id|l1_address>");
  auto r = CallApi(o, "GET", "/api/account/" + Seg(a[0]) + "/balance", "", err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

int CmdTx(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (a.size() != 1) return Usage(err, "tx <tx_hash>");
  auto r = CallApi(o, "GET", "/api/transaction/" + Seg(a[0]), "", err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

int CmdStatus(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (!a.empty()) return Usage(err, "status");
  auto r = CallApi(o, "GET", "/health", "", err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

// Exit 0 only if the node reports conservation OK.
int CmdCheckConservation(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (!a.empty()) return Usage(err, "checkconservation");
  if (o.rpctoken.empty()) {
    err << "error: checkconservation is an operator call: pass -rpctoken=<token>, or -datadir=<dir> of a node "
           "using cookie authentication ("
        << o.no_token_reason << ")\n";
    return 1;
  }
  auto r = CallApi(o, "GET", kConservationPath, "", err);
  if (!r) return 1;
  int rc = PrintReply(*r, out, err);
  if (rc != 0) return rc;
  json j = json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("ok") && j["ok"] == true) return 0;
  err << "error: conservation VIOLATED\n";
  return 2;
}

}  // namespace kray::cli
