// Validator endpoints (see include/kray/api/handlers_validators.h). Writes are
// the validators module's operations built with the one signing rule; reads
// call the module's read queries (kray/validators/reads.h) on a pooled read
// connection, and the rollup index for the latest batch.
#include "kray/api/handlers_validators.h"

#include "kray/api/router.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/rollup.h"
#include "kray/state/request.h"
#include "kray/validators/reads.h"
#include "kray/validators/validators.h"
#include "module_routes.h"
#include "validators_json.h"

namespace kray::api {
namespace {

constexpr int kMaxLimit = 500;
constexpr int kDetailRows = 50;  // unbonding entries and slashes shown with a validator

Json UptimeJson(const validators::Uptime& u, const validators::Config& c) {
  std::string percent = validators::UptimePercent(u);
  return Json{{"attested", u.attested},
              {"batches", u.batches},
              {"window", c.uptime_window},
              {"percent", percent.empty() ? Json(nullptr) : Json(percent)}};
}

Json ValidatorJson(const validators::ValidatorDetails& d, const validators::Config& c) {
  const validators::Validator& v = d.validator;
  return Json{{"validator_id", v.validator_id},
              {"account_id", v.account_id},
              {"pubkey", v.pubkey},
              {"l1_address", v.l1_address},
              {"status", validators::ValidatorStatusName(d.status)},
              {"stake_credits", AmountString(v.stake)},
              {"stake_kray", KrayString(v.stake)},
              {"unbonding_credits", AmountString(d.unbonding)},
              {"rewards",
               {{"pending_credits", AmountString(v.rewards_pending)},
                {"earned_credits", AmountString(v.rewards_earned)},
                {"claimed_credits", AmountString(v.rewards_claimed)}}},
              {"slashed_credits", AmountString(v.slashed)},
              {"registered_at", v.registered_at},
              {"last_active", v.last_active},
              {"last_heartbeat", v.last_heartbeat == 0 ? Json(nullptr) : Json(v.last_heartbeat)},
              {"blocks_validated", v.blocks_validated},
              {"last_attested_batch", v.last_attested_batch == 0 ? Json(nullptr) : Json(v.last_attested_batch)},
              {"uptime", UptimeJson(d.uptime, c)}};
}

Json ConfigJson(const validators::Config& c) {
  return Json{{"min_stake_credits", AmountString(c.min_stake)},
              {"unbonding_period", c.unbonding_period},
              {"liveness_window", c.liveness_window},
              {"downtime_slash_bps", c.downtime_slash_bps},
              {"equivocation_slash_bps", c.equivocation_slash_bps},
              {"quorum_bps", c.quorum_bps},
              {"uptime_window", c.uptime_window}};
}

Json AttestationJson(const validators::Attestation& a) {
  return Json{{"validator_id", a.validator_id}, {"batch", a.batch},         {"state_root", a.state_root},
              {"tx_root", a.tx_root},           {"signature", a.signature}, {"attested_at", a.attested_at}};
}

// A validator named by its id (val_…), or by its staking account (id or address).
Result<validators::Validator> FindNamed(const ApiContext& ctx, store::Database& db, std::string_view who) {
  Result<std::optional<validators::Validator>> found = std::optional<validators::Validator>();
  if (who.rfind("val_", 0) == 0) {
    found = validators::FindValidator(db, who);
  } else {
    auto account = state::ResolveAccount(ctx.ledger->params(), who);
    if (!account.ok())
      return Error::Invalid("invalid_validator_id",
                            "'" + std::string(who) + "' is neither a validator id (val_…) nor an account");
    found = validators::FindValidatorOfAccount(db, account->account_id);
  }
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value()) return Error::NotFound("validator_not_found", "no validator " + std::string(who));
  return std::move(**found);
}

void List(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto limit = QueryInt(req, "limit", 100, 1, kMaxLimit);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto status = req.Query("status").value_or("all");
  if (status != "all" && status != "active")
    return reply(ErrorResponse(Error::Invalid("invalid_field", "query parameter 'status' must be 'all' or 'active'")));
  std::string after(req.Query("after").value_or(""));
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    store::ReadTransaction snapshot(db);
    auto config = validators::LoadConfig(db);
    if (!config.ok()) return std::move(config).error();
    auto list = validators::ListValidators(db, *config, status == "active", after, *limit);
    if (!list.ok()) return std::move(list).error();
    Json arr = Json::array();
    for (const auto& d : *list) arr.push_back(ValidatorJson(d, *config));
    bool full = static_cast<int>(list->size()) == *limit;
    return Json{{"validators", std::move(arr)},
                {"count", list->size()},
                {"limit", *limit},
                {"next_after", full ? Json(list->back().validator.validator_id) : Json(nullptr)}};
  });
}

