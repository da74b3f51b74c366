// Deposits against a real regtest bitcoind: the deposit scanner
// (bridge/scanner.h) follows Core's chain and credits through a real Ledger
// with the bridge module. Transactions are made and signed by Core's wallets
// (runes transactions serialized by our own code, as in
// bitcoind_runes_test.cpp), blocks are mined on demand, and SyncNow() lets
// the test wait for the scanner deterministically. After every test:
// conservation holds and what deposits minted equals what the bridge
// credited, and `krayd verify`'s replay of the whole log (VerifyDatadir)
// passes.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/runestone.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/bitcoin/transaction.h"
#include "kray/bridge/deposits.h"
#include "kray/bridge/member_key.h"
#include "kray/bridge/scanner.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/verify.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "kray/store/database.h"
#include "kray/testsupport/bitcoind.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"

namespace kray::test {
namespace {

using bitcoin::OutPoint;
using bitcoin::RuneId;
using bitcoin::Transaction;
using nlohmann::json;
using namespace std::chrono_literals;

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(bridge::BridgeModule()).ok());
    return reg;
  }();
  return r;
}

constexpr std::int64_t kRuneOutputSats = 10'000;
constexpr int kP2trInputWeight = 230;

class BitcoindDepositsTest : public BitcoindTest {
 protected:
  void SetUp() override {
    BitcoindTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    CreateWallet("miner");
    miner_ = NewAddress("miner");
    Mine(101, miner_);
    std::array<std::string, 3> xpubs;
    for (auto& x : xpubs) x = bridge::GenerateMemberKey(Network::kRegtest)->Xpub();
    auto f = bridge::Federation::Make(Network::kRegtest, xpubs);
    ASSERT_TRUE(f.ok());
    federation_.emplace(*f);
    options_.rpc = bitcoind_.RpcOptions();
    options_.rpc.max_attempts = 2;
    options_.rpc.request_timeout = 5s;
    options_.rpc.initial_backoff = 20ms;
    options_.confirmations = 6;
    options_.lookahead = 20;
    options_.poll_interval = 50ms;
    options_.min_deposit_sats = 10000;
    state::LedgerOptions lo;
    lo.datadir = dir_.file("data");
    lo.genesis_path = RegtestGenesisPath();
    lo.synchronous = "NORMAL";
    auto l = state::Ledger::Open(lo, Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    auto r = rollup::Rollup::Open(*ledger_, rollup::RollupOptions{});
    ASSERT_TRUE(r.ok());
    rollup_ = std::move(*r);
  }

  void TearDown() override {
    scanner_.reset();
    if (ledger_) {
      ExpectConservation();
      ExpectVerifies();
      ledger_.reset();
      rollup_.reset();
    }
    if (HasFailure()) dir_.keep();
    BitcoindTest::TearDown();
  }

  void OpenScanner() {
    scanner_.reset();
    auto s = bridge::DepositScanner::Open(*ledger_, *federation_, options_);
    ASSERT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
    scanner_ = std::move(*s);
  }

  void Sync() {
    Status s = scanner_->SyncNow(60s);
    ASSERT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
  }

  // Conservation, and minted == what the bridge credited, for every asset.
  void ExpectConservation() {
    auto rep = ledger_->CheckConservation();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok) << rep->ToString();
    auto totals =
        ledger_->Read<std::map<std::string, Amount>>([](store::Database& db) { return bridge::DepositedTotals(db); });
    ASSERT_TRUE(totals.ok());
    for (const auto& line : rep->lines) EXPECT_EQ(line.minted, (*totals)[line.asset]) << line.asset;
  }

  // Replays the whole log like `krayd verify`.
  void ExpectVerifies() {
    ASSERT_TRUE(rollup_->Sync().ok());
    ASSERT_TRUE(rollup_->CloseBatchNow().ok());
    rollup::VerifyOptions vo;
    vo.params = ledger_->params();
    auto v = rollup::VerifyDatadir(dir_.file("data"), vo, Registry(), nullptr);
    EXPECT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  }

  // bridge_address_assign for `who`; returns the deposit address.
  std::string DepositAddress(const std::string& who) {
    state::OperationRequest r;
    r.type = std::string(bridge::kAddressAssignOp);
    r.auth = state::Auth::kPublic;
    r.fields = {{"account", who}};
    auto receipt = ledger_->SubmitRequestSync(r);
    EXPECT_TRUE(receipt.ok()) << receipt.error().message;
    if (!receipt.ok()) return "";
    auto index = std::stoul(std::string(*state::FindField(receipt->result, "address_index")));
    return *federation_->Address(static_cast<std::uint32_t>(index));
  }

