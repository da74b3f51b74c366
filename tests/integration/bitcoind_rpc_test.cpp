// The bridge's Bitcoin Core client against a real regtest bitcoind
// (kray/testsupport/bitcoind.h): every typed method, checked against what
// Bitcoin Core itself reports through its verbose RPCs, plus the errors a
// real node gives (unknown block/tx, height above the tip, wrong password,
// a node that went away).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/transaction.h"
#include "kray/bridge/bitcoin_rpc.h"
#include "kray/testsupport/bitcoind.h"

namespace kray::test {
namespace {

using bitcoin::HashFromDisplayHex;
using bitcoin::HashToDisplayHex;
using nlohmann::json;
using namespace std::chrono_literals;

class BitcoindRpcTest : public BitcoindTest {
 protected:
  Hash256 H(const std::string& display) { return *HashFromDisplayHex(display); }
};

TEST_F(BitcoindRpcTest, ChainReadsMatchBitcoinCore) {
  bridge::BitcoinRpc& rpc = bitcoind_.rpc();
  auto info = rpc.GetBlockchainInfo();
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->chain, "regtest");
  EXPECT_EQ(info->blocks, 0u);

  CreateWallet("w");
  const std::string miner = NewAddress("w");
  const auto hashes = Mine(101, miner);
  ASSERT_EQ(hashes.size(), 101u);
  info = rpc.GetBlockchainInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->blocks, 101u);
  EXPECT_EQ(info->headers, 101u);
  EXPECT_EQ(HashToDisplayHex(info->best_block_hash), hashes.back());

  // Payments to three address types of another wallet (so "w" cannot
  // spend them again as inputs), exact amounts, mined into block 102.
  CreateWallet("sink");
  const std::string to_wpkh = NewAddress("sink", "bech32"), to_tr = NewAddress("sink", "bech32m"),
                    to_pkh = NewAddress("sink", "legacy");
  const std::string txid1 = bitcoind_.Call("sendtoaddress", {to_wpkh, "1.23456789"}, "w");
  const std::string txid2 = bitcoind_.Call("sendtoaddress", {to_tr, "0.00000546"}, "w");
  const std::string txid3 = bitcoind_.Call("sendtoaddress", {to_pkh, "20.5"}, "w");
  const std::string block_hash = Mine(1, miner)[0];

