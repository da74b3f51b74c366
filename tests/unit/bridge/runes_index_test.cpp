// The runes index against hand-computed ord outcomes. Each case is built
// from transactions whose runestones are enciphered with the project's own
// encoder, connected block by block; expected balances are worked out by
// hand from ord's RuneUpdater::index_runes (rune_updater.rs) and written
// next to each case. CheckSupply (holders + burned == premine + mints *
// amount) runs after every block.
#include "kray/bridge/runes_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "kray/bitcoin/script.h"

namespace kray::bridge {
namespace {

using bitcoin::Block;
using bitcoin::Edict;
using bitcoin::Etching;
using bitcoin::Rune;
using bitcoin::Runestone;
using bitcoin::Terms;
using bitcoin::Transaction;

// A P2TR-shaped output script (OP_1 <32 bytes>) named by a tag byte.
Bytes P2tr(std::uint8_t tag) {
  Bytes s = {0x51, 0x20};
  s.resize(34, tag);
  return s;
}
Bytes P2wpkh(std::uint8_t tag) {
  Bytes s = {0x00, 0x14};
  s.resize(22, tag);
  return s;
}
const Bytes kOpReturn = {0x6a};  // a plain OP_RETURN, not a runestone

bool IsOpReturnScript(const Bytes& s) {
  return !s.empty() && s[0] == 0x6a;
}

Bytes Rs(const Runestone& rs) {
  return bitcoin::EncipherRunestone(rs);
}

Transaction Tx(const std::vector<OutPoint>& inputs, const std::vector<Bytes>& outputs) {
  Transaction tx;
  for (const OutPoint& o : inputs) {
    bitcoin::TxIn in;
    in.prevout = o;
    tx.vin.push_back(in);
  }
  for (const Bytes& s : outputs) tx.vout.push_back({1000, s});
  return tx;
}

OutPoint Out(const Transaction& tx, std::uint32_t n) {
  return {bitcoin::Txid(tx), n};
}

RuneBalances One(const RuneId& id, u128 amount) {
  return {{id, amount}};
}

class FakePrevouts : public PrevoutSource {
 public:
  Result<Prevout> Lookup(const OutPoint& o) override {
    ++lookups;
    auto it = map.find(o);
    if (it == map.end()) return Error::NotFound("runes_prevout_unknown", "unknown prevout");
    return it->second;
  }
  std::map<OutPoint, Prevout> map;
  int lookups = 0;
};

class RunesIndexTest : public ::testing::Test {
 protected:
  void Track(std::vector<TrackedRune> runes, std::uint32_t depth = 100) {
    RunesIndexOptions o;
    o.network = Network::kRegtest;
    o.runes = std::move(runes);
    o.max_reorg_depth = depth;
    auto i = RunesIndex::Make(store_, o, &prevouts_);
    ASSERT_TRUE(i.ok()) << i.error().message;
    index_.emplace(std::move(*i));
  }

