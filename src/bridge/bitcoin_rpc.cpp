// Bitcoin Core JSON-RPC client. Protocol facts used here (Bitcoin Core
// src/httprpc.cpp, src/rpc/request.cpp, doc/JSON-RPC-interface.md):
// a JSON-RPC 1.0 style request gets HTTP 200 for a result, HTTP 500 (or 404
// for an unknown method) with the same JSON envelope for an error, 401 with an
// empty body for bad credentials, and 503 when the HTTP work queue is full.
#include "kray/bridge/bitcoin_rpc.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include "kray/bitcoin/psbt.h"  // Base64Encode
#include "kray/net/http_client.h"
#include "rpc_json.h"

namespace kray::bridge {

using internal::Json;
using internal::ParseExactJson;

namespace {

constexpr std::int64_t kCoin = 100'000'000;
constexpr std::int64_t kMaxMoney = 21'000'000 * kCoin;

Error BadReply(std::string_view method, const std::string& why) {
  return Error::Unavailable("l1_bad_reply", std::string(method) + ": " + why);
}

// Typed field readers: each returns nullopt if the field is missing or has
// the wrong type (the caller turns that into l1_bad_reply).
const Json* Field(const Json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}
std::optional<std::string> StringField(const Json& obj, const char* name) {
  const Json* f = Field(obj, name);
  if (!f || !f->is_string()) return std::nullopt;
  return f->get<std::string>();
}
std::optional<std::int64_t> IntField(const Json& obj, const char* name) {
  const Json* f = Field(obj, name);
  if (!f || !f->is_number_integer()) return std::nullopt;
  if (f->is_number_unsigned() && f->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return f->get<std::int64_t>();
}
std::optional<std::uint32_t> U32Field(const Json& obj, const char* name) {
  auto v = IntField(obj, name);
  if (!v || *v < 0 || *v > static_cast<std::int64_t>(UINT32_MAX)) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}
std::optional<bool> BoolField(const Json& obj, const char* name) {
  const Json* f = Field(obj, name);
  if (!f || !f->is_boolean()) return std::nullopt;
  return f->get<bool>();
}
std::optional<Hash256> HashField(const Json& obj, const char* name) {
  auto s = StringField(obj, name);
  if (!s) return std::nullopt;
  auto h = bitcoin::HashFromDisplayHex(*s);
  if (!h.ok()) return std::nullopt;
  return *h;
}
// A BTC amount: an exact-text number (kept as a string by ParseExactJson) or
// an integer number of BTC.
std::optional<std::int64_t> AmountField(const Json& obj, const char* name) {
  const Json* f = Field(obj, name);
  if (!f) return std::nullopt;
  if (f->is_string()) return ParseBtcAmount(f->get_ref<const std::string&>());
  if (f->is_number_unsigned()) {
    const std::uint64_t btc = f->get<std::uint64_t>();
    if (btc > static_cast<std::uint64_t>(kMaxMoney / kCoin)) return std::nullopt;
    return static_cast<std::int64_t>(btc) * kCoin;
  }
  return std::nullopt;
}

std::string HexOfTx(const bitcoin::Transaction& tx) {
  return ToHex(bitcoin::SerializeTransaction(tx, true));
}

bool IsRetryable(const Error& e) {
  // HttpClient reports every transport failure (connect, I/O, timeout) as
  // kUnavailable; see http_client.h.
  return e.kind == ErrorKind::kUnavailable;
}

}  // namespace

std::optional<std::int64_t> ParseBtcAmount(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  const auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || frac.size() > 8) return std::nullopt;
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(whole) || !digits(frac)) return std::nullopt;
  // Strip leading zeros so the length check below bounds the value.
  while (whole.size() > 1 && whole[0] == '0') whole.remove_prefix(1);
  if (whole.size() > 8) return std::nullopt;  // >= 10^8 BTC is above the 21M cap anyway
  std::int64_t btc = 0;
  for (char c : whole) btc = btc * 10 + (c - '0');
  std::int64_t sats = 0;
  for (std::size_t i = 0; i < 8; ++i) sats = sats * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  const std::int64_t total = btc * kCoin + sats;
  if (total > kMaxMoney) return std::nullopt;
  return total;
}

struct BitcoinRpc::Impl {
  RpcOptions options;
  net::HttpClient http;
  std::uint64_t next_id = 1;