  auto hash = rpc.GetBlockHash(102);
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_EQ(HashToDisplayHex(*hash), block_hash);
  auto header = rpc.GetBlockHeader(*hash);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->height, 102u);
  EXPECT_EQ(header->confirmations, 1);
  EXPECT_EQ(header->n_tx, 4u);
  EXPECT_EQ(HashToDisplayHex(header->header.prev_block), hashes.back());
  EXPECT_FALSE(header->next_block_hash.has_value());
  EXPECT_EQ(rpc.GetBlockHeader(H(hashes[0]))->next_block_hash, H(hashes[1]));

  // The block as parsed by our own parser equals Core's decoded view of it.
  auto block = rpc.GetBlock(*hash);
  ASSERT_TRUE(block.ok()) << block.error().message;
  const json verbose = bitcoind_.Call("getblock", {block_hash, 2});
  ASSERT_EQ(block->txs.size(), verbose["tx"].size());
  for (std::size_t i = 0; i < block->txs.size(); ++i) {
    EXPECT_EQ(HashToDisplayHex(bitcoin::Txid(block->txs[i])), verbose["tx"][i]["txid"]);
    EXPECT_EQ(HashToDisplayHex(bitcoin::Wtxid(block->txs[i])), verbose["tx"][i]["hash"]);
  }
  EXPECT_EQ(HashToDisplayHex(block->header.merkle_root), verbose["merkleroot"]);
  std::set<std::string> in_block;
  for (const auto& t : verbose["tx"]) in_block.insert(t["txid"].get<std::string>());
  EXPECT_TRUE(in_block.count(txid1) && in_block.count(txid2) && in_block.count(txid3));

  // getrawtransaction: parsed, hashed, placed in its block.
  auto tx = rpc.GetRawTransaction(H(txid1));
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  ASSERT_TRUE(tx->has_value());
  EXPECT_EQ((*tx)->block_hash, *hash);
  EXPECT_EQ((*tx)->confirmations, 1u);
  const Hash256 bh = *hash;
  EXPECT_TRUE(rpc.GetRawTransaction(H(txid1), &bh)->has_value());
  EXPECT_FALSE(rpc.GetRawTransaction(Hash256{})->has_value());

  // gettxout: the 1.23456789 BTC output, to the satoshi.
  const Bytes wpkh_script = *bitcoin::AddressToScriptPubKey(to_wpkh, Network::kRegtest);
  std::optional<std::uint32_t> vout;
  for (std::uint32_t n = 0; n < (*tx)->tx.vout.size(); ++n) {
    if ((*tx)->tx.vout[n].script_pubkey == wpkh_script) vout = n;
  }
  ASSERT_TRUE(vout.has_value());
  auto out = rpc.GetTxOut(H(txid1), *vout);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->value_sats, 123'456'789);
  EXPECT_EQ((*out)->script_pubkey, wpkh_script);
  EXPECT_EQ((*out)->confirmations, 1u);
  EXPECT_FALSE((*out)->coinbase);
  EXPECT_EQ((*out)->best_block, *hash);
  // The dust-sized P2TR payment and a mature coinbase output.
  auto tx2 = rpc.GetRawTransaction(H(txid2));
  ASSERT_TRUE(tx2.ok()) << tx2.error().message;
  ASSERT_TRUE(tx2->has_value());
  const auto outputs = (*tx2)->tx.vout.size();
  bool found_546 = false;
  for (std::uint32_t n = 0; n < outputs; ++n) {
    auto o = rpc.GetTxOut(H(txid2), n);
    if (o.ok() && *o && (*o)->value_sats == 546) found_546 = true;
  }
  EXPECT_TRUE(found_546);
  // Block 101's coinbase is immature (2 confirmations), so still unspent.
  const json block101 = bitcoind_.Call("getblock", {hashes[100], 1});
  auto cb = rpc.GetTxOut(H(block101["tx"][0]), 0);
  ASSERT_TRUE(cb.ok() && cb->has_value());
  EXPECT_TRUE((*cb)->coinbase);
  EXPECT_EQ((*cb)->value_sats, 5'000'000'000);
  EXPECT_EQ((*cb)->confirmations, 2u);
  EXPECT_FALSE(rpc.GetTxOut(H(txid1), 99)->has_value());

  // Errors of a real node.
  auto above = rpc.GetBlockHash(1000);
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.error().code, "l1_rpc_error");
  EXPECT_EQ(above.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(rpc.GetBlock(Hash256{}).error().code, "l1_rpc_error");
  auto raw = rpc.CallRaw("nosuchmethod", "[]");
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  ASSERT_TRUE(raw->error.has_value());
  EXPECT_EQ(raw->error->code, -32601);  // RPC_METHOD_NOT_FOUND

  // No fee data on a fresh regtest chain: no estimate, Core's error text.
  auto fee = rpc.EstimateSmartFee(6);
  ASSERT_TRUE(fee.ok()) << fee.error().message;
  EXPECT_FALSE(fee->sat_per_kvb.has_value());
  EXPECT_FALSE(fee->errors.empty());
  EXPECT_EQ(rpc.EstimateSmartFee(0).error().code, "l1_bad_params");
}