  // The vout of `tx` paying `address`.
  std::uint32_t VoutTo(const std::string& txid, const std::string& address) {
    const json tx = bitcoind_.Call("getrawtransaction", {txid, true});
    for (const auto& o : tx["vout"])
      if (o["scriptPubKey"].value("address", "") == address) return o["n"].get<std::uint32_t>();
    ADD_FAILURE() << txid << " does not pay " << address;
    return 0;
  }

  // Sends `btc` from the miner wallet to `address`; returns (txid, vout).
  std::pair<std::string, std::uint32_t> Pay(const std::string& address, const std::string& btc) {
    const json txid = bitcoind_.Call("sendtoaddress", {address, btc}, "miner");
    EXPECT_TRUE(txid.is_string());
    const std::string t = txid.is_string() ? txid.get<std::string>() : "";
    return {t, VoutTo(t, address)};
  }

  std::string MineOne() { return Mine(1, miner_)[0]; }

  Amount Available(const std::string& account, const std::string& asset) {
    auto a = ledger_->GetAccount(account);
    return a.ok() ? a->BalanceOf(asset).available : 0;
  }

  std::optional<bridge::ObservedDeposit> Observed(const std::string& txid, std::uint32_t vout) {
    auto o = scanner_->FindObserved(txid, vout);
    EXPECT_TRUE(o.ok());
    return o.ok() ? *o : std::nullopt;
  }
  std::optional<bridge::DepositRecord> Record(const std::string& txid, std::uint32_t vout) {
    auto r = ledger_->Read<std::optional<bridge::DepositRecord>>(
        [&](store::Database& db) { return bridge::FindDepositRecord(db, txid, vout); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  std::uint64_t CountOps(const std::string& type) {
    auto stats = ledger_->GetTxStats();
    if (!stats.ok()) return 0;
    auto it = stats->by_type.find(type);
    return it == stats->by_type.end() ? 0 : it->second;
  }

  // Runestone transactions (see bitcoind_runes_test.cpp): our outputs first,
  // fee inputs from the miner wallet, change last.
  Transaction SendRunes(const std::vector<OutPoint>& inputs, const std::optional<Bytes>& runestone,
                        const std::vector<std::pair<std::string, std::int64_t>>& outputs) {
    Transaction tx;
    for (const OutPoint& o : inputs) {
      bitcoin::TxIn in;
      in.prevout = o;
      in.sequence = 0xfffffffd;
      tx.vin.push_back(in);
    }
    if (runestone) tx.vout.push_back({0, *runestone});
    for (const auto& [addr, sats] : outputs)
      tx.vout.push_back({sats, *bitcoin::AddressToScriptPubKey(addr, Network::kRegtest)});
    json weights = json::array();
    for (const OutPoint& o : inputs)
      weights.push_back({{"txid", bitcoin::HashToDisplayHex(o.txid)}, {"vout", o.n}, {"weight", kP2trInputWeight}});
    json opts = {{"changePosition", tx.vout.size()}};
    if (!weights.empty()) opts["input_weights"] = weights;
    const json funded =
        bitcoind_.Call("fundrawtransaction", {ToHex(bitcoin::SerializeTransaction(tx)), opts, false}, "miner");
    std::string hex = funded.value("hex", "");
    if (!inputs.empty())
      hex = bitcoind_.Call("signrawtransactionwithwallet", json::array({hex}), "runes").value("hex", "");
    const json signed_tx = bitcoind_.Call("signrawtransactionwithwallet", json::array({hex}), "miner");
    EXPECT_EQ(signed_tx["complete"], true) << signed_tx.dump();
    auto parsed = bitcoin::ParseTransactionHex(signed_tx.value("hex", ""));
    EXPECT_TRUE(parsed.ok());
    if (!parsed.ok()) return {};
    auto sent = bitcoind_.rpc().SendRawTransaction(*parsed);
    EXPECT_TRUE(sent.ok()) << (sent.ok() ? "" : sent.error().message);
    return *parsed;
  }

  TempDir dir_;
  std::string miner_;
  std::optional<bridge::Federation> federation_;
  bridge::ScannerOptions options_;
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<rollup::Rollup> rollup_;
  std::unique_ptr<bridge::DepositScanner> scanner_;
  TestKey dev1_ = DevAccount(1), dev2_ = DevAccount(2);
};

TEST_F(BitcoindDepositsTest, BtcDepositIsCreditedOnceAtNConfirmations) {
  OpenScanner();
  const std::string addr = DepositAddress(dev1_.account_id);
  const Amount before = Available(dev1_.account_id, "BTC");
  const auto [txid, vout] = Pay(addr, "0.00100000");
  // Two outputs of one transaction to the same address are two deposits;
  // one below the minimum is seen and never credited.
  const json many = bitcoind_.Call("sendmany", {"", {{addr, "0.00020000"}}}, "miner");
  const json small = bitcoind_.Call("sendtoaddress", {addr, "0.00005000"}, "miner");
  MineOne();
  // A coinbase paying the deposit address needs Core's coinbase maturity.
  const std::string cb_block = Mine(1, addr)[0];
  const std::string cb_txid = bitcoind_.Call("getblock", {cb_block, 1})["tx"][0];
  Sync();
  auto cb = Observed(cb_txid, 0);
  ASSERT_TRUE(cb);
  EXPECT_EQ(cb->required, 100u);
  auto seen = Observed(txid, vout);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->status, "confirming");
  EXPECT_EQ(seen->sats, 100000);
  EXPECT_EQ(seen->required, 6u);
  EXPECT_EQ(seen->assets, "BTC:100000");
  auto tiny = Observed(small.get<std::string>(), VoutTo(small.get<std::string>(), addr));
  ASSERT_TRUE(tiny);
  EXPECT_EQ(tiny->status, "not_creditable");
  EXPECT_EQ(tiny->detail, "below_minimum");

  Mine(3, miner_);  // 5 confirmations: not yet
  Sync();
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before);
  EXPECT_FALSE(Record(txid, vout));
  MineOne();  // 6
  Sync();
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before + 100000 + 20000);
  auto rec = Record(txid, vout);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, "credited");
  EXPECT_EQ(rec->assets, "BTC:100000");
  EXPECT_EQ(rec->account_id, dev1_.account_id);
  EXPECT_EQ(Observed(txid, vout)->status, "credited");
  EXPECT_EQ(Observed(txid, vout)->operation.size(), 64u);
  // The credit names its L1 evidence: the block it was in.
  const json block = bitcoind_.Call("getblock", {rec->block_hash, 1});
  EXPECT_EQ(block["height"], rec->height);
  bool in_block = false;
  for (const auto& t : block["tx"]) in_block |= t == txid;
  EXPECT_TRUE(in_block);
  EXPECT_EQ(CountOps("deposit_credit"), 2u);

  // More blocks, more polls, a restarted scanner, and a rescan from scratch
  // (bridge.sqlite deleted): never a second credit.
  Mine(3, miner_);
  Sync();
  Sync();
  OpenScanner();
  Sync();
  scanner_.reset();
  std::filesystem::remove(dir_.file("data/bridge.sqlite"));
  OpenScanner();
  Sync();
  EXPECT_EQ(Observed(txid, vout)->status, "credited");
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before + 120000);
  EXPECT_EQ(CountOps("deposit_credit"), 2u);
  EXPECT_EQ(Observed(tiny->txid, tiny->vout)->status, "not_creditable");
  EXPECT_EQ(Observed(cb_txid, 0)->status, "confirming");  // far from 100 confirmations
  (void)many;
}

