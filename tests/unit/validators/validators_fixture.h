// A ledger running the validators module with its rollup index and batch
// recorder, on the regtest genesis plus a "validators" section, with helpers
// that sign operations the way wallets and validators do. The node's clock
// is moved forward by reopening it with a larger clock_offset (as tests of
// krayd restart it with a larger -clockoffset).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kray/crypto/secp256k1.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/rollup.h"
#include "kray/state/conservation.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"
#include "kray/validators/batch_recorder.h"
#include "kray/validators/reads.h"
#include "kray/validators/validators.h"

namespace kray::validators::testing {

using test::TempDir;
using test::TestKey;
using FieldList = std::vector<std::pair<std::string, std::string>>;

inline constexpr Amount kMinStake = 10'000'000;
inline constexpr std::int64_t kDay = 86400;

inline const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(ValidatorsModule()).ok());
    return reg;
  }();
  return r;
}

// Validator keys (distinct from the dev accounts' keys).
inline TestKey ValidatorKey(int n) {
  return test::KeyFromSeed("validators-unit-key-" + std::to_string(n));
}

// The regtest genesis with a "validators" section: the defaults spelled
// out, so the config leaf is committed.
inline std::string WriteGenesis(const TempDir& dir) {
  std::ifstream in(test::RegtestGenesisPath());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.insert(text.rfind('}'),
              ",\n  \"validators\": {\"min_stake\": \"10000000\", \"unbonding_period\": 604800, "
              "\"liveness_window\": 86400, \"downtime_slash_bps\": 1000, \"equivocation_slash_bps\": 5000, "
              "\"quorum_bps\": 6667, \"uptime_window\": 100}\n");
  std::ofstream(dir.file("genesis.json")) << text;
  return dir.file("genesis.json");
}

inline std::string ResultField(const state::Receipt& r, const std::string& key) {
  return std::string(state::FindField(r.result, key).value_or(""));
}

class ValidatorsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(0); }
  void TearDown() override {
    if (ledger_) ExpectConserved();
    Shutdown();
  }

  // Opens the ledger (clock moved forward by `offset` seconds), the rollup
  // index (batches close only when Close() says so) and the recorder.
  void Open(std::int64_t offset) {
    Shutdown();
    state::LedgerOptions o;
    o.datadir = dir_.file("data");
    o.genesis_path = WriteGenesis(dir_);
    o.synchronous = "NORMAL";
    o.clock_offset = offset;
    auto l = state::Ledger::Open(o, Registry());
    ASSERT_TRUE(l.ok()) << l.error().code << ": " << l.error().message;
    ledger_ = std::move(*l);
    auto r = rollup::Rollup::Open(*ledger_, rollup::RollupOptions{1000000, 1000000, 4000000, 50});
    ASSERT_TRUE(r.ok()) << r.error().message;
    rollup_ = std::move(*r);
    recorder_ = BatchRecorder::Start(*ledger_, *rollup_);
  }
  void Shutdown() {
    recorder_.reset();
    ledger_.reset();
    rollup_.reset();
  }

  void ExpectConserved() {
    auto rep = ledger_->CheckConservation();
    ASSERT_TRUE(rep.ok()) << rep.error().code << ": " << rep.error().message;
    EXPECT_TRUE(rep->ok) << rep->ToString();
  }
  Amount Term(const std::string& name) {
    auto rep = ledger_->CheckConservation();
    EXPECT_TRUE(rep.ok());
    for (const auto& l : rep->lines)
      if (l.asset == "KRAY") {
        auto it = l.extra.find(name);
        return it == l.extra.end() ? 0 : it->second;
      }
    return 0;
  }

  // Signed by `k` at its next nonce.
  Result<state::Receipt> Do(const TestKey& k, const std::string& type, FieldList fields) {
    state::OperationRequest r;
    r.type = type;
    r.signer = k.account_id;
    r.nonce = ledger_->GetAccount(k.account_id)->nonce;
    r.fields = std::move(fields);
    auto op = test::SignOperation(ledger_->params(), Registry(), r, k);
    if (!op.ok()) return std::move(op).error();
    return ledger_->SubmitSync(std::move(*op));
  }
  Result<state::Receipt> Public(const std::string& type, FieldList fields) {
    state::OperationRequest r;
    r.type = type;
    r.auth = state::Auth::kPublic;
    r.fields = std::move(fields);
    return ledger_->SubmitRequestSync(r);
  }
  // The validator key's proof of possession for `account`.
  std::string RegistrationSignature(const TestKey& vkey, const TestKey& account) {
    return ToHex(
        *crypto::SchnorrSign(vkey.secret, RegistrationMessage(ledger_->params().chain_id, account.account_id)));
  }
  Result<state::Receipt> Register(const TestKey& account, const TestKey& vkey, Amount stake) {
    return Do(account, std::string(kRegisterOp),
              {{"pubkey", ToHex(vkey.pub)},
               {"l1_address", vkey.address},
               {"stake_amount", std::to_string(stake)},
               {"validator_signature", RegistrationSignature(vkey, account)}});
  }

  // Closes the open batch and waits until the recorder has handled it.
  rollup::BatchHeader Close() {
    ledger_->Flush();
    auto b = rollup_->CloseBatchNow();
    EXPECT_TRUE(b.ok() && b->has_value()) << (b.ok() ? "empty batch" : b.error().message);
    Status s = recorder_->CatchUp();
    EXPECT_TRUE(s.ok()) << s.error().code << ": " << s.error().message;
    ledger_->Flush();
    return b.ok() && b->has_value() ? **b : rollup::BatchHeader{};
  }
  std::optional<rollup::BatchHeader> Header(std::int64_t n) {
    std::optional<rollup::BatchHeader> out;
    EXPECT_TRUE(rollup_
                    ->WithReader([&](store::Database& db) -> Status {
                      auto b = rollup::GetBatch(db, n);
                      if (b.ok()) out = *b;
                      return Ok();
                    })
                    .ok());
    return out;
  }

  std::string SignAttestation(const TestKey& vkey, std::uint64_t batch, const std::string& state_root,
                              const std::string& tx_root) {
    auto sig =
        crypto::SchnorrSign(vkey.secret, AttestationMessage(ledger_->params().chain_id, batch,
                                                            *FromHexFixed<32>(state_root), *FromHexFixed<32>(tx_root)));
    return ToHex(*sig);
  }
  // Attests batch `n` with its published roots.
  Result<state::Receipt> Attest(const TestKey& vkey, std::int64_t n) {
    auto h = Header(n);
    if (!h) return Error::NotFound("batch_not_found", "no batch");
    return Public(std::string(kAttestOp),
                  {{"validator_id", ValidatorId(vkey.pub)},
                   {"batch", std::to_string(n)},
                   {"state_root", h->state_root},
                   {"tx_root", h->tx_root},
                   {"validator_signature", SignAttestation(vkey, n, h->state_root, h->tx_root)}});
  }
  Result<state::Receipt> Heartbeat(const TestKey& vkey, std::uint64_t at) {
    auto sig =
        crypto::SchnorrSign(vkey.secret, HeartbeatMessage(ledger_->params().chain_id, ValidatorId(vkey.pub), at));
    return Public(
        std::string(kHeartbeatOp),
        {{"validator_id", ValidatorId(vkey.pub)}, {"at", std::to_string(at)}, {"validator_signature", ToHex(*sig)}});
  }

  template <class F>
  auto Read(F fn) -> decltype(fn(std::declval<store::Database&>())) {
    using R = decltype(fn(std::declval<store::Database&>()));
    std::optional<R> out;
    Status s = ledger_->WithReader([&](store::Database& db) -> Status {
      out.emplace(fn(db));
      return Ok();
    });
    EXPECT_TRUE(s.ok());
    return std::move(*out);
  }
  Validator ValidatorNow(const TestKey& vkey) {
    auto v = Read([&](store::Database& db) { return FindValidator(db, ValidatorId(vkey.pub)); });
    EXPECT_TRUE(v.ok() && v->has_value());
    return v.ok() && v->has_value() ? **v : Validator{};
  }
  std::optional<RecordedBatch> Recorded(std::uint64_t n) {
    auto b = Read([&](store::Database& db) { return FindRecordedBatch(db, n); });
    EXPECT_TRUE(b.ok());
    return b.ok() ? *b : std::nullopt;
  }
  state::Balance Kray(const TestKey& k) { return ledger_->GetAccount(k.account_id)->BalanceOf("KRAY"); }
  Amount FeePool() { return ledger_->GetTxStats()->fee_pool; }
  Amount Burned() { return ledger_->GetTxStats()->gas_burned; }
  // Waits (up to ~5 s) for the sequencer's once-a-second system operations.
  template <class Pred>
  bool WaitFor(Pred done) {
    for (int i = 0; i < 100; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  TempDir dir_{"kray-validators-test-"};
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<rollup::Rollup> rollup_;
  std::unique_ptr<BatchRecorder> recorder_;
  TestKey a_ = test::DevAccount(1), b_ = test::DevAccount(2);
  TestKey v1_ = ValidatorKey(1), v2_ = ValidatorKey(2);
};

}  // namespace kray::validators::testing
