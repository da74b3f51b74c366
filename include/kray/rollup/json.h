// JSON wire format of the rollup endpoints (docs/ROLLUP.md, "API"), shared by
// the API handlers (encode) and kray-cli verifychain/verifyproof (decode) so
// both sides agree on one definition. Operations are encoded here too: the
// API embeds OperationJson wherever it serves an operation. Strings in,
// strings out: nlohmann/json stays in json.cpp. Decoders never throw and
// bound every size.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/rollup/batch.h"
#include "kray/state/operation.h"

namespace kray::rollup {

// An operation as recorded: every field a verifier needs to re-execute it.
//   {"seq","tx_hash","type","auth","signer","nonce","sig_scheme","signature",
//    "fields":{…},"evidence":{…},"timestamp","gas_fee","touched":["<type>:<id>",…]}
std::string OperationJson(const state::Operation& op);
Result<state::Operation> OperationFromJson(std::string_view json);

std::string RollupStatusJson(const RollupStatus& st, std::int64_t batches);
std::string BatchJson(const BatchHeader& b);
// `next_before`: pass as ?before= for the next (older) page; 0 = no more.
std::string BatchListJson(const std::vector<BatchHeader>& batches, std::int64_t total, int limit,
                          std::int64_t next_before);
// One page of a batch's operations; `next_after`: pass as ?after= for the
// next page, nullopt when this page ends the batch.
std::string BatchOperationsJson(const BatchHeader& b, const std::vector<state::Operation>& ops,
                                std::optional<std::int64_t> next_after);
std::string LeafProofJson(const LeafProof& p);

// Decoders (Invalid "invalid_json" / "invalid_field" on bad input).
Result<LeafProof> LeafProofFromJson(std::string_view json);
Result<BatchHeader> BatchFromJson(std::string_view json);
struct BatchOperationsPage {
  BatchHeader header;
  std::vector<state::Operation> ops;
  std::optional<std::int64_t> next_after;
};
Result<BatchOperationsPage> BatchOperationsFromJson(std::string_view json);
struct GenesisInfo {
  std::string genesis_root, genesis_hash, genesis_file;
};
Result<GenesisInfo> GenesisFromJson(std::string_view json);

}  // namespace kray::rollup