// The hook the event feed's deposits topic uses: each stored status, after
// it is stored, once; nothing after the listener is removed.
TEST_F(BitcoindDepositsTest, DepositListenersSeeEachStoredStatus) {
  OpenScanner();
  std::mutex mu;
  std::vector<bridge::ObservedDeposit> seen;
  int handle = scanner_->AddDepositListener([&](const bridge::ObservedDeposit& d) {
    std::lock_guard lock(mu);
    seen.push_back(d);
  });
  const auto [txid, vout] = Pay(DepositAddress(dev1_.account_id), "0.00100000");
  MineOne();
  Sync();
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].txid, txid);
    EXPECT_EQ(seen[0].vout, vout);
    EXPECT_EQ(seen[0].status, "confirming");
    EXPECT_EQ(seen[0].assets, "BTC:100000");
  }
  Mine(5, miner_);
  Sync();
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].status, "credited");
    EXPECT_EQ(seen[1].operation.size(), 64u);
    // Stored before the listener ran.
    EXPECT_EQ(Observed(txid, vout)->status, "credited");
  }
  scanner_->RemoveDepositListener(handle);
  Pay(DepositAddress(dev1_.account_id), "0.00100000");
  MineOne();
  Sync();
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(BitcoindDepositsTest, RuneDepositIsCreditedOnceWithTheIndexedAmount) {
  CreateWallet("runes");
  // Etch a rune with DOG's divisibility (5): premine 1,000,000 to our output.
  bitcoin::Runestone etch;
  etch.etching = bitcoin::Etching{};
  etch.etching->divisibility = 5;
  etch.etching->premine = 1'000'000;
  const Transaction t_etch = SendRunes({}, bitcoin::EncipherRunestone(etch), {{NewAddress("runes"), kRuneOutputSats}});
  const std::string etch_block = MineOne();
  const json block = bitcoind_.Call("getblock", {etch_block, 1});
  RuneId id{block["height"].get<std::uint64_t>(), 0};
  for (std::uint32_t i = 0; i < block["tx"].size(); ++i)
    if (block["tx"][i] == bitcoin::HashToDisplayHex(bitcoin::Txid(t_etch))) id.tx = i;
  ASSERT_GT(id.tx, 0u);
  // A second rune with the wrong divisibility for its asset (RADIOLA: 5 decimals).
  bitcoin::Runestone etch2 = etch;
  etch2.etching->divisibility = 2;
  const Transaction t_etch2 =
      SendRunes({}, bitcoin::EncipherRunestone(etch2), {{NewAddress("runes"), kRuneOutputSats}});
  const std::string etch2_block = MineOne();
  const json block2 = bitcoind_.Call("getblock", {etch2_block, 1});
  RuneId id2{block2["height"].get<std::uint64_t>(), 0};
  for (std::uint32_t i = 0; i < block2["tx"].size(); ++i)
    if (block2["tx"][i] == bitcoin::HashToDisplayHex(bitcoin::Txid(t_etch2))) id2.tx = i;

  options_.runes = {{id, std::nullopt, "DOG"}, {id2, std::nullopt, "RADIOLA"}};
  options_.start_height = static_cast<std::uint32_t>(block2["height"].get<std::uint64_t>()) + 1;
  OpenScanner();
  EXPECT_EQ(scanner_->GetStatus().first_height, id.block);  // the runes index starts at the etching
  const std::string addr = DepositAddress(dev1_.account_id);
  const Amount dog0 = Available(dev1_.account_id, "DOG"), btc0 = Available(dev1_.account_id, "BTC");

  // 1. Send 250,000 to the deposit address (edict); the rest goes back to us.
  bitcoin::Runestone send;
  send.edicts = {bitcoin::Edict{id, 250'000, 2}};
  const Transaction t_send = SendRunes({OutPoint{bitcoin::Txid(t_etch), 1}}, bitcoin::EncipherRunestone(send),
                                       {{NewAddress("runes"), kRuneOutputSats}, {addr, kRuneOutputSats}});
  // 2. A runestone that only claims to send 999,999 to the deposit address
  //    but spends no rune: ord gives it nothing, and nothing is credited
  //    but its BTC.
  bitcoin::Runestone lie;
  lie.edicts = {bitcoin::Edict{id, 999'999, 1}};
  const Transaction t_lie = SendRunes({}, bitcoin::EncipherRunestone(lie), {{addr, 20'000}});
  // 3. The rune whose divisibility is not its asset's: seen, not credited.
  bitcoin::Runestone send2;
  send2.edicts = {bitcoin::Edict{id2, 5, 2}};
  const Transaction t_send2 = SendRunes({OutPoint{bitcoin::Txid(t_etch2), 1}}, bitcoin::EncipherRunestone(send2),
                                        {{NewAddress("runes"), kRuneOutputSats}, {addr, kRuneOutputSats}});
  // A reorg at 3 confirmations takes the block back (the runes index undoes
  // it with the scanner); the same transactions are mined again in the new
  // chain and credited there, with the same indexed amounts.
  const std::string first_block = MineOne();
  Mine(2, miner_);
  Sync();
  const std::string send_txid = bitcoin::HashToDisplayHex(bitcoin::Txid(t_send));
  ASSERT_TRUE(Observed(send_txid, 2));
  EXPECT_EQ(Observed(send_txid, 2)->block_hash, first_block);
  bitcoind_.Call("invalidateblock", json::array({first_block}));
  Mine(6, NewAddress("miner"));
  Sync();
  auto seen = Observed(send_txid, 2);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->runes, bitcoin::RuneIdToString(id) + "=250000");
  EXPECT_EQ(seen->status, "credited");
  EXPECT_NE(seen->block_hash, first_block);
  EXPECT_EQ(Available(dev1_.account_id, "DOG"), dog0 + 250'000);
  auto lie_seen = Observed(bitcoin::HashToDisplayHex(bitcoin::Txid(t_lie)), 1);
  ASSERT_TRUE(lie_seen);
  EXPECT_EQ(lie_seen->runes, "");
  EXPECT_EQ(lie_seen->assets, "BTC:20000");
  auto mismatch = Observed(bitcoin::HashToDisplayHex(bitcoin::Txid(t_send2)), 2);
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->status, "not_creditable");
  EXPECT_EQ(mismatch->detail, "rune_divisibility_mismatch");
  EXPECT_EQ(Available(dev1_.account_id, "RADIOLA"), 0u);
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), btc0 + kRuneOutputSats + 20'000);
  auto rec = Record(send_txid, 2);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->assets, "BTC:10000,DOG:250000");

  // Once: more blocks, a restart of the scanner.
  Mine(2, miner_);
  OpenScanner();
  Sync();
  EXPECT_EQ(Available(dev1_.account_id, "DOG"), dog0 + 250'000);
  EXPECT_EQ(CountOps("deposit_credit"), 2u);
}

TEST_F(BitcoindDepositsTest, ReorgAtThreeConfirmationsReplacesTheDeposit) {
  OpenScanner();
  const std::string addr1 = DepositAddress(dev1_.account_id);
  const std::string addr2 = DepositAddress(dev2_.account_id);
  const Amount b1 = Available(dev1_.account_id, "BTC"), b2 = Available(dev2_.account_id, "BTC");
  const auto [d1, v1] = Pay(addr1, "0.00300000");
  const std::string d1_block = MineOne();
  Mine(2, miner_);  // 3 confirmations
  Sync();
  ASSERT_TRUE(Observed(d1, v1));
  EXPECT_EQ(Observed(d1, v1)->status, "confirming");
  // The block goes away; D1 returns to the mempool, where a replacement
  // that pays dev2's deposit address instead evicts it (RBF).
  bitcoind_.Call("invalidateblock", json::array({d1_block}));
  const json bumped = bitcoind_.Call("bumpfee", {d1, {{"outputs", json::array({{{addr2, "0.00250000"}}})}}}, "miner");
  ASSERT_TRUE(bumped.contains("txid")) << bumped.dump();
  const std::string d2 = bumped["txid"];
  Mine(6, NewAddress("miner"));  // another coinbase address: a new chain, not the invalidated one
  Sync();
  EXPECT_FALSE(Observed(d1, v1)) << "the orphaned deposit was not forgotten";
  EXPECT_FALSE(Record(d1, v1));
  const std::uint32_t v2 = VoutTo(d2, addr2);
  auto rec2 = Record(d2, v2);
  ASSERT_TRUE(rec2);
  EXPECT_EQ(rec2->status, "credited");
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), b1);
  EXPECT_EQ(Available(dev2_.account_id, "BTC"), b2 + 250000);
  EXPECT_EQ(scanner_->GetStatus().open_alarms, 0u);
}

TEST_F(BitcoindDepositsTest, ConfirmationsCountOnTheChainBitcoinHasNow) {
  // The deposit reaches N confirmations, then the tip is replaced by a
  // chain one block shorter before the scanner looks: not credited until
  // it really has N again.
  OpenScanner();
  const std::string addr = DepositAddress(dev1_.account_id);
  const Amount before = Available(dev1_.account_id, "BTC");
  const auto [txid, vout] = Pay(addr, "0.00100000");
  MineOne();
  Mine(4, miner_);
  Sync();  // 5
  const std::string sixth = MineOne();
  bitcoind_.Call("invalidateblock", json::array({sixth}));
  Sync();
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before);
  EXPECT_EQ(Observed(txid, vout)->status, "confirming");
  Mine(1, NewAddress("miner"));
  Sync();
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before + 100000);
}

TEST_F(BitcoindDepositsTest, DeepReorgAfterACreditRaisesAnAlarm) {
  options_.confirmations = 2;
  OpenScanner();
  const std::string addr = DepositAddress(dev1_.account_id);
  const Amount before = Available(dev1_.account_id, "BTC");
  // (a) Credited, then its block leaves the chain and the transaction is
  //     double-spent away: an open alarm, withdrawals frozen.
  const auto [txid, vout] = Pay(addr, "0.00400000");
  const std::string block = MineOne();
  MineOne();
  Sync();
  ASSERT_EQ(Available(dev1_.account_id, "BTC"), before + 400000);
  bitcoind_.Call("invalidateblock", json::array({block}));
  const json bumped =
      bitcoind_.Call("bumpfee", {txid, {{"outputs", json::array({{{NewAddress("miner"), "0.00390000"}}})}}}, "miner");
  ASSERT_TRUE(bumped.contains("txid")) << bumped.dump();
  Mine(4, NewAddress("miner"));
  Sync();
  auto st = scanner_->GetStatus();
  EXPECT_EQ(st.open_alarms, 1u);
  EXPECT_EQ(Observed(txid, vout)->status, "orphaned");
  auto alarms = scanner_->Alarms();
  ASSERT_TRUE(alarms.ok());
  ASSERT_EQ(alarms->size(), 1u);
  EXPECT_EQ((*alarms)[0].status, "open");
  EXPECT_EQ((*alarms)[0].txid, txid);
  EXPECT_EQ((*alarms)[0].block_hash, block);
  EXPECT_EQ((*alarms)[0].operation, Observed(txid, vout)->operation);
  EXPECT_EQ((*alarms)[0].operation.size(), 64u);
  // The credit stays in the log (it cannot be undone) and is not repeated.
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before + 400000);
  EXPECT_EQ(scanner_->ResolveAlarm((*alarms)[0].id + 100, "x").error().code, "alarm_not_found");
  ASSERT_TRUE(scanner_->ResolveAlarm((*alarms)[0].id, "operator covered the loss").ok());
  EXPECT_EQ(scanner_->GetStatus().open_alarms, 0u);
  EXPECT_EQ(scanner_->ResolveAlarm((*alarms)[0].id, "again").error().code, "alarm_not_open");

  // (b) Credited, its block leaves the chain, and the same transaction is
  //     mined again in the new chain: the alarm clears itself once it has N
  //     confirmations again.
  const auto [t2, v2] = Pay(addr, "0.00500000");
  const std::string b2 = MineOne();
  MineOne();
  Sync();
  ASSERT_EQ(Available(dev1_.account_id, "BTC"), before + 900000);
  bitcoind_.Call("invalidateblock", json::array({b2}));
  Mine(1, NewAddress("miner"));  // t2 is mined again from the mempool (1 confirmation)
  Sync();
  EXPECT_EQ(scanner_->GetStatus().open_alarms, 1u);
  EXPECT_EQ(Observed(t2, v2)->status, "reconfirming");
  MineOne();
  Sync();
  EXPECT_EQ(scanner_->GetStatus().open_alarms, 0u);
  EXPECT_EQ(Observed(t2, v2)->status, "credited");
  alarms = scanner_->Alarms();
  EXPECT_EQ((*alarms)[0].status, "reconfirmed");
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before + 900000);
  EXPECT_EQ(CountOps("deposit_credit"), 2u);
}