TEST_F(BitcoindRpcTest, TestAcceptAndBroadcast) {
  bridge::BitcoinRpc& rpc = bitcoind_.rpc();
  CreateWallet("w");
  const std::string miner = NewAddress("w");
  Mine(101, miner);
  // A wallet-signed transaction, parsed and re-serialized by our code.
  const json created = bitcoind_.Call("createrawtransaction", {json::array(), {{NewAddress("w"), "0.25"}}});
  const json funded = bitcoind_.Call("fundrawtransaction", json::array({created}), "w");
  const json signed_tx = bitcoind_.Call("signrawtransactionwithwallet", json::array({funded["hex"]}), "w");
  ASSERT_EQ(signed_tx["complete"], true);
  auto tx = bitcoin::ParseTransactionHex(signed_tx["hex"].get<std::string>());
  ASSERT_TRUE(tx.ok()) << tx.error().message;

  auto accept = rpc.TestMempoolAccept({*tx});
  ASSERT_TRUE(accept.ok()) << accept.error().message;
  ASSERT_EQ(accept->size(), 1u);
  EXPECT_TRUE((*accept)[0].allowed) << (*accept)[0].reject_reason;
  EXPECT_EQ((*accept)[0].txid, bitcoin::Txid(*tx));
  EXPECT_EQ((*accept)[0].vsize, bitcoin::TxVsize(*tx));
  EXPECT_EQ((*accept)[0].fee_sats, *bridge::ParseBtcAmount(funded["fee"].get<std::string>()));

  // A broken signature is refused by Core's script check.
  bitcoin::Transaction bad = *tx;
  bad.vin[0].witness[0][10] ^= 1;
  auto refused = rpc.TestMempoolAccept({bad});
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE((*refused)[0].allowed);
  EXPECT_NE((*refused)[0].reject_reason.find("script-verify"), std::string::npos) << (*refused)[0].reject_reason;

  auto sent = rpc.SendRawTransaction(*tx);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(*sent, bitcoin::Txid(*tx));
  EXPECT_TRUE(rpc.SendRawTransaction(*tx).ok());  // already in the mempool: accepted again
  auto unconfirmed = rpc.GetRawTransaction(*sent);
  ASSERT_TRUE(unconfirmed.ok() && unconfirmed->has_value());
  EXPECT_FALSE((*unconfirmed)->block_hash.has_value());
  auto mempool_out = rpc.GetTxOut(*sent, 0, /*include_mempool=*/true);
  ASSERT_TRUE(mempool_out.ok() && mempool_out->has_value());
  EXPECT_EQ((*mempool_out)->confirmations, 0u);
  EXPECT_FALSE(rpc.GetTxOut(*sent, 0, /*include_mempool=*/false)->has_value());

  Mine(1, miner);
  auto again = rpc.SendRawTransaction(*tx);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "l1_rpc_error");  // -27: already in the chain
  auto spent = rpc.TestMempoolAccept({*tx});
  ASSERT_TRUE(spent.ok());
  EXPECT_FALSE((*spent)[0].allowed);
}

TEST_F(BitcoindRpcTest, WrongCredentialsAndAVanishedNode) {
  bridge::RpcOptions o = bitcoind_.RpcOptions();
  o.cookie_file.clear();
  o.user = "__cookie__";
  o.password = "wrong";
  bridge::BitcoinRpc wrong(o);
  auto r = wrong.GetBlockchainInfo();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "l1_unauthorized");

  // The cookie's user and password work as plain credentials.
  const std::string cookie = ReadFile(bitcoind_.cookie_file());
  o.password = cookie.substr(cookie.find(':') + 1);
  bridge::BitcoinRpc right(o);
  EXPECT_TRUE(right.GetBlockchainInfo().ok());

  bridge::RpcOptions fast = bitcoind_.RpcOptions();
  fast.cookie_file.clear();
  fast.user = o.user;
  fast.password = o.password;
  fast.max_attempts = 3;
  fast.initial_backoff = 20ms;
  fast.request_timeout = 2s;
  bridge::BitcoinRpc client(fast);
  ASSERT_TRUE(client.GetBlockchainInfo().ok());
  ASSERT_EQ(bitcoind_.Stop(), 0);
  auto gone = client.GetBlockchainInfo();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "l1_unreachable");
  EXPECT_EQ(gone.error().kind, ErrorKind::kUnavailable);
}

}  // namespace
}  // namespace kray::test
