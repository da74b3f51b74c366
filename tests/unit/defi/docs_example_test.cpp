// The worked examples of docs/API.md ("DeFi"): each defi operation's request
// as a wallet sends it, its canonical signed fields, its v1 message
// (= tx_hash), the BIP-340 signature with aux = 32 zero bytes by the public
// devnet keys, and the result it produces on a fresh regtest chain, in the
// documented order. A change to the signing rule, the arithmetic or the
// examples fails here.
#include <gtest/gtest.h>

#include "chain.h"
#include "kray/state/tx_message.h"

namespace kray::defi {
namespace {

using testing::Chain;
using testing::kGenesisTime;

struct Example {
  std::string op;
  test::TestKey key;
  std::uint64_t nonce;
  std::vector<std::pair<std::string, std::string>> fields;  // as in the request body
  std::string message;                                      // = tx_hash
  std::string signature;                                    // aux = 32 zero bytes
  std::vector<std::pair<std::string, std::string>> result;
};

TEST(DefiDocs, WorkedExamplesOfApiMd) {
  const test::TestKey dev1 = test::DevAccount(1), dev2 = test::DevAccount(2);
  const std::vector<Example> examples = {
      {"pool_create",
       dev1,
       0,
       {{"token_a", "KRAY"}, {"token_b", "BTC"}, {"amount_a", "1000000"}, {"amount_b", "2000000"}},
       "d448b7f678b41d41278a648ecfb56de6d9b377d19dfe09bcf4c20634c0f97041",
       "871402f9bd32caff69d281195f48169ee06b0b05067fd76eca26d9182ff5541a55451484458bb352908401a312798abe43f0f8c791b4273"
       "066995ab5a7750764",
       {{"liquidity", "1413213"}, {"pool_id", "pool_kray_btc"}}},
      {"swap",
       dev2,
       0,
       {{"pool_id", "pool_kray_btc"}, {"token_in", "KRAY"}, {"amount_in", "10000"}, {"min_amount_out", "19644"}},
       "a4cb92e3b056f91b4e201991cd6103ca88edbe960b80a3c473a187200f7e12ba",
       "81fc2fdbf0fc9d1a307d06cbcd367244de0de947a5656dd744c55e0119a8886f5c9e6190db5c5f59ba9c2a0080a17f8cd7327d996909722"
       "79be59ef4d068e6ba",
       {{"amount_out", "19743"}, {"token_out", "BTC"}}},
      {"pool_create",
       dev1,
       1,
       {{"token_a", "DOG"}, {"token_b", "KRAY"}, {"amount_a", "50000000"}, {"amount_b", "1000000"}},
       "9b8ab446975bf05766d3be6551a78818ee516e0b2552222246aaeeff59c2ba65",
       "23c6d453551d5b222ad7bf8c7d227ee290b3764d5ab462fd6c38a7ae03853d5153d2b9e6d6838d095e6d4fcec728e1f6bac6c7f028a15b8"
       "52753293cc24ae43a",
       {{"liquidity", "7070067"}, {"pool_id", "pool_kray_dog"}}},
      {"swap_route",
       dev2,
       1,
       {{"path", "DOG,KRAY,BTC"}, {"amount_in", "1000000"}, {"min_amount_out", "37000"}},
       "245c7f34b00f59f9c2aec7b0776c5fc593400a107a7d310bd12838c83e6bdbb4",
       "653c8628029ff739f3569fa861504662dc8f66a9bf5e7dbc82624968148e63ef393fa7b92526859ea2a227617ddbe55e62a44ce5aa19171"
       "72d04236a276542d7",
       {{"amount_out", "37492"}, {"amounts", "1000000,19550,37492"}}},
      {"liquidity_add",
       dev2,
       2,
       {{"pool_id", "pool_kray_btc"},
        {"amount_a", "100000"},
        {"amount_b", "300000"},
        {"min_amount_a", "99000"},
        {"min_amount_b", "150000"}},
       "b37e1ed14ca10daa6854f517942bc2e0e4f862a2e87ca053ca61aa5f47ceeb67",
       "7f4130ccccfd640f76912371b0858e62e7cd75200d2bcf681638d3ec6368aaa218e26f88abdbf45713dd1d3fff9e785cafdcb8d171e4f6b"
       "0d52bd85958aae509",
       {{"amount_a", "100000"}, {"amount_b", "188700"}, {"liquidity", "137361"}}},
      {"liquidity_remove",
       dev2,
       3,
       {{"pool_id", "pool_kray_btc"}, {"liquidity", "100000"}, {"min_amount_a", "60000"}, {"min_amount_b", "100000"}},
       "25eba1dfb8d7c24894a8036354bdaf818e35f2a604fdecc289a28281ee214ce1",
       "636d007c67fc6264c990fa0c50d9ca30e7ace3a1c520e7889689728afe0bc735880d4f3e20ca930deec3f8bbaf3016773f76bf8c32c8078"
       "031160de80d5bb705",
       {{"amount_a", "72800"}, {"amount_b", "137374"}}},
  };
  Chain c;
  std::int64_t ts = kGenesisTime + 60;
  for (const auto& ex : examples) {
    auto op = c.Build(ex.op, ex.key, ex.fields, ex.nonce);
    ASSERT_TRUE(op.ok()) << ex.op << ": " << op.error().message;
    const state::OperationType* type = testing::DefiRegistry().FindOperation(ex.op);
    auto msg = state::SignedMessage(c.params(), *type, *op);
    ASSERT_TRUE(msg.ok());
    auto sig = crypto::SchnorrSign(ex.key.secret, *msg, std::array<std::uint8_t, 32>{});
    ASSERT_TRUE(sig);
    op->signature.assign(sig->begin(), sig->end());
    EXPECT_EQ(op->hash, ex.message) << ex.op << " ser "
                                    << ToHex(state::SerializeV1(c.params().chain_id, op->type, op->signer, op->nonce,
                                                                op->fields));
    EXPECT_EQ(ToHex(*sig), ex.signature) << ex.op;
    auto r = c.Execute(*op, ts++);
    ASSERT_TRUE(r.ok()) << ex.op << ": " << r.error().message;
    for (const auto& [k, v] : ex.result)
      EXPECT_EQ(std::string(state::FindField(r->result, k).value_or("")), v) << ex.op << " " << k;
  }
}

}  // namespace
}  // namespace kray::defi
