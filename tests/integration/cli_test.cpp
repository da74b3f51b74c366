// Runs the built kray-cli binary against a live krayd: every command, and the
// secret-handling contract (key files, stdin, -insecure-argv-key, keygen -out).
#include <sys/stat.h>

#include <cctype>

#include <fstream>

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
  // Runs `[stdin_cmd |] kray-cli -rpcport=… -rpctoken=… <args>`.
  CliResult Cli(const std::string& args, const std::string& stdin_cmd = "") {
    std::string errfile = dir_ + "/cli.err";
    std::string cmd = KrayCliPath() + " -rpcport=" + std::to_string(node_.port()) + " -rpctoken=" + kToken + " " +
                      args + " 2>" + errfile;
    if (!stdin_cmd.empty()) cmd = stdin_cmd + " | " + cmd;
    ShellResult sh = RunShell(cmd);
    CliResult r{sh.rc, std::move(sh.out), ""};
    r.err = ReadFile(errfile);
    return r;
  }
  // A key file <dir>/<name> holding `content` with permission bits `mode`.
  std::string KeyFile(const std::string& name, const std::string& content, mode_t mode = 0600) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << content;
    EXPECT_EQ(chmod(path.c_str(), mode), 0) << path;
    return path;
  }
  std::string DevKeyFile(mode_t mode = 0600) { return KeyFile("dev1.key", ToHex(dev1_.secret) + "\n", mode); }
};

std::string Trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

mode_t PermissionsOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// One line "error: …" on stderr, nothing on stdout, non-zero exit.
void ExpectOneLineError(const CliResult& r, const std::string& what) {
  EXPECT_NE(r.rc, 0) << what;
  EXPECT_EQ(r.out, "") << what;
  ASSERT_FALSE(r.err.empty()) << what;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << what << ": " << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << what << ": " << r.err;
}

TEST_F(CliTest, KeygenBalanceSendTx) {
  std::string mine_file = dir_ + "/mine.key";
  CliResult k = Cli("keygen -out=" + mine_file);
  ASSERT_EQ(k.rc, 0) << k.err;
  json kj = json::parse(k.out);
  EXPECT_FALSE(kj.contains("secret_key")) << k.out;
  EXPECT_EQ(k.out.find(Trimmed(ReadFile(mine_file))), std::string::npos) << "keygen printed the secret";
  TestKey mine = KeyFromSecret(*FromHexFixed<32>(Trimmed(ReadFile(mine_file))));
  EXPECT_EQ(kj["address"], mine.address);
  EXPECT_EQ(kj["account_id"], mine.account_id);
  EXPECT_EQ(kj["pubkey"], ToHex(mine.pub));

  const std::string dev1 = "-keyfile=" + DevKeyFile();
  CliResult a = Cli(dev1 + " address");
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(json::parse(a.out)["address"], dev1_.address);
  CliResult ap = Cli("address " + ToHex(dev1_.pub) + " pubkey");
  ASSERT_EQ(ap.rc, 0) << ap.err;
  EXPECT_EQ(json::parse(ap.out)["address"], dev1_.address);

  CliResult b = Cli("balance " + dev1_.account_id);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(json::parse(b.out)["nonce"], 0);

  // KRAY with the default (v1) message, then DOG, then KRAY with -legacy.
  CliResult s = Cli(dev1 + " send " + mine.address + " 5000");
  ASSERT_EQ(s.rc, 0) << s.err;
  std::string hash = json::parse(s.out)["tx_hash"];
  CliResult s2 = Cli(dev1 + " transfer " + mine.account_id + " 77 DOG");
  ASSERT_EQ(s2.rc, 0) << s2.err;
  CliResult s3 = Cli(dev1 + " -legacy send " + dev2_.account_id + " 1");
  ASSERT_EQ(s3.rc, 0) << s3.err;

  CliResult t = Cli("tx " + hash);
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_EQ(json::parse(t.out)["amount"], "5000");
  json mb = json::parse(Cli("balance " + mine.address).out);
  EXPECT_EQ(mb["balance_credits"], "5000");
  EXPECT_EQ(mb["balances"]["DOG"]["available"], "77");
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 3);

  // The new key file binds and spends.
  CliResult c = Cli("-keyfile=" + mine_file + " createaccount");
  ASSERT_EQ(c.rc, 0) << c.err;
  CliResult back = Cli("-keyfile=" + mine_file + " send " + dev1_.address + " 100");
  ASSERT_EQ(back.rc, 0) << back.err;

  CliResult st = Cli("status");
  ASSERT_EQ(st.rc, 0) << st.err;
  EXPECT_EQ(json::parse(st.out)["status"], "ok");
  CliResult cc = Cli("checkconservation");
  EXPECT_EQ(cc.rc, 0) << cc.err;
}

