// The bridge's L1 client: JSON-RPC to Bitcoin Core over HTTP (kray_net's
// HttpClient), with typed methods for what the bridge reads from and sends to
// Bitcoin. Everything that comes back is checked before it is returned:
// blocks are parsed with kray_bitcoin's own parser and must hash to the block
// asked for and match their merkle root and witness commitment; raw
// transactions must hash to the txid asked for; headers must hash to their
// hash. A reply that is not what Bitcoin Core sends is an error, never a crash
// or a hang.
//
// Errors (kray::Error, stable codes):
//   "l1_unreachable" (kUnavailable)  no HTTP reply after every attempt:
//       connection refused/reset, timeout, HTTP 503 (Core's work queue is
//       full), cookie file unreadable. Only these are retried, with
//       exponential backoff (RpcOptions); an RPC error is never retried.
//   "l1_unauthorized" (kUnavailable) HTTP 401/403: wrong user/password/cookie.
//   "l1_rpc_error" (kUnavailable)    Bitcoin Core answered with an error; the
//       message is "<method>: bitcoind error <code>: <Core's message>". Use
//       CallRaw to branch on Core's numeric code (RpcError).
//   "l1_bad_reply" (kUnavailable)    the reply is not a JSON-RPC reply, has
//       the wrong id or shape, or its data fails our checks (a block that does
//       not hash to the requested hash, a bad amount, ...).
//   "l1_bad_params" (kInvalidInput)  CallRaw/Call params are not a JSON array.
//
// Amounts: Bitcoin Core prints BTC amounts as decimal numbers with 8
// fraction digits. They are parsed from their text into satoshis, exactly;
// they never pass through a double.
//
// Thread-safety: a BitcoinRpc is NOT thread-safe (it owns one keep-alive
// connection); use one per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/bitcoin/block.h"
#include "kray/bitcoin/transaction.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bridge {

struct RpcOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8332;
  // Either user + password, or a cookie file ("__cookie__:<hex>", written by
  // bitcoind in its datadir and rewritten at every restart: it is re-read
  // before every attempt). cookie_file wins when both are set.
  std::string user;
  std::string password;
  std::string cookie_file;
  // Wallet endpoint (/wallet/<name>). The bridge itself is wallet-less; this
  // exists for tests that drive a Bitcoin Core wallet.
  std::string wallet;

  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
  // Connection failures are retried: attempt k (k >= 1) waits
  // min(initial_backoff * 2^(k-1), max_backoff) first.
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

// Bitcoin Core's RPC error codes the bridge branches on (src/rpc/protocol.h).
enum RpcErrorCode : int {
  kRpcMiscError = -1,
  kRpcInvalidAddressOrKey = -5,  // unknown block / transaction
  kRpcInvalidParameter = -8,     // e.g. block height out of range
  kRpcVerifyError = -25,
  kRpcVerifyRejected = -26,  // sendrawtransaction: rejected by policy/consensus
  kRpcVerifyAlreadyInChain = -27,
  kRpcInWarmup = -28,
};

struct RpcError {
  int code = 0;
  std::string message;
};

// One JSON-RPC exchange that reached Bitcoin Core: either Core's error or the
// result. result_json is the "result" value as JSON text, with every
// non-integer number given as a JSON string of its exact decimal text.
struct RpcReply {
  std::optional<RpcError> error;
  std::string result_json;
};

struct BlockchainInfo {
  std::string chain;  // "main", "test", "testnet4", "signet", "regtest"
  std::uint32_t blocks = 0;
  std::uint32_t headers = 0;
  Hash256 best_block_hash{};  // internal byte order
  bool initial_block_download = false;
};

struct BlockHeaderInfo {
  Hash256 hash{};
  bitcoin::BlockHeader header;  // rebuilt from the reply's fields; hashes to `hash`
  std::uint32_t height = 0;
  // Core's count: 1 for the tip, -1 if the block is not in the active chain.
  std::int64_t confirmations = 0;
  std::uint32_t n_tx = 0;
  std::optional<Hash256> next_block_hash;
};

struct TxInfo {
  bitcoin::Transaction tx;            // hashes to the txid asked for
  std::optional<Hash256> block_hash;  // nullopt while in the mempool
  // 0 while in the mempool, and for a transaction -txindex still finds in a
  // block that left the active chain (block_hash set): then it is in neither.
  std::uint32_t confirmations = 0;