// WIF of a regtest secret key (compressed).
std::string Wif(const crypto::SecretKey& secret) {
  Bytes payload = {0xef};
  payload.insert(payload.end(), secret.begin(), secret.end());
  payload.push_back(0x01);
  return bitcoin::Base58CheckEncode(payload);
}

TEST_F(BitcoindDepositsTest, DepositToAnUnassignedIndexIsClaimedBySignature) {
  OpenScanner();
  // The depositor controls a BIP-86 key; its Core wallet holds just that key.
  const TestKey depositor = KeyFromSeed("bridge-depositor");
  const TestKey thief = KeyFromSeed("bridge-thief");
  const std::string desc = "tr(" + Wif(depositor.secret) + ")";
  const json info = bitcoind_.Call("getdescriptorinfo", json::array({desc}));
  bitcoind_.Call("createwallet", {"depositor", false, true, "", false, true});
  json request = {{"desc", desc + "#" + info["checksum"].get<std::string>()}, {"timestamp", "now"}};
  const json imported = bitcoind_.Call("importdescriptors", json::array({json::array({request})}), "depositor");
  ASSERT_EQ(imported[0]["success"], true) << imported.dump();
  bitcoind_.Call("sendtoaddress", {depositor.address, "0.01000000"}, "miner");
  bitcoind_.Call("sendtoaddress", {depositor.address, "0.02000000"}, "miner");
  MineOne();
  // Index 7 is in the watched window but nobody has it; index 0 is the bridge's.
  const std::string unassigned = *federation_->Address(7);
  const std::string bridge0 = *federation_->Address(0);
  const json s1 = bitcoind_.Call(
      "send", {{{{unassigned, "0.00500000"}}}, nullptr, "unset", nullptr, {{"change_address", depositor.address}}},
      "depositor");
  ASSERT_TRUE(s1.contains("txid")) << s1.dump();
  const json s2 = bitcoind_.Call(
      "send", {{{{bridge0, "0.00700000"}}}, nullptr, "unset", nullptr, {{"change_address", depositor.address}}},
      "depositor");
  const std::string t1 = s1["txid"], t2 = s2["txid"];
  const std::uint32_t v1 = VoutTo(t1, unassigned), v2 = VoutTo(t2, bridge0);
  Mine(6, miner_);
  Sync();
  auto r1 = Record(t1, v1), r2 = Record(t2, v2);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->status, "unattributed");
  EXPECT_EQ(r1->reason, "unassigned_index");
  EXPECT_EQ(r2->reason, "bridge_address");
  EXPECT_NE(r1->funding.find(ToHex(*bitcoin::AddressToScriptPubKey(depositor.address, Network::kRegtest))),
            std::string::npos)
      << r1->funding;
  auto rep = ledger_->CheckConservation();
  for (const auto& l : rep->lines) EXPECT_EQ(l.minted, 0u) << l.asset;  // nothing minted yet

  auto claim = [&](const std::string& txid, std::uint32_t vout, const TestKey& signer, const std::string& pubkey) {
    state::OperationRequest r;
    r.type = std::string(bridge::kDepositClaimOp);
    r.signer = dev2_.account_id;
    r.sig_scheme = "v1";
    r.fields = {{"pubkey", pubkey}, {"txid", txid}, {"vout", std::to_string(vout)}};
    auto op = SignOperation(ledger_->params(), ledger_->registry(), r, signer);
    EXPECT_TRUE(op.ok());
    return ledger_->SubmitSync(*op);
  };
  const Amount before = Available(dev2_.account_id, "BTC");
  EXPECT_EQ(claim(t1, v1, thief, ToHex(thief.pub)).error().code, "claim_key_mismatch");
  EXPECT_EQ(claim(t1, v1, thief, ToHex(depositor.pub)).error().code, "invalid_signature");
  auto ok = claim(t1, v1, depositor, ToHex(depositor.pub));
  ASSERT_TRUE(ok.ok()) << ok.error().code << ": " << ok.error().message;
  EXPECT_EQ(Available(dev2_.account_id, "BTC"), before + 500000);
  EXPECT_EQ(claim(t1, v1, depositor, ToHex(depositor.pub)).error().code, "deposit_not_claimable");
  ASSERT_TRUE(claim(t2, v2, depositor, ToHex(depositor.pub)).ok());
  EXPECT_EQ(Available(dev2_.account_id, "BTC"), before + 1200000);
  EXPECT_EQ(Record(t1, v1)->status, "claimed");

  // Handing index 7 out later changes nothing about the recorded deposit.
  for (int i = 0; i < 7; ++i) DepositAddress(KeyFromSeed("filler" + std::to_string(i)).address);
  Mine(1, miner_);
  Sync();
  EXPECT_EQ(Record(t1, v1)->status, "claimed");
}