  explicit Impl(RpcOptions o)
      : options(std::move(o)),
        http(options.host, options.port, net::ClientOptions{options.connect_timeout, options.request_timeout}) {}

  // "Basic <base64(user:password)>", the cookie file read now.
  Result<std::string> Authorization() const {
    std::string credentials;
    if (!options.cookie_file.empty()) {
      std::ifstream in(options.cookie_file);
      if (!in) return Error::Unavailable("l1_unreachable", "cannot read cookie file " + options.cookie_file);
      std::getline(in, credentials);
      if (credentials.empty() || credentials.size() > 1024 || credentials.find(':') == std::string::npos)
        return Error::Unavailable("l1_unreachable", "malformed cookie file " + options.cookie_file);
    } else {
      credentials = options.user + ":" + options.password;
    }
    return "Basic " + bitcoin::Base64Encode(AsBytes(credentials));
  }

  std::string Target() const {
    if (options.wallet.empty()) return "/";
    // Wallet names are URI-encoded by bitcoin-cli; escape everything but
    // unreserved characters.
    std::string t = "/wallet/";
    static const char* kHex = "0123456789ABCDEF";
    for (unsigned char c : options.wallet) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        t.push_back(static_cast<char>(c));
      } else {
        t.push_back('%');
        t.push_back(kHex[c >> 4]);
        t.push_back(kHex[c & 15]);
      }
    }
    return t;
  }

  // One JSON-RPC exchange with retries; the parsed envelope's "result" or
  // Core's error. `params_json` is a JSON array's text, sent as is (so a
  // caller's decimal numbers keep their exact text).
  Result<std::pair<std::optional<RpcError>, Json>> Exchange(std::string_view method, std::string_view params_json) {
    const std::uint64_t id = next_id++;
    const std::string body = R"({"jsonrpc":"1.0","id":)" + std::to_string(id) + R"(,"method":)" +
                             Json(std::string(method)).dump() + R"(,"params":)" + std::string(params_json) + "}";
    std::string last_error;
    const int attempts = std::max(1, options.max_attempts);
    std::chrono::milliseconds backoff = options.initial_backoff;
    for (int attempt = 0; attempt < attempts; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, options.max_backoff);
      }
      auto auth = Authorization();
      if (!auth.ok()) {
        last_error = auth.error().message;
        continue;
      }
      auto res = http.Post(Target(), body, {{"Authorization", *auth}, {"Content-Type", "application/json"}});
      if (!res.ok()) {
        if (!IsRetryable(res.error())) return BadReply(method, res.error().message);
        last_error = res.error().message;
        continue;
      }
      const int status = res->status;
      if (status == 401 || status == 403)
        return Error::Unavailable("l1_unauthorized", std::string(method) + ": bitcoind refused the credentials (HTTP " +
                                                         std::to_string(status) + ")");
      if (status == 503) {
        last_error = "HTTP 503 (bitcoind busy)";
        http.Close();
        continue;
      }
      return ParseEnvelope(method, id, status, res->body);
    }
    return Error::Unavailable("l1_unreachable", std::string(method) + ": bitcoind at " + options.host + ":" +
                                                    std::to_string(options.port) + " unreachable after " +
                                                    std::to_string(attempts) + " attempts: " + last_error);
  }

  static Result<std::pair<std::optional<RpcError>, Json>> ParseEnvelope(std::string_view method, std::uint64_t id,
                                                                        int status, const std::string& body) {
    const std::string http = "HTTP " + std::to_string(status);
    auto parsed = ParseExactJson(body);
    if (!parsed || !parsed->is_object()) return BadReply(method, http + " with a body that is not a JSON object");
    const Json& env = *parsed;
    const Json* rid = Field(env, "id");
    if (!rid || !rid->is_number_unsigned() || rid->get<std::uint64_t>() != id)
      return BadReply(method, http + ": reply id does not match the request");
    const Json* err = Field(env, "error");
    if (err && !err->is_null()) {
      auto code = IntField(*err, "code");
      auto message = StringField(*err, "message");
      if (!code || !message || *code < INT32_MIN || *code > INT32_MAX)
        return BadReply(method, http + ": malformed error object");
      return std::pair<std::optional<RpcError>, Json>{RpcError{static_cast<int>(*code), *message}, Json()};
    }
    if (status != 200) return BadReply(method, http + " without an error object");
    const Json* result = Field(env, "result");
    if (!result) return BadReply(method, "reply has no result");
    return std::pair<std::optional<RpcError>, Json>{std::nullopt, *result};
  }

  Result<std::pair<std::optional<RpcError>, Json>> Exchange(std::string_view method, const Json& params) {
    return Exchange(method, std::string_view(params.dump()));
  }

  // The result, or l1_rpc_error for Core's error.
  Result<Json> Call(std::string_view method, const Json& params) {
    auto r = Exchange(method, params);
    if (!r.ok()) return std::move(r).error();
    if (r->first) return RpcFailure(method, *r->first);
    return std::move(r->second);
  }

  static Error RpcFailure(std::string_view method, const RpcError& e) {
    return Error::Unavailable("l1_rpc_error",
                              std::string(method) + ": bitcoind error " + std::to_string(e.code) + ": " + e.message);
  }
};

