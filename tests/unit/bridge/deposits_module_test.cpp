// The bridge module on the module host, without L1: address assignment,
// credits (exactly once), unattributed deposits and claims, each rule played
// by an attacker where there is one, and `krayd verify` replaying all of it.
// What only L1 can tell (the deposit exists) is the scanner's business and is
// tested against a real bitcoind (tests/integration/bitcoind_deposits_test.cpp).
#include <gtest/gtest.h>

#include "kray/bitcoin/taproot_key.h"
#include "kray/bridge/deposits.h"
#include "kray/crypto/hash.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/verify.h"
#include "kray/state/executor.h"
#include "kray/state/leaves.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "kray/state/request.h"
#include "kray/store/database.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::bridge {
namespace {

using test::TestKey;

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(BridgeModule()).ok());
    return reg;
  }();
  return r;
}

std::string Txid(int n) {
  return ToHex(crypto::Sha256(AsBytes("tx" + std::to_string(n))));
}
const std::string kBlock = ToHex(crypto::Sha256(AsBytes("block")));

Bytes P2trScript(const crypto::XOnlyPubKey& output_key) {
  Bytes s = {0x51, 0x20};
  s.insert(s.end(), output_key.begin(), output_key.end());
  return s;
}
Bytes Bip86Script(const TestKey& k) {
  return P2trScript(bitcoin::TaprootOutputKey(k.pub, std::nullopt)->key);
}
// P2WPKH of the even-y compressed form of `secret`'s key (the claim rule
// accepts either parity, so which one a wallet used does not matter).
Bytes P2wpkhScript(const crypto::SecretKey& secret) {
  auto x = *crypto::XOnlyFromSecret(secret);
  Bytes c{0x02};
  c.insert(c.end(), x.begin(), x.end());
  auto h = crypto::HashOf160(c);
  Bytes s = {0x00, 0x14};
  s.insert(s.end(), h.begin(), h.end());
  return s;
}

class BridgeModuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state::LedgerOptions o;
    o.datadir = dir_.file("data");
    o.genesis_path = test::RegtestGenesisPath();
    o.synchronous = "NORMAL";
    auto l = state::Ledger::Open(o, Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    auto r = rollup::Rollup::Open(*ledger_, rollup::RollupOptions{});
    ASSERT_TRUE(r.ok()) << r.error().message;
    rollup_ = std::move(*r);
  }
  void TearDown() override {
    if (!ledger_) return;
    auto rep = ledger_->CheckConservation();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok) << rep->ToString();
    // Conservation with deposits: what deposits minted is exactly what the
    // bridge credited.
    auto totals = Read<std::map<std::string, Amount>>([](store::Database& db) { return DepositedTotals(db); });
    for (const auto& line : rep->lines) EXPECT_EQ(line.minted, (*totals)[line.asset]) << line.asset;
    ledger_.reset();
    rollup_.reset();
  }

  template <class T, class F>
  Result<T> Read(F fn) {
    std::optional<Result<T>> out;
    Status s = ledger_->WithReader([&](store::Database& db) -> Status {
      out.emplace(fn(db));
      return Ok();
    });
    if (!s.ok()) return std::move(s).error();
    return std::move(*out);
  }

  Result<state::Receipt> Assign(const std::string& who) {
    state::OperationRequest r;
    r.type = std::string(kAddressAssignOp);
    r.auth = state::Auth::kPublic;
    r.fields = {{"account", who}};
    return ledger_->SubmitRequestSync(r);
  }

  state::Operation Credit(const std::string& account, const std::string& assets, const std::string& txid,
                          std::uint32_t vout, std::uint32_t index) {
    state::Operation op;
    op.type = std::string(kDepositCreditOp);
    op.auth = state::Auth::kSystem;
    op.fields = {{"account", account}, {"assets", assets}};
    op.evidence = {{"address_index", std::to_string(index)},
                   {"block_hash", kBlock},
                   {"height", "120"},
                   {"txid", txid},
                   {"vout", std::to_string(vout)}};
    return op;
  }

  state::Operation Unattributed(const std::string& assets, const std::string& txid, std::uint32_t index,
                                const std::string& funding) {
    state::Operation op;
    op.type = std::string(kDepositUnattributedOp);
    op.auth = state::Auth::kSystem;
    op.fields = {{"assets", assets}, {"reason", index == 0 ? "bridge_address" : "unassigned_index"}};
    op.evidence = {{"address_index", std::to_string(index)},
                   {"block_hash", kBlock},
                   {"funding", funding},
                   {"height", "121"},
                   {"txid", txid},
                   {"vout", "0"}};
    return op;
  }

  Result<state::Operation> ClaimOp(const std::string& account, const TestKey& signer, const std::string& txid,
                                   const std::string& pubkey_hex) {
    state::OperationRequest r;
    r.type = std::string(kDepositClaimOp);
    r.signer = account;
    r.sig_scheme = "v1";
    r.fields = {{"pubkey", pubkey_hex}, {"txid", txid}, {"vout", "0"}};
    return test::SignOperation(ledger_->params(), ledger_->registry(), r, signer);
  }

  Amount Available(const std::string& account, const std::string& asset) {
    auto a = ledger_->GetAccount(account);
    return a.ok() ? a->BalanceOf(asset).available : 0;
  }

  Result<rollup::VerifySummary> Verify() {
    EXPECT_TRUE(rollup_->Sync().ok());
    EXPECT_TRUE(rollup_->CloseBatchNow().ok());
    rollup::VerifyOptions vo;
    vo.params = ledger_->params();
    return rollup::VerifyDatadir(dir_.file("data"), vo, Registry(), nullptr);
  }

  test::TempDir dir_;
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<rollup::Rollup> rollup_;
  TestKey dev1_ = test::DevAccount(1), dev2_ = test::DevAccount(2);
};