void One(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  std::string who(req.Param("id"));
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    store::ReadTransaction snapshot(db);
    auto v = FindNamed(ctx, db, who);
    if (!v.ok()) return std::move(v).error();
    auto config = validators::LoadConfig(db);
    if (!config.ok()) return std::move(config).error();
    auto d = validators::Describe(db, *config, *v);
    if (!d.ok()) return std::move(d).error();
    auto unbonding = validators::UnbondingOf(db, v->validator_id, kDetailRows);
    if (!unbonding.ok()) return std::move(unbonding).error();
    auto slashes = validators::SlashesOf(db, v->validator_id, kDetailRows);
    if (!slashes.ok()) return std::move(slashes).error();
    Json j = ValidatorJson(*d, *config);
    j["unbonding"] = Json::array();
    for (const auto& u : *unbonding)
      j["unbonding"].push_back({{"unbonding_id", u.unbonding_id},
                                {"amount_credits", AmountString(u.amount)},
                                {"started_at", u.started_at},
                                {"ends_at", u.ends_at},
                                {"status", u.completed ? "completed" : "pending"}});
    j["slashes"] = Json::array();
    for (const auto& s : *slashes)
      j["slashes"].push_back({{"slash_id", s.slash_id},
                              {"kind", validators::SlashKindName(s.kind)},
                              {"batch", s.batch == 0 ? Json(nullptr) : Json(s.batch)},
                              {"amount_credits", AmountString(s.amount)},
                              {"slashed_at", s.slashed_at}});
    return j;
  });
}

void Attestations(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  std::string who(req.Param("id"));
  auto limit = QueryInt(req, "limit", 100, 1, kMaxLimit);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto before = QueryU64(req, "before");
  if (!before.ok()) return reply(ErrorResponse(before.error()));
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto v = FindNamed(ctx, db, who);
    if (!v.ok()) return std::move(v).error();
    auto list = validators::AttestationsBy(db, v->validator_id, *before, *limit);
    if (!list.ok()) return std::move(list).error();
    Json arr = Json::array();
    for (const auto& a : *list) arr.push_back(AttestationJson(a));
    bool full = static_cast<int>(list->size()) == *limit;
    return Json{{"validator_id", v->validator_id},
                {"attestations", std::move(arr)},
                {"next_before", full ? Json(list->back().batch) : Json(nullptr)}};
  });
}

void Stats(const ApiContext& ctx, const HttpRequest&, Reply reply) {
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    store::ReadTransaction snapshot(db);
    auto config = validators::LoadConfig(db);
    if (!config.ok()) return std::move(config).error();
    auto s = validators::GetStats(db, *config);
    if (!s.ok()) return std::move(s).error();
    return Json{{"validators", {{"active", s->active}, {"inactive", s->inactive}, {"exited", s->exited}}},
                {"bonded_credits", AmountString(s->bonded)},
                {"unbonding_credits", AmountString(s->unbonding)},
                {"rewards",
                 {{"pending_credits", AmountString(s->rewards_pending)},
                  {"earned_credits", AmountString(s->rewards_earned)},
                  {"claimed_credits", AmountString(s->rewards_claimed)}}},
                {"slashed_credits", AmountString(s->slashed)},
                {"slashes", {{"downtime", s->downtime_slashes}, {"equivocation", s->equivocation_slashes}}},
                {"batches_recorded", s->batches_recorded},
                {"attestations", s->attestations},
                {"gas_retained_credits", AmountString(s->gas_retained)},
                {"gas_distributed_credits", AmountString(s->distributed)},
                {"config", ConfigJson(*config)}};
  });
}

