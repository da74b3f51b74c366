// `krayd verify` and remote replay (docs/ROLLUP.md "Verify"), including the
// verifier soundness holes found on the old design, each played as the
// attacker would: the datadir edited behind the node's back.
#include <gtest/gtest.h>

#include "kray/rollup/verify.h"
#include "rollup_fixture.h"

namespace kray::rollup {
namespace {

// A module that writes committed state without touching its leaf fools
// nothing that compares live and replay (both skip the same leaf); verify's
// rebuild of the root from every replayed leaf catches it.
TEST_F(RollupTest, VerifyFindsStateChangedWithoutTouchingItsLeaf) {
  test::SetExampleForgetsTouch(true);
  state::OperationRequest r;
  r.type = "example_lock";
  r.signer = a_.account_id;
  r.nonce = ledger_->GetAccount(a_.account_id)->nonce;
  r.fields = {{"id", "untracked"}, {"asset", "BTC"}, {"amount", "5"}, {"expires_at", "4000000000"}};
  auto op = test::SignOperation(ledger_->params(), ledger_->registry(), r, a_);
  ASSERT_TRUE(op.ok()) << op.error().message;
  auto done = ledger_->SubmitSync(std::move(*op));
  ASSERT_TRUE(done.ok()) << done.error().message;
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();  // the verifier runs the same buggy module
  test::SetExampleForgetsTouch(false);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_untracked_state") << v.error().message;
}

// Edits made behind the node's back: replay is the tool that finds them.
TEST_F(RollupTest, VerifyFindsEditsBehindTheNodesBack) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 100).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  auto ok = Verify();
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->unbatched, 1);
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE account_rows SET available = available + 1 WHERE account_id = '" + b_.account_id +
                           "' AND asset = 'KRAY'")
                    .ok());
  }
  auto bad = Verify();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "verify_head_mismatch");
  EXPECT_NE(bad.error().message.find(b_.account_id), std::string::npos) << bad.error().message;
  Start();  // for TearDown
}

// A balance row without its account is no leaf (leaves are enumerated from
// accounts), so only the store's own conservation sums show it.
TEST_F(RollupTest, VerifyFindsARowNoLeafCovers) {
  ASSERT_TRUE(Send(a_, b_.account_id, 100).ok());
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO account_rows (account_id, asset, available, staked, locked) "
                           "VALUES ('kray1nobody', 'KRAY', 5000, 0, 0)")
                    .ok());
  }
  auto bad = Verify();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "verify_conservation_failed");
  EXPECT_NE(bad.error().message.find("head:"), std::string::npos) << bad.error().message;
  Start();  // for TearDown
}

// A batch header's gas totals are not covered by the tx root (which binds
// each operation's fee): verify sums them itself.
TEST_F(RollupTest, VerifyFindsABatchHeadersGasEdited) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 10).ok());  // max_batch_txs = 3
  ASSERT_TRUE(rollup_->Sync().ok());
  ASSERT_EQ(IndexStatus().last_batch(), 1);
  ASSERT_TRUE(Verify().ok());
  Stop();
  for (const char* column : {"gas_collected", "gas_burned", "gas_retained"}) {
    {
      auto db = store::Database::Open(dir_.file("data") + "/rollup.sqlite");
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE(
          (*db)->Exec(std::string("UPDATE batches SET ") + column + " = " + column + " + 1 WHERE number = 1").ok());
    }
    auto bad = Verify();
    ASSERT_FALSE(bad.ok()) << column;
    EXPECT_EQ(bad.error().code, "verify_batch_gas_mismatch") << column;
    EXPECT_NE(bad.error().message.find("batch 1"), std::string::npos) << bad.error().message;
    auto db = store::Database::Open(dir_.file("data") + "/rollup.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)->Exec(std::string("UPDATE batches SET ") + column + " = " + column + " - 1 WHERE number = 1").ok());
  }
  EXPECT_TRUE(Verify().ok());
  Start();  // for TearDown
}

// --- a dishonest node, simulated: the store is edited while it is stopped,
// and the index is made to re-derive its tree from the edited store, so the
// published roots match the forgery. Both verifiers must still refuse it.