TEST_F(BridgeModuleTest, AddressIndexesAreAssignedOnceInOrder) {
  auto a = Assign(dev1_.address);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(*state::FindField(a->result, "address_index"), "1");
  auto b = Assign(dev2_.account_id);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*state::FindField(b->result, "address_index"), "2");
  // Repeating it changes and records nothing.
  auto again = Assign(dev1_.account_id);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->no_change);
  EXPECT_EQ(*state::FindField(again->result, "address_index"), "1");
  // A new address gets an account (without a key) and the next index.
  TestKey fresh = test::KeyFromSeed("bridge-fresh");
  auto c = Assign(fresh.address);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(*state::FindField(c->result, "address_index"), "3");
  auto acct = ledger_->GetAccount(fresh.account_id);
  ASSERT_TRUE(acct.ok());
  EXPECT_TRUE(acct->pubkey_hex.empty());
  EXPECT_EQ(Read<std::optional<std::string>>([](store::Database& db) { return AccountOfIndex(db, 3); })->value_or(""),
            fresh.account_id);
  // An unknown kray_ id cannot be created; another network's address is refused.
  EXPECT_EQ(Assign(test::KeyFromSeed("nobody").account_id).error().code, "account_not_found");
  auto tb = Assign("tb1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tqlv4xv9");
  ASSERT_FALSE(tb.ok());
  EXPECT_EQ(tb.error().code, "invalid_account");
  // The address it keeps to create the account must be that account's.
  state::OperationRequest named;
  named.type = std::string(kAddressAssignOp);
  named.auth = state::Auth::kPublic;
  named.fields = {{"account", test::KeyFromSeed("bridge-fresh-2").address}};
  auto op = state::BuildOperation(ledger_->params(), ledger_->registry(), named);
  ASSERT_TRUE(op.ok()) << op.error().message;
  for (const std::string& other : {test::KeyFromSeed("someone-else").address, dev1_.account_id}) {
    state::Operation forged = *op;
    state::SetField(forged.evidence, "account_address", other);
    EXPECT_EQ(state::ValidateOperation(ledger_->params(), ledger_->registry(), forged).error().code, "invalid_evidence")
        << other;
  }
  // The leaf is committed.
  bool seen = false;
  for (const auto& leaf : a->op->touched) seen |= leaf == state::LeafId{kBridgeAddressLeaf, dev1_.account_id};
  EXPECT_TRUE(seen);
  // It is public: a signed one is refused.
  state::OperationRequest r;
  r.type = std::string(kAddressAssignOp);
  r.signer = dev1_.account_id;
  r.fields = {{"account", dev1_.account_id}};
  EXPECT_FALSE(test::SignOperation(ledger_->params(), ledger_->registry(), r, dev1_).ok());
}

