// Runs the built kray-cli binary against a live krayd.
#include <cctype>

#include "kray/core/bytes.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

struct CliResult {
  int rc = -1;
  std::string out, err;
};

class CliTest : public NodeTest {
 protected:
  CliResult Cli(const std::string& args) {
    std::string errfile = dir_ + "/cli.err";
    std::string cmd = KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " -rpctoken=" + kToken + " " +
                      args + " 2>" + errfile;
    ShellResult sh = RunShell(cmd);
    CliResult r{sh.rc, std::move(sh.out), ""};
    r.err = ReadFile(errfile);
    return r;
  }
};

std::string Hex(const crypto::SecretKey& k) {
  return ToHex(k);
}

TEST_F(CliTest, KeygenBalanceSendTx) {
  CliResult k = Cli("keygen");
  ASSERT_EQ(k.rc, 0) << k.err;
  json kj = json::parse(k.out);
  std::string secret = kj["secret_key"];
  TestKey mine = KeyFromSecret(*FromHexFixed<32>(secret));
  EXPECT_EQ(kj["address"], mine.address);
  EXPECT_EQ(kj["account_id"], mine.account_id);

  CliResult a = Cli("address " + Hex(dev1_.secret));
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(json::parse(a.out)["address"], dev1_.address);

  CliResult b = Cli("balance " + dev1_.account_id);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(json::parse(b.out)["nonce"], 0);

  // KRAY with the default (v1) message, then DOG, then KRAY with -legacy.
  CliResult s = Cli("send " + Hex(dev1_.secret) + " " + mine.address + " 5000");
  ASSERT_EQ(s.rc, 0) << s.err;
  std::string hash = json::parse(s.out)["tx_hash"];
  CliResult s2 = Cli("transfer " + Hex(dev1_.secret) + " " + mine.account_id + " 77 DOG");
  ASSERT_EQ(s2.rc, 0) << s2.err;
  CliResult s3 = Cli("-legacy send " + Hex(dev1_.secret) + " " + dev2_.account_id + " 1");
  ASSERT_EQ(s3.rc, 0) << s3.err;

  CliResult t = Cli("tx " + hash);
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_EQ(json::parse(t.out)["amount"], "5000");
  json mb = json::parse(Cli("balance " + mine.address).out);
  EXPECT_EQ(mb["balance_credits"], "5000");
  EXPECT_EQ(mb["balances"]["DOG"]["available"], "77");
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 3);

  // The new key binds and spends.
  CliResult c = Cli("createaccount " + secret);
  ASSERT_EQ(c.rc, 0) << c.err;
  CliResult back = Cli("send " + secret + " " + dev1_.address + " 100");
  ASSERT_EQ(back.rc, 0) << back.err;

  CliResult st = Cli("status");
  ASSERT_EQ(st.rc, 0) << st.err;
  EXPECT_EQ(json::parse(st.out)["status"], "ok");
  CliResult cc = Cli("checkconservation");
  EXPECT_EQ(cc.rc, 0) << cc.err;
}

// An upper-case address names the same account as its lower-case form
// (BIP-173). kray-cli used to hash the text as typed into the recipient id
// that v1 signatures bind, so the node (which hashes the lower-case form)
// refused the signature.
TEST_F(CliTest, UpperCaseRecipientAddress) {
  std::string upper = dev2_.address;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CliResult s = Cli("send " + Hex(dev1_.secret) + " " + upper + " 5");
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_EQ(json::parse(s.out)["to"], dev2_.account_id);
  CliResult sig = Cli("sign transfer " + Hex(dev1_.secret) + " " + upper + " 5 1");
  CliResult sig_lower = Cli("sign transfer " + Hex(dev1_.secret) + " " + dev2_.address + " 5 1");
  ASSERT_EQ(sig.rc, 0) << sig.err;
  EXPECT_EQ(json::parse(sig.out)["message"], json::parse(sig_lower.out)["message"]);
  std::string mixed = dev2_.address;
  mixed[8] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[8])));
  CliResult m = Cli("send " + Hex(dev1_.secret) + " " + mixed + " 5");
  EXPECT_EQ(m.rc, 1);
  EXPECT_NE(m.err.find("mixes upper and lower case"), std::string::npos) << m.err;
}

TEST_F(CliTest, ErrorsAreOneLineAndNonZero) {
  for (const std::string& args :
       {std::string("balance kray_00000000000000000000000000000000"), std::string("tx ") + std::string(64, 'b'),
        std::string("send 00 x 1"), std::string("send ") + Hex(dev1_.secret) + " " + dev2_.account_id + " 1.5",
        std::string("nosuchcommand"), std::string("-bogus=1 status")}) {
    CliResult r = Cli(args);
    EXPECT_NE(r.rc, 0) << args;
    EXPECT_EQ(r.out, "") << args;
    ASSERT_FALSE(r.err.empty()) << args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  }
  // Insufficient balance from the node is reported the same way.
  CliResult r = Cli("send " + Hex(dev1_.secret) + " " + dev2_.account_id + " 9000000000000");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("insufficient_balance"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kray::test
