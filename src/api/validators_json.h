// Private to src/api: the validators' view of a rollup batch, for
// GET /api/rollup/batch/:id (handlers_rollup.cpp); defined in
// handlers_validators.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "kray/api/handlers.h"
#include "kray/core/result.h"

namespace kray::api {

// `batch_json` (a batch header) with "attestations": whether the validators
// module recorded the batch, its attestations with each attester's stake,
// the attested and active stake and whether they reach the quorum.
Result<std::string> WithAttestations(const ApiContext& ctx, const std::string& batch_json, std::int64_t batch);

}  // namespace kray::api