TEST_F(BridgeModuleTest, CreditMintsOncePerOutpoint) {
  ASSERT_TRUE(Assign(dev1_.account_id).ok());
  ASSERT_TRUE(Assign(dev2_.account_id).ok());
  const Amount btc0 = Available(dev1_.account_id, "BTC");
  auto r = ledger_->SubmitSync(Credit(dev1_.account_id, "BTC:50000,DOG:700", Txid(1), 1, 1));
  ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), btc0 + 50000);
  EXPECT_EQ(r->op->auth, state::Auth::kSystem);
  EXPECT_EQ(r->op->hash.size(), 64u);
  auto rec = Read<std::optional<DepositRecord>>([](store::Database& db) { return FindDepositRecord(db, Txid(1), 1); });
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->status, "credited");
  EXPECT_EQ((*rec)->account_id, dev1_.account_id);

  // The same outpoint again, in any form: refused, nothing changes.
  const std::string before = std::to_string(Available(dev1_.account_id, "BTC"));
  for (auto op : {Credit(dev1_.account_id, "BTC:50000,DOG:700", Txid(1), 1, 1),
                  Credit(dev1_.account_id, "BTC:1", Txid(1), 1, 1), Unattributed("BTC:1", Txid(1), 0, "")}) {
    if (op.type == kDepositUnattributedOp) state::SetField(op.evidence, "vout", "1");
    auto dup = ledger_->SubmitSync(op);
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().code, "deposit_already_recorded");
    EXPECT_EQ(dup.error().kind, ErrorKind::kConflict);
  }
  EXPECT_EQ(std::to_string(Available(dev1_.account_id, "BTC")), before);
  // Another vout of the same transaction is another deposit.
  ASSERT_TRUE(ledger_->SubmitSync(Credit(dev1_.account_id, "BTC:20000", Txid(1), 2, 1)).ok());

  // The index must belong to the account credited.
  auto wrong = ledger_->SubmitSync(Credit(dev1_.account_id, "BTC:1", Txid(2), 0, 2));
  EXPECT_EQ(wrong.error().code, "invalid_evidence");
  auto unassigned = ledger_->SubmitSync(Credit(dev1_.account_id, "BTC:1", Txid(2), 0, 77));
  EXPECT_EQ(unassigned.error().code, "invalid_evidence");
  // Index 0 is never credited to an account.
  EXPECT_EQ(ledger_->SubmitSync(Credit(dev1_.account_id, "BTC:1", Txid(2), 0, 0)).error().code, "invalid_evidence");
  // Malformed assets and evidence are refused before anything runs.
  for (const char* bad : {"", "BTC:0", "BTC:01", "DOG:1,BTC:1", "BTC:1,BTC:2", "XYZ:1", "BTC:-1", "BTC:1.5", "BTC",
                          "BTC:9223372036854775808"}) {
    EXPECT_EQ(ledger_->SubmitSync(Credit(dev1_.account_id, bad, Txid(3), 0, 1)).error().code, "invalid_assets") << bad;
  }
  auto no_hash = Credit(dev1_.account_id, "BTC:1", Txid(3), 0, 1);
  state::SetField(no_hash.evidence, "block_hash", "00");
  EXPECT_EQ(ledger_->SubmitSync(no_hash).error().code, "invalid_evidence");
  auto upper = Credit(dev1_.account_id, "BTC:1", Txid(3), 0, 1);
  std::string up = Txid(3);
  for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  state::SetField(upper.evidence, "txid", up);
  EXPECT_EQ(ledger_->SubmitSync(upper).error().code, "invalid_evidence");
  auto extra = Credit(dev1_.account_id, "BTC:1", Txid(3), 0, 1);
  state::SetField(extra.evidence, "note", "x");
  EXPECT_EQ(ledger_->SubmitSync(extra).error().code, "invalid_evidence");
  // An overflowing credit fails as a whole: no partial mint, no record.
  auto huge = ledger_->SubmitSync(Credit(dev1_.account_id, "BTC:9223372036854775807", Txid(4), 0, 1));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(Read<std::optional<DepositRecord>>([](store::Database& db) {
              return FindDepositRecord(db, Txid(4), 0);
            })->has_value(),
            false);

  auto list = Read<std::vector<DepositRecord>>(
      [&](store::Database& db) { return AccountDepositRecords(db, dev1_.account_id, 10); });
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  auto verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.error().code << ": " << verified.error().message;
}