TEST_F(BitcoindDepositsTest, BitcoindStoppedAndRestartedUnderTheScanner) {
  OpenScanner();
  const std::string addr = DepositAddress(dev1_.account_id);
  const Amount before = Available(dev1_.account_id, "BTC");
  const auto [txid, vout] = Pay(addr, "0.00200000");
  Mine(2, miner_);
  Sync();
  ASSERT_EQ(bitcoind_.StopKeepingData(), 0);
  // The scanner reports the outage; the ledger keeps serving L2.
  Status down = scanner_->SyncNow(30s);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, "l1_unreachable");
  auto st = scanner_->GetStatus();
  EXPECT_FALSE(st.l1_reachable);
  EXPECT_EQ(st.l1_error_code, "l1_unreachable");
  EXPECT_FALSE(st.failed);
  auto transfer = SignOperation(ledger_->params(), ledger_->registry(),
                                TransferRequest(dev1_.account_id, dev2_.account_id, 5, 0, "KRAY", "", "v1"), dev1_);
  ASSERT_TRUE(transfer.ok());
  EXPECT_TRUE(ledger_->SubmitSync(*transfer).ok());

  std::string why;
  ASSERT_TRUE(bitcoind_.StartAgain(&why)) << why;
  bitcoind_.Call("loadwallet", json::array({"miner"}));
  Mine(4, miner_);
  Sync();
  EXPECT_TRUE(scanner_->GetStatus().l1_reachable);
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), before + 200000);

  // Killed (SIGKILL) mid-scan: the scanner waits and resumes.
  Mine(30, miner_);
  bitcoind_.Kill();
  EXPECT_FALSE(scanner_->SyncNow(20s).ok());
  ASSERT_TRUE(bitcoind_.StartAgain(&why)) << why;
  Sync();
  const json tip = bitcoind_.Call("getblockchaininfo");
  EXPECT_EQ(*scanner_->GetStatus().scan_height, tip["blocks"].get<std::uint32_t>());
  EXPECT_EQ(CountOps("deposit_credit"), 1u);
}

