// Transaction parse/serialize, txid/wtxid, weight, and the parser's
// behaviour on malformed input. Uses the BIP-341 vector transactions and
// Bitcoin's genesis coinbase as known data.
#include "kray/bitcoin/transaction.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/serialize.h"
#include "kray/crypto/hash.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using nlohmann::json;

using ::kray::testing::LoadVector;

constexpr const char* kGenesisTx =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d01044554686520"
    "54696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f"
    "757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a679"
    "62e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000";

TEST(Transaction, GenesisCoinbase) {
  auto tx = ParseTransactionHex(kGenesisTx);
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  EXPECT_EQ(tx->version, 1);
  ASSERT_EQ(tx->vin.size(), 1u);
  EXPECT_TRUE(tx->vin[0].prevout.IsNull());
  ASSERT_EQ(tx->vout.size(), 1u);
  EXPECT_EQ(tx->vout[0].value, 5'000'000'000);
  EXPECT_FALSE(tx->HasWitness());
  EXPECT_EQ(HashToDisplayHex(Txid(*tx)), "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
  EXPECT_EQ(Wtxid(*tx), Txid(*tx));
  EXPECT_EQ(ToHex(SerializeTransaction(*tx)), kGenesisTx);
  const std::size_t size = std::string(kGenesisTx).size() / 2;
  EXPECT_EQ(TxWeight(*tx), size * 4);
  EXPECT_EQ(TxVsize(*tx), size);
  auto h = HashFromDisplayHex("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, Txid(*tx));
}

TEST(Bip341Vectors, TransactionsRoundTrip) {
  const json k = LoadVector("bip341-wallet-test-vectors.json").at("keyPathSpending").at(0);
  for (const char* field : {"rawUnsignedTx", "fullySignedTx"}) {
    const std::string hex = (std::string(field) == "rawUnsignedTx" ? k["given"] : k["auxiliary"])[field];
    SCOPED_TRACE(field);
    auto tx = ParseTransactionHex(hex);
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    EXPECT_EQ(ToHex(SerializeTransaction(*tx)), hex);
    const Bytes stripped = SerializeTransaction(*tx, false);
    EXPECT_EQ(Txid(*tx), crypto::Sha256d(stripped));
  }
  auto unsigned_tx = ParseTransactionHex(k["given"]["rawUnsignedTx"].get<std::string>());
  auto signed_tx = ParseTransactionHex(k["auxiliary"]["fullySignedTx"].get<std::string>());
  ASSERT_TRUE(unsigned_tx.ok() && signed_tx.ok());
  EXPECT_FALSE(unsigned_tx->HasWitness());
  EXPECT_TRUE(signed_tx->HasWitness());
  EXPECT_NE(Wtxid(*signed_tx), Txid(*signed_tx));
  const std::size_t base = SerializeTransaction(*signed_tx, false).size();
  const std::size_t total = SerializeTransaction(*signed_tx, true).size();
  EXPECT_GT(total, base);
  EXPECT_EQ(TxWeight(*signed_tx), base * 3 + total);
  EXPECT_EQ(TxVsize(*signed_tx), (base * 3 + total + 3) / 4);
}

TEST(Transaction, SegwitLayoutByHand) {
  Transaction tx;
  tx.version = 2;
  TxIn in;
  in.prevout.txid.fill(0x11);
  in.prevout.n = 3;
  in.sequence = 0xfffffffd;
  in.witness = {Bytes{0xaa, 0xbb}, Bytes{}};
  tx.vin.push_back(in);
  tx.vout.push_back(TxOut{1000, Bytes{0x51}});
  tx.locktime = 0x01020304;
  const Bytes ser = SerializeTransaction(tx);
  const std::string expected =
      "02000000"
      "0001"
      "01" +
      std::string(64, '1') +
      "03000000"
      "00"
      "fdffffff"
      "01" +
      "e803000000000000"
      "0151"
      "02"
      "02aabb"
      "00"
      "04030201";
  EXPECT_EQ(ToHex(ser), expected);
  auto back = ParseTransaction(ser);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, tx);
  // base = 4+1+41+1+10+4 = 61, total = 61 + 2 (marker/flag) + 1 + 3 + 1 = 68.
  EXPECT_EQ(SerializeTransaction(tx, false).size(), 61u);
  EXPECT_EQ(TxWeight(tx), 61u * 3 + 68u);
  EXPECT_EQ(TxVsize(tx), (61u * 3 + 68u + 3) / 4);
}

TEST(Transaction, EveryTruncationFails) {
  const json k = LoadVector("bip341-wallet-test-vectors.json").at("keyPathSpending").at(0);
  const Bytes full = *FromHex(k["auxiliary"]["fullySignedTx"].get<std::string>());
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = ParseTransaction(ByteSpan(full.data(), n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
  }
  Bytes extra = full;
  extra.push_back(0);
  auto r = ParseTransaction(extra);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tx_trailing_data");
}

TEST(Transaction, RejectsMalformed) {
  // Absurd input count: fails fast without allocating.
  auto huge = ParseTransaction(*FromHex("02000000ffffffffffffffffff"));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, "tx_bad_compact_size");
  auto big_count = ParseTransaction(*FromHex("02000000fe00000100"));  // 65536 inputs, no data
  ASSERT_FALSE(big_count.ok());
  EXPECT_EQ(big_count.error().code, "tx_truncated");
  // Non-canonical CompactSize (1 encoded as fd0100).
  auto noncanon = ParseTransaction(*FromHex("02000000fd0100"));
  ASSERT_FALSE(noncanon.ok());
  EXPECT_EQ(noncanon.error().code, "tx_bad_compact_size");

  const std::string input = "01" + std::string(64, '0') +
                            "00000000"
                            "00"
                            "ffffffff";
  const std::string output =
      "01"
      "0000000000000000"
      "00";
  // Segwit marker but every witness empty.
  auto superfluous = ParseTransactionHex(
      "02000000"
      "0001" +
      input + output +
      "00"
      "00000000");
  ASSERT_FALSE(superfluous.ok());
  EXPECT_EQ(superfluous.error().code, "tx_superfluous_witness");
  // Unknown flag.
  auto flag = ParseTransactionHex(
      "02000000"
      "0002" +
      input + output + "00000000");
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.error().code, "tx_unknown_flag");
  // Legacy form parses; the no-witness mode rejects the marker as data.
  EXPECT_TRUE(ParseTransactionHex("02000000" + input + output + "00000000").ok());
  auto with_wit = *FromHex(
      "02000000"
      "0001" +
      input + output +
      "0101aa"
      "00000000");
  EXPECT_TRUE(ParseTransaction(with_wit).ok());
  EXPECT_FALSE(ParseTransaction(with_wit, false).ok());
  EXPECT_EQ(ParseTransactionHex("zz").error().code, "bad_hex");
  EXPECT_EQ(ParseTransaction(Bytes(kMaxTxSize + 1, 0)).error().code, "tx_too_large");
}

TEST(Serialize, CompactSize) {
  for (std::uint64_t n : {0ULL, 252ULL, 253ULL, 0xffffULL, 0x10000ULL, 0xffffffffULL, 0x100000000ULL}) {
    const Bytes enc = EncodeCompactSize(n);
    EXPECT_EQ(enc.size(), CompactSizeLen(n));
    ByteReader r(enc);
    auto back = r.ReadCompactSize(UINT64_MAX);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, n);
    EXPECT_TRUE(r.empty());
  }
  EXPECT_EQ(ToHex(EncodeCompactSize(253)), "fdfd00");
  const Bytes too_big = EncodeCompactSize(kMaxCompactSize + 1);
  ByteReader over(too_big);
  EXPECT_EQ(over.ReadCompactSize().error().code, "compact_size_too_large");
  const Bytes var = *FromHex("05aabb");
  ByteReader short_var(var);
  EXPECT_EQ(short_var.ReadVarBytes().error().code, "truncated");
}

}  // namespace
}  // namespace kray::bitcoin