TEST_F(BridgeModuleTest, UnattributedDepositsAreClaimedOnceByTheFundingKey) {
  TestKey depositor = test::KeyFromSeed("depositor");  // funded the deposit from its BIP-86 address
  TestKey other = test::KeyFromSeed("someone-else");   // did not
  const crypto::SecretKey wpkh_secret = test::KeyFromSeed("wpkh-funder").secret;
  const std::string funding = ToHex(P2wpkhScript(wpkh_secret)) + "," + ToHex(Bip86Script(depositor));
  ASSERT_TRUE(Assign(dev1_.account_id).ok());  // index 1 is assigned; index 5 is not
  // Recording an "unassigned" deposit to an assigned index is refused.
  EXPECT_EQ(ledger_->SubmitSync(Unattributed("BTC:30000", Txid(10), 1, funding)).error().code,
            "deposit_index_assigned");
  auto rec = ledger_->SubmitSync(Unattributed("BTC:30000", Txid(10), 5, funding));
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE(ledger_->SubmitSync(Unattributed("BTC:40000", Txid(11), 0, ToHex(Bip86Script(depositor)))).ok());
  // The reason must match the index.
  auto bad_reason = Unattributed("BTC:1", Txid(12), 0, "");
  state::SetField(bad_reason.fields, "reason", "unassigned_index");
  EXPECT_EQ(ledger_->SubmitSync(bad_reason).error().code, "invalid_field");
  // Nothing is minted for an unattributed deposit.
  auto rep = ledger_->CheckConservation();
  for (const auto& l : rep->lines) EXPECT_EQ(l.minted, 0u) << l.asset;

  const Amount before = Available(dev2_.account_id, "BTC");
  // A claim signed by a key that did not fund it: refused.
  auto forged = ClaimOp(dev2_.account_id, other, Txid(10), ToHex(other.pub));
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(ledger_->SubmitSync(*forged).error().code, "claim_key_mismatch");
  // Naming the depositor's key but signing with another: the signature fails.
  auto wrong_sig = ClaimOp(dev2_.account_id, other, Txid(10), ToHex(depositor.pub));
  ASSERT_TRUE(wrong_sig.ok());
  EXPECT_EQ(ledger_->SubmitSync(*wrong_sig).error().code, "invalid_signature");
  // A signature for another account cannot be re-pointed.
  auto good = ClaimOp(dev2_.account_id, depositor, Txid(10), ToHex(depositor.pub));
  ASSERT_TRUE(good.ok());
  state::Operation repointed = *good;
  repointed.signer = dev1_.account_id;
  EXPECT_EQ(ledger_->SubmitSync(repointed).error().code, "invalid_signature");
  // The real claim (BIP-86 key of the P2TR funding address).
  auto claimed = ledger_->SubmitSync(*good);
  ASSERT_TRUE(claimed.ok()) << claimed.error().code << ": " << claimed.error().message;
  EXPECT_EQ(Available(dev2_.account_id, "BTC"), before + 30000);
  // Once.
  auto twice = ClaimOp(dev1_.account_id, depositor, Txid(10), ToHex(depositor.pub));
  EXPECT_EQ(ledger_->SubmitSync(*twice).error().code, "deposit_not_claimable");
  auto same = ledger_->SubmitSync(*good);
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(Available(dev2_.account_id, "BTC"), before + 30000);
  // A deposit nobody recorded cannot be claimed.
  auto unknown = ClaimOp(dev2_.account_id, depositor, Txid(99), ToHex(depositor.pub));
  EXPECT_EQ(ledger_->SubmitSync(*unknown).error().code, "deposit_not_found");
  // A P2WPKH funder claims with the x-only form of its key; the claim is a
  // proof of possession and needs no account key of its own.
  TestKey wpkh = test::KeyFromSecret(wpkh_secret);
  auto via_wpkh = ClaimOp(dev1_.account_id, wpkh, Txid(11), ToHex(wpkh.pub));
  EXPECT_EQ(ledger_->SubmitSync(*via_wpkh).error().code, "claim_key_mismatch");  // 11 was funded by P2TR only
  ASSERT_TRUE(ledger_->SubmitSync(Unattributed("DOG:123", Txid(14), 9, ToHex(P2wpkhScript(wpkh_secret)))).ok());
  const Amount dog = Available(dev1_.account_id, "DOG");
  auto wpkh_claim = ClaimOp(dev1_.account_id, wpkh, Txid(14), ToHex(wpkh.pub));
  auto wpkh_done = ledger_->SubmitSync(*wpkh_claim);
  ASSERT_TRUE(wpkh_done.ok()) << wpkh_done.error().message;
  EXPECT_EQ(Available(dev1_.account_id, "DOG"), dog + 123);
  // Index 0's deposit, claimed by its P2TR funder, to an account that does
  // not exist: refused (create the account first).
  auto nowhere = ClaimOp(test::KeyFromSeed("nobody").account_id, depositor, Txid(11), ToHex(depositor.pub));
  EXPECT_EQ(ledger_->SubmitSync(*nowhere).error().code, "account_not_found");
  auto to_dev1 = ClaimOp(dev1_.account_id, depositor, Txid(11), ToHex(depositor.pub));
  ASSERT_TRUE(ledger_->SubmitSync(*to_dev1).ok());

  auto verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.error().code << ": " << verified.error().message;
  EXPECT_GE(verified->operations, 6);
}

