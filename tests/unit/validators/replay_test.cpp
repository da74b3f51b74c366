// Replay of a history holding every validators operation (register, stake,
// unstake, claim, equivocation, attest, heartbeat, batch records, downtime,
// unbond): `krayd verify`'s VerifyDatadir reproduces every batch root and the
// head; a flipped record, a forged batch record and tables edited behind the
// node's back are all found.
#include "kray/rollup/replay.h"

#include <filesystem>
#include <functional>
#include <set>

#include "kray/rollup/json.h"
#include "kray/rollup/verify.h"
#include "kray/state/op_log.h"
#include "validators_fixture.h"

namespace kray::validators::testing {
namespace {

using Wire = std::vector<std::pair<rollup::BatchHeader, std::vector<state::Operation>>>;

class ValidatorsReplayTest : public ValidatorsTest {
 protected:
  // Every operation type, over five batches and three clock jumps.
  void History() {
    {
      auto r = Register(a_, v1_, kMinStake + 1000);
      ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    }
    {
      auto r = Register(b_, v2_, 3 * kMinStake);
      ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    }
    Close();  // batch 1, recorded
    {
      auto r = Attest(v1_, 1);
      ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    }
    {
      auto r = Attest(v2_, 1);
      ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    }
    {
      auto r = Heartbeat(v2_, static_cast<std::uint64_t>(ledger_->Now()));
      ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    }
    ASSERT_TRUE(Do(a_, "stake", {{"amount", "10"}}).ok());
    ASSERT_TRUE(Do(b_, "stake", {{"amount", "20"}}).ok());
    ASSERT_TRUE(Do(a_, "unstake", {{"amount", "500"}}).ok());
    Close();  // batch 2: pays v1 and v2
    ASSERT_TRUE(Do(a_, "validator_claim_rewards", {{"validator_id", ValidatorId(v1_.pub)}}).ok());
    const std::string x(64, 'a'), y(64, 'b'), z(64, 'c');
    ASSERT_TRUE(Do(b_, "validator_equivocation",
                   {{"validator_id", ValidatorId(v1_.pub)},
                    {"batch", "2"},
                    {"state_root_a", x},
                    {"tx_root_a", z},
                    {"signature_a", SignAttestation(v1_, 2, x, z)},
                    {"state_root_b", y},
                    {"tx_root_b", z},
                    {"signature_b", SignAttestation(v1_, 2, y, z)}})
                    .ok());
    Close();           // batch 3
    Open(kDay + 100);  // v2 misses its window: downtime
    ASSERT_TRUE(WaitFor([&] { return ValidatorNow(v2_).slashed > 0; }));
    Close();         // batch 4
    Open(8 * kDay);  // v1's unbonding ends (and v2 is slashed again)
    ASSERT_TRUE(WaitFor([&] { return ledger_->GetTxStats()->by_type["validator_unbond"] == 1; }));
    Close();  // batch 5
    ledger_->Flush();
    ASSERT_TRUE(rollup_->Sync().ok());
  }