// Like ssh: a key file that group or others may read is refused, before
// anything is signed or sent.
TEST_F(CliTest, KeyFileAccessibleByOthersIsRefused) {
  for (mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0620}}) {
    std::string file = DevKeyFile(mode);
    CliResult r = Cli("-keyfile=" + file + " send " + dev2_.account_id + " 1");
    ExpectOneLineError(r, "mode " + std::to_string(mode));
    EXPECT_NE(r.err.find("accessible by group or others"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
    CliResult s = Cli("-keyfile=" + file + " sign v1 withdraw 0");
    ExpectOneLineError(s, "sign, mode " + std::to_string(mode));
  }
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 0);
  // The same file, once private, is accepted.
  CliResult ok = Cli("-keyfile=" + DevKeyFile(0400) + " send " + dev2_.account_id + " 1");
  EXPECT_EQ(ok.rc, 0) << ok.err;
}

TEST_F(CliTest, KeyFromStdin) {
  CliResult r = Cli("-keyfile=- send " + dev2_.account_id + " 3", "printf '%s\\n' " + ToHex(dev1_.secret));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["status"], "confirmed") << r.out;
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 1);
  // A mistaken, unbounded stdin is cut off, not read forever.
  CliResult big = Cli("-keyfile=- address", "head -c 100000 /dev/zero");
  ExpectOneLineError(big, "oversized stdin");
  CliResult empty = Cli("-keyfile=- address", "true");
  ExpectOneLineError(empty, "empty stdin");
}

TEST_F(CliTest, SecretOnCommandLineNeedsInsecureFlag) {
  const std::string hex = ToHex(dev1_.secret);
  for (const std::string& args :
       {"send " + hex + " " + dev2_.account_id + " 1", "createaccount " + hex, "address " + hex,
        "sign legacy " + hex + " " + dev1_.account_id + " " + dev2_.account_id + " 1 0", "sign v1 " + hex + " x 0",
        std::string("derive \"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                    "abandon about\" \"m/86'/0'/0'/0/0\"")}) {
    CliResult r = Cli(args);
    ExpectOneLineError(r, args);
    EXPECT_NE(r.err.find("-keyfile"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(hex), std::string::npos) << "the error echoes the secret: " << r.err;
  }
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 0);

  // The devnet form, explicitly asked for, still works (with a warning).
  CliResult ok = Cli("-insecure-argv-key send " + hex + " " + dev2_.account_id + " 1");
  ASSERT_EQ(ok.rc, 0) << ok.err;
  EXPECT_NE(ok.err.find("warning: "), std::string::npos) << ok.err;
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 1);
  CliResult both = Cli("-insecure-argv-key -keyfile=" + DevKeyFile() + " address");
  ExpectOneLineError(both, "both sources");
}

TEST_F(CliTest, KeygenWritesPrivateFileAndNeverOverwrites) {
  std::string file = dir_ + "/new.key";
  // umask 0 would give 0666 to a plain open(): the mode must not depend on it.
  ShellResult sh = RunShell("umask 000; " + KrayCliPath() + " keygen -out=" + file + " 2>&1");
  ASSERT_EQ(sh.rc, 0) << sh.out;
  EXPECT_EQ(PermissionsOf(file), 0600u);
  std::string first = ReadFile(file);
  ASSERT_EQ(Trimmed(first).size(), 64u);
  EXPECT_TRUE(FromHexFixed<32>(Trimmed(first)).has_value());
  EXPECT_EQ(json::parse(sh.out)["address"], KeyFromSecret(*FromHexFixed<32>(Trimmed(first))).address);

  CliResult again = Cli("keygen -out=" + file);
  ExpectOneLineError(again, "existing file");
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(file), first);
  // No temporary file is left behind by either run.
  ShellResult ls = RunShell("ls -A " + dir_ + " | grep -c tmp || true");
  EXPECT_EQ(Trimmed(ls.out), "0");

  // Without -out the secret would go to the terminal: refused.
  CliResult bare = Cli("keygen");
  ExpectOneLineError(bare, "keygen without -out");
  CliResult insecure = Cli("-insecure-argv-key keygen");
  ASSERT_EQ(insecure.rc, 0) << insecure.err;
  EXPECT_TRUE(json::parse(insecure.out).contains("secret_key"));
}

