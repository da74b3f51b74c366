// Ledger: open (migrations, genesis), the write path (see ledger.h).
#include "kray/state/ledger.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "key_points.h"
#include "kray/state/genesis.h"
#include "kray/state/leaves.h"
#include "kray/state/request.h"
#include "ledger_impl.h"

namespace kray::state {
namespace {

// Applies the genesis to a new store, or checks that the store's genesis is
// the configured one. Returns the recorded genesis hash.
Result<std::string> OpenGenesis(store::Database& db, const LedgerOptions& o, const ModuleRegistry& registry) {
  auto stored = ReadMeta(db, "genesis_hash");
  if (!stored.ok()) return std::move(stored).error();
  if (!stored->has_value()) {
    if (o.genesis_path.empty())
      return Error::Invalid("genesis_required", "a new datadir needs a genesis file (genesis=)");
    auto g = LoadGenesisFile(o.params, registry, o.genesis_path);
    if (!g.ok()) return std::move(g).error();
    KRAY_TRY(ApplyGenesis(db, o.params, registry, *g));
    return g->hash_hex;
  }
  auto chain = ReadMeta(db, "chain_id");
  if (!chain.ok()) return std::move(chain).error();
  if (chain->value_or("") != o.params.chain_id) {
    return Error::Invalid("chain_id_mismatch", "datadir belongs to chain '" + chain->value_or("") +
                                                   "', but the configured chain id is '" + o.params.chain_id + "'");
  }
  if (!o.genesis_path.empty()) {
    auto hash = GenesisFileHash(o.genesis_path);
    if (!hash.ok()) return std::move(hash).error();
    if (*hash != **stored) {
      return Error::Invalid("genesis_mismatch",
                            "genesis file '" + o.genesis_path + "' (sha256 " + *hash +
                                ") differs from the genesis this datadir was created with (sha256 " + **stored +
                                "); refusing to start");
    }
  }
  return **stored;
}

// Migration core/002 moved accounts' histories to the history index and left
// their op_index rows, whose keys SQL cannot tell from module entities' (both
// are hashes of a leaf id); they are removed here, once.
Status PurgeAccountHistory(store::Database& db) {
  auto pending = store::QueryInt(db, "SELECT COUNT(*) FROM sqlite_schema WHERE type='table' AND name='op_index_purge'");
  if (!pending.ok()) return std::move(pending).error();
  if (*pending == 0) return Ok();
  store::Transaction tx(db);
  KRAY_TRY(tx.status());
  auto ids = db.Prepare("SELECT account_id FROM accounts");
  if (!ids.ok()) return std::move(ids).error();
  std::size_t purged = 0;
  KRAY_TRY(store::ForEachRow(*ids, [&](const store::Statement& row) -> Status {
    auto del = db.Use("DELETE FROM op_index WHERE key = ?1");
    if (!del.ok()) return std::move(del).error();
    (*del)->BindBlob(1, AccountKey(row.Text(0)));
    KRAY_TRY((*del)->Run());
    purged += static_cast<std::size_t>(db.Changes());
    return Ok();
  }));
  KRAY_TRY(db.Exec("DROP TABLE op_index_purge"));
  KRAY_TRY(tx.Commit());
  if (purged > 0) spdlog::info("op_index: removed {} rows of accounts' histories (now in history.sqlite)", purged);
  return Ok();
}

// The history index is derived from the log: a file that cannot be opened
// (damaged, not a database, from a newer krayd) is moved aside and rebuilt
// rather than keeping the node down.
Result<std::unique_ptr<HistoryIndex>> OpenHistoryIndex(const std::string& datadir, const std::string& state_path,
                                                       const LedgerOptions& options) {
  const std::string path = (std::filesystem::path(datadir) / "history.sqlite").string();
  auto index = HistoryIndex::Open(path, state_path, options.history_interval_ms, options.history_write_intervals,
                                  options.history_generation_bits);
  if (index.ok()) return index;
  spdlog::error("history index: {} cannot be used ({}); moving it to {}.damaged and rebuilding it from the log", path,
                index.error().message, path);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    std::filesystem::rename(path + suffix, path + ".damaged" + suffix, ec);
  }
  index = HistoryIndex::Open(path, state_path, options.history_interval_ms, options.history_write_intervals,
                             options.history_generation_bits);
  if (!index.ok()) {
    Error e = index.error();
    e.message = "history index " + path + ": " + e.message;
    return e;
  }
  return index;
}

}  // namespace

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options, const ModuleRegistry& registry) {
  auto sync = store::ParseSynchronous(options.synchronous);
  if (!sync.ok()) return std::move(sync).error();
  if (options.datadir.empty()) return Error::Invalid("invalid_datadir", "datadir is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.datadir, ec);
  if (ec) return Error::Internal("cannot create datadir '" + options.datadir + "': " + ec.message());

  auto lock = store::DatadirLock::Acquire(options.datadir);
  if (!lock.ok()) return std::move(lock).error();

  std::string path = (std::filesystem::path(options.datadir) / "krayd.sqlite").string();
  auto impl = std::make_unique<Impl>(options, registry, path);
  impl->datadir_lock.emplace(std::move(*lock));
  if (impl->options.max_group == 0) impl->options.max_group = 1;
  store::OpenOptions oo;
  oo.synchronous = *sync;
  oo.batch_wal_writes = true;          // the sequencer's connection is the store's only writer
  oo.checkpoint_in_background = true;  // a checkpoint would stall every request for its length
  auto db = store::Database::Open(path, oo);
  if (!db.ok()) return std::move(db).error();
  KRAY_TRY(registry.Migrate(**db));
  // Before anything reads account rows: the rows the last run had not
  // written back (it stopped uncleanly), from their records.
  const auto redo_start = std::chrono::steady_clock::now();
  auto written_back = ApplyRedo(**db);
  if (!written_back.ok()) return std::move(written_back).error();
  if (*written_back > 0)
    spdlog::warn(
        "account rows: {} accounts the last run had not written back (it did not stop cleanly), written "
        "back from its records in {:.1f} s",
        *written_back, std::chrono::duration<double>(std::chrono::steady_clock::now() - redo_start).count());
  KRAY_TRY(FillKeyPoints(**db));
  auto genesis = OpenGenesis(**db, impl->options, registry);
  if (!genesis.ok()) return std::move(genesis).error();
  impl->genesis_hash = *genesis;
  KRAY_TRY(PurgeAccountHistory(**db));
  impl->sequencer = std::make_unique<Sequencer>(std::move(*db), impl->options, registry, impl->pending, impl->accounts,
                                                impl->metrics);
  if (impl->options.account_write_back_seconds > 0)
    impl->sequencer->EnableWriteBack(impl->unwritten, impl->options.account_write_back_seconds);
  impl->batch_pool.emplace(std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8));
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(impl)));
  Impl& m = *ledger->impl_;
  // Before the history index opens: it checks its position against the log,
  // which must first have back what the store lost.
  if (*sync != store::Synchronous::kNormal && options.input_log) KRAY_TRY(ledger->OpenInputLog());
  auto history = OpenHistoryIndex(options.datadir, path, m.options);
  if (!history.ok()) return std::move(history).error();
  m.history = std::move(*history);
  m.sequencer->AddListener(m.history.get());
  m.history->Start();
  m.sequencer->Start();
  ledger->impl_->key_preloader = std::thread([impl = ledger->impl_.get()] {
    try {
      impl->PreloadKeys();
    } catch (const std::exception& e) {  // an optimisation: keys are still read on demand
      spdlog::warn("key preload stopped: {}", e.what());
    }
  });
  spdlog::info("ledger open: datadir={} store_format={} chain_id={} genesis={}", options.datadir, store::StoreVersion(),
               options.params.chain_id, ledger->impl_->genesis_hash);
  return ledger;
}