  bool InMempoolOrActiveChain() const { return !block_hash || confirmations > 0; }
};

struct TxOutInfo {
  Hash256 best_block{};
  std::uint32_t confirmations = 0;  // 0 for a mempool output
  std::int64_t value_sats = 0;
  Bytes script_pubkey;
  bool coinbase = false;
};

struct FeeEstimate {
  std::optional<std::int64_t> sat_per_kvb;  // nullopt when Core has no estimate
  std::uint32_t blocks = 0;                 // target the estimate is for
  std::vector<std::string> errors;          // Core's "errors" (e.g. insufficient data)
};

struct MempoolAcceptResult {
  Hash256 txid{};
  Hash256 wtxid{};
  bool allowed = false;
  std::string reject_reason;  // set when !allowed (e.g. "missing-inputs")
  std::optional<std::uint32_t> vsize;
  std::optional<std::int64_t> fee_sats;
};

class BitcoinRpc {
 public:
  explicit BitcoinRpc(RpcOptions options);
  ~BitcoinRpc();
  BitcoinRpc(const BitcoinRpc&) = delete;
  BitcoinRpc& operator=(const BitcoinRpc&) = delete;

  const RpcOptions& options() const;

  // One JSON-RPC call. `params_json` must be a JSON array ("[]" for none);
  // it is sent as written, so decimal numbers keep their exact text.
  // Returns the reply whether Core answered with a result or an error; fails
  // only with l1_unreachable, l1_unauthorized, l1_bad_reply or l1_bad_params.
  Result<RpcReply> CallRaw(std::string_view method, std::string_view params_json);
  // As CallRaw, but an RPC error is the error "l1_rpc_error". Returns the
  // result as JSON text (see RpcReply::result_json).
  Result<std::string> Call(std::string_view method, std::string_view params_json);

  Result<BlockchainInfo> GetBlockchainInfo();
  // Hash of the active chain's block at `height`; l1_rpc_error with kind
  // kNotFound if the height is above the tip (Core's -8).
  Result<Hash256> GetBlockHash(std::uint32_t height);
  Result<BlockHeaderInfo> GetBlockHeader(const Hash256& hash);
  // getblock <hash> 0, parsed with bitcoin::ParseBlock; l1_bad_reply unless
  // it hashes to `hash` and passes bitcoin::CheckBlockCommitments.
  Result<bitcoin::Block> GetBlock(const Hash256& hash);
  // getrawtransaction <txid> 1 [blockhash]. nullopt if Core does not know the
  // transaction (-5: not in the mempool, not in the given block, and, without
  // -txindex, not a wallet transaction). l1_bad_reply unless the hex parses
  // and hashes to `txid`.
  Result<std::optional<TxInfo>> GetRawTransaction(const Hash256& txid, const Hash256* block_hash = nullptr);
  // gettxout: nullopt if the output is spent or does not exist.
  Result<std::optional<TxOutInfo>> GetTxOut(const Hash256& txid, std::uint32_t n, bool include_mempool = true);
  // estimatesmartfee <conf_target> (1..1008, Core's range) in Core's default
  // mode. The fee rate is converted exactly from BTC/kvB to sat/kvB.
  Result<FeeEstimate> EstimateSmartFee(std::uint32_t conf_target);
  // testmempoolaccept for 1..25 transactions (a package when more than one).
  Result<std::vector<MempoolAcceptResult>> TestMempoolAccept(const std::vector<bitcoin::Transaction>& txs);
  // sendrawtransaction; returns the txid (l1_bad_reply unless it is Txid(tx)).
  // Safe to repeat: a transaction already in the mempool is accepted again;
  // one already confirmed is l1_rpc_error -27.
  Result<Hash256> SendRawTransaction(const bitcoin::Transaction& tx);

  // Drops the connection (the next call reconnects).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses Bitcoin Core's decimal BTC amount text ("50.00000000", "0.0001",
// "21000000") into satoshis: digits, at most one '.', at most 8 fraction
// digits, no sign or exponent, at most 21,000,000 BTC. nullopt otherwise.
std::optional<std::int64_t> ParseBtcAmount(std::string_view text);

}  // namespace kray::bridge
