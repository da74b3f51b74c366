// The event feed's messages and its replay read (see feed_events.h).
#include "feed_events.h"

#include <algorithm>
#include <set>

#include "kray/bridge/scanner.h"
#include "kray/bridge/withdrawals.h"
#include "kray/rollup/json.h"
#include "kray/rollup/rollup.h"
#include "kray/state/leaves.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "kray/state/redo.h"
#include "kray/store/database.h"
#include "op_json.h"

namespace kray::api::feed {
namespace {

FeedMessage Share(const Json& j) {
  return std::make_shared<const std::string>(j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Json BatchData(const rollup::BatchHeader& b) {
  Json j = Json::parse(rollup::BatchJson(b), nullptr, false);
  return j.is_discarded() ? Json::object() : j;
}

// Batches with since < last_seq <= head, oldest first. Each batch holds at
// least one operation, so there are at most head - since of them.
Result<std::vector<rollup::BatchHeader>> BatchesAfter(const rollup::Rollup& rollup, std::uint64_t since,
                                                      std::uint64_t head) {
  constexpr int kPage = 500;
  std::vector<rollup::BatchHeader> out;
  Status s = rollup.WithReader([&](store::Database& db) -> Status {
    std::int64_t before = 0;
    while (true) {
      auto page = rollup::ListBatches(db, kPage, before, 0);
      if (!page.ok()) return std::move(page).error();
      for (auto& b : *page) {
        if (static_cast<std::uint64_t>(b.last_seq) <= since) return Ok();
        if (static_cast<std::uint64_t>(b.last_seq) <= head) out.push_back(std::move(b));
      }
      if (page->size() < static_cast<std::size_t>(kPage)) return Ok();
      before = page->back().number;
    }
  });
  if (!s.ok()) return std::move(s).error();
  std::reverse(out.begin(), out.end());
  return out;
}

// The batch holding `seq`, from the batches read for the replay (nullopt:
// not batched yet, or batched before `since`).
std::optional<std::int64_t> BatchOf(const std::vector<rollup::BatchHeader>& batches, std::uint64_t seq) {
  auto it = std::lower_bound(batches.begin(), batches.end(), seq, [](const rollup::BatchHeader& b, std::uint64_t s) {
    return static_cast<std::uint64_t>(b.last_seq) < s;
  });
  if (it == batches.end() || static_cast<std::uint64_t>(it->first_seq) > seq) return std::nullopt;
  return it->number;
}

struct LogSnapshot {
  std::uint64_t head = 0;
  std::vector<state::Operation> ops;
  std::map<std::string, state::Account> accounts;  // state at head, for the account topics
};

Result<LogSnapshot> ReadLog(const state::Ledger& ledger, const ReplayRequest& req) {
  LogSnapshot snap;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction tx(db);
    KRAY_TRY(tx.status());
    auto head = state::LastSeq(db);
    if (!head.ok()) return std::move(head).error();
    snap.head = *head;
    if (req.since > snap.head) {
      return Error::Invalid("invalid_since", "since " + std::to_string(req.since) +
                                                 " is above the last committed operation (" +
                                                 std::to_string(snap.head) + ")");
    }
    if (snap.head - req.since > req.max_replay) {
      return Error::Invalid("resume_too_old", std::to_string(snap.head - req.since) +
                                                  " operations were committed after since " +
                                                  std::to_string(req.since) + ", more than the replay bound (" +
                                                  std::to_string(req.max_replay) +
                                                  "); resynchronise over REST, then subscribe without since");
    }
    if (snap.head == req.since || (!req.txs && req.accounts.empty())) return Ok();
    auto ops = state::OperationsInRange(db, req.since + 1, snap.head, req.max_replay);
    if (!ops.ok()) return std::move(ops).error();
    snap.ops = std::move(*ops);
    // The accounts exactly at head: with their rows this snapshot holds as
    // records only (kray/state/redo.h), not the node's newer ones.
    const std::set<std::string> wanted(req.accounts.begin(), req.accounts.end());
    auto redo = state::ReadRedo(db, &wanted);
    if (!redo.ok()) return std::move(redo).error();
    state::RedoScope exact(&*redo);
    for (const auto& id : req.accounts) {
      auto account = state::LoadAccountState(db, id);
      if (account.ok()) {
        snap.accounts.emplace(id, std::move(*account));
      } else if (account.error().kind != ErrorKind::kNotFound) {
        return std::move(account).error();
      }
    }
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return snap;
}

Json BalancesJson(const state::Account& a) {
  Json j = Json::object();
  for (const auto& b : a.balances) {
    j[b.asset] = {{"available", AmountString(b.available)},
                  {"staked", AmountString(b.staked)},
                  {"locked", AmountString(b.locked)}};
  }
  return j;
}

}  // namespace

FeedMessage EventMessage(std::string_view topic, std::string_view event, std::optional<std::uint64_t> seq,
                         const Json& data) {
  Json j = {{"type", "event"}, {"topic", topic}, {"event", event}};
  if (seq) j["seq"] = *seq;
  j["data"] = data;
  return Share(j);
}

FeedMessage ErrorMessage(const Json& id, const Error& error) {
  Json j = {{"type", "error"}};
  if (!id.is_null()) j["id"] = id;
  j["code"] = error.code;
  j["message"] = error.message;
  return Share(j);
}

FeedMessage ControlMessage(std::string_view type, Json body) {
  body["type"] = type;
  return Share(body);
}

Json AccountEventData(std::string_view account_id, const Json& operation, std::uint64_t balances_seq,
                      const state::Account* state) {
  Json j = {{"account_id", account_id}, {"operation", operation}, {"balances_seq", balances_seq}};
  j["nonce"] = state ? state->nonce : 0;
  j["balances"] = state ? BalancesJson(*state) : Json::object();
  return j;
}

Json WithdrawalEventData(const bridge::Withdrawal& w) {
  return {{"id", w.id},
          {"account_id", w.account_id},
          {"asset", w.asset},
          {"amount", AmountString(w.amount)},
          {"l1_address", w.l1_address},
          {"status", w.status},
          {"deadline", w.deadline},
          {"challenged_by", w.challenged_by.empty() ? Json(nullptr) : Json(w.challenged_by)},
          {"resolution", w.resolution.empty() ? Json(nullptr) : Json(w.resolution)},
          {"spend_id", w.spend_id.empty() ? Json(nullptr) : Json(w.spend_id)}};
}

Json DepositEventData(const bridge::ObservedDeposit& d) {
  // "BTC:100000,DOG:5" -> {"BTC":"100000","DOG":"5"}, as the REST status.
  Json assets = Json::object();
  std::string_view rest = d.assets;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    auto colon = item.find(':');
    if (colon != std::string_view::npos)
      assets[std::string(item.substr(0, colon))] = std::string(item.substr(colon + 1));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return {{"txid", d.txid},
          {"vout", d.vout},
          {"status", d.status},
          {"detail", d.detail},
          {"address_index", d.address_index},
          {"assets", assets},
          {"sats", std::to_string(d.sats)},
          {"runes", d.runes},
          {"height", d.height},
          {"block_hash", d.block_hash},
          {"required", d.required},
          {"credited_operation", d.operation.empty() ? Json(nullptr) : Json(d.operation)}};
}

std::vector<std::string> TouchedAccounts(const state::Operation& op) {
  std::vector<std::string> out;
  for (const auto& leaf : op.touched) {
    if (leaf.type == state::kAccountLeaf && std::find(out.begin(), out.end(), leaf.id) == out.end()) {
      out.push_back(leaf.id);
    }
  }
  return out;
}

Result<ReplayResult> ReadReplay(const state::Ledger& ledger, const rollup::Rollup* rollup, const ReplayRequest& req) {
  auto log = ReadLog(ledger, req);
  if (!log.ok()) return std::move(log).error();
  std::vector<rollup::BatchHeader> batches;
  if (rollup && log->head > req.since) {
    auto read = BatchesAfter(*rollup, req.since, log->head);
    if (!read.ok()) return std::move(read).error();
    batches = std::move(*read);
  }
  ReplayResult out;
  out.head = log->head;
  const std::set<std::string> wanted(req.accounts.begin(), req.accounts.end());
  auto next_batch = batches.begin();
  auto emit_batches_up_to = [&](std::uint64_t seq) {
    for (; next_batch != batches.end() && static_cast<std::uint64_t>(next_batch->last_seq) <= seq; ++next_batch) {
      if (!req.batches) continue;
      auto seq_of = static_cast<std::uint64_t>(next_batch->last_seq);
      out.events.push_back({std::string(kBatchesTopic), seq_of,
                            EventMessage(kBatchesTopic, "batch_closed", seq_of, BatchData(*next_batch))});
      out.last_batch = next_batch->number;
    }
  };
  for (const auto& op : log->ops) {
    Json op_json = OperationJson(op, "confirmed", BatchOf(batches, op.seq));
    if (req.txs)
      out.events.push_back({std::string(kTxsTopic), op.seq, EventMessage(kTxsTopic, "operation", op.seq, op_json)});
    for (const auto& id : TouchedAccounts(op)) {
      if (!wanted.count(id)) continue;
      auto it = log->accounts.find(id);
      std::string topic = std::string(kAccountPrefix) + id;
      Json data = AccountEventData(id, op_json, log->head, it == log->accounts.end() ? nullptr : &it->second);
      out.events.push_back({topic, op.seq, EventMessage(topic, "operation", op.seq, data)});
    }
    emit_batches_up_to(op.seq);
  }
  emit_batches_up_to(log->head);
  return out;
}

}  // namespace kray::api::feed
