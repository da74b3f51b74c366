// The worked signing examples of docs/API.md ("Marketplace"), recomputed
// with the node's own request code: canonical fields, v1 message (= tx_hash)
// and, for market_list, the serialization and the signature.
#include <gtest/gtest.h>

#include "kray/core/bytes.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/executor.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "market_fixture.h"

namespace kray::market::testing {
namespace {

struct Example {
  std::string op;
  int dev;  // 1 or 2: the signer (named by address, as a wallet would)
  std::uint64_t nonce;
  FieldList fields;
  std::string canonical;  // the canonical fields, "k=v;k=v"
  std::string message;    // hex
};

TEST(MarketSigningDoc, WorkedExamplesMatch) {
  ChainParams params;
  TestKey d1 = test::DevAccount(1), d2 = test::DevAccount(2);
  const std::string ins = std::string(64, 'a') + "i0";
  std::vector<Example> examples = {
      {"market_list",
       1,
       0,
       {{"asset", "DOG"}, {"amount", "100000"}, {"price_credits", "25000"}},
       "amount=100000;asset=DOG;expires_at=0;price_credits=25000",
       "97a5fc9619d047022b53396345ace413466b74a5d2fa4936f40d726b71b45529"},
      {"market_buy",
       2,
       0,
       {{"listing_id", "1"}},
       "listing_id=1",
       "9287c2e91cb9315874fe2c1517d9c9ba44d4337a07362cdef881203eab75be21"},
      {"market_cancel",
       1,
       1,
       {{"listing_id", "1"}},
       "listing_id=1",
       "5f9428eff03ec754ff7c27b9ae218593fac3669a69323132c4a03d70e1219aa1"},
      {"market_sweep",
       2,
       1,
       {{"asset", "DOG"}, {"max_listings", "5"}, {"max_total_credits", "100000"}},
       "asset=DOG;max_listings=5;max_total_credits=100000",
       "5093645ae5e09994b7d31ded139e2d6a76f7a15b0cc273a00737f6b3b8afe694"},
      {"market_offer",
       2,
       2,
       {{"inscription_id", ins}, {"price_credits", "50000"}, {"expires_at", "1796000000"}},
       "expires_at=1796000000;inscription_id=" + ins + ";price_credits=50000",
       "24e898a4ee3a1fd468cd6103582bdc790cd0e18b1c286efa6cb3b3743918104e"},
      {"market_offer_accept",
       1,
       2,
       {{"offer_id", "1"}},
       "offer_id=1",
       "7628c7579d33b43c26bfda91b1ce07917f91b0399a52001040c2edd03dcc4964"},
      {"market_offer_cancel",
       2,
       3,
       {{"offer_id", "2"}},
       "offer_id=2",
       "df5a3955b4276d1407443e941796fd94f2238600628d864821d53ac1ee657990"},
      {"inscription_transfer",
       1,
       3,
       {{"inscription_id", ins}, {"to_account", d2.address}},
       "inscription_id=" + ins + ";to_account=" + d2.account_id,
       "17fae27c2810d3a8881b4f871e69608bd35db87747ed75e0bf92420f827d784e"},
  };
  for (const auto& e : examples) {
    const TestKey& k = e.dev == 1 ? d1 : d2;
    state::OperationRequest r;
    r.type = e.op;
    r.signer = k.address;
    r.nonce = e.nonce;
    r.fields = e.fields;
    r.signature_hex = std::string(128, '0');
    auto op = state::BuildOperation(params, Registry(), r);
    ASSERT_TRUE(op.ok()) << e.op << ": " << op.error().message;
    std::string canonical;
    for (const auto& [key, v] : op->fields) canonical += (canonical.empty() ? "" : ";") + key + "=" + v;
    EXPECT_EQ(canonical, e.canonical) << e.op;
    EXPECT_EQ(op->signer, k.account_id);
    EXPECT_EQ(op->hash, e.message) << e.op;
    if (e.op == "market_list") {
      Bytes ser = state::SerializeV1(params.chain_id, op->type, op->signer, op->nonce, op->fields);
      EXPECT_EQ(ToHex(ser),
                "0000000e6b7261792d726567746573742d310000000b6d61726b65745f6c697374000000256b7261795f336633383565623730"
                "3361356663326261636265653962316237646538376464000000000000000000000004"
                "00000006616d6f756e7400000006313030303030"
                "00000005617373657400000003444f47"
                "0000000a657870697265735f61740000000130"
                "0000000d70726963655f63726564697473000000053235303030")
          << "serialization";
      auto msg = FromHexFixed<32>(op->hash);
      ASSERT_TRUE(msg);
      auto sig = crypto::SchnorrSign(k.secret, *msg, std::array<std::uint8_t, 32>{});
      ASSERT_TRUE(sig);
      EXPECT_EQ(ToHex(*sig),
                "879c7bf655f0de35d7ed42616523ec1bf22f3e4b046fb51186fc9717d07e8c6e"
                "51d0ed1a3f8e7335ebebdac44d706561c7d9537ff40760f47a4eb158ee034e6f")
          << "signature with aux = 32 zero bytes";
    }
  }
}

}  // namespace
}  // namespace kray::market::testing
