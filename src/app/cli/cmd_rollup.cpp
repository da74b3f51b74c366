// kray-cli verifychain / verifyproof (see rollup_commands.h, docs/ROLLUP.md).
#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "kray/net/http_client.h"
#include "kray/rollup/json.h"
#include "kray/rollup/leaves.h"
#include "kray/rollup/replay.h"
#include "rollup_commands.h"

namespace kray::cli {
namespace {

using nlohmann::json;

struct RollupArgs {
  std::string rpcconnect = "127.0.0.1";
  std::uint16_t rpcport = 5000;
  int rpctimeout = 30;
  std::int64_t from = 1;
  std::optional<std::int64_t> batch;
  std::string file, root;
  bool quiet = false;
  std::vector<std::string> positional;
};

bool ParseInt(std::string_view s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool Parse(const std::vector<std::string>& args, RollupArgs& a, std::ostream& err) {
  for (const auto& arg : args) {
    if (arg.size() < 2 || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    auto eq = arg.find('=');
    std::string key = arg.substr(1, eq == std::string::npos ? std::string::npos : eq - 1);
    std::string val = eq == std::string::npos ? "" : arg.substr(eq + 1);
    std::int64_t n = 0;
    if (key == "rpcconnect") {
      a.rpcconnect = val;
    } else if (key == "rpcport" && ParseInt(val, n) && n > 0 && n < 65536) {
      a.rpcport = static_cast<std::uint16_t>(n);
    } else if (key == "rpctimeout" && ParseInt(val, n) && n > 0) {
      a.rpctimeout = static_cast<int>(n);
    } else if (key == "from" && ParseInt(val, n) && n >= 1) {
      a.from = n;
    } else if (key == "batch" && ParseInt(val, n) && n >= 0) {
      a.batch = n;
    } else if (key == "file") {
      a.file = val;
    } else if (key == "root") {
      a.root = val;
    } else if (key == "quiet") {
      a.quiet = true;
    } else if (key == "rpctoken" || key == "network" || key == "chainid") {
      // accepted for symmetry with other commands; not needed here
    } else {
      err << "error: unknown or invalid option " << arg << "\n";
      return false;
    }
  }
  return true;
}

// GET that must return 2xx; prints one error line otherwise.
std::optional<std::string> Fetch(net::HttpClient& http, const std::string& target, std::ostream& err) {
  auto r = http.Get(target);
  if (!r.ok()) {
    err << "error: " << r.error().message << " (is krayd running? -rpcconnect/-rpcport)\n";
    return std::nullopt;
  }
  if (r->status < 200 || r->status >= 300) {
    err << "error: GET " << target << ": HTTP " << r->status << ": " << r->body.substr(0, 200) << "\n";
    return std::nullopt;
  }
  return std::move(r->body);
}

json LeafJson(const Bytes& data) {
  if (data.empty()) return nullptr;
  auto leaf = rollup::DecodeLeaf(data);
  if (!leaf.ok()) return {{"invalid", leaf.error().message}};
  if (leaf->type == rollup::LeafType::kSupply) {
    const auto& s = leaf->supply;
    return {{"supply", s.asset},
            {"genesis_total", std::to_string(s.genesis_total)},
            {"minted", std::to_string(s.minted)},
            {"burned", std::to_string(s.burned)},
            {"fee_pool", std::to_string(s.fee_pool)}};
  }
  const auto& a = leaf->account;
  json bal = json::object();
  for (const auto& b : a.balances)
    bal[b.asset] = {{"available", std::to_string(b.available)},
                    {"staked", std::to_string(b.staked)},
                    {"locked", std::to_string(b.locked)}};
  return {{"account_id", a.account_id},
          {"l1_address", a.l1_address},
          {"pubkey", a.pubkey_hex},
          {"nonce", a.nonce},
          {"balances", bal}};
}

// The fraud proof printed on a divergence: everything another node needs to
// check the claim, with pre-state proofs against the previous (agreed) root.
json FraudProof(net::HttpClient& http, rollup::ChainReplayer& replay, const rollup::BatchHeader& b,
                const rollup::BatchContents& c, const Error& e) {
  json j = {{"verdict", "divergence"},
            {"batch", b.number},
            {"code", e.code},
            {"message", e.message},
            {"published_state_root", b.state_root},
            {"published_tx_root", b.tx_root},
            {"prev_state_root", b.prev_state_root}};
  // Tx index, when the error names one ("... tx <i> (seq ...").
  auto pos = e.message.find(" tx ");
  std::int64_t idx = 0;
  if (pos != std::string::npos) {
    auto end = e.message.find(' ', pos + 4);
    if (ParseInt(std::string_view(e.message).substr(pos + 4, end - pos - 4), idx)) j["tx_index"] = idx;
  }
  std::set<std::string> accounts(replay.last_touched().begin(), replay.last_touched().end());
  if (accounts.empty() && j.contains("tx_index") && idx < static_cast<std::int64_t>(c.txs.size())) {
    accounts.insert(c.txs[static_cast<std::size_t>(idx)].from_id);
    accounts.insert(c.txs[static_cast<std::size_t>(idx)].to_id);
  }
  json pre = json::array(), diff = json::array();
  for (const auto& id : accounts) {
    if (id.empty()) continue;
    auto r = http.Get("/api/account/" + id + "/proof?batch=" + std::to_string(b.number - 1));
    if (r.ok() && r->status == 200) {
      json p = json::parse(r->body, nullptr, false);
      if (!p.is_discarded()) pre.push_back(p);
    }
    if (e.code == "verify_state_root_mismatch") {
      auto pub = http.Get("/api/account/" + id + "/proof?batch=" + std::to_string(b.number));
      Bytes published;
      if (pub.ok() && pub->status == 200) {
        auto ap = rollup::AccountProofFromJson(pub->body);
        if (ap.ok()) published = ap->leaf_data;
      }
      Bytes mine = replay.AccountLeaf(id);
      if (mine != published)
        diff.push_back(json{{"account_id", id}, {"published", LeafJson(published)}, {"replayed", LeafJson(mine)}});
    }
  }
  if (e.code == "verify_state_root_mismatch") {
    auto p = e.message.find("replayed state root ");
    if (p != std::string::npos && p + 20 + 64 <= e.message.size())
      j["expected_state_root"] = e.message.substr(p + 20, 64);
    j["differing_leaves"] = diff;
  }
  j["pre_state_proofs"] = pre;
  j["transactions_url"] = "/api/rollup/batch/" + std::to_string(b.number) + "/transactions";
  return j;
}

}  // namespace

int CmdVerifyChain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  RollupArgs a;
  if (!Parse(args, a, err)) return 1;
  net::ClientOptions copts;
  copts.request_timeout = std::chrono::seconds(a.rpctimeout);
  net::HttpClient http(a.rpcconnect, a.rpcport, copts);

  auto health = Fetch(http, "/health", err);
  if (!health) return 1;
  json h = json::parse(*health, nullptr, false);
  ChainParams params;
  if (h.is_discarded() || !h.contains("network") || !h["network"].is_string()) {
    err << "error: /health did not report the chain id\n";
    return 1;
  }
  params.chain_id = h["network"].get<std::string>();
  if (h.contains("bitcoin_network") && h["bitcoin_network"].is_string()) {
    auto net = ParseNetwork(h["bitcoin_network"].get<std::string>());
    if (net) params.network = *net;
  }
  auto gbody = Fetch(http, "/api/rollup/genesis", err);
  if (!gbody) return 1;
  auto genesis = rollup::GenesisFromJson(*gbody);
  if (!genesis.ok()) {
    err << "error: genesis: " << genesis.error().message << "\n";
    return 1;
  }
  auto sbody = Fetch(http, "/api/rollup/state-root", err);
  if (!sbody) return 1;
  json sr = json::parse(*sbody, nullptr, false);
  if (sr.is_discarded() || !sr.contains("last_batch") || !sr["last_batch"].is_number_integer()) {
    err << "error: /api/rollup/state-root: unexpected response\n";
    return 1;
  }
  std::int64_t last = sr["last_batch"].get<std::int64_t>();

  auto replay = rollup::ChainReplayer::Create(params, "");
  if (!replay.ok()) {
    err << "error: " << replay.error().message << "\n";
    return 1;
  }
  rollup::ChainReplayer& r = **replay;
  Status g = r.Genesis(genesis->leaves, genesis->genesis_root, genesis->base_seq);
  if (!g.ok()) {
    out << json{{"verdict", "divergence"}, {"batch", 0}, {"code", g.error().code}, {"message", g.error().message}}.dump(
               2)
        << "\n";
    return 2;
  }
  if (!a.quiet) err << "genesis: " << genesis->leaves.size() << " leaves, root " << genesis->genesis_root << " OK\n";
  std::int64_t txs = 0;
  for (std::int64_t n = 1; n <= last; ++n) {
    auto body = Fetch(http, "/api/rollup/batch/" + std::to_string(n) + "/transactions", err);
    if (!body) return 1;
    auto c = rollup::BatchTransactionsFromJson(*body);
    if (!c.ok()) {
      err << "error: batch " << n << ": " << c.error().message << "\n";
      return 1;
    }
    for (auto& ev : c->events) ev.batch = n;
    Status s = r.Batch(c->header, c->txs, c->events);
    if (!s.ok()) {
      out << FraudProof(http, r, c->header, *c, s.error()).dump(2) << "\n";
      err << "verifychain: FAILED at batch " << n << ": " << s.error().message << "\n";
      return 2;
    }
    txs += static_cast<std::int64_t>(c->txs.size());
    if (!a.quiet && (n % 100 == 0 || n == last))
      err << "batch " << n << "/" << last << ": " << txs << " txs replayed, state root " << r.root() << " OK\n";
  }
  out << json{{"verdict", "ok"}, {"batches", last}, {"transactions", txs}, {"state_root", r.root()}}.dump(2) << "\n";
  return 0;
}

int CmdVerifyProof(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  RollupArgs a;
  if (!Parse(args, a, err)) return 1;
  std::string proof_text;
  std::string root_hex = a.root;
  if (!a.file.empty()) {
    if (a.file == "-") {
      proof_text.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      std::ifstream in(a.file, std::ios::binary);
      if (!in) {
        err << "error: cannot read " << a.file << "\n";
        return 1;
      }
      proof_text.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (root_hex.empty()) {
      err << "error: offline verification needs -root=<hex state root>\n";
      return 1;
    }
  } else {
    if (a.positional.size() != 1) {
      err << "usage: verifyproof <address|account_id> [-batch=N] | -file=<proof.json> -root=<hex>\n";
      return 1;
    }
    net::ClientOptions copts;
    copts.request_timeout = std::chrono::seconds(a.rpctimeout);
    net::HttpClient http(a.rpcconnect, a.rpcport, copts);
    std::string target = "/api/account/" + a.positional[0] + "/proof";
    if (a.batch) target += "?batch=" + std::to_string(*a.batch);
    auto body = Fetch(http, target, err);
    if (!body) return 1;
    proof_text = *body;
    if (root_hex.empty()) {
      // The root comes from the batch header, not from the proof response.
      auto p = rollup::AccountProofFromJson(proof_text);
      if (!p.ok()) {
        err << "error: " << p.error().message << "\n";
        return 1;
      }
      std::optional<std::string> hb;
      if (p->batch == 0 && !p->at_head) {
        hb = Fetch(http, "/api/rollup/genesis", err);
        if (!hb) return 1;
        json j = json::parse(*hb, nullptr, false);
        if (!j.is_discarded() && j.contains("genesis_root") && j["genesis_root"].is_string())
          root_hex = j["genesis_root"].get<std::string>();
      } else if (p->at_head) {
        hb = Fetch(http, "/api/rollup/state-root", err);
        if (!hb) return 1;
        json j = json::parse(*hb, nullptr, false);
        if (!j.is_discarded() && j.contains("state_root") && j["state_root"].is_string())
          root_hex = j["state_root"].get<std::string>();
      } else {
        hb = Fetch(http, "/api/rollup/batch/" + std::to_string(p->batch), err);
        if (!hb) return 1;
        auto b = rollup::BatchFromJson(*hb);
        if (b.ok()) root_hex = b->state_root;
      }
    }
  }
  auto proof = rollup::AccountProofFromJson(proof_text);
  if (!proof.ok()) {
    err << "error: proof: " << proof.error().message << "\n";
    return 1;
  }
  auto root = FromHexFixed<32>(root_hex);
  if (!root) {
    err << "error: root must be 32 bytes of hex\n";
    return 1;
  }
  Status s = rollup::VerifyAccountProof(*proof, *root);
  if (!s.ok()) {
    err << "error: proof INVALID against root " << root_hex << ": " << s.error().message << "\n";
    return 1;
  }
  out << json{{"valid", true},
              {"root", root_hex},
              {"account_id", proof->account_id},
              {"batch", proof->batch},
              {"included", !proof->leaf_data.empty()},
              {"leaf", LeafJson(proof->leaf_data)}}
             .dump(2)
      << "\n";
  return 0;
}

namespace {
std::vector<std::string> WithGlobal(const Options& o, const Args& a) {
  std::vector<std::string> full = {"-rpcconnect=" + o.rpcconnect, "-rpcport=" + std::to_string(o.rpcport),
                                   "-rpctimeout=" + std::to_string(o.rpctimeout)};
  full.insert(full.end(), a.begin(), a.end());  // options after the command win
  return full;
}
}  // namespace

int CmdVerifyChainWithOptions(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  return CmdVerifyChain(WithGlobal(o, a), out, err);
}

int CmdVerifyProofWithOptions(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  return CmdVerifyProof(WithGlobal(o, a), out, err);
}

}  // namespace kray::cli