BitcoinRpc::BitcoinRpc(RpcOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
BitcoinRpc::~BitcoinRpc() = default;

const RpcOptions& BitcoinRpc::options() const {
  return impl_->options;
}

void BitcoinRpc::Close() {
  impl_->http.Close();
}

Result<RpcReply> BitcoinRpc::CallRaw(std::string_view method, std::string_view params_json) {
  auto params = ParseExactJson(params_json);
  if (!params || !params->is_array()) return Error::Invalid("l1_bad_params", "params must be a JSON array");
  auto r = impl_->Exchange(method, params_json);
  if (!r.ok()) return std::move(r).error();
  RpcReply reply;
  reply.error = std::move(r->first);
  if (!reply.error) reply.result_json = r->second.dump();
  return reply;
}

Result<std::string> BitcoinRpc::Call(std::string_view method, std::string_view params_json) {
  auto reply = CallRaw(method, params_json);
  if (!reply.ok()) return std::move(reply).error();
  if (reply->error) return Impl::RpcFailure(method, *reply->error);
  return std::move(reply->result_json);
}

Result<BlockchainInfo> BitcoinRpc::GetBlockchainInfo() {
  auto r = impl_->Call("getblockchaininfo", Json::array());
  if (!r.ok()) return std::move(r).error();
  BlockchainInfo info;
  auto chain = StringField(*r, "chain");
  auto blocks = U32Field(*r, "blocks");
  auto headers = U32Field(*r, "headers");
  auto best = HashField(*r, "bestblockhash");
  auto ibd = BoolField(*r, "initialblockdownload");
  if (!chain || !blocks || !headers || !best || !ibd)
    return BadReply("getblockchaininfo", "missing or mistyped fields");
  info.chain = *chain;
  info.blocks = *blocks;
  info.headers = *headers;
  info.best_block_hash = *best;
  info.initial_block_download = *ibd;
  return info;
}

Result<Hash256> BitcoinRpc::GetBlockHash(std::uint32_t height) {
  auto reply = impl_->Exchange("getblockhash", Json::array({height}));
  if (!reply.ok()) return std::move(reply).error();
  if (reply->first) {
    Error e = Impl::RpcFailure("getblockhash", *reply->first);
    if (reply->first->code == kRpcInvalidParameter) e.kind = ErrorKind::kNotFound;  // above the tip
    return e;
  }
  const Json* r = &reply->second;
  if (!r->is_string()) return BadReply("getblockhash", "result is not a string");
  auto h = bitcoin::HashFromDisplayHex(r->get<std::string>());
  if (!h.ok()) return BadReply("getblockhash", "result is not a block hash");
  return *h;
}

Result<BlockHeaderInfo> BitcoinRpc::GetBlockHeader(const Hash256& hash) {
  auto r = impl_->Call("getblockheader", Json::array({bitcoin::HashToDisplayHex(hash), true}));
  if (!r.ok()) return std::move(r).error();
  const Json& j = *r;
  BlockHeaderInfo info;
  auto rhash = HashField(j, "hash");
  auto height = U32Field(j, "height");
  auto conf = IntField(j, "confirmations");
  auto version = IntField(j, "version");
  auto merkle = HashField(j, "merkleroot");
  auto time = U32Field(j, "time");
  auto nonce = U32Field(j, "nonce");
  auto bits = StringField(j, "bits");
  auto ntx = U32Field(j, "nTx");
  if (!rhash || !height || !conf || !version || !merkle || !time || !nonce || !bits || !ntx)
    return BadReply("getblockheader", "missing or mistyped fields");
  if (*rhash != hash) return BadReply("getblockheader", "header for a different block");
  if (*version < INT32_MIN || *version > INT32_MAX) return BadReply("getblockheader", "version out of range");
  auto bits_bytes = FromHexFixed<4>(*bits);
  if (!bits_bytes) return BadReply("getblockheader", "bits is not 8 hex digits");
  info.hash = hash;
  info.height = *height;
  info.confirmations = *conf;
  info.n_tx = *ntx;
  info.header.version = static_cast<std::int32_t>(*version);
  info.header.merkle_root = *merkle;
  info.header.time = *time;
  info.header.nonce = *nonce;
  info.header.bits = (std::uint32_t{(*bits_bytes)[0]} << 24) | (std::uint32_t{(*bits_bytes)[1]} << 16) |
                     (std::uint32_t{(*bits_bytes)[2]} << 8) | std::uint32_t{(*bits_bytes)[3]};
  if (Field(j, "previousblockhash")) {
    auto prev = HashField(j, "previousblockhash");
    if (!prev) return BadReply("getblockheader", "bad previousblockhash");
    info.header.prev_block = *prev;
  } else if (*height != 0) {
    return BadReply("getblockheader", "no previousblockhash above genesis");
  }
  if (Field(j, "nextblockhash")) {
    auto next = HashField(j, "nextblockhash");
    if (!next) return BadReply("getblockheader", "bad nextblockhash");
    info.next_block_hash = *next;
  }
  // The fields must be the header that hashes to the block asked for.
  if (bitcoin::BlockHash(info.header) != hash) return BadReply("getblockheader", "fields do not hash to the block");
  return info;
}

Result<bitcoin::Block> BitcoinRpc::GetBlock(const Hash256& hash) {
  auto r = impl_->Call("getblock", Json::array({bitcoin::HashToDisplayHex(hash), 0}));
  if (!r.ok()) return std::move(r).error();
  if (!r->is_string()) return BadReply("getblock", "result is not a hex string");
  auto block = bitcoin::ParseBlockHex(r->get_ref<const std::string&>());
  if (!block.ok()) return BadReply("getblock", "block does not parse: " + block.error().code);
  if (bitcoin::BlockHash(block->header) != hash)
    return BadReply("getblock", "block does not hash to the block asked for");
  auto commitments = bitcoin::CheckBlockCommitments(*block);
  if (!commitments.ok()) return BadReply("getblock", "block fails its commitments: " + commitments.error().code);
  return std::move(*block);
}

Result<std::optional<TxInfo>> BitcoinRpc::GetRawTransaction(const Hash256& txid, const Hash256* block_hash) {
  Json params = Json::array({bitcoin::HashToDisplayHex(txid), 1});
  if (block_hash) params.push_back(bitcoin::HashToDisplayHex(*block_hash));
  auto r = impl_->Exchange("getrawtransaction", params);
  if (!r.ok()) return std::move(r).error();
  if (r->first) {
    if (r->first->code == kRpcInvalidAddressOrKey) return std::optional<TxInfo>();
    return Impl::RpcFailure("getrawtransaction", *r->first);
  }
  const Json& j = r->second;
  auto hex = StringField(j, "hex");
  if (!hex) return BadReply("getrawtransaction", "no hex");
  auto tx = bitcoin::ParseTransactionHex(*hex);
  if (!tx.ok()) return BadReply("getrawtransaction", "transaction does not parse: " + tx.error().code);
  if (bitcoin::Txid(*tx) != txid)
    return BadReply("getrawtransaction", "transaction does not hash to the txid asked for");
  TxInfo info;
  info.tx = std::move(*tx);
  if (Field(j, "blockhash")) {
    auto bh = HashField(j, "blockhash");
    auto conf = U32Field(j, "confirmations");
    if (!bh || !conf) return BadReply("getrawtransaction", "bad blockhash/confirmations");
    info.block_hash = *bh;
    info.confirmations = *conf;
  }
  return std::optional<TxInfo>(std::move(info));
}

Result<std::optional<TxOutInfo>> BitcoinRpc::GetTxOut(const Hash256& txid, std::uint32_t n, bool include_mempool) {
  auto r = impl_->Call("gettxout", Json::array({bitcoin::HashToDisplayHex(txid), n, include_mempool}));
  if (!r.ok()) return std::move(r).error();
  if (r->is_null()) return std::optional<TxOutInfo>();
  const Json& j = *r;
  auto best = HashField(j, "bestblock");
  auto conf = U32Field(j, "confirmations");
  auto value = AmountField(j, "value");
  auto coinbase = BoolField(j, "coinbase");
  const Json* spk = Field(j, "scriptPubKey");
  auto spk_hex = spk ? StringField(*spk, "hex") : std::nullopt;
  auto script = spk_hex ? FromHex(*spk_hex) : std::nullopt;
  if (!best || !conf || !value || !coinbase || !script) return BadReply("gettxout", "missing or mistyped fields");
  TxOutInfo out;
  out.best_block = *best;
  out.confirmations = *conf;
  out.value_sats = *value;
  out.script_pubkey = std::move(*script);
  out.coinbase = *coinbase;
  return std::optional<TxOutInfo>(std::move(out));
}

Result<FeeEstimate> BitcoinRpc::EstimateSmartFee(std::uint32_t conf_target) {
  if (conf_target < 1 || conf_target > 1008) return Error::Invalid("l1_bad_params", "conf_target must be in 1..1008");
  auto r = impl_->Call("estimatesmartfee", Json::array({conf_target}));
  if (!r.ok()) return std::move(r).error();
  FeeEstimate fe;
  auto blocks = U32Field(*r, "blocks");
  if (!blocks) return BadReply("estimatesmartfee", "no blocks");
  fe.blocks = *blocks;
  if (Field(*r, "feerate")) {
    auto rate = AmountField(*r, "feerate");  // BTC/kvB -> sat/kvB
    if (!rate) return BadReply("estimatesmartfee", "bad feerate");
    fe.sat_per_kvb = *rate;
  }
  if (const Json* errors = Field(*r, "errors")) {
    if (!errors->is_array()) return BadReply("estimatesmartfee", "errors is not an array");
    for (const Json& e : *errors) {
      if (!e.is_string()) return BadReply("estimatesmartfee", "error is not a string");
      fe.errors.push_back(e.get<std::string>());
    }
  }
  return fe;
}

Result<std::vector<MempoolAcceptResult>> BitcoinRpc::TestMempoolAccept(const std::vector<bitcoin::Transaction>& txs) {
  if (txs.empty() || txs.size() > 25)
    return Error::Invalid("l1_bad_params", "testmempoolaccept takes 1..25 transactions");
  Json hexes = Json::array();
  for (const auto& tx : txs) hexes.push_back(HexOfTx(tx));
  auto r = impl_->Call("testmempoolaccept", Json::array({hexes}));
  if (!r.ok()) return std::move(r).error();
  if (!r->is_array() || r->size() != txs.size())
    return BadReply("testmempoolaccept", "one result per transaction expected");
  std::vector<MempoolAcceptResult> out;
  for (std::size_t i = 0; i < txs.size(); ++i) {
    const Json& j = (*r)[i];
    MempoolAcceptResult m;
    auto txid = HashField(j, "txid");
    auto wtxid = HashField(j, "wtxid");
    if (!txid || !wtxid || *txid != bitcoin::Txid(txs[i]) || *wtxid != bitcoin::Wtxid(txs[i]))
      return BadReply("testmempoolaccept", "result does not name the transaction sent");
    m.txid = *txid;
    m.wtxid = *wtxid;
    // "allowed" is absent when a package is not fully validated.
    m.allowed = BoolField(j, "allowed").value_or(false);
    m.reject_reason = StringField(j, "reject-reason").value_or(m.allowed ? "" : "not-validated");
    if (Field(j, "vsize")) {
      auto vsize = U32Field(j, "vsize");
      if (!vsize) return BadReply("testmempoolaccept", "bad vsize");
      m.vsize = *vsize;
    }
    if (const Json* fees = Field(j, "fees")) {
      auto base = AmountField(*fees, "base");
      if (!base) return BadReply("testmempoolaccept", "bad fees.base");
      m.fee_sats = *base;
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<Hash256> BitcoinRpc::SendRawTransaction(const bitcoin::Transaction& tx) {
  auto r = impl_->Call("sendrawtransaction", Json::array({HexOfTx(tx)}));
  if (!r.ok()) return std::move(r).error();
  if (!r->is_string()) return BadReply("sendrawtransaction", "result is not a txid");
  auto h = bitcoin::HashFromDisplayHex(r->get<std::string>());
  if (!h.ok() || *h != bitcoin::Txid(tx))
    return BadReply("sendrawtransaction", "returned txid is not the transaction's");
  return *h;
}

}  // namespace kray::bridge