// derive reads its mnemonic from the key file (BIP-86 test vector: account 0,
// first receiving address).
TEST_F(CliTest, DeriveReadsMnemonicFromKeyFile) {
  std::string file = KeyFile("words.key",
                             "abandon abandon abandon abandon abandon abandon\n"
                             "abandon abandon abandon abandon abandon about\n");
  CliResult r = Cli("-keyfile=" + file + " derive \"m/86'/0'/0'/0/0\" -network=mainnet");
  ASSERT_EQ(r.rc, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["address"], "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr");
  EXPECT_EQ(j["xonly_pubkey"], "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115");
}

// An upper-case address names the same account as its lower-case form
// (BIP-173). kray-cli used to hash the text as typed into the recipient id
// that v1 signatures bind, so the node (which hashes the lower-case form)
// refused the signature.
TEST_F(CliTest, UpperCaseRecipientAddress) {
  std::string upper = dev2_.address;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CliResult s = Cli("-keyfile=" + DevKeyFile() + " send " + upper + " 5");
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_EQ(json::parse(s.out)["to"], dev2_.account_id);
  CliResult sig = Cli("-keyfile=" + DevKeyFile() + " sign transfer " + upper + " 5 1");
  CliResult sig_lower = Cli("-keyfile=" + DevKeyFile() + " sign transfer " + dev2_.address + " 5 1");
  ASSERT_EQ(sig.rc, 0) << sig.err;
  EXPECT_EQ(json::parse(sig.out)["message"], json::parse(sig_lower.out)["message"]);
  std::string mixed = dev2_.address;
  mixed[8] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[8])));
  CliResult m = Cli("-keyfile=" + DevKeyFile() + " send " + mixed + " 5");
  EXPECT_EQ(m.rc, 1);
  EXPECT_NE(m.err.find("mixes upper and lower case"), std::string::npos) << m.err;
}

TEST_F(CliTest, ErrorsAreOneLineAndNonZero) {
  const std::string dev1 = "-keyfile=" + DevKeyFile();
  for (const std::string& args :
       {std::string("balance kray_00000000000000000000000000000000"), std::string("tx ") + std::string(64, 'b'),
        "-keyfile=" + KeyFile("bad.key", "00\n") + " send x 1", dev1 + " send " + dev2_.account_id + " 1.5",
        "-keyfile=" + dir_ + "/missing.key send x 1", std::string("nosuchcommand"), std::string("-bogus=1 status")}) {
    ExpectOneLineError(Cli(args), args);
  }
  // Insufficient balance from the node is reported the same way.
  CliResult r = Cli(dev1 + " send " + dev2_.account_id + " 9000000000000");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("insufficient_balance"), std::string::npos) << r.err;
}

// `kray-cli op` produces and sends any registered operation, signed with the
// node's own canonicalisation; `optypes` lists them.
TEST_F(CliTest, OpSendsAnyOperation) {
  CliResult types = Cli("optypes");
  ASSERT_EQ(types.rc, 0) << types.err;
  EXPECT_NE(types.out.find("\"account_create\""), std::string::npos) << types.out;
  EXPECT_NE(types.out.find("\"transfer\""), std::string::npos) << types.out;
  std::string key = DevKeyFile();
  // A v1 transfer to an address (the node creates the recipient), nonce fetched.
  TestKey fresh = KeyFromSeed("cli-op-recipient");
  CliResult sent = Cli("-keyfile=" + key + " op transfer to=" + fresh.address + " amount=2500 asset=DOG data=hi");
  ASSERT_EQ(sent.rc, 0) << sent.err;
  json j = json::parse(sent.out);
  EXPECT_EQ(j["status"], "confirmed");
  EXPECT_EQ(j["to"], fresh.account_id);
  EXPECT_EQ(Balance(fresh.account_id)["balances"]["DOG"]["available"], "2500");
  // The recipient proves possession of its key (signed account_create).
  std::string fresh_key = KeyFile("fresh.key", ToHex(fresh.secret));
  CliResult create = Cli("-keyfile=" + fresh_key + " op account_create l1_address=" + fresh.address +
                         " pubkey=" + ToHex(fresh.pub));
  ASSERT_EQ(create.rc, 0) << create.err;
  EXPECT_EQ(json::parse(create.out)["auth"], "signed");
  EXPECT_EQ(Balance(fresh.account_id)["has_pubkey"], true);
  // Errors: an unknown field is refused before anything is sent; a replayed
  // nonce by the node.
  ExpectOneLineError(Cli("-keyfile=" + key + " op transfer to=" + fresh.account_id + " amount=1 colour=red"),
                     "unknown field");
  ExpectOneLineError(Cli("-keyfile=" + key + " op transfer to=" + fresh.account_id + " amount=1 -nonce=0"),
                     "replayed nonce");
  ExpectOneLineError(Cli("op transfer to=" + fresh.account_id + " amount=1"), "no key");
}

}  // namespace
}  // namespace kray::test
