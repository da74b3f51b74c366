// Validator endpoints (docs/API.md, "Validators"; docs/VALIDATORS.md).
// Writes (operations of the validators module, one signing rule):
//   POST /api/validator/register               validator_register      signed (account_id)
//   POST /api/validator/stake                  stake                   signed (account_id)
//   POST /api/validator/unstake                unstake                 signed (account_id)
//   POST /api/validator/:id/claim-rewards      validator_claim_rewards signed (account_id); :id = validator_id
//   POST /api/validator/equivocation           validator_equivocation  signed (account_id, the reporter)
//   POST /api/validator/attest                 validator_attest        public (validator key signature in the body)
//   POST /api/validator/heartbeat              validator_heartbeat     public (validator key signature in the body)
// Reads:
//   GET /api/validator/list?status=active|all&after=&limit=
//   GET /api/validator/stats
//   GET /api/validator/consensus/state        this node's role, the active set, the latest batch's attestations
//   GET /api/validator/:id                    by validator id, account id or address
//   GET /api/validator/:id/attestations?before=&limit=
// The attestations of a rollup batch are part of GET /api/rollup/batch/:id.
#pragma once

namespace kray::api {

class Router;
struct ApiContext;

void RegisterValidatorRoutes(Router& router, const ApiContext& ctx);

}  // namespace kray::api
