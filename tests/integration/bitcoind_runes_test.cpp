// The runes index following a real regtest chain. Runestone transactions are
// serialized by our own transaction code (OP_RETURN OP_13 <payload> from
// EncipherRunestone), funded and signed by Bitcoin Core wallets
// (fundrawtransaction, signrawtransactionwithwallet) and broadcast through
// the bridge's RPC client; SyncRunesIndex follows the chain. Runes are only
// ever sent to the "runes" wallet and fees come from the "miner" wallet, so
// no rune-carrying output is spent by coin selection and every balance below
// is worked out by hand from ord's rules (rune_updater.rs).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/runestone.h"
#include "kray/bitcoin/script.h"
#include "kray/bitcoin/sighash.h"
#include "kray/bitcoin/taproot.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/bitcoin/transaction.h"
#include "kray/bridge/runes_index.h"
#include "kray/bridge/runes_sync.h"
#include "kray/testsupport/bitcoind.h"

namespace kray::test {
namespace {

using bitcoin::Edict;
using bitcoin::Etching;
using bitcoin::OutPoint;
using bitcoin::RuneId;
using bitcoin::Runestone;
using bitcoin::Terms;
using bitcoin::Transaction;
using bridge::RuneBalances;
using nlohmann::json;

// Upper bound of a P2TR key-path input's weight: 41 bytes * 4 + witness
// (count, length, 64-byte signature).
constexpr int kP2trInputWeight = 230;
constexpr std::int64_t kRuneOutputSats = 10'000;

class BitcoindRunesTest : public BitcoindTest {
 protected:
  void SetUp() override {
    BitcoindTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    CreateWallet("miner");
    CreateWallet("runes");
    miner_ = NewAddress("miner");
    Mine(110, miner_);
  }

  // Sends a transaction with `inputs` (rune-carrying outpoints of the runes
  // wallet), then the runestone script (if any) as output 0, then
  // `destinations` outputs to fresh runes-wallet addresses. Core adds fee
  // inputs from the miner wallet and the change as the LAST output.
  Transaction Send(const std::vector<OutPoint>& inputs, const std::optional<Bytes>& runestone, int destinations) {
    Transaction tx;
    for (const OutPoint& o : inputs) {
      bitcoin::TxIn in;
      in.prevout = o;
      in.sequence = 0xfffffffd;
      tx.vin.push_back(in);
    }
    if (runestone) tx.vout.push_back({0, *runestone});
    for (int i = 0; i < destinations; ++i) {
      const std::string addr = NewAddress("runes");
      tx.vout.push_back({kRuneOutputSats, *bitcoin::AddressToScriptPubKey(addr, Network::kRegtest)});
    }
    json weights = json::array();
    for (const OutPoint& o : inputs)
      weights.push_back({{"txid", bitcoin::HashToDisplayHex(o.txid)}, {"vout", o.n}, {"weight", kP2trInputWeight}});
    json options = {{"changePosition", tx.vout.size()}};
    if (!weights.empty()) options["input_weights"] = weights;
    const json funded = bitcoind_.Call(
        "fundrawtransaction", {ToHex(bitcoin::SerializeTransaction(tx)), options, /*iswitness=*/false}, "miner");
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
    // Our outputs kept their positions; change is last.
    EXPECT_EQ(parsed->vout.size(), tx.vout.size() + 1);
    for (std::size_t i = 0; i < tx.vout.size(); ++i) EXPECT_EQ(parsed->vout[i], tx.vout[i]);
    return *parsed;
  }

  std::string MineOne() { return Mine(1, miner_)[0]; }

  // Position of `tx` in the block `block_hash`, and the block's height.
  RuneId IdOf(const std::string& block_hash, const Transaction& tx) {
    const json block = bitcoind_.Call("getblock", {block_hash, 1});
    RuneId id{block.value("height", 0u), 0};
    for (std::uint32_t i = 0; i < block["tx"].size(); ++i) {
      if (block["tx"][i] == bitcoin::HashToDisplayHex(bitcoin::Txid(tx))) id.tx = i;
    }
    EXPECT_GT(id.tx, 0u) << "tx not in block " << block_hash;
    return id;
  }

  void MakeIndex(std::vector<bridge::TrackedRune> runes) {
    bridge::RunesIndexOptions options;
    options.network = Network::kRegtest;
    options.runes = std::move(runes);
    prevouts_ = std::make_unique<bridge::RpcPrevoutSource>(bitcoind_.rpc());
    auto index = bridge::RunesIndex::Make(store_, options, prevouts_.get());
    ASSERT_TRUE(index.ok()) << index.error().message;
    index_.emplace(std::move(*index));
  }

