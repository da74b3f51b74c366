// Private to src/bridge: the node-local signing state of the bridge's
// spends in bridge.sqlite (spend_local, spend_versions; schema/bridge_scan/
// 002_spends.sql). Every function takes the connection it runs on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kray/bridge/spend_tx.h"
#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::bridge::local {

struct LocalSpend {
  std::string id, kind;
  std::int64_t batch = 0;
  std::string state;  // reserving | signing | done
  Amount fee_reserve = 0;
  std::vector<SpendInput> inputs;  // outpoint, address index, sats (scripts and runes not stored)
  std::string detail;
  std::int64_t created_at = 0;
};

struct SpendVersion {
  std::string spend_id;
  int version = 1;
  std::string txid;
  std::int64_t fee = 0, feerate = 0;
  std::size_t vsize = 0;
  Bytes psbt;
  std::vector<int> signers;
  Bytes final_tx;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> broadcast_at;
  std::string reject_reason;
  std::string l1_seen;
};

Status InsertSpend(store::Database& db, const LocalSpend& s);
Status SetSpendState(store::Database& db, std::string_view id, std::string_view state);
Status SetSpendDetail(store::Database& db, std::string_view id, std::string_view detail);
Status DeleteSpend(store::Database& db, std::string_view id);
Result<std::optional<LocalSpend>> FindSpend(store::Database& db, std::string_view id);
// Spends in `state`, oldest first.
Result<std::vector<LocalSpend>> SpendsIn(store::Database& db, std::string_view state);

Status PutVersion(store::Database& db, const SpendVersion& v);  // insert or replace
// Every version, oldest first.
Result<std::vector<SpendVersion>> Versions(store::Database& db, std::string_view spend_id);

std::string FormatSigners(const std::vector<int>& members);
std::vector<int> ParseSigners(std::string_view text);

}  // namespace kray::bridge::local