  Wire OverTheWire() {
    Wire out;
    for (std::int64_t n = 1;; ++n) {
      auto h = Header(n);
      if (!h) return out;
      auto ops = Read([&](store::Database& db) { return state::OperationsInRange(db, h->first_seq, h->last_seq); });
      EXPECT_TRUE(ops.ok());
      auto page = rollup::BatchOperationsFromJson(rollup::BatchOperationsJson(*h, *ops, std::nullopt));
      EXPECT_TRUE(page.ok()) << page.error().message;
      out.emplace_back(page->header, page->ops);
    }
  }
  std::string GenesisRoot() {
    std::string root;
    EXPECT_TRUE(rollup_
                    ->WithReader([&](store::Database& db) -> Status {
                      auto s = rollup::GetRollupStatus(db);
                      if (s.ok()) root = s->genesis_root;
                      return Ok();
                    })
                    .ok());
    return root;
  }
  Status Replay(const Wire& batches, const std::string& genesis_root) {
    auto replay = rollup::ChainReplayer::Create(ledger_->params(), Registry(), "");
    if (!replay.ok()) return std::move(replay).error();
    KRAY_TRY((*replay)->Genesis(*ledger_->genesis_file(), genesis_root));
    for (const auto& [h, ops] : batches) KRAY_TRY((*replay)->Batch(h, ops));
    return Ok();
  }
  Result<rollup::VerifySummary> VerifyCopy(const std::string& sql) {
    TempDir copy("kray-validators-verify-");
    std::filesystem::copy(dir_.file("data"), copy.file("data"), std::filesystem::copy_options::recursive);
    if (!sql.empty()) {
      auto db = store::Database::Open(copy.file("data/krayd.sqlite"));
      EXPECT_TRUE(db.ok());
      EXPECT_TRUE((*db)->Exec(sql).ok()) << sql;
    }
    return rollup::VerifyDatadir(copy.file("data"), rollup::VerifyOptions{}, Registry(), nullptr);
  }
};

bool IsModuleOp(const std::string& type) {
  return type.rfind("validator_", 0) == 0 || type == "stake" || type == "unstake";
}

TEST_F(ValidatorsReplayTest, EveryValidatorsOperationReplaysAndEveryFlipIsCaught) {
  History();
  if (HasFatalFailure()) return;
  auto stats = ledger_->GetTxStats();
  for (const char* t :
       {"validator_register", "stake", "unstake", "validator_claim_rewards", "validator_equivocation",
        "validator_attest", "validator_heartbeat", "validator_batch", "validator_downtime", "validator_unbond"})
    EXPECT_GT(stats->by_type[t], 0u) << t;
  auto v = VerifyCopy("");
  ASSERT_TRUE(v.ok()) << v.error().code << ": " << v.error().message;
  EXPECT_EQ(v->batches, 5);
  Wire wire = OverTheWire();
  ASSERT_EQ(wire.size(), 5u);
  const std::string genesis_root = GenesisRoot();
  ASSERT_TRUE(Replay(wire, genesis_root).ok());
  // The recorded roots of every batch record are the published ones.
  for (const auto& [h, ops] : wire)
    for (const auto& op : ops)
      if (op.type == "validator_batch") {
        auto n = std::stoll(std::string(*op.Field("batch")));
        EXPECT_EQ(*op.Evidence("state_root"), Header(n)->state_root);
        EXPECT_EQ(*op.Evidence("tx_root"), Header(n)->tx_root);
      }

  auto flip = [](std::string& s) { s = s.empty() ? "x" : s.substr(0, s.size() - 1) + (s.back() == '0' ? "1" : "0"); };
  int mutations = 0;
  std::set<std::string> types;
  for (std::size_t b = 0; b < wire.size(); ++b) {
    for (std::size_t i = 0; i < wire[b].second.size(); ++i) {
      const state::Operation original = wire[b].second[i];
      if (!IsModuleOp(original.type)) continue;
      types.insert(original.type);
      std::vector<std::function<void(state::Operation&)>> flips = {
          [&](state::Operation& o) { flip(o.hash); },
          [](state::Operation& o) { o.timestamp += 1; },
          [](state::Operation& o) { o.gas_fee += 1; },
          [](state::Operation& o) { o.evidence.emplace_back("zz", "1"); },
      };
      if (!original.touched.empty()) flips.push_back([](state::Operation& o) { o.touched.pop_back(); });
      if (original.auth == state::Auth::kSigned) {
        flips.push_back([](state::Operation& o) { o.nonce += 1; });
        flips.push_back([](state::Operation& o) { o.signature[7] ^= 1; });
      }
      for (std::size_t f = 0; f < original.fields.size(); ++f)
        flips.push_back([&, f](state::Operation& o) { flip(o.fields[f].second); });
      for (std::size_t f = 0; f < original.evidence.size(); ++f)
        flips.push_back([&, f](state::Operation& o) { flip(o.evidence[f].second); });
      for (const auto& mutate : flips) {
        Wire mutated = wire;
        mutate(mutated[b].second[i]);
        EXPECT_FALSE(Replay(mutated, genesis_root).ok())
            << "batch " << b + 1 << " operation " << i << " (" << original.type << ") mutation " << mutations;
        ++mutations;
      }
    }
  }
  EXPECT_EQ(types.size(), 10u);
  EXPECT_GT(mutations, 100);
}

// What the node could do behind verify's back: edit the module's tables.
TEST_F(ValidatorsReplayTest, TablesEditedBehindTheNodesBackAreFound) {
  History();
  if (HasFatalFailure()) return;
  for (const char* sql :
       {"UPDATE validators SET rewards_pending = rewards_pending + 1",
        "UPDATE validators SET last_active = last_active + 1",
        "UPDATE validator_batches SET distributed = 0 WHERE number = 2",
        "DELETE FROM validator_attestations WHERE batch = 1", "UPDATE validator_unbonding SET status = 'pending'",
        "UPDATE validator_slashes SET amount = amount - 1", "UPDATE validator_config SET quorum_bps = 1"}) {
    auto r = VerifyCopy(sql);
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.error().code, "verify_head_mismatch") << sql << ": " << r.error().message;
  }
  // Stake that appears or vanishes behind the module breaks its invariant,
  // which the live conservation check reports.
  ASSERT_TRUE(ledger_
                  ->WithReader([&](store::Database&) -> Status {
                    auto db = store::Database::Open(ledger_->store_path());
                    if (!db.ok()) return std::move(db).error();
                    return (*db)->Exec("UPDATE validators SET stake = stake + 5 WHERE validator_id = '" +
                                       ValidatorId(v2_.pub) + "'");
                  })
                  .ok());
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_FALSE(rep->ok);
  ASSERT_EQ(rep->violations.size(), 1u);
  EXPECT_NE(rep->violations[0].find("validator_stake_mismatch"), std::string::npos) << rep->violations[0];
  ASSERT_TRUE(ledger_
                  ->WithReader([&](store::Database&) -> Status {
                    auto db = store::Database::Open(ledger_->store_path());
                    if (!db.ok()) return std::move(db).error();
                    return (*db)->Exec("UPDATE validators SET stake = stake - 5 WHERE validator_id = '" +
                                       ValidatorId(v2_.pub) + "'");
                  })
                  .ok());
}

}  // namespace
}  // namespace kray::validators::testing
