// docs/SIGNING.md "Validator messages": the worked example, recomputed from
// the documented byte layout with nothing but SHA-256 and BIP-340, and by the
// module's own functions.
#include <gtest/gtest.h>

#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"
#include "kray/testsupport/keys.h"
#include "kray/validators/validators.h"

namespace kray::validators {
namespace {

// The validator key of the example: secret = SHA256("krayd-validator-example").
test::TestKey ExampleKey() {
  return test::KeyFromSeed("krayd-validator-example");
}

Bytes Cat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(ValidatorMessages, WorkedExampleOfSigningMd) {
  test::TestKey k = ExampleKey();
  EXPECT_EQ(ToHex(k.pub), "c9485d1ebc482c8cd7b97da5b1c8f07b64faee3d38d0c1ce77eb05ea34ace6ee");
  EXPECT_EQ(ValidatorId(k.pub), "val_032479e9adcd1a63f0fe9abc2c3ba0ed");
  EXPECT_EQ(ValidatorId(k.pub), "val_" + ToHex(crypto::Sha256(k.pub)).substr(0, 32));

  // Attestation of batch 7 with state root SHA256("state") and tx root SHA256("tx").
  Hash256 state_root = crypto::Sha256(AsBytes(std::string_view("state")));
  Hash256 tx_root = crypto::Sha256(AsBytes(std::string_view("tx")));
  Bytes ser = *FromHex(
      "0000000e6b7261792d726567746573742d31"  // lp("kray-regtest-1")
      "0000000000000007");                    // u64be(7)
  ser = Cat({ser, state_root, tx_root});
  EXPECT_EQ(ToHex(ser),
            "0000000e6b7261792d726567746573742d3100000000000000074ba69735ca53765ed6a709edb56c6ea236b7193a3b29a6b390c346"
            "f0f4340e4e1b5b9ccb3e8d006a5230de9bda23ff91edc794d4f56410560830b418528e446c");
  Hash256 msg = crypto::TaggedHash("KRAY/validator/attest/v1", ser);
  EXPECT_EQ(msg, AttestationMessage("kray-regtest-1", 7, state_root, tx_root));
  EXPECT_EQ(ToHex(msg), "87238fa446638179e0a3c9c173733ffeaa656f9df27666b6a93f55cfc73470fb");
  auto sig = crypto::SchnorrSign(k.secret, msg, Hash256{});
  ASSERT_TRUE(sig);
  EXPECT_EQ(ToHex(*sig),
            "3050dd41d28d55b5318dfad733ad0d16c8812b6a68f3752366b81608733a374bc17aacc36d32a4433afb45318340f64c6c2cf7c8da"
            "d67d16064e1c69b0912480");
  EXPECT_TRUE(crypto::SchnorrVerify(k.pub, msg, *sig));

  // Heartbeat at 1796000000.
  std::string id = ValidatorId(k.pub);
  Bytes hser = *FromHex("0000000e6b7261792d726567746573742d31");
  hser.push_back(0);
  hser.push_back(0);
  hser.push_back(0);
  hser.push_back(static_cast<std::uint8_t>(id.size()));
  hser.insert(hser.end(), id.begin(), id.end());
  Bytes at = *FromHex("000000006b0cc900");  // u64be(1796000000)
  hser.insert(hser.end(), at.begin(), at.end());
  Hash256 hmsg = crypto::TaggedHash("KRAY/validator/heartbeat/v1", hser);
  EXPECT_EQ(hmsg, HeartbeatMessage("kray-regtest-1", id, 1796000000));
  EXPECT_EQ(ToHex(hmsg), "a9b146a7d060027f90b7fd05f28a95bfef1ed00105a71404a4ecb5da857167f7");
  auto hsig = crypto::SchnorrSign(k.secret, hmsg, Hash256{});
  ASSERT_TRUE(hsig);
  EXPECT_EQ(ToHex(*hsig),
            "5d5ed354771c9a5fa26db108064eed4875604ee714e2f13916a98a1798db67e90fc3cacdaacb48d4ea72ded9af0ed0778370a5f064"
            "f74c6d36937c38e797e9ff");

  // Registration proof of possession for dev account 1.
  Bytes rser = *FromHex("0000000e6b7261792d726567746573742d31");
  std::string account = "kray_3f385eb703a5fc2bacbee9b1b7de87dd";
  rser.insert(rser.end(), {0, 0, 0, static_cast<std::uint8_t>(account.size())});
  rser.insert(rser.end(), account.begin(), account.end());
  EXPECT_EQ(ToHex(rser),
            "0000000e6b7261792d726567746573742d31"
            "000000256b7261795f3366333835656237303361356663326261636265653962316237646538376464");
  Hash256 rmsg = crypto::TaggedHash("KRAY/validator/register/v1", rser);
  EXPECT_EQ(rmsg, RegistrationMessage("kray-regtest-1", account));
  EXPECT_EQ(ToHex(rmsg), "d1d173c5ab303245b0a272843f7d944a57c3b94e5385b42b76cc57ac39cdb57a");
  auto rsig = crypto::SchnorrSign(k.secret, rmsg, Hash256{});
  ASSERT_TRUE(rsig);
  EXPECT_EQ(ToHex(*rsig),
            "336904723fb063b176ce8942ca45ff316c5b0c2f107e7e6e08fbf81977a9538486171cce5e9a6dccd34e716ffe9001847da31ee5eb"
            "857cb35013afe7e20aaaaa");
  EXPECT_TRUE(crypto::SchnorrVerify(k.pub, rmsg, *rsig));
}

}  // namespace
}  // namespace kray::validators
