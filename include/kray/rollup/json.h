// JSON wire format of the rollup endpoints (docs/ROLLUP.md, "API"), shared by
// the API handlers (encode) and kray-cli verifychain/verifyproof (decode) so
// both sides agree on one definition. Strings in, strings out: nlohmann/json
// stays in json.cpp. Decoders never throw and bound every size.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kray/rollup/batch.h"

namespace kray::rollup {

std::string RollupStatusJson(const RollupStatus& st, std::int64_t batches);
std::string BatchJson(const BatchHeader& b, const std::vector<std::string>* tx_hashes);
std::string BatchListJson(const std::vector<BatchHeader>& batches, std::int64_t total, int limit, int offset);
std::string BatchTransactionsJson(const BatchHeader& b, const std::vector<state::TxRecord>& txs,
                                  const std::vector<AccountEvent>& events);
std::string GenesisJson(const RollupStatus& st, const std::vector<Bytes>& leaves);
std::string AccountProofJson(const AccountProof& p);

// Decoders (Invalid "invalid_json" / "invalid_field" on bad input).
Result<AccountProof> AccountProofFromJson(std::string_view json);
Result<BatchHeader> BatchFromJson(std::string_view json);
struct BatchContents {
  BatchHeader header;  // the "batch" object
  std::vector<state::TxRecord> txs;
  std::vector<AccountEvent> events;
};
Result<BatchContents> BatchTransactionsFromJson(std::string_view json);
struct GenesisSnapshot {
  std::string genesis_root;
  std::int64_t base_seq = 0;
  std::vector<Bytes> leaves;
};
Result<GenesisSnapshot> GenesisFromJson(std::string_view json);
// {"total": N} of a batch list, for paging.
Result<std::int64_t> BatchListTotalFromJson(std::string_view json);

}  // namespace kray::rollup
