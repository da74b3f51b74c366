// kray-cli verifychain / verifyproof (see rollup_commands.h, docs/ROLLUP.md).
#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "../node/modules.h"
#include "kray/bridge/bitcoin_rpc.h"
#include "kray/bridge/spend_tx.h"
#include "kray/crypto/hash.h"
#include "kray/net/http_client.h"
#include "kray/rollup/json.h"
#include "kray/rollup/replay.h"
#include "kray/state/leaves.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
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
  // An L1 node to check anchors against (verifychain).
  std::string btc_host;
  std::uint16_t btc_port = 0;
  std::string btc_cookie, btc_user, btc_password;
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
    } else if (key == "bitcoinrpcconnect" && !val.empty()) {
      a.btc_host = val;
    } else if (key == "bitcoinrpcport" && ParseInt(val, n) && n > 0 && n < 65536) {
      a.btc_port = static_cast<std::uint16_t>(n);
    } else if (key == "bitcoinrpccookiefile" && !val.empty()) {
      a.btc_cookie = val;
    } else if (key == "bitcoinrpcuser") {
      a.btc_user = val;
    } else if (key == "bitcoinrpcpassword") {
      a.btc_password = val;
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
  auto leaf = state::DecodeLeaf(data);
  if (!leaf.ok()) return {{"type", data[0]}, {"data_hex", ToHex(data)}};
  if (leaf->type == state::kSupplyLeaf) {
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
// check the claim, with pre-state proofs (against the previous batch root,
// which this verifier has confirmed itself) of the accounts involved.
json FraudProof(net::HttpClient& http, rollup::ChainReplayer& replay, const rollup::BatchHeader& b,
                const std::vector<state::Operation>& ops, const Error& e) {
  json j = {{"verdict", "divergence"},
            {"batch", b.number},
            {"code", e.code},
            {"message", e.message},
            {"published_state_root", b.state_root},
            {"published_tx_root", b.tx_root},
            {"prev_state_root", b.prev_state_root}};
  // Operation index, when the error names one ("... operation <i> (seq ...").
  auto pos = e.message.find(" operation ");
  std::int64_t idx = -1;
  if (pos != std::string::npos) {
    auto start = pos + 11;
    auto end = e.message.find(' ', start);
    if (ParseInt(std::string_view(e.message).substr(start, end - start), idx)) j["operation_index"] = idx;
  }
  std::set<std::string> accounts;
  for (const auto& leaf : replay.last_touched())
    if (leaf.type == state::kAccountLeaf) accounts.insert(leaf.id);
  if (idx >= 0 && idx < static_cast<std::int64_t>(ops.size())) {
    const auto& op = ops[static_cast<std::size_t>(idx)];
    j["operation"] = json::parse(rollup::OperationJson(op), nullptr, false);
    if (!op.signer.empty()) accounts.insert(op.signer);
    for (const auto& [k, v] : op.fields)
      if (state::IsAccountId(v)) accounts.insert(v);
  }
  json pre = json::array(), diff = json::array();
  for (const auto& id : accounts) {
    auto r = http.Get("/api/account/" + id + "/proof?batch=" + std::to_string(b.number - 1));
    if (r.ok() && r->status == 200) {
      json p = json::parse(r->body, nullptr, false);
      if (!p.is_discarded()) pre.push_back(p);
    }
    if (e.code == "verify_state_root_mismatch") {
      auto pub = http.Get("/api/account/" + id + "/proof?batch=" + std::to_string(b.number));
      Bytes published;
      if (pub.ok() && pub->status == 200) {
        auto lp = rollup::LeafProofFromJson(pub->body);
        if (lp.ok()) published = lp->leaf_data;
      }
      Bytes mine = replay.LeafData(state::LeafId{state::kAccountLeaf, id});
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
  j["operations_url"] = "/api/rollup/batch/" + std::to_string(b.number) + "/operations";
  return j;
}

// Every operation of batch `n`, following the pages.
std::optional<rollup::BatchOperationsPage> FetchBatch(net::HttpClient& http, std::int64_t n, std::ostream& err) {
  rollup::BatchOperationsPage all;
  std::string target = "/api/rollup/batch/" + std::to_string(n) + "/operations";
  std::optional<std::int64_t> after;
  for (int pages = 0;; ++pages) {
    auto body = Fetch(http, target + (after ? "?after=" + std::to_string(*after) : std::string()), err);
    if (!body) return std::nullopt;
    auto page = rollup::BatchOperationsFromJson(*body);
    if (!page.ok()) {
      err << "error: batch " << n << ": " << page.error().message << "\n";
      return std::nullopt;
    }
    if (pages == 0) all.header = page->header;
    for (auto& op : page->ops) all.ops.push_back(std::move(op));
    // A page that makes no progress would loop forever: the node is broken.
    if (!page->next_after || (after && *page->next_after <= *after) ||
        all.ops.size() > static_cast<std::size_t>(all.header.tx_count))
      break;
    after = page->next_after;
  }
  return all;
}

// A finalized batch's anchor, read from the L1 node: the transaction the
// node names must be in the block at the height it names, and its one
// OP_RETURN must carry this batch's number and the roots the replay computed.
// Returns "" if it matches, else why not.
std::string CheckAnchor(net::HttpClient& http, bridge::BitcoinRpc& btc, std::int64_t n, const std::string& state_root,
                        const std::string& tx_root, bool& finalized, std::ostream& err) {
  finalized = false;
  auto body = Fetch(http, "/api/rollup/batch/" + std::to_string(n), err);
  if (!body) return "cannot read the batch header";
  json b = json::parse(*body, nullptr, false);
  if (b.is_discarded() || !b.contains("anchor") || !b["anchor"].is_object()) return "the batch header has no anchor";
  const json& an = b["anchor"];
  if (an.value("status", "") != "finalized") return "";
  finalized = true;
  if (!an["txid"].is_string() || !an["height"].is_number_unsigned()) return "a finalized anchor without txid/height";
  auto txid = bitcoin::HashFromDisplayHex(an["txid"].get<std::string>());
  if (!txid.ok()) return "bad anchor txid";
  auto block = btc.GetBlockHash(an["height"].get<std::uint32_t>());
  if (!block.ok()) return "L1: " + block.error().message;
  auto tx = btc.GetRawTransaction(*txid, &*block);
  if (!tx.ok()) return "L1: " + tx.error().message;
  if (!*tx)
    return "L1 has no transaction " + an["txid"].get<std::string>() + " in the block at height " +
           std::to_string(an["height"].get<std::uint32_t>());
  if (bridge::AnchoredBatch((*tx)->tx) != static_cast<std::uint64_t>(n))
    return "the transaction's OP_RETURN does not anchor batch " + std::to_string(n);
  auto sr = FromHexFixed<32>(state_root);
  auto tr = FromHexFixed<32>(tx_root);
  if (!sr || !tr) return "malformed roots";
  const Bytes want = rollup::AnchorScript(static_cast<std::uint64_t>(n), *sr, *tr);
  for (const auto& o : (*tx)->tx.vout)
    if (o.script_pubkey == want) return "";
  return "the OP_RETURN on L1 carries other roots than the replayed state root " + state_root;
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
  if (ToHex(crypto::Sha256(AsBytes(genesis->genesis_file))) != genesis->genesis_hash) {
    err << "error: the served genesis file does not hash to the served genesis hash\n";
    return 2;
  }
  auto sbody = Fetch(http, "/api/rollup/state-root", err);
  if (!sbody) return 1;
  json sr = json::parse(*sbody, nullptr, false);
  if (sr.is_discarded() || !sr.contains("last_batch") || !sr["last_batch"].is_number_integer()) {
    err << "error: /api/rollup/state-root: unexpected response\n";
    return 1;
  }
  std::int64_t last = sr["last_batch"].get<std::int64_t>();

  auto replay = rollup::ChainReplayer::Create(params, app::NodeModules(), "");
  if (!replay.ok()) {
    err << "error: " << replay.error().message << "\n";
    return 1;
  }
  rollup::ChainReplayer& r = **replay;
  std::unique_ptr<bridge::BitcoinRpc> btc;
  if (!a.btc_host.empty()) {
    bridge::RpcOptions ro;
    ro.host = a.btc_host;
    ro.port = a.btc_port ? a.btc_port : 8332;
    ro.cookie_file = a.btc_cookie;
    ro.user = a.btc_user;
    ro.password = a.btc_password;
    ro.max_attempts = 2;
    btc = std::make_unique<bridge::BitcoinRpc>(ro);
  }
  std::int64_t anchors_checked = 0;
  Status g = r.Genesis(genesis->genesis_file, genesis->genesis_root);
  if (!g.ok()) {
    out << json{{"verdict", "divergence"}, {"batch", 0}, {"code", g.error().code}, {"message", g.error().message}}.dump(
               2)
        << "\n";
    return 2;
  }
  if (!a.quiet) err << "genesis: root " << genesis->genesis_root << " OK\n";
  std::int64_t total_ops = 0;
  for (std::int64_t n = 1; n <= last; ++n) {
    auto batch = FetchBatch(http, n, err);
    if (!batch) return 1;
    Status s = r.Batch(batch->header, batch->ops);
    if (!s.ok()) {
      out << FraudProof(http, r, batch->header, batch->ops, s.error()).dump(2) << "\n";
      err << "verifychain: FAILED at batch " << n << ": " << s.error().message << "\n";
      return 2;
    }
    total_ops += static_cast<std::int64_t>(batch->ops.size());
    if (btc) {
      bool finalized = false;
      const std::string why = CheckAnchor(http, *btc, n, r.root(), batch->header.tx_root, finalized, err);
      if (!why.empty()) {
        out << json{{"verdict", "anchor_mismatch"}, {"batch", n}, {"message", why}}.dump(2) << "\n";
        err << "verifychain: FAILED: batch " << n << "'s anchor: " << why << "\n";
        return 2;
      }
      if (finalized) ++anchors_checked;
    }
    if (!a.quiet && (n % 100 == 0 || n == last))
      err << "batch " << n << "/" << last << ": " << total_ops << " operations replayed, state root " << r.root()
          << " OK\n";
  }
  Status covered = r.CheckTreeCoversState();
  if (!covered.ok()) {
    out << json{{"verdict", "divergence"},
                {"batch", last},
                {"code", covered.error().code},
                {"message", covered.error().message}}
               .dump(2)
        << "\n";
    err << "verifychain: FAILED: " << covered.error().message << "\n";
    return 2;
  }
  json verdict = {{"verdict", "ok"}, {"batches", last}, {"operations", total_ops}, {"state_root", r.root()}};
  verdict["anchors_checked_on_l1"] = btc ? json(anchors_checked) : json(nullptr);
  out << verdict.dump(2) << "\n";
  return 0;
}

// verifyproof: the proof must be for the account asked about, at the batch
// asked about, and verify against that batch's published root (fetched
// separately from the proof). Without -batch: the latest closed batch.
int CmdVerifyProof(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  RollupArgs a;
  if (!Parse(args, a, err)) return 1;
  if (a.positional.size() != 1) {
    err << "usage: verifyproof <address|account_id> [-batch=N] | <address|account_id> -file=<proof.json> -root=<hex>\n";
    return 1;
  }
  ChainParams params;
  std::string proof_text;
  std::string root_hex = a.root;
  std::optional<std::int64_t> want_batch = a.batch;
  std::optional<net::HttpClient> http;
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
    net::ClientOptions copts;
    copts.request_timeout = std::chrono::seconds(a.rpctimeout);
    http.emplace(a.rpcconnect, a.rpcport, copts);
    auto health = Fetch(*http, "/health", err);
    if (!health) return 1;
    json h = json::parse(*health, nullptr, false);
    if (!h.is_discarded() && h.contains("bitcoin_network") && h["bitcoin_network"].is_string())
      if (auto n = ParseNetwork(h["bitcoin_network"].get<std::string>())) params.network = *n;
    if (!want_batch) {
      auto sb = Fetch(*http, "/api/rollup/state-root", err);
      if (!sb) return 1;
      json sr = json::parse(*sb, nullptr, false);
      if (sr.is_discarded() || !sr.contains("last_batch") || !sr["last_batch"].is_number_integer()) {
        err << "error: /api/rollup/state-root: unexpected response\n";
        return 1;
      }
      want_batch = sr["last_batch"].get<std::int64_t>();
    }
    auto body = Fetch(*http, "/api/account/" + a.positional[0] + "/proof?batch=" + std::to_string(*want_batch), err);
    if (!body) return 1;
    proof_text = *body;
    // The root comes from the batch header (or the genesis), never from the proof.
    if (*want_batch == 0) {
      auto gb = Fetch(*http, "/api/rollup/genesis", err);
      if (!gb) return 1;
      auto g = rollup::GenesisFromJson(*gb);
      if (g.ok()) root_hex = g->genesis_root;
    } else {
      auto hb = Fetch(*http, "/api/rollup/batch/" + std::to_string(*want_batch), err);
      if (!hb) return 1;
      auto b = rollup::BatchFromJson(*hb);
      if (b.ok()) root_hex = b->state_root;
    }
  }
  auto who = state::ResolveAccount(params, a.positional[0]);
  if (!who.ok()) {
    err << "error: " << who.error().message << "\n";
    return 1;
  }
  auto proof = rollup::LeafProofFromJson(proof_text);
  if (!proof.ok()) {
    err << "error: proof: " << proof.error().message << "\n";
    return 1;
  }
  auto root = FromHexFixed<32>(root_hex);
  if (!root) {
    err << "error: root must be 32 bytes of hex\n";
    return 1;
  }
  if (want_batch && (proof->at_head || proof->batch != *want_batch)) {
    err << "error: proof INVALID: it is for batch " << proof->batch << (proof->at_head ? " (head)" : "")
        << ", not batch " << *want_batch << "\n";
    return 1;
  }
  Status s = rollup::VerifyLeafProof(*proof, state::LeafId{state::kAccountLeaf, who->account_id}, *root);
  if (!s.ok()) {
    err << "error: proof INVALID against root " << root_hex << ": " << s.error().message << "\n";
    return 1;
  }
  out << json{{"valid", true},
              {"root", root_hex},
              {"account_id", who->account_id},
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