void WriteOperationRow(store::Database& db, const state::Operation& op) {
  auto st = db.Prepare(
      "INSERT OR REPLACE INTO operations (seq, hash, type, auth, signer, nonce, scheme, signature, fields, evidence, "
      "timestamp, gas_fee, touched) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  ASSERT_TRUE(st.ok());
  st->Bind(1, static_cast<std::int64_t>(op.seq)).BindBlob(2, *FromHexFixed<32>(op.hash)).Bind(3, op.type);
  st->Bind(4, static_cast<std::int64_t>(op.auth)).BindTextOrNull(5, op.signer);
  st->Bind(6, static_cast<std::int64_t>(op.nonce)).Bind(7, static_cast<std::int64_t>(op.scheme));
  if (op.signature.empty())
    st->BindNull(8);
  else
    st->BindBlob(8, op.signature);
  st->BindBlob(9, state::EncodeFields(op.fields)).BindBlob(10, state::EncodeFields(op.evidence));
  st->Bind(11, op.timestamp)
      .Bind(12, static_cast<std::int64_t>(op.gas_fee))
      .BindBlob(13, state::EncodeLeafIds(op.touched));
  ASSERT_TRUE(st->Run().ok());
}

// Makes the index forget everything from `seq` on, so it re-reads those
// operations' leaves from the (edited) store: its roots then commit to the forgery.
void RewindIndex(const std::string& datadir, std::int64_t seq) {
  auto db = store::Database::Open(datadir + "/rollup.sqlite");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("UPDATE rollup_state SET applied_seq = " + std::to_string(seq - 1) + " WHERE id = 1").ok());
}

// Hole 2: a legacy-signed KRAY transfer recorded as a BTC transfer, its id
// recomputed and balances moved to match.
TEST_F(RollupTest, LegacyKrayTransferRewrittenAsBtcFailsBothVerifiers) {
  opts_.max_batch_txs = 1000;
  Restart();
  auto r = Send(a_, b_.account_id, 5000, "KRAY", "legacy");
  ASSERT_TRUE(r.ok()) << r.error().message;
  state::Operation forged = *r->op;
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    state::SetField(forged.fields, "asset", "BTC");
    forged.hash =
        ToHex(state::SigningMessageV1("kray-regtest-1", "transfer", forged.signer, forged.nonce, forged.fields));
    ASSERT_TRUE((*db)->Exec("DELETE FROM operations WHERE seq = 1").ok());
    WriteOperationRow(**db, forged);
    // Balances as if BTC had moved: KRAY back (but the gas), BTC over.
    for (const char* sql :
         {"UPDATE account_rows SET available = available + 5000 WHERE asset='KRAY' AND account_id='%a'",
          "UPDATE account_rows SET available = available - 5000 WHERE asset='KRAY' AND account_id='%b'",
          "UPDATE account_rows SET available = available - 5000 WHERE asset='BTC' AND account_id='%a'",
          "UPDATE account_rows SET available = available + 5000 WHERE asset='BTC' AND account_id='%b'"}) {
      std::string s(sql);
      s.replace(s.find('%'), 2, std::string(sql).find("%a") != std::string::npos ? a_.account_id : b_.account_id);
      ASSERT_TRUE((*db)->Exec(s).ok()) << s;
    }
  }
  RewindIndex(dir_.file("data"), 1);
  Start();
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_tx_failed");
  EXPECT_NE(v.error().message.find("legacy_signature_not_allowed"), std::string::npos) << v.error().message;
  kray::Status wire = ReplayOverTheWire(BatchesOverTheWire());
  ASSERT_FALSE(wire.ok());
  EXPECT_EQ(wire.error().code, "verify_tx_failed");
}

// Hole 3: a key bound behind the node's back to a funded account that never
// registered (no BIP-86 link between key and address), then used to drain it.
TEST_F(RollupTest, KeyBoundWithoutBip86ProofFailsBothVerifiers) {
  opts_.max_batch_txs = 1000;
  Restart();
  TestKey victim = test::KeyFromSeed("victim"), thief = test::KeyFromSeed("thief");
  ASSERT_TRUE(Send(a_, victim.address, 90000).ok());  // funds a never-registered account
  Stop();
  {
    auto db = store::Database::Open(dir_.file("data/krayd.sqlite"));
    ASSERT_TRUE(db.ok());
    state::Operation bind;
    bind.type = std::string(state::kAccountCreateOp);
    bind.auth = state::Auth::kPublic;
    bind.fields = {{"l1_address", victim.address}, {"pubkey", ToHex(thief.pub)}};
    bind.seq = 2;
    {
      auto ts = store::QueryInt(**db, "SELECT timestamp FROM operations WHERE seq = 1");
      ASSERT_TRUE(ts.ok());
      bind.timestamp = *ts;
    }
    bind.hash = ToHex(state::UnsignedOperationId("kray-regtest-1", bind));
    bind.touched = {state::LeafId{state::kAccountLeaf, victim.account_id}};
    WriteOperationRow(**db, bind);
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE account_rows SET pubkey = '" + ToHex(thief.pub) +
                           "' WHERE asset = '' AND account_id = '" + victim.account_id + "'")
                    .ok());
  }
  RewindIndex(dir_.file("data"), 2);
  Start();
  // The node, trusting its edited store, accepts the thief's signature.
  auto drain = Send(thief, a_.account_id, 80000, "KRAY", "v1", victim.account_id);
  ASSERT_TRUE(drain.ok()) << drain.error().message;
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "verify_tx_failed");
  EXPECT_NE(v.error().message.find("pubkey_address_mismatch"), std::string::npos) << v.error().message;
  kray::Status wire = ReplayOverTheWire(BatchesOverTheWire());
  ASSERT_FALSE(wire.ok());
  EXPECT_NE(wire.error().message.find("pubkey_address_mismatch"), std::string::npos) << wire.error().message;
}

