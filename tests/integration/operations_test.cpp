// The generic operation endpoints against the real krayd: one signing rule
// for every operation (docs/SIGNING.md), so a wallet needs no per-endpoint code.
#include "kray/core/bytes.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/tx_message.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

TEST_F(NodeTest, OperationTypesMessageAndSubmit) {
  json types = GetJson("/api/operation/types");
  EXPECT_EQ(types["chain_id"], kRegtestChainId);
  bool saw_transfer = false;
  for (const auto& t : types["operations"])
    if (t["op"] == "transfer") {
      saw_transfer = true;
      EXPECT_EQ(t["auth"], "signed");
      EXPECT_EQ(t["gas"], "1");
      EXPECT_EQ(t["signer_field"], "from_account");
    }
  EXPECT_TRUE(saw_transfer);

  // The node tells a wallet what to sign; it is the documented v1 message.
  json request = {{"op", "transfer"},
                  {"account", dev1_.address},
                  {"nonce", 0},
                  {"fields", {{"to", dev2_.address}, {"amount", 777}, {"asset", "BTC"}}}};
  auto msg = Post("/api/operation/message", request.dump());
  ASSERT_EQ(msg.status, 200) << msg.body;
  json m = json::parse(msg.body);
  Hash256 expected =
      state::TransferMessageV1(kRegtestChainId, "transfer", dev1_.account_id, dev2_.account_id, "BTC", 777, 0, "");
  EXPECT_EQ(m["message"], ToHex(expected));
  EXPECT_EQ(m["fields"]["to"], dev2_.account_id);  // accounts resolved
  EXPECT_EQ(m["fields"]["amount"], "777");         // amounts as decimal strings
  EXPECT_EQ(m["fields"]["data"], "");              // declared defaults filled in

  request["sig_scheme"] = "v1";
  request["signature"] = ToHex(*crypto::SchnorrSign(dev1_.secret, expected));
  auto sent = Post("/api/operation/submit", request.dump());
  ASSERT_EQ(sent.status, 200) << sent.body;
  json r = json::parse(sent.body);
  EXPECT_EQ(r["status"], "confirmed");
  EXPECT_EQ(r["tx_hash"], ToHex(expected));
  EXPECT_EQ(r["new_nonce"], 1);
  EXPECT_EQ(Balance(dev2_.account_id)["balances"]["BTC"]["available"], "100000777");
  // Replayed: 409; system operations cannot be submitted; unknown ones are 400.
  EXPECT_EQ(Post("/api/operation/submit", request.dump()).status, 409);
  std::string before = StateSnapshot();
  auto unknown = Post("/api/operation/submit", json{{"op", "warp"}}.dump());
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(json::parse(unknown.body)["code"], "unknown_operation");
  auto extra = request;
  extra["nonce"] = 1;
  extra["fields"]["colour"] = "red";
  auto refused = Post("/api/operation/submit", extra.dump());
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(json::parse(refused.body)["code"], "unknown_field");
  EXPECT_EQ(StateSnapshot(), before);
}

TEST_F(NodeTest, TransferTypesOtherThanTransferAreRefused) {
  json body = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  body["tx_type"] = "swap";
  auto r = Post("/api/transaction/send", body.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["code"], "unsupported_tx_type");
  body["tx_type"] = "warp";
  EXPECT_EQ(json::parse(Post("/api/transaction/send", body.dump()).body)["code"], "invalid_tx_type");
}

TEST_F(NodeTest, SignedAccountCreateAndRepeats) {
  TestKey k = KeyFromSeed("op-itest-account");
  Hash256 pop = state::SigningMessageV1(kRegtestChainId, "account_create", k.account_id, 0,
                                        {{"l1_address", k.address}, {"pubkey", ToHex(k.pub)}});
  json body = {{"l1_address", k.address},
               {"pubkey", ToHex(k.pub)},
               {"signature", ToHex(*crypto::SchnorrSign(k.secret, pop))}};
  auto first = Post("/api/account/create", body.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["tx_hash"], ToHex(pop));
  // The same request again changes nothing and records nothing.
  auto again = Post("/api/account/create", body.dump());
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_FALSE(json::parse(again.body).contains("tx_hash"));
  // A proof signed by another key is refused.
  body["signature"] = ToHex(*crypto::SchnorrSign(dev1_.secret, pop));
  TestKey other = KeyFromSeed("op-itest-other");
  body["l1_address"] = other.address;
  body["pubkey"] = ToHex(other.pub);
  EXPECT_EQ(Post("/api/account/create", body.dump()).status, 401);
}

}  // namespace
}  // namespace kray::test
