// A signed transfer's request body -> OperationRequest, the way krayd's
// handlers read it: nlohmann's tree (ParseJsonObject, every body but flat
// ones) against the flat path (FlatBody, src/api/flat_json.h), for one
// /api/transaction/send body and for a /api/transaction/batch body of 500.
// Counter `allocs_per_body` (per item for batches): operator new calls.
#include <benchmark/benchmark.h>

#include <string>

#include "../src/api/flat_json.h"
#include "../src/api/op_json.h"
#include "alloc_count.h"
#include "kray/api/json_util.h"
#include "kray/state/core_module.h"
#include "kray/state/module.h"

namespace {

using namespace kray;

// What kray-loadgen sends: a legacy transfer between two funded accounts.
std::string TransferBody(int i) {
  return R"({"from_account":"kray_6b4b6a6d3f1e2d4c5b6a79888796a5b4c3d2e1f0","to_account":"kray_0f1e2d3c4b5a69788796a5b4c3d2e1f06b4b6a6d",)"
         R"("amount":"1","nonce":)" +
         std::to_string(i) + R"(,"tx_type":"transfer","signature":")" + std::string(128, 'a') + R"("})";
}

std::string BatchBody(int items) {
  std::string body = R"({"transactions":[)";
  for (int i = 0; i < items; ++i) body += (i ? "," : "") + TransferBody(i);
  return body + "]}";
}

const state::OperationType& Transfer() {
  static const state::ModuleRegistry registry;
  return *registry.FindOperation(state::kTransferOp);
}

bool ReadBatch(api::FlatBody& flat, const std::string& body) {
  if (!flat.ParseArrayOf(body, "transactions")) return false;
  bool ok = true;
  for (const auto& item : flat.items()) {
    auto req = api::RequestFromBody(item, Transfer(), {"tx_type"});
    benchmark::DoNotOptimize(req);
    ok = ok && req.ok();
  }
  return ok;
}

template <class Read>
void Run(benchmark::State& state, const std::string& body, std::int64_t items, Read read) {
  std::uint64_t allocations = 0;
  for (auto _ : state) {
    const std::uint64_t before = bench::Allocations();
    if (!read(body)) state.SkipWithError("the body was not read");
    allocations += bench::Allocations() - before;
  }
  state.SetItemsProcessed(state.iterations() * items);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.counters[items == 1 ? "allocs_per_body" : "allocs_per_item"] =
      static_cast<double>(allocations) / static_cast<double>(state.iterations() * static_cast<std::uint64_t>(items));
}

void BM_TransferBodyTree(benchmark::State& state) {
  Run(state, TransferBody(7), 1, [](const std::string& body) {
    auto tree = api::ParseJsonObject(body);
    if (!tree.ok()) return false;
    auto req = api::RequestFromBody(*tree, Transfer(), {"tx_type"});
    benchmark::DoNotOptimize(req);
    return req.ok();
  });
}
BENCHMARK(BM_TransferBodyTree);

void BM_TransferBodyFlat(benchmark::State& state) {
  api::FlatBody flat;  // as krayd's HTTP threads: one each, reused
  Run(state, TransferBody(7), 1, [&](const std::string& body) {
    if (!flat.ParseObject(body)) return false;
    auto req = api::RequestFromBody(flat.object(), Transfer(), {"tx_type"});
    benchmark::DoNotOptimize(req);
    return req.ok();
  });
}
BENCHMARK(BM_TransferBodyFlat);

void BM_BatchBodyTree(benchmark::State& state) {
  Run(state, BatchBody(500), 500, [](const std::string& body) {
    auto tree = api::ParseJsonObject(body);
    if (!tree.ok()) return false;
    bool ok = true;
    for (const auto& item : (*tree)["transactions"]) {
      auto req = api::RequestFromBody(item, Transfer(), {"tx_type"});
      benchmark::DoNotOptimize(req);
      ok = ok && req.ok();
    }
    return ok;
  });
}
BENCHMARK(BM_BatchBodyTree);

// A FlatBody per batch, as krayd for bodies over 16 KiB (kReusedBodyBytes,
// handlers_transaction.cpp).
void BM_BatchBodyFlat(benchmark::State& state) {
  Run(state, BatchBody(500), 500, [](const std::string& body) {
    api::FlatBody flat;
    return ReadBatch(flat, body);
  });
}
BENCHMARK(BM_BatchBodyFlat);

// One FlatBody reused: what its buffers' growth costs the line above.
void BM_BatchBodyFlatReused(benchmark::State& state) {
  api::FlatBody flat;
  Run(state, BatchBody(500), 500, [&](const std::string& body) { return ReadBatch(flat, body); });
}
BENCHMARK(BM_BatchBodyFlatReused);

}  // namespace