  void Sync(std::uint32_t expect_connected, std::uint32_t expect_disconnected = 0) {
    auto r = bridge::SyncRunesIndex(bitcoind_.rpc(), *index_);
    ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    EXPECT_EQ(r->connected, expect_connected);
    EXPECT_EQ(r->disconnected, expect_disconnected);
    ASSERT_TRUE(r->tip.has_value());
    EXPECT_EQ(r->tip->height, r->l1_height);
    auto supply = index_->CheckSupply();
    EXPECT_TRUE(supply.ok()) << supply.error().message;
  }

  RuneBalances At(const Transaction& tx, std::uint32_t n) {
    auto b = index_->Balances(OutPoint{bitcoin::Txid(tx), n});
    EXPECT_TRUE(b.ok());
    return b.ok() ? *b : RuneBalances{};
  }
  RuneBalances One(u128 amount) const { return {{id_, amount}}; }

  std::string miner_;
  RuneId id_;
  bridge::MemoryRunesStore store_;
  std::unique_ptr<bridge::RpcPrevoutSource> prevouts_;
  std::optional<bridge::RunesIndex> index_;
};

TEST_F(BitcoindRunesTest, EtchMintTransferCenotaphAndReorg) {
  // 1. Etch a reserved rune (no name: no commitment needed; ord names it
  //    ReservedRune(block, tx)). Premine 1000: edict 0:0 gives 600 to
  //    output 1, the pointer sends the other 400 to output 2.
  Runestone etch;
  etch.etching = Etching{};
  etch.etching->divisibility = 2;
  etch.etching->symbol = U'K';
  etch.etching->premine = 1000;
  etch.etching->terms = Terms{};
  etch.etching->terms->amount = 100;
  etch.etching->terms->cap = 4;
  etch.etching->terms->offset_end = 50;
  etch.edicts = {Edict{RuneId{}, 600, 1}};
  etch.pointer = 2;
  const Transaction t_etch = Send({}, bitcoin::EncipherRunestone(etch), 2);
  const std::string etch_block = MineOne();
  const json block = bitcoind_.Call("getblock", {etch_block, 1});
  const std::uint32_t height = block["height"];
  std::uint32_t tx_index = 0;
  for (std::uint32_t i = 0; i < block["tx"].size(); ++i) {
    if (block["tx"][i] == bitcoin::HashToDisplayHex(bitcoin::Txid(t_etch))) tx_index = i;
  }
  ASSERT_GT(tx_index, 0u);
  id_ = RuneId{height, tx_index};

  MakeIndex({{id_, bitcoin::ReservedRune(height, tx_index)}});
  Sync(1);
  EXPECT_EQ(At(t_etch, 1), One(600));
  EXPECT_EQ(At(t_etch, 2), One(400));
  EXPECT_TRUE(At(t_etch, 0).empty());
  EXPECT_TRUE(At(t_etch, 3).empty());  // change
  auto entry = **index_->Entry(id_);
  EXPECT_EQ(entry.rune, bitcoin::ReservedRune(height, tx_index));
  EXPECT_EQ(entry.divisibility, 2);
  EXPECT_EQ(entry.symbol, U'K');
  EXPECT_EQ(entry.premine, 1000u);

  // 2-3. Three mints (100 each to the first non-OP_RETURN output).
  Runestone mint;
  mint.mint = id_;
  const Transaction t_ma = Send({}, bitcoin::EncipherRunestone(mint), 1);
  const Transaction t_mb = Send({}, bitcoin::EncipherRunestone(mint), 1);
  MineOne();
  const Transaction t_mc = Send({}, bitcoin::EncipherRunestone(mint), 1);
  MineOne();
  Sync(2);
  EXPECT_EQ(At(t_ma, 1), One(100));
  EXPECT_EQ(At(t_mb, 1), One(100));
  EXPECT_EQ(At(t_mc, 1), One(100));
  EXPECT_EQ((*index_->Entry(id_))->mints, 3u);

  // 4. Transfer 700 (600 + 100): 250 to output 1, 50 to output 2, 30 to the
  //    OP_RETURN (burned), the remaining 370 to the pointer, output 3.
  Runestone transfer;
  transfer.edicts = {Edict{id_, 250, 1}, Edict{id_, 50, 2}, Edict{id_, 30, 0}};
  transfer.pointer = 3;
  const Transaction t_transfer = Send({OutPoint{bitcoin::Txid(t_etch), 1}, OutPoint{bitcoin::Txid(t_ma), 1}},
                                      bitcoin::EncipherRunestone(transfer), 3);
  MineOne();
  Sync(1);
  EXPECT_EQ(At(t_transfer, 1), One(250));
  EXPECT_EQ(At(t_transfer, 2), One(50));
  EXPECT_EQ(At(t_transfer, 3), One(370));
  EXPECT_TRUE(At(t_etch, 1).empty());
  EXPECT_TRUE(At(t_ma, 1).empty());
  EXPECT_EQ((*index_->Entry(id_))->burned, 30u);

  // 5. A cenotaph (edict to output 99): the inputs' 150 and its own mint's
  //    100 are burned; the mint still counts (4 of 4).
  Runestone flawed;
  flawed.mint = id_;
  flawed.edicts = {Edict{id_, 1, 99}};
  const Transaction t_cenotaph = Send({OutPoint{bitcoin::Txid(t_transfer), 2}, OutPoint{bitcoin::Txid(t_mb), 1}},
                                      bitcoin::EncipherRunestone(flawed), 1);
  auto artifact = bitcoin::DecipherRunestone(t_cenotaph);
  ASSERT_TRUE(artifact && std::holds_alternative<bitcoin::Cenotaph>(*artifact));
  MineOne();
  Sync(1);
  EXPECT_TRUE(At(t_cenotaph, 1).empty());
  EXPECT_EQ((*index_->Entry(id_))->mints, 4u);
  EXPECT_EQ((*index_->Entry(id_))->burned, 30u + 150u + 100u);

  // 6. The cap is reached: a fifth mint gives nothing.
  const Transaction t_me = Send({}, bitcoin::EncipherRunestone(mint), 1);
  MineOne();
  Sync(1);
  EXPECT_TRUE(At(t_me, 1).empty());
  EXPECT_EQ((*index_->Entry(id_))->mints, 4u);

  // 7. No runestone: the 370 follow the first non-OP_RETURN output.
  const Transaction t_plain = Send({OutPoint{bitcoin::Txid(t_transfer), 3}}, std::nullopt, 1);
  const std::string last = MineOne();
  Sync(1);
  EXPECT_EQ(At(t_plain, 0), One(370));
  EXPECT_TRUE(At(t_transfer, 3).empty());

  // Held: 400 + 250 + 100 + 370 = 1120; burned 280; 1000 + 4 * 100 = 1400.
  u128 held = 0;
  const auto holders = index_->Holders(id_);
  ASSERT_TRUE(holders.ok());
  for (const auto& [outpoint, amount] : *holders) held += amount;
  EXPECT_EQ(held, 1120u);

  // 8. Reorgs. (a) Core replaces block 7 with another block at the same
  //    height (the same transaction, re-mined from the mempool): one sync
  //    takes the old block back and applies the new one. (b) Core's chain
  //    gets shorter, then the block comes back.
  bitcoind_.Call("invalidateblock", json::array({last}));
  // Another coinbase address, or the new block would be the invalidated one.
  const std::string replacement = Mine(1, NewAddress("miner"))[0];
  ASSERT_NE(replacement, last);
  Sync(1, 1);
  EXPECT_EQ(bitcoin::HashToDisplayHex((*index_->Tip())->hash), replacement);
  EXPECT_EQ(At(t_plain, 0), One(370));
  bitcoind_.Call("invalidateblock", json::array({replacement}));
  Sync(0, 1);
  EXPECT_TRUE(At(t_plain, 0).empty());
  EXPECT_EQ(At(t_transfer, 3), One(370));
  bitcoind_.Call("reconsiderblock", json::array({replacement}));
  Sync(1);
  EXPECT_EQ(At(t_plain, 0), One(370));

  // Credits: every held amount fits u64.
  const auto final_holders = index_->Holders(id_);
  ASSERT_TRUE(final_holders.ok());
  for (const auto& [outpoint, amount] : *final_holders) EXPECT_TRUE(bridge::CreditableRuneAmount(amount).ok());
}

// A named rune needs a commitment (ord's tx_commits_to_rune): the etching
// spends, by script path, a P2TR output whose leaf pushes the name's
// commitment and which was confirmed at least 6 blocks before (counting the
// etching's own block). The commit and reveal transactions are built and
// signed here with our own taproot and sighash code; the index looks the
// commit output up through RpcPrevoutSource (getrawtransaction, -txindex).
TEST_F(BitcoindRunesTest, NamedEtchingNeedsAMatureCommitment) {
  struct Commit {
    bitcoin::Rune rune;
    crypto::SecretKey secret;
    bitcoin::TaprootSpendInfo spend;
    OutPoint outpoint;
    bitcoin::TxOut output;
  };
  auto commit = [&](const char* name) {
    Commit c;
    c.rune = *bitcoin::ParseRuneName(name);
    c.secret = crypto::GenerateSecretKey();
    const crypto::XOnlyPubKey key = *crypto::XOnlyFromSecret(c.secret);
    bitcoin::ScriptBuilder leaf;
    leaf.PushRaw(bitcoin::RuneCommitment(c.rune));
    leaf.Op(0x75);  // OP_DROP
    leaf.PushRaw(key);
    leaf.Op(bitcoin::OP_CHECKSIG);
    const bitcoin::TapTree tree = bitcoin::TapTree::Leaf(leaf.Take());
    c.spend = *bitcoin::ComputeTaprootSpendInfo(key, &tree);
    const std::string address = bitcoin::P2trAddress("bcrt", c.spend.output_key);
    const std::string txid = bitcoind_.Call("sendtoaddress", {address, "0.00020000"}, "miner");
    auto tx = bitcoind_.rpc().GetRawTransaction(*bitcoin::HashFromDisplayHex(txid));
    EXPECT_TRUE(tx.ok() && tx->has_value());
    for (std::uint32_t n = 0; n < (*tx)->tx.vout.size(); ++n) {
      if ((*tx)->tx.vout[n].script_pubkey == c.spend.script_pubkey) {
        c.outpoint = {bitcoin::Txid((*tx)->tx), n};
        c.output = (*tx)->tx.vout[n];
      }
    }
    EXPECT_EQ(c.output.value, 20'000);
    return c;
  };
  // The reveal: spends the commit by its leaf, etches with a premine of 777
  // (no edicts: it goes to output 1, the first non-OP_RETURN output).
  auto reveal = [&](const Commit& c) {
    Runestone rs;
    rs.etching = Etching{};
    rs.etching->rune = c.rune;
    rs.etching->premine = 777;
    rs.etching->divisibility = 1;
    Transaction tx;
    bitcoin::TxIn in;
    in.prevout = c.outpoint;
    in.sequence = 0xfffffffd;
    tx.vin.push_back(in);
    tx.vout.push_back({0, bitcoin::EncipherRunestone(rs)});
    tx.vout.push_back({kRuneOutputSats, *bitcoin::AddressToScriptPubKey(NewAddress("runes"), Network::kRegtest)});
    const auto& leaf = c.spend.leaves[0];
    auto sighash = bitcoin::TaprootSighash(tx, {c.output}, 0, bitcoin::kSighashDefault, std::nullopt,
                                           bitcoin::TapscriptExt{leaf.leaf_hash});
    EXPECT_TRUE(sighash.ok());
    auto sig = bitcoin::SignTapscript(c.secret, *sighash, bitcoin::kSighashDefault, {});
    tx.vin[0].witness = {*sig, leaf.script, leaf.control_block};
    auto sent = bitcoind_.rpc().SendRawTransaction(tx);
    EXPECT_TRUE(sent.ok()) << (sent.ok() ? "" : sent.error().message);
    return tx;
  };

  const Commit mature = commit("KRAYBRIDGEMATURECOMMIT");
  const Commit early = commit("KRAYBRIDGEEARLYCOMMIT");
  const std::string commit_block = MineOne();  // height c
  Mine(3, miner_);                             // c+1 .. c+3
  const Transaction reveal_early = reveal(early);
  const std::string early_block = MineOne();  // c+4: 5 confirmations
  const Transaction reveal_mature = reveal(mature);
  const std::string mature_block = MineOne();                                 // c+5: 6 confirmations
  EXPECT_EQ(bitcoind_.Call("getblock", {commit_block, 1})["tx"].size(), 3u);  // coinbase + 2 commits
  const RuneId early_id = IdOf(early_block, reveal_early);
  const RuneId mature_id = IdOf(mature_block, reveal_mature);
  ASSERT_EQ(mature_id.block, early_id.block + 1);

  MakeIndex({{early_id, std::nullopt}, {mature_id, mature.rune}});
  Sync(2);
  auto entry = index_->Entry(mature_id);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ(bitcoin::RuneName((*entry)->rune), "KRAYBRIDGEMATURECOMMIT");
  EXPECT_EQ((*entry)->divisibility, 1);
  EXPECT_EQ(At(reveal_mature, 1), (RuneBalances{{mature_id, 777}}));
  // One block too early: ord does not etch it, so nothing exists.
  EXPECT_FALSE(index_->Entry(early_id)->has_value());
  EXPECT_TRUE(At(reveal_early, 1).empty());
}

}  // namespace
}  // namespace kray::test