TEST_F(BitcoindDepositsTest, RestartInTheMiddleOfAScan) {
  // Deposits spread over a 150-block history the scanner has never seen.
  const std::string addr1 = DepositAddress(dev1_.account_id);
  const std::string addr2 = DepositAddress(dev2_.account_id);
  const Amount b1 = Available(dev1_.account_id, "BTC"), b2 = Available(dev2_.account_id, "BTC");
  std::vector<std::pair<std::string, std::uint32_t>> deposits;
  for (int i = 0; i < 6; ++i) {
    deposits.push_back(Pay(i % 2 ? addr2 : addr1, "0.00100000"));
    Mine(25, miner_);
  }
  options_.blocks_per_step = 3;
  OpenScanner();
  const std::uint32_t first = scanner_->GetStatus().first_height;
  // Stop it once it is well into the history (it keeps going by itself),
  // reporting its progress meanwhile.
  bool saw_progress = false;
  for (int i = 0; i < 20000; ++i) {
    auto st = scanner_->GetStatus();
    saw_progress |= st.catching_up && st.blocks_per_second > 0 && st.eta_seconds.has_value();
    if (st.scan_height && *st.scan_height >= first + 130) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(saw_progress);
  scanner_.reset();
  OpenScanner();
  const auto mid = scanner_->GetStatus().scan_height;
  ASSERT_TRUE(mid);
  const json tip = bitcoind_.Call("getblockchaininfo");
  EXPECT_LT(*mid, tip["blocks"].get<std::uint32_t>()) << "the scan finished before it was interrupted";
  EXPECT_GE(*mid, first + 130);
  Sync();
  for (const auto& [t, v] : deposits) {
    auto rec = Record(t, v);
    ASSERT_TRUE(rec) << t;
    EXPECT_EQ(rec->status, "credited");
  }
  EXPECT_EQ(Available(dev1_.account_id, "BTC"), b1 + 300000);
  EXPECT_EQ(Available(dev2_.account_id, "BTC"), b2 + 300000);
  EXPECT_EQ(CountOps("deposit_credit"), 6u);
}

TEST_F(BitcoindDepositsTest, ConfigurationTheStoreWasNotMadeForIsRefused) {
  OpenScanner();
  Sync();
  scanner_.reset();
  // Another federation, another start height: refused, naming the way out.
  options_.start_height = 5;
  auto other = bridge::DepositScanner::Open(*ledger_, *federation_, options_);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "bridge_scan_mismatch");
  options_.start_height = 0;
  std::array<std::string, 3> xpubs;
  for (auto& x : xpubs) x = bridge::GenerateMemberKey(Network::kRegtest)->Xpub();
  auto fed2 = bridge::Federation::Make(Network::kRegtest, xpubs);
  EXPECT_EQ(bridge::DepositScanner::Open(*ledger_, *fed2, options_).error().code, "bridge_scan_mismatch");
  // A federation of another network.
  std::array<std::string, 3> main_xpubs;
  for (auto& x : main_xpubs) x = bridge::GenerateMemberKey(Network::kMainnet)->Xpub();
  auto mainnet = bridge::Federation::Make(Network::kMainnet, main_xpubs);
  ASSERT_TRUE(mainnet.ok());
  EXPECT_EQ(bridge::DepositScanner::Open(*ledger_, *mainnet, options_).error().code, "invalid_bridge_config");
  OpenScanner();
  Sync();
}

}  // namespace
}  // namespace kray::test