  // A block at the next height: a coinbase, then `txs` (tx index 1, 2, ...).
  Block MakeBlock(const std::vector<Transaction>& txs) {
    const std::uint32_t height = *index_->NextHeight();
    Transaction coinbase;
    bitcoin::TxIn in;
    in.prevout.n = 0xffffffff;
    in.script_sig = {0x04, static_cast<std::uint8_t>(height), static_cast<std::uint8_t>(height >> 8),
                     static_cast<std::uint8_t>(salt_++), 0};
    coinbase.vin.push_back(in);
    coinbase.vout.push_back({5'000'000'000, P2tr(0xcb)});
    Block b;
    auto tip = *index_->Tip();
    if (tip) b.header.prev_block = tip->hash;
    b.txs.push_back(coinbase);
    b.txs.insert(b.txs.end(), txs.begin(), txs.end());
    std::vector<Hash256> ids;
    for (const auto& t : b.txs) ids.push_back(bitcoin::Txid(t));
    b.header.merkle_root = bitcoin::ComputeMerkleRoot(ids);
    return b;
  }

  void Connect(const std::vector<Transaction>& txs) {
    const std::uint32_t height = *index_->NextHeight();
    auto s = index_->ConnectBlock(height, MakeBlock(txs));
    ASSERT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
    auto supply = index_->CheckSupply();
    ASSERT_TRUE(supply.ok()) << supply.error().message;
  }

  RuneBalances At(const OutPoint& o) { return *index_->Balances(o); }
  RuneEntry EntryOf(const RuneId& id) {
    auto e = index_->Entry(id);
    EXPECT_TRUE(e.ok() && e->has_value()) << bitcoin::RuneIdToString(id) << " not etched";
    return e.ok() && *e ? **e : RuneEntry{};
  }

  // A funding input that carries nothing.
  OutPoint Fresh() {
    OutPoint o;
    o.txid[0] = 0xf0;
    o.txid[1] = static_cast<std::uint8_t>(fresh_++);
    return o;
  }

  // Everything the store holds, for comparing states across a reorg.
  std::string Snapshot() {
    std::string s;
    // (A range-for over `*store_.Entries()` would dangle: keep the Result.)
    const auto entries = store_.Entries();
    for (const RuneEntry& e : *entries) {
      s += bitcoin::RuneIdToString(e.id) + " mints=" + bitcoin::U128ToString(e.mints) +
           " burned=" + bitcoin::U128ToString(e.burned) + "\n";
      const auto holders = store_.Holders(e.id);
      for (const auto& [o, amount] : *holders)
        s += "  " + ToHex(o.txid) + ":" + std::to_string(o.n) + "=" + bitcoin::U128ToString(amount) + "\n";
    }
    return s + "outpoints=" + std::to_string(store_.outpoint_count());
  }

  MemoryRunesStore store_;
  FakePrevouts prevouts_;
  std::optional<RunesIndex> index_;
  int salt_ = 0;
  int fresh_ = 0;
};

// A reserved-name etching (no name given: ord names it ReservedRune(block, tx))
// with a premine of 1000 split by an edict with id 0:0.
TEST_F(RunesIndexTest, EtchingPremineEdictAndDefaultOutput) {
  const RuneId id{10, 1};
  Track({{id, std::nullopt}});
  EXPECT_EQ(index_->start_height(), 10u);
  Runestone rs;
  rs.etching = Etching{};
  rs.etching->premine = 1000;
  rs.etching->divisibility = 2;
  rs.etching->symbol = U'$';
  rs.etching->spacers = 1;
  rs.edicts = {Edict{RuneId{}, 600, 1}};
  Transaction etch = Tx({Fresh()}, {P2tr(1), P2tr(2), Rs(rs)});
  Connect({etch});
  // Edict: 600 to output 1; the 400 left go to the first non-OP_RETURN output.
  EXPECT_EQ(At(Out(etch, 0)), One(id, 400));
  EXPECT_EQ(At(Out(etch, 1)), One(id, 600));
  EXPECT_TRUE(At(Out(etch, 2)).empty());
  const RuneEntry e = EntryOf(id);
  EXPECT_EQ(e.rune, bitcoin::ReservedRune(10, 1));
  EXPECT_EQ(e.premine, 1000u);
  EXPECT_EQ(e.divisibility, 2);
  EXPECT_EQ(e.symbol, U'$');
  EXPECT_EQ(e.spacers, 1u);
  EXPECT_EQ(e.etching_txid, bitcoin::Txid(etch));
  EXPECT_EQ(e.burned, 0u);
}

TEST_F(RunesIndexTest, EdictsSplitsPointerAndBurns) {
  const RuneId id{10, 1};
  Track({{id, std::nullopt}});
  Runestone etch_rs;
  etch_rs.etching = Etching{};
  etch_rs.etching->premine = 1000;
  etch_rs.edicts = {Edict{RuneId{}, 0, 0}};  // amount 0: everything to output 0
  Transaction etch = Tx({Fresh()}, {P2tr(1), Rs(etch_rs)});
  Connect({etch});
  ASSERT_EQ(At(Out(etch, 0)), One(id, 1000));

  // Split (output == number of outputs) with amount 0: 1000 over the three
  // non-OP_RETURN outputs 0, 2, 3 -> 334, 333, 333 (first gets the remainder).
  Runestone split;
  split.edicts = {Edict{id, 0, 4}};
  Transaction t1 = Tx({Out(etch, 0)}, {P2tr(2), Rs(split), P2tr(3), P2tr(4)});
  Connect({t1});
  EXPECT_TRUE(At(Out(etch, 0)).empty());  // spent
  EXPECT_EQ(At(Out(t1, 0)), One(id, 334));
  EXPECT_EQ(At(Out(t1, 2)), One(id, 333));
  EXPECT_EQ(At(Out(t1, 3)), One(id, 333));

  // Split with an amount: 100 to each of outputs 0 and 1; the 134 left go to
  // the first non-OP_RETURN output -> 234, 100.
  Runestone split100;
  split100.edicts = {Edict{id, 100, 3}};
  Transaction t2 = Tx({Out(t1, 0)}, {P2tr(5), P2tr(6), Rs(split100)});
  // Pointer: 50 to output 0 by edict, the remaining 283 to the pointer (2).
  Runestone pointer;
  pointer.edicts = {Edict{id, 50, 0}};
  pointer.pointer = 2;
  Transaction t3 = Tx({Out(t1, 2)}, {P2tr(7), P2tr(8), P2tr(9), Rs(pointer)});
  Connect({t2, t3});
  EXPECT_EQ(At(Out(t2, 0)), One(id, 234));
  EXPECT_EQ(At(Out(t2, 1)), One(id, 100));
  EXPECT_EQ(At(Out(t3, 0)), One(id, 50));
  EXPECT_TRUE(At(Out(t3, 1)).empty());
  EXPECT_EQ(At(Out(t3, 2)), One(id, 283));

  // Edict to an OP_RETURN output burns (33); the rest (300) go to output 1.
  Runestone to_op_return;
  to_op_return.edicts = {Edict{id, 33, 0}};
  Transaction t4 = Tx({Out(t1, 3)}, {Rs(to_op_return), P2tr(10)});
  // No non-OP_RETURN output: the unallocated 100 are burned.
  Transaction t5 = Tx({Out(t2, 1)}, {Rs(Runestone{})});
  // Pointer to the OP_RETURN output: burned (50).
  Runestone ptr_burn;
  ptr_burn.pointer = 1;
  Transaction t6 = Tx({Out(t3, 0)}, {P2tr(11), Rs(ptr_burn)});
  // No runestone at all: everything to the first non-OP_RETURN output (283).
  Transaction t7 = Tx({Out(t3, 2)}, {kOpReturn, P2tr(12), P2tr(13)});
  Connect({t4, t5, t6, t7});
  EXPECT_EQ(At(Out(t4, 1)), One(id, 300));
  EXPECT_TRUE(At(Out(t6, 0)).empty());
  EXPECT_TRUE(At(Out(t7, 0)).empty());
  EXPECT_EQ(At(Out(t7, 1)), One(id, 283));
  EXPECT_EQ(EntryOf(id).burned, 33u + 100u + 50u);
  // 234 + 300 + 283 held + 183 burned == 1000 premine.
  auto holders = *index_->Holders(id);
  ASSERT_EQ(holders.size(), 3u);
}

TEST_F(RunesIndexTest, MultipleEdictsAndSkippedEdicts) {
  const RuneId id{10, 1};
  Track({{id, std::nullopt}});
  Runestone etch_rs;
  etch_rs.etching = Etching{};
  etch_rs.etching->premine = 100;
  Transaction etch = Tx({Fresh()}, {P2tr(1), Rs(etch_rs)});
  Connect({etch});
  ASSERT_EQ(At(Out(etch, 0)), One(id, 100));  // no edict: default output

  // 0:0 with no etching is skipped; an id the inputs do not carry is skipped;
  // 70 then min(70, 30 left) = 30; amount 0 afterwards gives nothing.
  Runestone rs;
  rs.edicts = {Edict{RuneId{}, 5, 0}, Edict{RuneId{9, 9}, 5, 0}, Edict{id, 70, 1}, Edict{id, 70, 2}, Edict{id, 0, 0}};
  Transaction t = Tx({Out(etch, 0)}, {P2tr(2), P2tr(3), P2tr(4), Rs(rs)});
  Connect({t});
  EXPECT_TRUE(At(Out(t, 0)).empty());
  EXPECT_EQ(At(Out(t, 1)), One(id, 70));
  EXPECT_EQ(At(Out(t, 2)), One(id, 30));
}

TEST_F(RunesIndexTest, MintTermsCapAndWindows) {
  const RuneId capped{20, 1}, uncapped{20, 2}, windowed{20, 3};
  Track({{capped, std::nullopt}, {uncapped, std::nullopt}, {windowed, std::nullopt}});

  Runestone a;  // amount 100, cap 2; also tries to mint itself (not yet etched)
  a.etching = Etching{};
  a.etching->terms = Terms{};
  a.etching->terms->amount = 100;
  a.etching->terms->cap = 2;
  a.mint = capped;
  Runestone b;  // no cap: unmintable
  b.etching = Etching{};
  b.etching->terms = Terms{};
  b.etching->terms->amount = 100;
  Runestone c;  // offset [2,4) from block 20 = [22,24), height [23,30): only 23
  c.etching = Etching{};
  c.etching->terms = Terms{};
  c.etching->terms->amount = 5;
  c.etching->terms->cap = 100;
  c.etching->terms->offset_start = 2;
  c.etching->terms->offset_end = 4;
  c.etching->terms->height_start = 23;
  c.etching->terms->height_end = 30;
  Transaction ea = Tx({Fresh()}, {P2tr(1), Rs(a)});
  Connect({ea, Tx({Fresh()}, {P2tr(1), Rs(b)}), Tx({Fresh()}, {P2tr(1), Rs(c)})});
  EXPECT_TRUE(At(Out(ea, 0)).empty());
  EXPECT_EQ(EntryOf(capped).mints, 0u);

  auto mint = [&](const RuneId& id, std::uint8_t tag) {
    Runestone m;
    m.mint = id;
    return Tx({Fresh()}, {P2tr(tag), Rs(m)});
  };
  // Block 21: capped mints 100 (1 of 2); windowed is not open yet; uncapped never.
  Transaction m1 = mint(capped, 1), w21 = mint(windowed, 2), u21 = mint(uncapped, 3);
  Connect({m1, w21, u21});
  EXPECT_EQ(At(Out(m1, 0)), One(capped, 100));
  EXPECT_TRUE(At(Out(w21, 0)).empty());
  EXPECT_TRUE(At(Out(u21, 0)).empty());
  // Block 22: the second mint succeeds, the third hits the cap.
  Transaction m2 = mint(capped, 4), m3 = mint(capped, 5), w22 = mint(windowed, 6);
  Connect({m2, m3, w22});
  EXPECT_EQ(At(Out(m2, 0)), One(capped, 100));
  EXPECT_TRUE(At(Out(m3, 0)).empty());
  EXPECT_TRUE(At(Out(w22, 0)).empty());
  EXPECT_EQ(EntryOf(capped).mints, 2u);
  // Block 23: windowed opens (twice in one block); block 24: closed.
  Transaction w23a = mint(windowed, 7), w23b = mint(windowed, 8);
  Connect({w23a, w23b});
  EXPECT_EQ(At(Out(w23a, 0)), One(windowed, 5));
  EXPECT_EQ(At(Out(w23b, 0)), One(windowed, 5));
  Transaction w24 = mint(windowed, 9);
  Connect({w24});
  EXPECT_TRUE(At(Out(w24, 0)).empty());
  EXPECT_EQ(EntryOf(windowed).mints, 2u);
  EXPECT_EQ(EntryOf(uncapped).mints, 0u);
}

TEST_F(RunesIndexTest, MintableFollowsOrdsWindowRules) {
  // ord's entry.rs mintable_* cases.
  RuneEntry e;
  e.id = {10, 0};
  e.terms = Terms{};
  e.terms->cap = 1;
  e.terms->amount = 1000;
  e.terms->height_start = 10;
  e.terms->height_end = 20;
  e.terms->offset_start = 0;
  e.terms->offset_end = 10;
  EXPECT_EQ(Mintable(e, 10), std::optional<u128>(1000));
  RuneEntry x = e;
  x.terms->height_start = 11;
  EXPECT_FALSE(Mintable(x, 10));
  x = e;
  x.terms->height_end = 10;
  EXPECT_FALSE(Mintable(x, 10));
  x = e;
  x.terms->offset_start = 1;
  EXPECT_FALSE(Mintable(x, 10));
  x = e;
  x.terms->offset_end = 0;
  EXPECT_FALSE(Mintable(x, 10));
  x = e;
  x.terms->cap.reset();
  EXPECT_FALSE(Mintable(x, 10));
  x = e;
  x.mints = 1;
  EXPECT_FALSE(Mintable(x, 10));
  x = e;
  x.terms.reset();
  EXPECT_FALSE(Mintable(x, 10));
  x = e;  // a huge offset saturates instead of wrapping
  x.terms->offset_end = UINT64_MAX;
  x.terms->height_end.reset();
  EXPECT_TRUE(Mintable(x, 1'000'000));
}

TEST_F(RunesIndexTest, CenotaphBurnsInputsAndItsMint) {
  const RuneId id{10, 1};
  Track({{id, std::nullopt}});
  Runestone etch_rs;
  etch_rs.etching = Etching{};
  etch_rs.etching->premine = 1000;
  etch_rs.etching->terms = Terms{};
  etch_rs.etching->terms->amount = 10;
  etch_rs.etching->terms->cap = 5;
  Transaction etch = Tx({Fresh()}, {P2tr(1), Rs(etch_rs)});
  Connect({etch});

  // An edict to output 7 of a 2-output tx is a cenotaph (flaw edict_output).
  // Its mint is counted (mints 1) and, like the inputs' 1000, burned.
  Runestone flawed;
  flawed.mint = id;
  flawed.edicts = {Edict{id, 1, 7}};
  Transaction c = Tx({Out(etch, 0)}, {P2tr(2), Rs(flawed)});
  auto art = bitcoin::DecipherRunestone(c);
  ASSERT_TRUE(art && std::holds_alternative<bitcoin::Cenotaph>(*art));
  Connect({c});
  EXPECT_TRUE(At(Out(c, 0)).empty());
  EXPECT_EQ(EntryOf(id).mints, 1u);
  EXPECT_EQ(EntryOf(id).burned, 1010u);

  // A cenotaph by a non-push opcode after OP_RETURN OP_13 (flaw opcode):
  // a later mint's 10 are burned too.
  Runestone m;
  m.mint = id;
  Transaction minted = Tx({Fresh()}, {P2tr(3), Rs(m)});
  Connect({minted});
  ASSERT_EQ(At(Out(minted, 0)), One(id, 10));
  Transaction c2 = Tx({Out(minted, 0)}, {P2tr(4), Bytes{0x6a, 0x5d, 0x61}});
  Connect({c2});
  EXPECT_TRUE(At(Out(c2, 0)).empty());
  EXPECT_EQ(EntryOf(id).burned, 1020u);
  EXPECT_EQ(EntryOf(id).mints, 2u);
}

TEST_F(RunesIndexTest, CenotaphWithoutNameEtchesNothing) {
  // ord's reserved_runes_are_not_allocated_in_cenotaph: an etching flag with
  // no name in a cenotaph creates no rune.
  const RuneId id{10, 1};
  Track({{id, std::nullopt}});
  Runestone rs;
  rs.etching = Etching{};
  rs.etching->premine = 1000;
  rs.edicts = {Edict{RuneId{}, 1000, 5}};  // output 5 of 2: cenotaph
  Transaction t = Tx({Fresh()}, {P2tr(1), Rs(rs)});
  Connect({t});
  EXPECT_FALSE(index_->Entry(id)->has_value());
  EXPECT_TRUE(At(Out(t, 0)).empty());
}

TEST_F(RunesIndexTest, UntrackedRunesAreIgnoredWithoutDisturbingTrackedOnes) {
  const RuneId tracked{10, 1};
  Track({{tracked, std::nullopt}});
  Runestone etch_rs;
  etch_rs.etching = Etching{};
  etch_rs.etching->premine = 500;
  // Tx 2 in the same block etches an untracked rune (10:2).
  Runestone other;
  other.etching = Etching{};
  other.etching->premine = 7;
  Transaction etch = Tx({Fresh()}, {P2tr(1), Rs(etch_rs)});
  Transaction etch_other = Tx({Fresh()}, {P2tr(2), Rs(other)});
  Connect({etch, etch_other});
  EXPECT_TRUE(At(Out(etch_other, 0)).empty());  // untracked: not stored
  EXPECT_EQ(store_.outpoint_count(), 1u);

  // A tx carrying both (ord would move both), etching a third, untracked
  // rune with edicts for 0:0 and for the tracked id.
  Runestone mixed;
  mixed.etching = Etching{};
  mixed.etching->premine = 9;
  mixed.mint = RuneId{10, 2};
  mixed.edicts = {Edict{RuneId{}, 0, 1}, Edict{RuneId{10, 2}, 0, 1}, Edict{tracked, 10, 2}};
  Transaction t = Tx({Out(etch, 0), Out(etch_other, 0)}, {P2tr(3), P2tr(4), P2tr(5), Rs(mixed)});
  Connect({t});
  EXPECT_EQ(At(Out(t, 0)), One(tracked, 490));  // the rest: first non-OP_RETURN output
  EXPECT_TRUE(At(Out(t, 1)).empty());
  EXPECT_EQ(At(Out(t, 2)), One(tracked, 10));
  EXPECT_FALSE(index_->Entry(RuneId{11, 1})->has_value());
  EXPECT_EQ(store_.outpoint_count(), 2u);
}

TEST_F(RunesIndexTest, AmountsAboveU64AreKeptButNotCreditable) {
  const RuneId id{10, 1};
  Track({{id, std::nullopt}});
  const u128 big = u128{1} << 100;
  Runestone rs;
  rs.etching = Etching{};
  rs.etching->premine = big;
  Transaction etch = Tx({Fresh()}, {P2tr(1), Rs(rs)});
  Connect({etch});
  const RuneBalances b = At(Out(etch, 0));
  ASSERT_EQ(b, One(id, big));
  EXPECT_EQ(CreditableRuneAmount(b[0].amount).error().code, "rune_amount_too_large");
  EXPECT_EQ(*CreditableRuneAmount(kMaxAmount), kMaxAmount);
  EXPECT_EQ(CreditableRuneAmount(u128{kMaxAmount} + 1).error().code, "rune_amount_too_large");
}

// A named etching must commit to its name in a tapscript of an input that
// spends a P2TR output confirmed >= 6 blocks before (ord's
// tx_commits_to_rune). Commitment inputs are resolved by FakePrevouts.
class NamedEtchingTest : public RunesIndexTest {
 protected:
  // An input spending `prevout` by script path with a leaf that pushes
  // `push` (witness: [sig, leaf, control block] + optional annex).
  static bitcoin::TxIn CommitInput(const OutPoint& prevout, const Bytes& leaf, bool annex = false) {
    bitcoin::TxIn in;
    in.prevout = prevout;
    in.witness = {Bytes(64, 0x11), leaf, Bytes(33, 0xc0)};
    if (annex) in.witness.push_back({0x50, 0x01});
    return in;
  }
  static Bytes Leaf(const Bytes& push) {
    bitcoin::ScriptBuilder b;
    b.PushRaw(push);
    b.Op(0x75);  // OP_DROP
    b.PushRaw(Bytes(32, 0x22));
    b.Op(0xac);  // OP_CHECKSIG
    return b.Take();
  }
  Transaction Etch(const Rune& name, const OutPoint& commit, bool annex = false, std::optional<Bytes> leaf = {}) {
    Runestone rs;
    rs.etching = Etching{};
    rs.etching->rune = name;
    rs.etching->premine = 500;
    rs.etching->divisibility = 3;
    Transaction t = Tx({}, {P2tr(1), Rs(rs)});
    t.vin.push_back(CommitInput(commit, leaf ? *leaf : Leaf(bitcoin::RuneCommitment(name)), annex));
    return t;
  }
  OutPoint Commit(std::uint8_t tag, std::uint32_t height, const Bytes& script) {
    OutPoint o;
    o.txid[0] = 0xc0;
    o.txid[1] = tag;
    prevouts_.map[o] = {script, height};
    return o;
  }
};

TEST_F(NamedEtchingTest, CommitmentRules) {
  const Rune name = *bitcoin::ParseRuneName("KRAYBRIDGETESTA");
  const Rune name2 = *bitcoin::ParseRuneName("KRAYBRIDGETESTB");
  // Block 30: 1 = 7 confirmations; 2 = exactly 6; 3 = 5 (immature);
  // 4 = commitment output not taproot; 5 = annex present (still found);
  // 6 = the leaf is malformed before the push (scan stops: not found);
  // 7 = a name below the minimum for height 30; 8 = a reserved name.
  Track({{{30, 1}, std::nullopt},
         {{30, 2}, std::nullopt},
         {{30, 3}, std::nullopt},
         {{30, 4}, std::nullopt},
         {{30, 5}, std::nullopt},
         {{30, 6}, std::nullopt},
         {{30, 7}, std::nullopt},
         {{30, 8}, std::nullopt}});
  // OP_PUSHDATA2 announcing 65535 bytes, followed by the commitment: the
  // commitment is never a push of its own.
  Bytes truncated_then_push = {0x4d, 0xff, 0xff};
  for (std::uint8_t byte : bitcoin::RuneCommitment(name)) truncated_then_push.push_back(byte);
  Transaction t1 = Etch(name, Commit(1, 24, P2tr(0xaa)));
  Transaction t2 = Etch(name2, Commit(2, 25, P2tr(0xaa)));
  Transaction t3 = Etch(name, Commit(3, 26, P2tr(0xaa)));
  Transaction t4 = Etch(name, Commit(4, 10, P2wpkh(0xaa)));
  Transaction t5 = Etch(*bitcoin::ParseRuneName("KRAYBRIDGETESTC"), Commit(5, 10, P2tr(0xaa)), true);
  Transaction t6 = Etch(name, Commit(6, 10, P2tr(0xaa)), false, truncated_then_push);
  const Rune short_name = *bitcoin::ParseRuneName("AAAA");
  Transaction t7 = Etch(short_name, Commit(7, 10, P2tr(0xaa)));
  const Rune reserved = bitcoin::ReservedRune(1, 1);
  Transaction t8 = Etch(reserved, Commit(8, 10, P2tr(0xaa)));
  Connect({t1, t2, t3, t4, t5, t6, t7, t8});
  EXPECT_EQ(EntryOf({30, 1}).rune, name);
  EXPECT_EQ(At(Out(t1, 0)), One({30, 1}, 500));
  EXPECT_EQ(EntryOf({30, 1}).divisibility, 3);
  EXPECT_EQ(EntryOf({30, 2}).rune, name2);
  EXPECT_EQ(EntryOf({30, 5}).rune, *bitcoin::ParseRuneName("KRAYBRIDGETESTC"));
  for (std::uint32_t tx : {3u, 4u, 6u, 7u, 8u}) {
    EXPECT_FALSE(index_->Entry({30, tx})->has_value()) << tx;
  }
  // Not etched: the premine has no rune, so nothing is stored for them.
  EXPECT_TRUE(At(Out(t3, 0)).empty());
  // Looked up: t1..t5 (t6 has no commitment push; t7 and t8 fail on the
  // name before any lookup).
  EXPECT_EQ(prevouts_.lookups, 5);
}

TEST_F(NamedEtchingTest, CenotaphNamedEtchingCreatesRuneWithNoSupply) {
  // ord's etched_rune_is_allocated_with_zero_supply_for_cenotaph and
  // etched_rune_parameters_are_unset_for_cenotaph.
  const Rune name = *bitcoin::ParseRuneName("KRAYBRIDGECENOTAPH");
  Track({{{30, 1}, name}});
  Transaction t = Etch(name, Commit(1, 20, P2tr(0xaa)));
  Runestone rs;
  rs.etching = Etching{};
  rs.etching->rune = name;
  rs.etching->premine = 500;
  rs.etching->divisibility = 3;
  rs.etching->symbol = U'K';
  rs.etching->terms = Terms{};
  rs.etching->terms->amount = 1;
  rs.etching->terms->cap = 1;
  rs.edicts = {Edict{RuneId{}, 500, 9}};  // output 9 of 2: cenotaph
  t.vout[1].script_pubkey = Rs(rs);
  Connect({t});
  const RuneEntry e = EntryOf({30, 1});
  EXPECT_EQ(e.rune, name);
  EXPECT_EQ(e.premine, 0u);
  EXPECT_EQ(e.divisibility, 0);
  EXPECT_FALSE(e.symbol.has_value());
  EXPECT_FALSE(e.terms.has_value());
  EXPECT_TRUE(At(Out(t, 0)).empty());
  EXPECT_EQ(e.burned, 0u);
}

TEST_F(NamedEtchingTest, ConfiguredNameMustMatchTheEtching) {
  const Rune name = *bitcoin::ParseRuneName("KRAYBRIDGETESTA");
  Track({{{30, 1}, *bitcoin::ParseRuneName("SOMEOTHERNAMEXX")}});
  const Block b = MakeBlock({Etch(name, Commit(1, 20, P2tr(0xaa)))});
  EXPECT_EQ(index_->ConnectBlock(30, b).error().code, "runes_etching_mismatch");
  EXPECT_FALSE(index_->Tip()->has_value());  // nothing written
}

TEST_F(NamedEtchingTest, UnknownPrevoutStopsTheIndex) {
  const Rune name = *bitcoin::ParseRuneName("KRAYBRIDGETESTA");
  Track({{{30, 1}, std::nullopt}});
  OutPoint unknown;
  unknown.txid[0] = 0xee;
  const Block b = MakeBlock({Etch(name, unknown)});
  EXPECT_EQ(index_->ConnectBlock(30, b).error().code, "runes_prevout_unknown");
  EXPECT_FALSE(index_->Tip()->has_value());
}

TEST_F(RunesIndexTest, ReorgsUndoEveryChange) {
  const RuneId id{10, 1};
  Track({{id, std::nullopt}});
  std::vector<std::string> states = {Snapshot()};
  Runestone etch_rs;
  etch_rs.etching = Etching{};
  etch_rs.etching->premine = 1000;
  etch_rs.etching->terms = Terms{};
  etch_rs.etching->terms->amount = 5;
  etch_rs.etching->terms->cap = 10;
  Transaction etch = Tx({Fresh()}, {P2tr(1), Rs(etch_rs)});
  Connect({etch});
  states.push_back(Snapshot());
  // Block 11: a mint, and a transfer whose output is spent in the same block.
  Runestone m;
  m.mint = id;
  Transaction mint = Tx({Fresh()}, {P2tr(2), Rs(m)});
  Transaction a = Tx({Out(etch, 0)}, {P2tr(3), P2tr(4)});
  Transaction b = Tx({Out(a, 0)}, {P2tr(5)});
  Connect({mint, a, b});
  EXPECT_EQ(At(Out(b, 0)), One(id, 1000));
  EXPECT_TRUE(At(Out(a, 0)).empty());
  states.push_back(Snapshot());
  // Block 12: a burn.
  Transaction burn = Tx({Out(b, 0)}, {Rs(Runestone{})});
  Connect({burn});
  EXPECT_EQ(EntryOf(id).burned, 1000u);
  states.push_back(Snapshot());

  for (int i = 3; i >= 1; --i) {
    ASSERT_TRUE(index_->DisconnectTip().ok());
    EXPECT_EQ(Snapshot(), states[i - 1]) << "after undoing block " << 9 + i;
    ASSERT_TRUE(index_->CheckSupply().ok());
  }
  EXPECT_FALSE(index_->Tip()->has_value());
  EXPECT_FALSE(index_->Entry(id)->has_value());
  EXPECT_EQ(index_->DisconnectTip().error().code, "runes_nothing_to_undo");
  EXPECT_EQ(store_.undo_count(), 0u);

  // The same heights again with a different history.
  Connect({etch});
  Transaction alt = Tx({Out(etch, 0)}, {P2tr(9)});
  Connect({alt});
  EXPECT_EQ(At(Out(alt, 0)), One(id, 1000));
  EXPECT_TRUE(At(Out(b, 0)).empty());
}

TEST_F(RunesIndexTest, BlocksMustExtendTheTipAndUndoDepthIsBounded) {
  const RuneId id{10, 1};
  Track({{id, std::nullopt}}, /*depth=*/2);
  Block first = MakeBlock({});
  EXPECT_EQ(index_->ConnectBlock(9, first).error().code, "runes_not_next_block");
  EXPECT_EQ(index_->ConnectBlock(11, first).error().code, "runes_not_next_block");
  ASSERT_TRUE(index_->ConnectBlock(10, first).ok());
  Block wrong_parent = MakeBlock({});
  wrong_parent.header.prev_block[0] ^= 1;
  EXPECT_EQ(index_->ConnectBlock(11, wrong_parent).error().code, "runes_not_next_block");
  EXPECT_EQ(index_->ConnectBlock(11, wrong_parent).error().kind, ErrorKind::kConflict);
  Connect({});
  Connect({});
  Connect({});  // heights 10..13; undo kept for 12 and 13 only
  EXPECT_EQ(store_.undo_count(), 2u);
  ASSERT_TRUE(index_->DisconnectTip().ok());
  ASSERT_TRUE(index_->DisconnectTip().ok());
  EXPECT_EQ(index_->DisconnectTip().error().code, "runes_reorg_too_deep");
  EXPECT_EQ((*index_->Tip())->height, 11u);
}

// Property test: random transactions (random inputs from earlier outputs,
// OP_RETURN and normal outputs, runestones with random edicts incl. 0:0,
// splits, out-of-range outputs (cenotaphs), pointers and mints) over 30
// blocks. After every block the supply audit holds; then every block is
// taken back and each intermediate state must match what it was.
TEST_F(RunesIndexTest, RandomHistoriesConserveSupplyAndUndoExactly) {
  for (std::uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    store_ = MemoryRunesStore();
    const RuneId a{10, 1}, b{10, 2}, untracked{10, 3};
    Track({{a, std::nullopt}, {b, std::nullopt}});
    std::mt19937 rng(seed);
    auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
    std::vector<OutPoint> pool;  // unspent outputs of the test's transactions

    auto etching = [&](u128 premine) {
      Runestone rs;
      rs.etching = Etching{};
      rs.etching->premine = premine;
      rs.etching->terms = Terms{};
      rs.etching->terms->amount = 1 + pick(1000);
      rs.etching->terms->cap = 20;
      rs.edicts = {Edict{RuneId{}, pick(500), pick(3)}};
      return rs;
    };
    std::vector<Transaction> first;
    for (u128 premine : {u128{100000}, u128{1} << 70, u128{5}}) {
      Transaction t = Tx({Fresh()}, {P2tr(1), P2tr(2), Rs(etching(premine))});
      pool.push_back(Out(t, 0));
      pool.push_back(Out(t, 1));
      first.push_back(t);
    }
    Connect(first);
    std::vector<std::string> states = {Snapshot()};

    for (int block = 0; block < 30; ++block) {
      std::vector<Transaction> txs;
      const std::uint32_t ntx = 1 + pick(6);
      for (std::uint32_t i = 0; i < ntx; ++i) {
        std::vector<OutPoint> ins = {Fresh()};
        for (std::uint32_t k = pick(4); k > 0 && !pool.empty(); --k) {
          const std::uint32_t j = pick(static_cast<std::uint32_t>(pool.size()));
          ins.push_back(pool[j]);
          pool.erase(pool.begin() + j);
        }
        std::vector<Bytes> outs;
        const std::uint32_t nout = 1 + pick(5);
        for (std::uint32_t o = 0; o < nout; ++o)
          outs.push_back(pick(6) == 0 ? kOpReturn : P2tr(static_cast<std::uint8_t>(o)));
        const std::uint32_t kind = pick(5);
        if (kind > 0) {
          Runestone rs;
          const RuneId ids[] = {a, b, untracked, RuneId{}};
          for (std::uint32_t e = pick(4); e > 0; --e) {
            const u128 amounts[] = {0, 1, pick(1000), u128{1} << 80};
            // Output n + 1 (one past the split index) makes a cenotaph.
            const std::uint32_t out = kind == 4 ? pick(nout + 3) : pick(nout + 2);
            rs.edicts.push_back(Edict{ids[pick(4)], amounts[pick(4)], out});
          }
          if (pick(3) == 0) rs.pointer = pick(nout + 1);  // == nout: dropped by decipher
          if (pick(3) == 0) rs.mint = ids[pick(3)];
          outs.insert(outs.begin() + pick(static_cast<std::uint32_t>(outs.size()) + 1), Rs(rs));
        }
        Transaction t = Tx(ins, outs);
        for (std::uint32_t o = 0; o < t.vout.size(); ++o) {
          if (!IsOpReturnScript(t.vout[o].script_pubkey)) pool.push_back(Out(t, o));
        }
        txs.push_back(t);
      }
      Connect(txs);
      if (HasFatalFailure()) return;
      states.push_back(Snapshot());
    }
    EXPECT_GT((*index_->Entry(a))->mints + (*index_->Entry(b))->mints, 0u);
    for (std::size_t i = states.size() - 1; i > 0; --i) {
      ASSERT_TRUE(index_->DisconnectTip().ok());
      ASSERT_EQ(Snapshot(), states[i - 1]) << "after undoing block " << i;
    }
  }
}

TEST(RunesIndexOptions, Validation) {
  MemoryRunesStore store;
  RunesIndexOptions o;
  EXPECT_EQ(RunesIndex::Make(store, o, nullptr).error().code, "runes_no_tracked_runes");
  o.runes = {{RuneId{0, 0}, std::nullopt}};
  EXPECT_EQ(RunesIndex::Make(store, o, nullptr).error().code, "runes_bad_tracked_id");
  o.runes = {{RuneId{5, 1}, std::nullopt}, {RuneId{3, 7}, std::nullopt}};
  o.max_reorg_depth = 0;
  EXPECT_EQ(RunesIndex::Make(store, o, nullptr).error().code, "runes_bad_reorg_depth");
  o.max_reorg_depth = 6;
  auto index = RunesIndex::Make(store, o, nullptr);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->start_height(), 3u);
  EXPECT_EQ(*index->NextHeight(), 3u);
}

TEST(RunesBlockUndo, RoundTripAndMalformedInput) {
  RunesBlockUndo u;
  u.block.height = 7;
  u.block.hash[0] = 1;
  u.prev_hash[1] = 2;
  OutPoint o;
  o.txid[2] = 3;
  o.n = 4;
  u.spent.push_back({o, {{RuneId{5, 6}, (u128{1} << 90) + 7}, {RuneId{5, 7}, 1}}});
  u.created.push_back(o);
  RuneEntry e;
  e.id = {5, 6};
  e.rune = bitcoin::ReservedRune(5, 6);
  e.spacers = 3;
  e.divisibility = 38;
  e.symbol = U'\U0001F600';
  e.premine = 99;
  e.terms = Terms{};
  e.terms->amount = 1;
  e.terms->height_end = 100;
  e.turbo = true;
  e.mints = 2;
  e.burned = 3;
  u.entries_before.push_back(e);
  u.entries_created.push_back({8, 9});
  const Bytes bytes = SerializeRunesBlockUndo(u);
  auto back = ParseRunesBlockUndo(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, u);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(ParseRunesBlockUndo(ByteSpan(bytes.data(), n)).error().code, "runes_undo_malformed") << n;
  }
  Bytes extra = bytes;
  extra.push_back(0);
  EXPECT_FALSE(ParseRunesBlockUndo(extra).ok());
  Bytes bad_version = bytes;
  bad_version[0] = 9;
  EXPECT_FALSE(ParseRunesBlockUndo(bad_version).ok());
  // A huge count in a short record fails before allocating.
  Bytes huge = {1, 0, 0, 0, 0};
  huge.resize(69, 0);
  for (std::uint8_t c : {0xfe, 0xff, 0xff, 0xff, 0x01}) huge.push_back(c);
  EXPECT_FALSE(ParseRunesBlockUndo(huge).ok());
}

}  // namespace
}  // namespace kray::bridge