TEST_F(BridgeModuleTest, EditsBehindTheNodesBackAreFoundByReplay) {
  ASSERT_TRUE(Assign(dev1_.account_id).ok());
  ASSERT_TRUE(ledger_->SubmitSync(Credit(dev1_.account_id, "BTC:50000", Txid(1), 0, 1)).ok());
  ASSERT_TRUE(Verify().ok());
  auto edit = [&](const std::string& sql) {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  };
  // Forgetting a credited outpoint (so it could be credited again): the
  // replayed head has it, the store does not.
  edit("UPDATE bridge_deposits SET txid = 'ff' || substr(txid, 3)");
  auto v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_head_mismatch") << v.error().message;
  edit("UPDATE bridge_deposits SET txid = '" + Txid(1) + "'");
  ASSERT_TRUE(Verify().ok());
  // Inflating a recorded credit: re-executed, it is not the operation recorded.
  edit(
      "UPDATE operations SET fields = replace(fields, CAST('BTC:50000' AS BLOB), CAST('BTC:90000' AS BLOB)) "
      "WHERE type = 'deposit_credit'");
  v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_tx_failed") << v.error().message;  // its id covers its fields
  ledger_.reset();  // the store no longer matches its log: skip the teardown checks
}

TEST_F(BridgeModuleTest, SystemOperationsCannotBeSubmittedFromOutside) {
  // The API builds requests with BuildOperation: a system type is refused.
  state::OperationRequest r;
  r.type = std::string(kDepositCreditOp);
  r.auth = state::Auth::kSigned;
  r.signer = dev1_.account_id;
  r.fields = {{"account", dev1_.account_id}, {"assets", "BTC:1"}};
  auto op = test::SignOperation(ledger_->params(), ledger_->registry(), r, dev1_);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.error().code, "wrong_authorisation");
}

TEST(ClaimKey, MatchesTheScriptsItsKeyControls) {
  TestKey k = test::KeyFromSeed("claim-key");
  TestKey other = test::KeyFromSeed("claim-other");
  EXPECT_TRUE(ClaimKeyMatches(Bip86Script(k), k.pub));     // BIP-86: the internal key
  EXPECT_TRUE(ClaimKeyMatches(P2trScript(k.pub), k.pub));  // the output key itself
  EXPECT_FALSE(ClaimKeyMatches(Bip86Script(k), other.pub));
  EXPECT_TRUE(ClaimKeyMatches(P2wpkhScript(k.secret), k.pub));  // HASH160 of either parity
  Bytes p2pkh = {0x76, 0xa9, 0x14};
  Bytes wpkh = P2wpkhScript(k.secret);
  p2pkh.insert(p2pkh.end(), wpkh.begin() + 2, wpkh.end());
  p2pkh.push_back(0x88);
  p2pkh.push_back(0xac);
  EXPECT_TRUE(ClaimKeyMatches(p2pkh, k.pub));
  EXPECT_FALSE(ClaimKeyMatches(P2wpkhScript(other.secret), k.pub));
  // Odd parity compressed form.
  Bytes odd{0x03};
  odd.insert(odd.end(), k.pub.begin(), k.pub.end());
  auto h = crypto::HashOf160(odd);
  Bytes odd_script = {0x00, 0x14};
  odd_script.insert(odd_script.end(), h.begin(), h.end());
  EXPECT_TRUE(ClaimKeyMatches(odd_script, k.pub));
  // Anything else (P2SH, P2WSH, bare, truncated) proves nothing.
  EXPECT_FALSE(ClaimKeyMatches(Bytes{0xa9, 0x14}, k.pub));
  EXPECT_FALSE(ClaimKeyMatches(Bytes{}, k.pub));
  Bytes p2wsh = {0x00, 0x20};
  p2wsh.resize(34, 0x11);
  EXPECT_FALSE(ClaimKeyMatches(p2wsh, k.pub));
}

TEST(DepositAssets, FormatAndStrictParse) {
  ChainParams p;
  EXPECT_EQ(FormatAssets({{"DOG", 5}, {"BTC", 1000}}), "BTC:1000,DOG:5");
  auto a = ParseAssets(p, "BTC:1000,DOG:5");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<AssetAmount>{{"BTC", 1000}, {"DOG", 5}}));
  for (const char* bad : {",", "BTC:1,", ":1", "BTC::1", "btc:1", "BTC:1 ", " BTC:1"})
    EXPECT_FALSE(ParseAssets(p, bad).ok()) << bad;
}

}  // namespace
}  // namespace kray::bridge
