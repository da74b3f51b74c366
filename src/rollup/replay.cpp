// Replay engine (see include/kray/rollup/replay.h).
#include "kray/rollup/replay.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "kray/rollup/node_store.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/smt.h"
#include "kray/state/conservation.h"
#include "kray/state/executor.h"
#include "kray/state/genesis.h"
#include "kray/state/leaves.h"
#include "kray/store/database.h"

namespace kray::rollup {
namespace {

Error Diverge(const std::string& code, const std::string& msg) {
  return {ErrorKind::kConflict, code, msg};
}

// The header's gas totals against its operations' fees.
Status CheckBatchGas(const BatchHeader& b, const std::vector<state::Operation>& ops, const std::string& where) {
  BatchGas gas;
  for (const auto& op : ops)
    if (!AddOperationGas(gas, op.gas_fee)) return Diverge("verify_batch_gas_mismatch", where + ": gas overflows");
  if (gas.collected == b.gas_collected && gas.burned == b.gas_burned && gas.retained == b.gas_retained) return Ok();
  auto totals = [](Amount c, Amount bu, Amount re) {
    return std::to_string(c) + "/" + std::to_string(bu) + "/" + std::to_string(re);
  };
  return Diverge("verify_batch_gas_mismatch",
                 where + ": gas collected/burned/retained " + totals(gas.collected, gas.burned, gas.retained) +
                     " recomputed, published " + totals(b.gas_collected, b.gas_burned, b.gas_retained));
}

std::string OpWhere(std::int64_t batch, std::size_t index, const state::Operation& op) {
  std::string where = batch > 0 ? "batch " + std::to_string(batch) : std::string("after the last batch");
  return where + " operation " + std::to_string(index) + " (seq " + std::to_string(op.seq) + ", " + op.type +
         ", hash " + op.hash + ")";
}

// A temp directory removed on scope exit.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& base) {
    std::string tmpl = (std::filesystem::path(base.empty() ? std::filesystem::temp_directory_path().string() : base) /
                        "krayd_verify_XXXXXX")
                           .string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

struct ChainReplayer::Impl {
  Impl(const ChainParams& p, const state::ModuleRegistry& r) : params(p), registry(r) {}
  ChainParams params;
  const state::ModuleRegistry& registry;
  std::unique_ptr<TempDir> tmp;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<state::Executor> exec;
  MemoryNodeStore nodes;
  std::int64_t last_timestamp = 0;
};

ChainReplayer::~ChainReplayer() {
  if (impl_) {
    impl_->exec.reset();
    impl_->db.reset();
  }
}

Result<std::unique_ptr<ChainReplayer>> ChainReplayer::Create(const ChainParams& params,
                                                             const state::ModuleRegistry& registry,
                                                             const std::string& temp_dir) {
  std::unique_ptr<ChainReplayer> r(new ChainReplayer());
  r->impl_ = std::make_unique<Impl>(params, registry);
  r->impl_->tmp = std::make_unique<TempDir>(temp_dir);
  if (r->impl_->tmp->path.empty()) return Error::Internal("verify: cannot create a temp directory");
  store::OpenOptions wo;
  wo.synchronous = store::Synchronous::kNormal;
  auto db = store::Database::Open(r->impl_->tmp->path + "/replay.sqlite", wo);
  if (!db.ok()) return std::move(db).error();
  r->impl_->db = std::move(*db);
  KRAY_TRY(registry.Migrate(*r->impl_->db));
  return r;
}

store::Database& ChainReplayer::db() {
  return *impl_->db;
}

Status ChainReplayer::Genesis(std::string_view genesis_bytes, const std::string& genesis_root_hex) {
  Impl& m = *impl_;
  auto g = state::ParseGenesis(m.params, m.registry, genesis_bytes);
  if (!g.ok()) return Diverge("verify_genesis_mismatch", "genesis: " + g.error().message);
  auto applied = state::ApplyGenesis(*m.db, m.params, m.registry, *g);
  if (!applied.ok()) return Diverge("verify_genesis_mismatch", "genesis: " + applied.error().message);
  auto leaves = AllLeaves(*m.db, m.registry);
  if (!leaves.ok()) return std::move(leaves).error();
  auto root = ApplyLeafChanges(m.nodes, *leaves);
  if (!root.ok()) return std::move(root).error();
  if (ToHex(*root) != genesis_root_hex)
    return Diverge("verify_genesis_mismatch", "genesis: the genesis file gives root " + ToHex(*root) +
                                                  ", the published genesis root is " + genesis_root_hex);
  m.exec = std::make_unique<state::Executor>(*m.db, m.params, m.registry);
  m.last_timestamp = g->timestamp;
  prev_root_ = genesis_root_hex;
  prev_last_ = 0;
  return Ok();
}

Bytes ChainReplayer::LeafData(const state::LeafId& leaf) {
  const state::LeafType* lt = impl_->registry.FindLeafType(leaf.type);
  if (!lt) return {};
  auto data = lt->encode(*impl_->db, leaf.id);
  return data.ok() && data->has_value() ? **data : Bytes{};
}

// Re-validates, re-authorises and re-executes each recorded operation.
Status ChainReplayer::Replay(std::int64_t batch, const std::vector<state::Operation>& ops,
                             std::vector<Hash256>* record_hashes) {
  Impl& m = *impl_;
  std::set<state::LeafId> touched;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const state::Operation& rec = ops[i];
    auto fail = [&](const std::string& why) {
      return Diverge("verify_tx_failed", OpWhere(batch, i, rec) + ": " + why);
    };
    if (static_cast<std::int64_t>(rec.seq) != prev_last_ + 1 + static_cast<std::int64_t>(i))
      return Diverge("verify_batch_gap", OpWhere(batch, i, rec) + ": out of sequence");
    // The sequencer's clock never runs backwards; a backdated operation could
    // claim what had already expired.
    if (rec.timestamp < m.last_timestamp) return fail("timestamp earlier than the previous operation's");
    state::Operation op = rec;
    op.touched.clear();
    Status valid = state::ValidateOperation(m.params, m.registry, op);
    if (!valid.ok()) return fail(valid.error().code + ": " + valid.error().message);
    if (op.auth == state::Auth::kSigned) {
      if (op.hash != rec.hash) return fail("the recorded id is not the id of its content");
      const state::OperationType* type = m.registry.FindOperation(op.type);
      auto key = m.exec->BoundKey(op.signer);
      if (!key.ok()) return std::move(key).error();
      std::optional<crypto::VerifyingKey> parsed;
      if (key->has_value()) {
        parsed = crypto::VerifyingKey::Parse(**key);
        if (!parsed) return fail("the signer's bound key is not a point on the curve");
      }
      Status sig = state::VerifyOperationSignature(m.params, *type, op, parsed);
      if (!sig.ok()) return fail(sig.error().code + ": " + sig.error().message);
    }
    auto receipt = m.exec->Execute(std::move(op), rec.timestamp);
    if (!receipt.ok()) return fail(receipt.error().code + ": " + receipt.error().message);
    if (receipt->no_change) return fail("the operation changes nothing, yet it was recorded");
    const state::Operation& replayed = *receipt->op;
    if (replayed.seq != rec.seq || replayed.hash != rec.hash || replayed.gas_fee != rec.gas_fee)
      return fail("re-executing it gives seq " + std::to_string(replayed.seq) + ", id " + replayed.hash + ", gas " +
                  std::to_string(replayed.gas_fee) + ", not what was recorded");
    if (replayed.touched != rec.touched) return fail("the leaves it changed are not the ones recorded");
    touched.insert(replayed.touched.begin(), replayed.touched.end());
    m.last_timestamp = rec.timestamp;
    if (record_hashes) record_hashes->push_back(state::OperationRecordHash(rec));
  }
  touched_.assign(touched.begin(), touched.end());
  return Ok();
}

Status ChainReplayer::Batch(const BatchHeader& b, const std::vector<state::Operation>& ops) {
  Impl& m = *impl_;
  if (!m.exec) return Error::Internal("verify: Genesis() must come first");
  const std::int64_t n = b.number;
  const std::string where = "batch " + std::to_string(n);
  touched_.clear();
  if (n != batches_ + 1) return Diverge("verify_batch_gap", where + " follows batch " + std::to_string(batches_));
  if (b.first_seq != prev_last_ + 1 || b.last_seq < b.first_seq)
    return Diverge("verify_batch_gap", where + " covers seq " + std::to_string(b.first_seq) + ".." +
                                           std::to_string(b.last_seq) + ", expected to start at " +
                                           std::to_string(prev_last_ + 1));
  if (b.prev_state_root != prev_root_)
    return Diverge("verify_prev_root_mismatch",
                   where + ": prev_state_root " + b.prev_state_root + " is not the previous root " + prev_root_);
  if (static_cast<std::int64_t>(ops.size()) != b.tx_count ||
      static_cast<std::int64_t>(ops.size()) != b.last_seq - b.first_seq + 1)
    return Diverge("verify_batch_gap", where + ": tx_count " + std::to_string(b.tx_count) + " but " +
                                           std::to_string(ops.size()) + " operations");
  store::Transaction tx(*m.db);
  KRAY_TRY(tx.status());
  auto fail = [&](Error e) {
    m.exec->Abort();
    return e;
  };
  std::vector<Hash256> hashes;
  Status replayed = Replay(n, ops, &hashes);
  if (!replayed.ok()) return fail(std::move(replayed).error());
  auto changes = m.exec->FinishGroup();
  if (!changes.ok()) return fail(std::move(changes).error());
  std::string tx_root = ToHex(TxRoot(hashes));
  if (tx_root != b.tx_root)
    return fail(
        Diverge("verify_tx_root_mismatch", where + ": tx root " + tx_root + " recomputed, published " + b.tx_root));
  // The tx root binds each operation's fee, not the header's totals (which
  // the validators' rewards read): they are checked on their own.
  Status gas = CheckBatchGas(b, ops, where);
  if (!gas.ok()) return fail(std::move(gas).error());
  auto root = ApplyLeafChanges(m.nodes, changes->leaves);
  if (!root.ok()) return fail(std::move(root).error());
  if (ToHex(*root) != b.state_root) {
    // Keep the replayed post-batch state so the caller can explain the
    // difference (LeafData); the replay cannot continue past this batch.
    KRAY_TRY(tx.Commit());
    return Diverge("verify_state_root_mismatch",
                   where + ": replayed state root " + ToHex(*root) + ", published " + b.state_root);
  }
  auto cons = state::CheckConservation(*m.db, m.registry);
  if (!cons.ok()) return fail(std::move(cons).error());
  if (!cons->ok) return fail(Diverge("verify_conservation_failed", where + ": " + cons->ToString()));
  KRAY_TRY(tx.Commit());
  prev_root_ = b.state_root;
  prev_last_ = b.last_seq;
  batches_ = n;
  return Ok();
}

Status ChainReplayer::Tail(const std::vector<state::Operation>& ops) {
  Impl& m = *impl_;
  if (!m.exec) return Error::Internal("verify: Genesis() must come first");
  if (ops.empty()) return Ok();
  store::Transaction tx(*m.db);
  KRAY_TRY(tx.status());
  Status replayed = Replay(0, ops, nullptr);
  auto changes = replayed.ok() ? m.exec->FinishGroup() : Result<state::GroupChanges>(replayed.error());
  if (!changes.ok()) {
    m.exec->Abort();
    return std::move(changes).error();
  }
  auto root = ApplyLeafChanges(m.nodes, changes->leaves);
  if (!root.ok()) return std::move(root).error();
  KRAY_TRY(tx.Commit());
  prev_last_ = static_cast<std::int64_t>(ops.back().seq);
  prev_root_ = ToHex(*root);
  return Ok();
}

Status ChainReplayer::CheckTreeCoversState() {
  auto all = AllLeaves(db(), impl_->registry);
  if (!all.ok()) return std::move(all).error();
  std::vector<std::pair<Hash256, Hash256>> leaves;
  leaves.reserve(all->size());
  for (const auto& c : *all)
    if (c.data) leaves.emplace_back(c.key, state::LeafValueHash(*c.data));
  std::string rebuilt = ToHex(SmtRootOf(std::move(leaves)));
  if (rebuilt == prev_root_) return Ok();
  return Error{ErrorKind::kConflict, "verify_untracked_state",
               "the replayed tree root " + prev_root_ + " is not the root of the replayed state's leaves (" + rebuilt +
                   "): an operation changed committed state without touching its leaf"};
}

}  // namespace kray::rollup