Status Ledger::OpenInputLog() {
  Impl& m = *impl_;
  const std::string path = (std::filesystem::path(m.options.datadir) / "inputs.log").string();
  auto log = InputLog::Open(path);
  if (!log.ok()) return std::move(log).error();
  m.input_log = std::move(*log);
  auto position = m.sequencer->InputPosition();
  if (!position.ok()) return std::move(position).error();
  auto records = m.input_log->TakeRecordsAfter(*position);
  m.input_log->NumberAfter(*position);
  m.sequencer->SetInputLog(m.input_log.get());
  if (!records.empty()) {
    // Answered groups whose commit the store lost (power failed before the
    // kernel wrote it): applied again, as they were.
    if (records.front().seq != *position + 1) {
      return Error::Internal("input log " + path + " starts at record " + std::to_string(records.front().seq) +
                             " but the store holds records up to " + std::to_string(*position) +
                             " only: records are missing");
    }
    spdlog::warn("input log: applying again {} group(s) the store does not hold (records {}..{})", records.size(),
                 records.front().seq, records.back().seq);
    KRAY_TRY(m.sequencer->Replay(std::move(records), [this](const std::shared_ptr<Operation>& op, bool accept_legacy) {
      return impl_->CheckSubmitted(*this, op, accept_legacy);
    }));
  }
  // One synced commit: every group of the last run is now durable in the
  // store (a kill -9 leaves them in the kernel's cache only), so the log may
  // start again from its beginning.
  return m.sequencer->SyncInputPosition();
}

