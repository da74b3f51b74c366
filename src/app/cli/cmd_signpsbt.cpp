// kray-cli signpsbt: a federation member co-signs a withdrawal batch or an
// anchor from its member key file (docs/CLI.md, docs/BRIDGE.md "Signing").
//
//   signpsbt <withdrawal id> -memberkey=<file> [-dryrun]
//   signpsbt -spend=<spend id> -memberkey=<file> [-dryrun]
//   signpsbt -anchor=<batch> -memberkey=<file> [-dryrun]
//
// Before signing it checks, from what the node serves, what a member signs
// for: the spend is still being signed and every withdrawal it pays is past
// its deadline and not challenged (CheckSignable, the rule the node's own
// signer applies); the transaction pays exactly those withdrawals (their
// addresses and amounts, the rune edicts), or exactly the batch's published
// anchor payload, returns the change to the bridge's own address and pays at
// most the spend's fee reserve; every input spends the federation's output
// at the index its key origin names. Then it adds this member's BIP-341
// script-path signatures and posts the PSBT (-dryrun: prints it instead).
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "kray/bitcoin/address.h"
#include "kray/bridge/federation.h"
#include "kray/bridge/member_key.h"
#include "kray/bridge/spend_tx.h"

namespace kray::cli {
namespace {

using nlohmann::json;

constexpr const char* kUsage =
    "signpsbt <withdrawal id> | -spend=<spend id> | -anchor=<batch>  -memberkey=<file> [-dryrun]";

struct SignArgs {
  std::string withdrawal, spend, anchor, memberkey;
  bool dryrun = false;
};

std::optional<SignArgs> ParseArgs(const Args& args, std::ostream& err) {
  SignArgs a;
  for (const auto& arg : args) {
    if (arg.rfind("-memberkey=", 0) == 0) {
      a.memberkey = arg.substr(11);
    } else if (arg.rfind("-spend=", 0) == 0) {
      a.spend = arg.substr(7);
    } else if (arg.rfind("-anchor=", 0) == 0) {
      a.anchor = arg.substr(8);
    } else if (arg == "-dryrun") {
      a.dryrun = true;
    } else if (!arg.empty() && arg[0] != '-' && a.withdrawal.empty()) {
      a.withdrawal = arg;
    } else {
      Usage(err, kUsage);
      return std::nullopt;
    }
  }
  const int targets = !a.withdrawal.empty() + !a.spend.empty() + !a.anchor.empty();
  if (a.memberkey.empty() || targets != 1) {
    Usage(err, kUsage);
    return std::nullopt;
  }
  return a;
}

// GET that must answer 200 with a JSON object; prints the node's error otherwise.
std::optional<json> GetJson(const Options& o, const std::string& target, std::ostream& err) {
  auto r = CallApi(o, "GET", target, "", err);
  if (!r) return std::nullopt;
  json j = json::parse(r->body, nullptr, false);
  if (r->status != 200 || !j.is_object()) {
    std::ostringstream ignored;
    PrintReply(*r, ignored, err);
    return std::nullopt;
  }
  return j;
}

std::uint64_t U64(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  if (j[key].is_number_unsigned()) return j[key].get<std::uint64_t>();
  if (!j[key].is_string()) return 0;
  std::uint64_t v = 0;
  const std::string s = j[key].get<std::string>();
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// The spend and its withdrawals as the node reports them.
struct Served {
  bridge::Spend spend;
  std::vector<bridge::Withdrawal> withdrawals;
  std::string psbt;
  std::int64_t now = 0;
};

std::optional<Served> FetchSpend(const Options& o, const std::string& id, std::ostream& err) {
  auto j = GetJson(o, "/api/bridge/spend/" + id, err);
  if (!j) return std::nullopt;
  if (!j->contains("l2") || !(*j)["l2"].is_object() || Str(*j, "psbt").empty()) {
    err << "error: the node has no PSBT for spend " << id << "\n";
    return std::nullopt;
  }
  const json& l2 = (*j)["l2"];
  Served s;
  s.spend.id = id;
  s.spend.kind = Str(l2, "kind");
  s.spend.batch = static_cast<std::int64_t>(U64(l2, "batch"));
  s.spend.status = Str(l2, "status");
  s.spend.fee_reserve = U64(l2, "fee_reserve_sats");
  s.psbt = Str(*j, "psbt");
  s.now = static_cast<std::int64_t>(U64(*j, "now"));
  if (j->contains("withdrawals") && (*j)["withdrawals"].is_array()) {
    for (const auto& w : (*j)["withdrawals"]) {
      bridge::Withdrawal x;
      x.id = U64(w, "id");
      x.asset = Str(w, "asset");
      x.amount = U64(w, "amount");
      x.l1_address = Str(w, "l1_address");
      x.deadline = static_cast<std::int64_t>(U64(w, "deadline"));
      x.status = Str(w, "status");
      x.spend_id = id;
      s.withdrawals.push_back(std::move(x));
    }
  }
  return s;
}

std::optional<std::string> SpendOfWithdrawal(const Options& o, const std::string& id, std::ostream& err) {
  auto j = GetJson(o, "/api/bridge/withdrawal/" + id + "/status", err);
  if (!j) return std::nullopt;
  if (Str(*j, "spend_id").empty()) {
    err << "error: withdrawal " << id << " is " << Str(*j, "stage")
        << ": there is nothing to sign (the signer signs only after the deadline, never a challenged withdrawal)\n";
    return std::nullopt;
  }
  return Str(*j, "spend_id");
}

// What the transaction must pay: the withdrawals (rune ids from the node's
// accepted runes) or the batch's anchor.
bool Expected(const Options& o, const Served& s, const json& info, std::vector<bridge::Payment>& payments,
              std::optional<Bytes>& anchor, std::ostream& err) {
  for (const auto& w : s.withdrawals) {
    auto script = bitcoin::AddressToScriptPubKey(w.l1_address, o.network);
    if (!script.ok()) {
      err << "error: withdrawal " << w.id << ": " << script.error().message << "\n";
      return false;
    }
    bridge::Payment p{w.id, std::move(*script), w.amount, std::nullopt};
    if (w.asset != "BTC") {
      for (const auto& r : info.value("runes", json::array()))
        if (Str(r, "asset") == w.asset) {
          auto id = bitcoin::ParseRuneId(Str(r, "rune_id"));
          if (id.ok()) p.rune = *id;
        }
      if (!p.rune) {
        err << "error: withdrawal " << w.id << ": the node accepts no rune for " << w.asset << "\n";
        return false;
      }
    }
    payments.push_back(std::move(p));
  }
  if (s.spend.kind == "anchor") {
    auto b = GetJson(o, "/api/rollup/batch/" + std::to_string(s.spend.batch), err);
    if (!b) return false;
    auto script = FromHex(b->contains("anchor") ? Str((*b)["anchor"], "script_hex") : "");
    if (!script || script->empty()) {
      err << "error: batch " << s.spend.batch << " has no anchor script\n";
      return false;
    }
    anchor = std::move(*script);
  }
  return true;
}

}  // namespace

int CmdSignPsbt(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  auto a = ParseArgs(args, err);
  if (!a) return 1;
  auto key = bridge::LoadMemberKeyFile(a->memberkey, o.network);
  if (!key.ok()) {
    err << "error: " << key.error().message << "\n";
    return 1;
  }
  auto info = GetJson(o, "/api/bridge/info", err);
  if (!info) return 1;
  std::array<std::string, bridge::kFederationSize> xpubs;
  for (std::size_t i = 0; i < xpubs.size(); ++i)
    xpubs[i] = info->contains("xpubs") && (*info)["xpubs"].size() == 3 ? (*info)["xpubs"][i].get<std::string>() : "";
  auto federation = bridge::Federation::Make(o.network, xpubs);
  if (!federation.ok()) {
    err << "error: the node's federation: " << federation.error().message << "\n";
    return 1;
  }
  const int member = bridge::MemberNumber(*key, *federation);
  if (member == 0) {
    err << "error: this member key is not one of the node's federation keys\n";
    return 1;
  }
  std::string spend_id = a->spend;
  if (!a->anchor.empty()) {
    auto anchor = GetJson(o, "/api/bridge/anchor/" + a->anchor, err);
    if (!anchor) return 1;
    spend_id = Str(*anchor, "spend_id");
    if (spend_id.empty()) {
      err << "error: batch " << a->anchor << " has no anchor transaction yet\n";
      return 1;
    }
  } else if (spend_id.empty()) {
    auto s = SpendOfWithdrawal(o, a->withdrawal, err);
    if (!s) return 1;
    spend_id = *s;
  }
  auto served = FetchSpend(o, spend_id, err);
  if (!served) return 1;
  // The signer's rule, here as in the node: never before a deadline, never
  // for a challenged withdrawal, never for a settled spend.
  Status signable = bridge::CheckSignable(served->spend, served->withdrawals, served->now);
  if (!signable.ok()) {
    err << "error: refusing to sign: " << signable.error().message << " (" << signable.error().code << ")\n";
    return 1;
  }
  auto psbt = bitcoin::ParsePsbtBase64(served->psbt);
  if (!psbt.ok()) {
    err << "error: the node's PSBT: " << psbt.error().message << "\n";
    return 1;
  }
  std::vector<bridge::Payment> payments;
  std::optional<Bytes> anchor;
  if (!Expected(o, *served, *info, payments, anchor, err)) return 1;
  std::vector<bitcoin::TxOut> spent;
  for (std::size_t i = 0; i < psbt->tx.vin.size(); ++i) {
    auto utxo = bitcoin::PsbtSpentOutput(*psbt, i);
    if (!utxo) {
      err << "error: refusing to sign: input " << i << " has no UTXO\n";
      return 1;
    }
    spent.push_back(std::move(*utxo));
  }
  auto change = federation->Policy(0);
  if (!change.ok()) return 1;
  Status content = bridge::CheckSpendTransaction(psbt->tx, spent, change->script_pubkey, payments, anchor,
                                                 static_cast<std::int64_t>(served->spend.fee_reserve));
  if (!content.ok()) {
    err << "error: refusing to sign: " << content.error().message << "\n";
    return 1;
  }
  auto indexes = bridge::SpendAddressIndexes(*psbt, *federation);
  if (!indexes.ok()) {
    err << "error: refusing to sign: " << indexes.error().message << "\n";
    return 1;
  }
  Status s = bridge::SignSpendAsMember(*psbt, *key, *federation, *indexes);
  if (!s.ok()) {
    err << "error: " << s.error().message << "\n";
    return 1;
  }
  const std::string signed_b64 = bitcoin::PsbtToBase64(*psbt);
  if (a->dryrun) {
    out << json{{"spend_id", spend_id}, {"member", member}, {"psbt", signed_b64}}.dump(2) << "\n";
    return 0;
  }
  auto r = CallApi(o, "POST", "/api/bridge/spend/" + spend_id + "/signatures", json{{"psbt", signed_b64}}.dump(), err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

}  // namespace kray::cli
