// Block parsing, hashing and commitment checks on two real blocks: Bitcoin's
// mainnet genesis block (known header fields and hash) and a segwit regtest
// block mined by Bitcoin Core (tests/vectors/regtest-block-segwit.json, with
// the hash, txids and wtxids Core reported for it), plus malformed input.
#include "kray/bitcoin/block.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "kray/crypto/hash.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using ::kray::testing::LoadVector;

// Mainnet genesis: header (version 1, zero prev, merkle root = the coinbase
// txid, time 1231006505, bits 0x1d00ffff, nonce 2083236893), one tx.
constexpr const char* kGenesisBlock =
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81b"
    "c3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c01"
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d01044554686520"
    "54696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f"
    "757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a679"
    "62e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000";

TEST(Block, MainnetGenesis) {
  auto block = ParseBlockHex(kGenesisBlock);
  ASSERT_TRUE(block.ok()) << block.error().message;
  EXPECT_EQ(HashToDisplayHex(BlockHash(block->header)),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
  EXPECT_EQ(block->header.version, 1);
  EXPECT_EQ(block->header.prev_block, Hash256{});
  EXPECT_EQ(block->header.time, 1231006505u);
  EXPECT_EQ(block->header.bits, 0x1d00ffffu);
  EXPECT_EQ(block->header.nonce, 2083236893u);
  ASSERT_EQ(block->txs.size(), 1u);
  EXPECT_EQ(HashToDisplayHex(Txid(block->txs[0])), "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
  EXPECT_EQ(block->header.merkle_root, Txid(block->txs[0]));
  EXPECT_TRUE(CheckBlockCommitments(*block).ok());
  EXPECT_EQ(ToHex(SerializeBlock(*block)), kGenesisBlock);
  auto header = ParseBlockHeader(SerializeBlockHeader(block->header));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, block->header);
}

TEST(Block, RegtestSegwitBlockFromBitcoinCore) {
  const auto v = LoadVector("regtest-block-segwit.json");
  const std::string hex = v["hex"];
  auto block = ParseBlockHex(hex);
  ASSERT_TRUE(block.ok()) << block.error().message;
  EXPECT_EQ(HashToDisplayHex(BlockHash(block->header)), v["hash"]);
  EXPECT_EQ(HashToDisplayHex(block->header.prev_block), v["previousblockhash"]);
  EXPECT_EQ(HashToDisplayHex(block->header.merkle_root), v["merkleroot"]);
  EXPECT_EQ(block->header.version, v["version"].get<int>());
  EXPECT_EQ(block->header.time, v["time"].get<std::uint32_t>());
  EXPECT_EQ(block->header.nonce, v["nonce"].get<std::uint32_t>());
  char bits[9];
  std::snprintf(bits, sizeof bits, "%08x", block->header.bits);
  EXPECT_EQ(std::string(bits), v["bits"]);
  ASSERT_EQ(block->txs.size(), v["txs"].size());
  for (std::size_t i = 0; i < block->txs.size(); ++i) {
    SCOPED_TRACE("tx " + std::to_string(i));
    const auto& t = v["txs"][i];
    EXPECT_EQ(HashToDisplayHex(Txid(block->txs[i])), t["txid"]);
    EXPECT_EQ(HashToDisplayHex(Wtxid(block->txs[i])), t["wtxid"]);
    EXPECT_EQ(block->txs[i].vin.size(), t["vin"].get<std::size_t>());
    EXPECT_EQ(block->txs[i].vout.size(), t["vout"].get<std::size_t>());
  }
  EXPECT_TRUE(block->txs[1].HasWitness());
  EXPECT_TRUE(CheckBlockCommitments(*block).ok());
  EXPECT_EQ(ToHex(SerializeBlock(*block)), hex);
  EXPECT_EQ(hex.size() / 2, v["size"].get<std::size_t>());
  std::size_t weight = 4 * (kBlockHeaderSize + 1);  // header + 1-byte count, no witness
  for (const auto& tx : block->txs) weight += TxWeight(tx);
  EXPECT_EQ(weight, v["weight"].get<std::size_t>());
}

TEST(Block, CommitmentChecksCatchTampering) {
  const std::string hex = LoadVector("regtest-block-segwit.json")["hex"];
  const Block good = *ParseBlockHex(hex);

  Block b = good;
  b.txs[1].vout[0].value += 1;  // changes a txid
  EXPECT_EQ(CheckBlockCommitments(b).error().code, "block_bad_merkle_root");

  b = good;
  b.txs[2].vin[0].witness[0][0] ^= 1;  // witness only: txids unchanged
  EXPECT_EQ(CheckBlockCommitments(b).error().code, "block_bad_witness_commitment");

  b = good;
  b.txs[0].vin[0].witness.clear();
  EXPECT_EQ(CheckBlockCommitments(b).error().code, "block_bad_witness_nonce_size");

  b = good;
  std::swap(b.txs[1], b.txs[2]);
  EXPECT_EQ(CheckBlockCommitments(b).error().code, "block_bad_merkle_root");

  // CVE-2012-2459: [c, t1, t2] and [c, t1, t2, t2] have one merkle root.
  b = good;
  b.txs.pop_back();
  b.header.merkle_root = ComputeMerkleRoot({Txid(b.txs[0]), Txid(b.txs[1]), Txid(b.txs[2])});
  b.txs.push_back(b.txs.back());
  EXPECT_EQ(CheckBlockCommitments(b).error().code, "block_mutated");

  // A witness in a block whose coinbase has no commitment.
  auto genesis = *ParseBlockHex(kGenesisBlock);
  genesis.txs.push_back(good.txs[1]);
  genesis.header.merkle_root = ComputeMerkleRoot({Txid(genesis.txs[0]), Txid(genesis.txs[1])});
  EXPECT_EQ(CheckBlockCommitments(genesis).error().code, "block_unexpected_witness");
}

TEST(Block, MerkleRootLikeCore) {
  EXPECT_EQ(ComputeMerkleRoot({}), Hash256{});
  Hash256 a{}, b{};
  a[0] = 1;
  b[0] = 2;
  EXPECT_EQ(ComputeMerkleRoot({a}), a);
  // An odd level duplicates its last hash, and that is not a mutation.
  bool mutated = true;
  const Hash256 three = ComputeMerkleRoot({a, b, a}, &mutated);
  EXPECT_FALSE(mutated);
  EXPECT_EQ(three, ComputeMerkleRoot({a, b, a, a}, &mutated));
  EXPECT_TRUE(mutated);
}

TEST(Block, MalformedInputFailsWithCodes) {
  const std::string hex = LoadVector("regtest-block-segwit.json")["hex"];
  const Bytes bytes = *FromHex(hex);
  // Every truncation fails cleanly (never reads past the end).
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = ParseBlock(ByteSpan(bytes.data(), n));
    ASSERT_FALSE(r.ok()) << n;
  }
  EXPECT_EQ(ParseBlock(ByteSpan(bytes.data(), 79)).error().code, "block_truncated");
  EXPECT_EQ(ParseBlock(ByteSpan(bytes.data(), 80)).error().code, "block_truncated");
  EXPECT_EQ(ParseBlock(ByteSpan(bytes.data(), 800)).error().code, "tx_truncated");

  Bytes extra = bytes;
  extra.push_back(0);
  EXPECT_EQ(ParseBlock(extra).error().code, "block_trailing_data");

  Bytes empty(bytes.begin(), bytes.begin() + 80);
  empty.push_back(0);
  EXPECT_EQ(ParseBlock(empty).error().code, "block_no_transactions");

  // A huge count in a short input fails before allocating anything.
  Bytes huge(bytes.begin(), bytes.begin() + 80);
  for (std::uint8_t c : {0xfe, 0x00, 0x00, 0x00, 0x04}) huge.push_back(c);  // 2^26 > Core's MAX_SIZE
  EXPECT_EQ(ParseBlock(huge).error().code, "block_bad_compact_size");
  Bytes many(bytes.begin(), bytes.begin() + 80);
  for (std::uint8_t c : {0xfd, 0xff, 0x00}) many.push_back(c);
  EXPECT_EQ(ParseBlock(many).error().code, "block_truncated");

  Bytes noncanonical(bytes.begin(), bytes.begin() + 80);
  for (std::uint8_t c : {0xfd, 0x01, 0x00}) noncanonical.push_back(c);
  EXPECT_EQ(ParseBlock(noncanonical).error().code, "block_bad_compact_size");

  EXPECT_EQ(ParseBlock(Bytes(kMaxBlockSize + 1, 0)).error().code, "block_too_large");
  EXPECT_EQ(ParseBlockHex("zz").error().code, "bad_hex");
  EXPECT_EQ(ParseBlockHeader(Bytes(79, 0)).error().code, "block_header_bad_size");
}

}  // namespace
}  // namespace kray::bitcoin