Ledger::~Ledger() {
  impl_->stopping = true;
  if (impl_->key_preloader.joinable()) impl_->key_preloader.join();
  impl_->batch_pool.reset();
  impl_->sequencer->Stop();
  if (impl_->input_log) {
    // A clean stop leaves every logged group synced in the store.
    Status synced = impl_->sequencer->SyncInputPosition();
    if (!synced.ok())
      spdlog::error("input log: the last groups could not be synced at shutdown: {}", synced.error().message);
  }
  impl_->sequencer.reset();
  impl_->history.reset();
  impl_->readers.Clear();
}

void Ledger::AddListener(ChangeListener* listener) {
  impl_->sequencer->AddListener(listener);
}

const LedgerMetrics& Ledger::metrics() const {
  return impl_->metrics;
}

void Ledger::RemoveListener(ChangeListener* listener) {
  impl_->sequencer->RemoveListener(listener);
}

namespace {

// Only a committed signed operation, which cost its signer a nonce and gas,
// may grow the address memo's large tier (KeepResolvedAddresses): an
// address is resolved before its signature is checked.
ReceiptCallback KeepAddressesOnceCommitted(const ChainParams& params, ReceiptCallback done) {
  return [&params, done = std::move(done)](Result<Receipt> r) {
    if (r.ok() && r->op && !r->no_change) KeepResolvedAddresses(params, *r->op);
    done(std::move(r));
  };
}

}  // namespace

void Ledger::Submit(Operation op, ReceiptCallback done, ApplyOn apply) {
  Status valid = ValidateOperation(impl_->options.params, impl_->registry, op);
  if (!valid.ok()) return done(std::move(valid).error());
  if (op.auth == Auth::kSigned && NamesAnAddress(op))
    done = KeepAddressesOnceCommitted(impl_->options.params, std::move(done));
  OperationCheck check = [this](const std::shared_ptr<Operation>& o, bool accept_legacy) {
    return impl_->CheckSubmitted(*this, o, accept_legacy);
  };
  // The operator's operations are not logged (the replay of a record does
  // not apply them): they commit with a sync of their own.
  const bool loggable = op.auth == Auth::kSigned || op.auth == Auth::kPublic;
  // Shared from here on by the pending index, the sequencer and the receipt.
  auto shared = std::make_shared<Operation>(std::move(op));
  auto arrival = impl_->sequencer->Announce();
  if (apply == ApplyOn::kCallerIfIdle && loggable && impl_->sequencer->ApplyLoggedIfIdle(shared, check, done, arrival))
    return;
  auto ticket = check(shared, impl_->options.accept_legacy);
  if (!ticket.ok()) return done(std::move(ticket).error());
  impl_->sequencer->Enqueue(OperationCommand{std::move(shared), std::move(done), *ticket, std::move(arrival)},
                            apply == ApplyOn::kCallerIfIdle);
}

Result<std::uint64_t> Ledger::Impl::CheckSubmitted(const Ledger& ledger, const std::shared_ptr<Operation>& shared,
                                                   bool accept_legacy) {
  const Operation& op = *shared;
  const OperationType* type = registry.FindOperation(op.type);  // exists: validated
  if (op.auth == Auth::kSigned) {
    if (op.scheme == SigScheme::kLegacy && !accept_legacy) {
      return Error::Unauthorized("legacy_disabled",
                                 "this node does not accept legacy signatures (acceptlegacy=0); sign the v1 "
                                 "message (docs/SIGNING.md)");
    }
    // Verified here, on the caller's thread: a bound key never changes, so
    // the key seen now is the one the sequencer would check against.
    std::optional<crypto::VerifyingKey> key;
    if (!type->SigningKey(op)) {
      auto bound = BoundKey(op.signer);
      if (!bound.ok()) return std::move(bound).error();
      if (!bound->has_value()) {
        auto acct = ledger.GetAccount(op.signer);
        if (!acct.ok()) return Error::NotFound("account_not_found", "account " + op.signer + " not found");
      }
      key = *bound;
    }
    Status sig = VerifyOperationSignature(options.params, *type, op, key);
    metrics.signature_verifications.Inc();
    if (!sig.ok()) {
      metrics.signature_failures.Inc();
      return std::move(sig).error();
    }
  }
  // Checks against committed state (OperationType::Precheck): what is sure
  // to fail never reaches the sequencer.
  if (op.auth != Auth::kSystem) {
    KRAY_TRY(type->Precheck(options.params, op, [&ledger](const std::function<Status(store::Database&)>& fn) {
      return ledger.WithReader(fn);
    }));
  }
  // Only a signed operation has its hash before it is applied; the index
  // shares the operation, whose hash must then not change (pending.h).
  if (op.auth != Auth::kSigned || op.hash.empty()) return std::uint64_t{0};
  if (pending.Contains(op.hash))
    return Error::Conflict("already_pending", "operation " + op.hash + " is already queued");
  return pending.Add(shared);
}