// The latest closed batch of the rollup index (nullopt before the first).
Result<std::optional<rollup::BatchHeader>> LatestBatch(const ApiContext& ctx) {
  std::optional<rollup::BatchHeader> out;
  if (!ctx.rollup) return out;
  Status s = ctx.rollup->WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    auto st = rollup::GetRollupStatus(db);
    if (!st.ok()) return std::move(st).error();
    if (st->last_batch() == 0) return Ok();
    auto b = rollup::GetBatch(db, st->last_batch());
    if (!b.ok()) return std::move(b).error();
    out = std::move(*b);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

// What this node is, truthfully: the single sequencer of its chain; no
// election or term exists. The active validator set attests its batches.
void ConsensusState(const ApiContext& ctx, const HttpRequest&, Reply reply) {
  auto latest = LatestBatch(ctx);
  if (!latest.ok()) return reply(ErrorResponse(latest.error()));
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    store::ReadTransaction snapshot(db);
    auto config = validators::LoadConfig(db);
    if (!config.ok()) return std::move(config).error();
    auto set = validators::ListValidators(db, *config, true, "", kMaxLimit);
    if (!set.ok()) return std::move(set).error();
    auto active = validators::GetActiveSet(db, *config);
    if (!active.ok()) return std::move(active).error();
    Json members = Json::array();
    for (const auto& d : *set)
      members.push_back({{"validator_id", d.validator.validator_id},
                         {"account_id", d.validator.account_id},
                         {"stake_credits", AmountString(d.validator.stake)},
                         {"last_active", d.validator.last_active}});
    auto needed = static_cast<u128>(active->stake) * config->quorum_bps;
    Json j = {{"role", "sequencer"},
              {"mode", "single-sequencer"},
              {"chain_id", ctx.ledger->params().chain_id},
              {"node_time", ctx.ledger->Now()},
              {"active_validators", active->count},
              {"active_stake_credits", AmountString(active->stake)},
              {"quorum_bps", config->quorum_bps},
              {"quorum_stake_credits", U128Decimal((needed + 9999) / 10000)},
              {"validators", std::move(members)},
              {"latest_batch", nullptr}};
    auto last_recorded = validators::LastRecordedBatch(db);
    if (!last_recorded.ok()) return std::move(last_recorded).error();
    j["last_recorded_batch"] = last_recorded->has_value() ? Json((*last_recorded)->number) : Json(nullptr);
    if (latest->has_value()) {
      const auto& b = **latest;
      auto att = validators::AttestationsOf(db, static_cast<std::uint64_t>(b.number), 0);
      if (!att.ok()) return std::move(att).error();
      j["latest_batch"] = {{"number", b.number},
                           {"state_root", b.state_root},
                           {"tx_root", b.tx_root},
                           {"created_at", b.created_at},
                           {"recorded", att->recorded.has_value()},
                           {"attestations", att->count},
                           {"attested_stake_credits", AmountString(att->attested_stake)},
                           {"quorum_reached", att->quorum_reached}};
    }
    return j;
  });
}

}  // namespace

Result<Json> BatchAttestationsJson(const state::Ledger& ledger, std::uint64_t batch) {
  Json block;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    auto att = validators::AttestationsOf(db, batch, 1000);
    if (!att.ok()) return std::move(att).error();
    Json list = Json::array();
    for (const auto& e : att->attestations)
      list.push_back({{"validator_id", e.attestation.validator_id},
                      {"stake_credits", AmountString(e.stake)},
                      {"active", e.active},
                      {"signature", e.attestation.signature},
                      {"attested_at", e.attestation.attested_at}});
    block = {{"recorded", att->recorded.has_value()},
             {"count", att->count},
             {"validators", std::move(list)},
             {"attested_stake_credits", AmountString(att->attested_stake)},
             {"active_stake_credits", AmountString(att->active.stake)},
             {"quorum_bps", att->quorum_bps},
             {"quorum_reached", att->quorum_reached}};
    if (att->recorded) block["gas_distributed_credits"] = AmountString(att->recorded->distributed);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return block;
}

Result<std::string> WithAttestations(const ApiContext& ctx, const std::string& batch_json, std::int64_t batch) {
  Json j = Json::parse(batch_json, nullptr, false);
  if (!j.is_object()) return Error::Internal("batch header JSON is not an object");
  auto block = BatchAttestationsJson(*ctx.ledger, static_cast<std::uint64_t>(batch));
  if (!block.ok()) return std::move(block).error();
  j["attestations"] = std::move(*block);
  return j.dump();
}

void RegisterValidatorRoutes(Router& router, const ApiContext& ctx) {
  auto submit = [&ctx](std::string_view op) {
    return [&ctx, op](const HttpRequest& req, Reply reply) { SubmitBodyAs(ctx, req, std::move(reply), op); };
  };
  auto read = [&ctx](void (*fn)(const ApiContext&, const HttpRequest&, Reply)) {
    return [&ctx, fn](const HttpRequest& req, Reply reply) { fn(ctx, req, std::move(reply)); };
  };
  router.Add("POST", "/api/validator/register", submit(validators::kRegisterOp));
  router.Add("POST", "/api/validator/stake", submit(validators::kStakeOp));
  router.Add("POST", "/api/validator/unstake", submit(validators::kUnstakeOp));
  // The validator key's signature is checked before queueing
  // (OperationType::Precheck), whichever endpoint submits them.
  router.Add("POST", "/api/validator/attest", submit(validators::kAttestOp));
  router.Add("POST", "/api/validator/heartbeat", submit(validators::kHeartbeatOp));
  router.Add("POST", "/api/validator/equivocation", submit(validators::kEquivocationOp));
  router.Add("POST", "/api/validator/:id/claim-rewards", [&ctx](const HttpRequest& req, Reply reply) {
    SubmitBodyAs(ctx, req, std::move(reply), validators::kClaimRewardsOp,
                 {{"validator_id", std::string(req.Param("id"))}});
  });
  router.Add("GET", "/api/validator/list", read(List));
  router.Add("GET", "/api/validator/stats", read(Stats));
  router.Add("GET", "/api/validator/consensus/state", read(ConsensusState));
  router.Add("GET", "/api/validator/:id", read(One));
  router.Add("GET", "/api/validator/:id/attestations", read(Attestations));
}

}  // namespace kray::api