// Hole 1: an honest legacy transfer naming its recipient by an all-uppercase
// address verifies everywhere (no false fraud proof).
TEST_F(RollupTest, UppercaseLegacyRecipientVerifiesEverywhere) {
  std::string upper = b_.address;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ASSERT_TRUE(Send(a_, upper, 123, "KRAY", "legacy").ok());
  ASSERT_TRUE(Close().has_value());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  kray::Status wire = ReplayOverTheWire(BatchesOverTheWire());
  EXPECT_TRUE(wire.ok()) << wire.error().message;
}

// Random sequences of every registered operation type (signed, public,
// operator, system) reproduce every batch root through both verifier paths;
// flipping any single field of any recorded operation makes replay fail.
TEST_F(RollupTest, PropertyEveryOperationTypeReplaysAndEveryFlipIsCaught) {
  opts_.max_batch_txs = 1000;
  Restart();
  std::mt19937_64 rng(7);
  std::vector<TestKey> keys = {a_, b_};
  std::set<std::string> types_seen;
  int escrow = 0;
  auto submit = [&](Result<state::Operation> op) {
    if (!op.ok()) return;  // e.g. a self-transfer drawn at random
    auto r = ledger_->SubmitSync(std::move(*op));
    if (r.ok() && !r->no_change) types_seen.insert(r->op->type);
  };
  for (int batch = 0; batch < 3; ++batch) {
    for (int i = 0; i < 12; ++i) {
      const TestKey& from = keys[rng() % keys.size()];
      auto acct = ledger_->GetAccount(from.account_id);
      ASSERT_TRUE(acct.ok());
      switch (rng() % 6) {
        case 0: {  // a new account, public or proven
          TestKey k = test::KeyFromSeed("prop" + std::to_string(batch) + "-" + std::to_string(i));
          ASSERT_TRUE(Send(a_, k.address, 50000).ok());
          submit(test::AccountCreate(ledger_->params(), ledger_->registry(), k, rng() % 2));
          keys.push_back(k);
          break;
        }
        case 1:  // legacy, by address
          if (acct->pubkey_hex.empty()) break;
          submit(test::SignOperation(
              ledger_->params(), ledger_->registry(),
              test::TransferRequest(from.address, keys[rng() % keys.size()].address, 1 + rng() % 100, acct->nonce),
              from));
          break;
        case 2:  // v1, other asset
          submit(test::SignOperation(ledger_->params(), ledger_->registry(),
                                     test::TransferRequest(a_.account_id, b_.account_id, 1 + rng() % 100,
                                                           ledger_->GetAccount(a_.account_id)->nonce, "DOG", "memo"),
                                     a_));
          break;
        case 3:
        case 4: {  // lock; some expire at once (the node expires them), some are released
          state::OperationRequest r;
          r.type = "example_lock";
          r.signer = a_.account_id;
          r.nonce = ledger_->GetAccount(a_.account_id)->nonce;
          std::int64_t expires = rng() % 2 ? ledger_->Now() : ledger_->Now() + 100000;
          std::string id = "esc" + std::to_string(escrow++);
          r.fields = {{"id", id},
                      {"asset", "BTC"},
                      {"amount", std::to_string(1 + rng() % 1000)},
                      {"expires_at", std::to_string(expires)}};
          submit(test::SignOperation(ledger_->params(), ledger_->registry(), r, a_));
          if (expires > ledger_->Now()) {
            state::OperationRequest rel;
            rel.type = "example_release";
            rel.auth = state::Auth::kOperator;
            rel.fields = {{"id", id}};
            auto done = ledger_->SubmitRequestSync(rel);
            if (done.ok()) types_seen.insert(done->op->type);
          }
          break;
        }
        default:
          ASSERT_TRUE(Send(b_, a_.account_id, 1 + rng() % 1000).ok());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // due system operations run
    ASSERT_TRUE(Close().has_value());
  }
  ledger_->Flush();
  auto stats = ledger_->GetTxStats();
  for (const char* t : {"transfer", "account_create", "example_lock", "example_release", "example_expire"})
    EXPECT_GT(stats->by_type[t], 0u) << t;
  EXPECT_TRUE(ledger_->CheckConservation()->ok);
  ASSERT_TRUE(rollup_->Sync().ok());

  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 3);
  // Every close took its operations as their groups arrived (signed,
  // operator and system ones): verify's roots from the log agree with them.
  EXPECT_EQ(rollup_->closes_read_from_store(), 0u);
  auto wire = BatchesOverTheWire();
  ASSERT_TRUE(ReplayOverTheWire(wire).ok());

  // Every field of every operation of batch 1, flipped one at a time.
  auto flip = [](std::string& s) { s = s.empty() ? "x" : s.substr(0, s.size() - 1) + (s.back() == '0' ? "1" : "0"); };
  int mutations = 0;
  for (std::size_t i = 0; i < wire[0].second.size(); ++i) {
    const state::Operation original = wire[0].second[i];
    std::vector<std::function<void(state::Operation&)>> flips = {
        [](state::Operation& o) { o.seq += 1; },
        [&](state::Operation& o) { flip(o.hash); },
        [](state::Operation& o) { o.type += "x"; },
        [](state::Operation& o) {
          o.auth = o.auth == state::Auth::kOperator ? state::Auth::kSystem : state::Auth::kOperator;
        },
        [](state::Operation& o) { o.signer = o.signer.empty() ? "kray_" + std::string(32, '0') : ""; },
        [](state::Operation& o) { o.nonce += 1; },
        [](state::Operation& o) {
          o.scheme = o.scheme == state::SigScheme::kV1 ? state::SigScheme::kLegacy : state::SigScheme::kV1;
        },
        [](state::Operation& o) {
          if (o.signature.empty())
            o.signature.assign(64, 1);
          else
            o.signature[7] ^= 1;
        },
        [](state::Operation& o) { o.timestamp += 1; },
        [](state::Operation& o) { o.gas_fee += 1; },
        [](state::Operation& o) {
          if (o.touched.empty())
            o.touched.push_back(state::LeafId{state::kAccountLeaf, "kray_x"});
          else
            o.touched.pop_back();
        },
    };
    for (std::size_t f = 0; f < original.fields.size(); ++f)
      flips.push_back([&, f](state::Operation& o) { flip(o.fields[f].second); });
    for (std::size_t f = 0; f < original.evidence.size(); ++f)
      flips.push_back([&, f](state::Operation& o) { flip(o.evidence[f].second); });
    for (const auto& mutate : flips) {
      auto mutated = wire;
      mutate(mutated[0].second[i]);
      kray::Status s = ReplayOverTheWire(mutated);
      EXPECT_FALSE(s.ok()) << "operation " << i << " (" << original.type << ") mutation " << mutations
                           << " was not caught";
      ++mutations;
    }
  }
  EXPECT_GT(mutations, 100);

  // The datadir path (krayd verify) reads the same records from the store:
  // a few edits there are caught too.
  Stop();
  auto copy_and_edit = [&](const std::string& sql) {
    TempDir copy;
    std::filesystem::copy(dir_.file("data"), copy.file("data"), std::filesystem::copy_options::recursive);
    {
      auto db = store::Database::Open(copy.file("data/krayd.sqlite"));
      EXPECT_TRUE(db.ok());
      EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
    }
    VerifyOptions vo;
    return VerifyDatadir(copy.file("data"), vo, Registry(), nullptr);
  };
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET timestamp = timestamp + 1 WHERE seq = 2").ok());
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET gas_fee = gas_fee + 1 WHERE seq = 3").ok());
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET nonce = nonce + 1 WHERE seq = 4").ok());
  EXPECT_FALSE(copy_and_edit("UPDATE operations SET signature = zeroblob(64) WHERE seq = 5").ok());
  EXPECT_FALSE(copy_and_edit("DELETE FROM operations WHERE seq = 6").ok());
  Start();
}
}  // namespace
}  // namespace kray::rollup
