// The validator routes over a real Ledger running the validators module:
// a forged attestation or heartbeat (another key's signature, an unknown
// validator) is refused on the request's own thread, before it is queued,
// by its own endpoint and by the generic POST /api/operation/submit alike
// (OperationType::Precheck, run by Ledger::Submit); a genuine one is queued
// and answered by the sequencer.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "../validators/validators_fixture.h"
#include "kray/api/handlers.h"
#include "kray/api/handlers_validators.h"
#include "kray/api/json_util.h"
#include "kray/api/rate_limiter.h"
#include "kray/api/router.h"

namespace kray::api {
namespace {

using validators::testing::ValidatorsTest;

class ValidatorRoutesTest : public ValidatorsTest {
 protected:
  void SetUp() override {
    ValidatorsTest::SetUp();
    ctx_.ledger = ledger_.get();
    ctx_.rollup = rollup_.get();
    ctx_.version = "test";
    RegisterValidatorRoutes(router_, ctx_);
    RegisterOperationRoutes(router_, ctx_);
  }

  struct Answer {
    HttpResponse response;
    bool before_return = false;  // replied before Dispatch returned
    bool on_caller_thread = false;
  };
  Answer Post(const std::string& path, const Json& body) {
    HttpRequest req;
    req.method = "POST";
    req.target = path;
    req.path = path;
    req.body = body.dump();
    std::promise<HttpResponse> p;
    auto f = p.get_future();
    std::atomic<bool> returned{false};
    Answer a;
    const auto caller = std::this_thread::get_id();
    router_.Dispatch(req, [&](HttpResponse r) {
      a.before_return = !returned.load();
      a.on_caller_thread = std::this_thread::get_id() == caller;
      p.set_value(Built(std::move(r)));
    });
    returned = true;
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    a.response = f.get();
    return a;
  }
  static std::string Code(const Answer& a) { return Json::parse(a.response.body).value("code", ""); }

  Json AttestBody(const validators::testing::TestKey& signer, const std::string& validator_id) {
    const std::string root(64, 'a'), tx(64, 'c');
    return Json{{"validator_id", validator_id},
                {"batch", "1"},
                {"state_root", root},
                {"tx_root", tx},
                {"validator_signature", SignAttestation(signer, 1, root, tx)}};
  }
  Json HeartbeatBody(const validators::testing::TestKey& signer, const std::string& validator_id, std::uint64_t at) {
    auto sig =
        crypto::SchnorrSign(signer.secret, validators::HeartbeatMessage(ledger_->params().chain_id, validator_id, at));
    return Json{{"validator_id", validator_id}, {"at", std::to_string(at)}, {"validator_signature", ToHex(*sig)}};
  }

  ApiContext ctx_;
  Router router_;
};

TEST_F(ValidatorRoutesTest, ForgedAttestationsAndHeartbeatsAreRefusedBeforeQueueing) {
  ASSERT_TRUE(Register(a_, v1_, validators::testing::kMinStake).ok());
  const std::string vid1 = validators::ValidatorId(v1_.pub);
  const std::string vid2 = validators::ValidatorId(v2_.pub);  // not registered
  auto before = ledger_->GetTxStats()->total;

  // Validator 1's id, validator 2's signature.
  Answer forged = Post("/api/validator/attest", AttestBody(v2_, vid1));
  EXPECT_EQ(forged.response.status, 401) << forged.response.body;
  EXPECT_EQ(Code(forged), "invalid_signature");
  EXPECT_TRUE(forged.before_return && forged.on_caller_thread) << "the forged attestation was queued";

  Answer unknown = Post("/api/validator/attest", AttestBody(v2_, vid2));
  EXPECT_EQ(unknown.response.status, 404) << unknown.response.body;
  EXPECT_EQ(Code(unknown), "validator_not_found");
  EXPECT_TRUE(unknown.before_return && unknown.on_caller_thread);

  // A valid signature of other fields than those sent.
  Json tampered = AttestBody(v1_, vid1);
  tampered["batch"] = "2";
  Answer t = Post("/api/validator/attest", tampered);
  EXPECT_EQ(t.response.status, 401) << t.response.body;
  EXPECT_TRUE(t.before_return && t.on_caller_thread);

  const auto now = static_cast<std::uint64_t>(ledger_->Now());
  Answer hb = Post("/api/validator/heartbeat", HeartbeatBody(v2_, vid1, now));
  EXPECT_EQ(hb.response.status, 401) << hb.response.body;
  EXPECT_EQ(Code(hb), "invalid_signature");
  EXPECT_TRUE(hb.before_return && hb.on_caller_thread) << "the forged heartbeat was queued";

  // The generic endpoint takes the same path.
  Answer generic = Post("/api/operation/submit", Json{{"op", "validator_attest"}, {"fields", AttestBody(v2_, vid1)}});
  EXPECT_EQ(generic.response.status, 401) << generic.response.body;
  EXPECT_EQ(Code(generic), "invalid_signature");
  EXPECT_TRUE(generic.before_return && generic.on_caller_thread) << "the forged attestation was queued";
  Answer generic_hb =
      Post("/api/operation/submit", Json{{"op", "validator_heartbeat"}, {"fields", HeartbeatBody(v2_, vid1, now)}});
  EXPECT_EQ(generic_hb.response.status, 401) << generic_hb.response.body;
  EXPECT_TRUE(generic_hb.before_return && generic_hb.on_caller_thread);

  // Malformed input is still the operation's own 400, not a signature error.
  Json bad = AttestBody(v1_, vid1);
  bad["validator_signature"] = "zz";
  Answer b = Post("/api/validator/attest", bad);
  EXPECT_EQ(b.response.status, 400) << b.response.body;

  ledger_->Flush();
  EXPECT_EQ(ledger_->GetTxStats()->total, before);

  // The genuine heartbeat is queued and answered by the sequencer.
  Answer ok = Post("/api/validator/heartbeat", HeartbeatBody(v1_, vid1, now));
  EXPECT_EQ(ok.response.status, 200) << ok.response.body;
  EXPECT_FALSE(ok.on_caller_thread);
  EXPECT_EQ(ledger_->GetTxStats()->total, before + 1);
}

// Attestations and heartbeats are public operations (no key, no gas): each
// takes a token of publicratelimit, as account_create without a signature
// does, before anything else is checked.
TEST_F(ValidatorRoutesTest, AttestationsAndHeartbeatsTakePublicRateLimitTokens) {
  RateLimiter public_limiter(0.001, 2);
  ctx_.public_limiter = &public_limiter;
  ASSERT_TRUE(Register(a_, v1_, validators::testing::kMinStake).ok());  // signed: not limited
  const std::string vid1 = validators::ValidatorId(v1_.pub);
  const auto now = static_cast<std::uint64_t>(ledger_->Now());
  EXPECT_EQ(Post("/api/validator/attest", AttestBody(v2_, vid1)).response.status, 401);
  EXPECT_EQ(Post("/api/validator/heartbeat", HeartbeatBody(v1_, vid1, now)).response.status, 200);
  Answer limited = Post("/api/validator/heartbeat", HeartbeatBody(v1_, vid1, now));
  EXPECT_EQ(limited.response.status, 429) << limited.response.body;
  EXPECT_EQ(Code(limited), "rate_limited");
  EXPECT_EQ(Post("/api/validator/attest", AttestBody(v1_, vid1)).response.status, 429);
  ctx_.public_limiter = nullptr;
}

}  // namespace
}  // namespace kray::api
