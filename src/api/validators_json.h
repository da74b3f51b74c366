// Private to src/api: the validators' view of a rollup batch, for
// GET /api/rollup/batch/:id (handlers_rollup.cpp) and the event feed's
// batch_attested (event_feed.cpp); defined in handlers_validators.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "kray/api/handlers.h"
#include "kray/api/json_util.h"
#include "kray/core/result.h"

namespace kray::api {

// `batch_json` (a batch header) with "attestations": whether the validators
// module recorded the batch, its attestations with each attester's stake,
// the attested and active stake and whether they reach the quorum.
// The "attestations" block alone, read from `ledger`'s committed state.
Result<Json> BatchAttestationsJson(const state::Ledger& ledger, std::uint64_t batch);
Result<std::string> WithAttestations(const ApiContext& ctx, const std::string& batch_json, std::int64_t batch);

}  // namespace kray::api