void Ledger::SubmitRequest(const OperationRequest& request, ReceiptCallback done, ApplyOn apply) {
  auto op = BuildOperation(impl_->options.params, impl_->registry, request, Validation::kAtSubmit);
  if (!op.ok()) return done(std::move(op).error());
  Submit(std::move(*op), std::move(done), apply);  // validates it
}

void Ledger::SubmitMany(std::vector<Operation> ops, std::function<void(std::vector<Result<Receipt>>)> done) {
  struct State {
    std::mutex mu;
    std::vector<std::optional<Result<Receipt>>> results;
    std::size_t left;
    std::function<void(std::vector<Result<Receipt>>)> done;
  };
  if (ops.empty()) return done({});
  auto st = std::make_shared<State>();
  st->results.resize(ops.size());
  st->left = ops.size();
  st->done = std::move(done);
  // Checked (and queued, in order) on the batch pool: a thousand signature
  // checks would otherwise hold the caller's thread, and every connection
  // that thread serves, for ~60 ms.
  impl_->batch_pool->Post([this, st, ops = std::move(ops)]() mutable {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      Submit(std::move(ops[i]), [st, i](Result<Receipt> r) {
        bool last = false;
        {
          std::lock_guard lock(st->mu);
          st->results[i].emplace(std::move(r));
          last = --st->left == 0;
        }
        if (!last) return;
        std::vector<Result<Receipt>> out;
        out.reserve(st->results.size());
        for (auto& r : st->results) out.push_back(std::move(*r));
        st->done(std::move(out));
      });
    }
  });
}

Result<Receipt> Ledger::SubmitSync(Operation op) {
  std::promise<Result<Receipt>> p;
  auto f = p.get_future();
  Submit(std::move(op), [&p](Result<Receipt> r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<Receipt> Ledger::SubmitRequestSync(const OperationRequest& request) {
  std::promise<Result<Receipt>> p;
  auto f = p.get_future();
  SubmitRequest(request, [&p](Result<Receipt> r) { p.set_value(std::move(r)); });
  return f.get();
}

void Ledger::Flush() {
  std::promise<void> p;
  auto f = p.get_future();
  impl_->sequencer->Enqueue(BarrierCommand{[&p] { p.set_value(); }});
  f.get();
}

const ChainParams& Ledger::params() const {
  return impl_->options.params;
}
const ModuleRegistry& Ledger::registry() const {
  return impl_->registry;
}
const LedgerOptions& Ledger::options() const {
  return impl_->options;
}
std::string Ledger::genesis_hash() const {
  return impl_->genesis_hash;
}
Result<std::string> Ledger::genesis_file() const {
  std::string file;
  Status s = WithReader([&](store::Database& db) -> Status {
    auto stored = ReadMeta(db, "genesis_file");
    if (!stored.ok()) return std::move(stored).error();
    file = stored->value_or("");
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return file;
}
std::string Ledger::datadir() const {
  return impl_->options.datadir;
}
Ledger::HistoryIndexStatus Ledger::history_index_status() const {
  const HistoryIndex& h = *impl_->history;
  const HistoryIndex::Reads reads = h.reads();  // the position and its counters together
  return {h.path(),      h.indexed_seq(),    reads.read_seq,          h.passes(),         h.passes_failed(),
          h.id_probes(), h.account_probes(), reads.taken_from_groups, reads.read_from_log};
}

std::string Ledger::store_path() const {
  return impl_->db_path;
}
std::size_t Ledger::unwritten_accounts() const {
  return impl_->unwritten.size();
}

std::size_t Ledger::queue_depth() const {
  return impl_->sequencer->depth();
}
std::int64_t Ledger::Now() const {
  return impl_->sequencer->Now();
}

}  // namespace kray::state
