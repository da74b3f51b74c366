// Ledger: open, genesis, the sequencer (single writer, group commit), writes.
#include "kray/state/ledger.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "kray/bitcoin/taproot_key.h"
#include "kray/state/tx_message.h"
#include "ledger_impl.h"

namespace kray::state {

namespace {
constexpr std::size_t kMaxQueue = 200000;           // back-pressure: 503 beyond this
constexpr std::size_t kMaxCachedEntries = 2000000;  // write-cache trim threshold
}  // namespace

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options) {
  auto sync = store::ParseSynchronous(options.synchronous);
  if (!sync.ok()) return std::move(sync).error();
  if (options.datadir.empty()) return Error::Invalid("invalid_datadir", "datadir is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.datadir, ec);
  if (ec) return Error::Internal("cannot create datadir '" + options.datadir + "': " + ec.message());

  auto impl = std::make_unique<Impl>();
  impl->opts = options;
  if (impl->opts.max_group == 0) impl->opts.max_group = 1;
  impl->db_path = (std::filesystem::path(options.datadir) / "krayd.sqlite").string();
  store::OpenOptions oo;
  oo.synchronous = *sync;
  auto db = store::Database::Open(impl->db_path, oo);
  if (!db.ok()) return std::move(db).error();
  impl->writer = std::move(*db);
  auto gh = ApplyOrCheckGenesis(*impl->writer, impl->opts.params, options.genesis_path);
  if (!gh.ok()) return std::move(gh).error();
  impl->genesis_hash = *gh;
  impl->ctx = std::make_unique<WriteContext>(*impl->writer, impl->opts.params);

  std::unique_ptr<Ledger> ledger(new Ledger(std::move(impl)));
  Impl* p = ledger->impl_.get();
  p->sequencer = std::thread([p] { p->Run(); });
  spdlog::info("ledger open: datadir={} store_version={} chain_id={} genesis={}", options.datadir,
               store::StoreVersion(), p->opts.params.chain_id, p->genesis_hash);
  return ledger;
}

Ledger::~Ledger() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->sequencer.joinable()) impl_->sequencer.join();
  impl_->ctx.reset();
  impl_->readers.clear();
  impl_->writer.reset();
}

void Ledger::SetCommitObserver(CommitObserver* observer) {
  impl_->observer.store(observer);
}

// ---------------- sequencer ----------------

void Ledger::Impl::Enqueue(QueueItem item, const TxRecord* preview) {
  std::unique_lock<std::mutex> lk(mu);
  if (stopping || queue.size() >= kMaxQueue) {
    lk.unlock();
    item.done(Error::Unavailable(stopping ? "shutting_down" : "queue_full",
                                 stopping ? "node is shutting down" : "sequencer queue is full, retry later"));
    return;
  }
  if (preview) {
    item.ticket = next_ticket++;
    pending.emplace(item.ticket, *preview);
  }
  bool was_empty = queue.empty();
  queue.push_back(std::move(item));
  lk.unlock();
  if (was_empty) cv.notify_one();
}

void Ledger::Impl::Run() {
  pthread_setname_np(pthread_self(), "kray-sequencer");
  auto last_tick = std::chrono::steady_clock::now();
  std::vector<QueueItem> group;
  for (;;) {
    group.clear();
    {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait_until(lk, last_tick + std::chrono::seconds(1), [&] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) break;
      while (!queue.empty() && group.size() < opts.max_group) {
        group.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    if (!group.empty()) ProcessGroup(group);
    auto now = std::chrono::steady_clock::now();
    if (now - last_tick >= std::chrono::seconds(1)) {
      last_tick = now;
      Tick();
    }
  }
}

void Ledger::Impl::Tick() {
  CommitObserver* obs = observer.load();
  if (!obs) return;
  store::Transaction tx(*writer);
  if (!tx.ok()) {
    spdlog::error("sequencer tick: cannot begin: {}", tx.status().error().message);
    return;
  }
  Status s = obs->OnTick(*writer, NowSeconds());
  if (s.ok()) s = tx.Commit();
  if (!s.ok()) spdlog::error("sequencer tick failed: {}", s.error().message);
}

void Ledger::Impl::ProcessGroup(std::vector<QueueItem>& group) {
  using Clock = std::chrono::steady_clock;
  std::vector<Status> results(group.size());
  const std::int64_t now = NowSeconds();
  Status group_status = Ok();
  auto t0 = Clock::now(), t1 = t0, t2 = t0, t3 = t0;
  {
    store::Transaction tx(*writer);
    group_status = tx.status();
    if (group_status.ok()) {
      for (std::size_t i = 0; i < group.size(); ++i) {
        ctx->Begin();
        Status s = group[i].op(*ctx, now);
        if (s.ok())
          s = ctx->Commit();
        else
          ctx->Rollback();
        results[i] = std::move(s);
      }
      t1 = Clock::now();
      group_status = ctx->Flush();
      t2 = Clock::now();
      CommitObserver* obs = observer.load();
      if (group_status.ok() && obs && !ctx->applied().empty())
        group_status = obs->OnGroupApplied(*writer, ctx->applied(), ctx->touched());
      t3 = Clock::now();
      if (group_status.ok()) group_status = tx.Commit();
    }
    if (!group_status.ok()) tx.Rollback();
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    auto us = [](auto a, auto b) { return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count(); };
    spdlog::debug("sequencer group: {} items, apply {}us, flush {}us, observer {}us, commit {}us", group.size(),
                  us(t0, t1), us(t1, t2), us(t2, t3), us(t3, Clock::now()));
  }
  if (!group_status.ok()) {
    spdlog::error("sequencer: group of {} rolled back: {}", group.size(), group_status.error().message);
    ctx->ClearCache();
    for (auto& r : results)
      if (r.ok()) r = group_status;
  }
  ctx->ClearApplied();
  if (ctx->CachedEntries() > kMaxCachedEntries) ctx->ClearCache();
  {
    std::lock_guard<std::mutex> lk(mu);
    for (const auto& item : group)
      if (item.ticket) pending.erase(item.ticket);
  }
  for (std::size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
}

// ---------------- writes ----------------

void Ledger::Submit(std::string label, WriteOp op, std::function<void(Status)> done) {
  QueueItem item;
  item.op = std::move(op);
  item.done = [label = std::move(label), done = std::move(done)](Status s) {
    if (!s.ok()) spdlog::debug("write op '{}' failed: {} ({})", label, s.error().message, s.error().code);
    done(std::move(s));
  };
  impl_->Enqueue(std::move(item), nullptr);
}

void Ledger::SubmitTransfer(TransferTx tx, std::function<void(Result<Receipt>)> done) {
  const ChainParams& params = impl_->opts.params;
  auto rt = PrepareTransfer(params, tx);
  if (!rt.ok()) return done(std::move(rt).error());
  // Verify here, on the caller's thread: bound keys are immutable, so a key
  // seen now is the key the sequencer would check against.
  auto key = impl_->BoundKey(rt->from_id);
  if (!key.ok()) return done(std::move(key).error());
  if (!key->has_value()) {
    auto acct = GetAccount(rt->from_id);
    if (!acct.ok()) return done(Error::NotFound("account_not_found", "sender account " + rt->from_id + " not found"));
    return done(Error::Unauthorized("pubkey_not_bound",
                                    "sender " + rt->from_id + " has no key bound; call /api/account/create first"));
  }
  Status v = VerifyTransfer(params, *rt, **key);
  if (!v.ok()) return done(std::move(v).error());

  TxRecord preview = TransferRecord(*rt, "pending", NowSeconds());

  auto out = std::make_shared<TxRecord>();
  auto shared_rt = std::make_shared<ResolvedTransfer>(std::move(*rt));
  QueueItem item;
  item.op = [shared_rt, out](WriteContext& ctx, std::int64_t now) -> Status {
    auto rec = ApplyTransfer(ctx, *shared_rt, now);
    if (!rec.ok()) return std::move(rec).error();
    *out = std::move(*rec);
    return Ok();
  };
  item.done = [out, done = std::move(done)](Status s) {
    if (!s.ok()) return done(std::move(s).error());
    Receipt r;
    r.tx_hash = out->tx_hash;
    r.status = "confirmed";
    r.from_id = out->from_id;
    r.to_id = out->to_id;
    r.asset = out->asset;
    r.amount = out->amount;
    r.gas_fee = out->gas_fee;
    r.new_nonce = out->nonce + 1;
    r.confirmed_at = out->confirmed_at;
    r.seq = out->seq;
    done(std::move(r));
  };
  impl_->Enqueue(std::move(item), &preview);
}

void Ledger::SubmitBatch(std::vector<TransferTx> txs, std::function<void(std::vector<Result<Receipt>>)> done) {
  struct State {
    std::mutex mu;
    std::vector<std::optional<Result<Receipt>>> results;
    std::size_t left;
    std::function<void(std::vector<Result<Receipt>>)> done;
  };
  if (txs.empty()) return done({});
  auto st = std::make_shared<State>();
  st->results.resize(txs.size());
  st->left = txs.size();
  st->done = std::move(done);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    SubmitTransfer(std::move(txs[i]), [st, i](Result<Receipt> r) {
      bool last = false;
      {
        std::lock_guard<std::mutex> lk(st->mu);
        st->results[i].emplace(std::move(r));
        last = --st->left == 0;
      }
      if (last) {
        std::vector<Result<Receipt>> out;
        out.reserve(st->results.size());
        for (auto& r : st->results) out.push_back(std::move(*r));
        st->done(std::move(out));
      }
    });
  }
}

void Ledger::CreateAccount(std::string l1_address, std::string pubkey_hex, std::function<void(Result<Account>)> done) {
  const ChainParams& params = impl_->opts.params;
  std::string addr = l1_address;
  for (auto& c : addr) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto out_key = bitcoin::DecodeP2trAddress(params.hrp(), addr);
  if (!out_key.ok()) {
    return done(Error::Invalid("invalid_address", "'" + l1_address + "' is not a P2TR address of " +
                                                      std::string(NetworkName(params.network)) + ": " +
                                                      out_key.error().message));
  }
  auto key = bitcoin::ParseAccountPubKey(pubkey_hex);
  if (!key.ok()) return done(Error::Invalid("invalid_pubkey", key.error().message));
  Status bip86 = bitcoin::CheckBip86Key(params.hrp(), addr, *key);
  if (!bip86.ok()) {
    return done(
        Error::Invalid("pubkey_address_mismatch",
                       "pubkey is not the BIP-86 internal key of " + addr +
                           " (the address's output key must equal the key tweaked with TapTweak, no script tree)"));
  }
  std::string key_hex = ToHex(*key);
  auto out = std::make_shared<Account>();
  WriteOp op = [addr, key_hex, out](WriteContext& ctx, std::int64_t now) -> Status {
    std::string id = AccountIdFromAddress(addr);
    if (ctx.AccountExists(id)) {
      KRAY_TRY(ctx.BindPubkey(id, key_hex));
    } else {
      KRAY_TRY(ctx.CreateAccount(addr, key_hex, now));
    }
    auto a = ctx.GetAccount(id);
    if (!a.ok()) return std::move(a).error();
    for (const auto& asset : ctx.params().assets) {
      auto b = ctx.GetBalance(id, asset.symbol);
      if (!b.ok()) return std::move(b).error();
      if (b->available || b->staked || b->locked || asset.symbol == kGasAsset) a->balances.push_back(*b);
    }
    *out = std::move(*a);
    return Ok();
  };
  Impl* impl = impl_.get();
  QueueItem item;
  item.op = std::move(op);
  item.done = [impl, out, key = *key, done = std::move(done)](Status s) {
    if (!s.ok()) return done(std::move(s).error());
    {
      std::unique_lock<std::shared_mutex> lk(impl->keys_mu);
      impl->keys[out->account_id] = key;
    }
    done(*out);
  };
  impl_->Enqueue(std::move(item), nullptr);
}

Result<Receipt> Ledger::SubmitTransferSync(TransferTx tx) {
  std::promise<Result<Receipt>> p;
  auto f = p.get_future();
  SubmitTransfer(std::move(tx), [&p](Result<Receipt> r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<Account> Ledger::CreateAccountSync(std::string l1_address, std::string pubkey_hex) {
  std::promise<Result<Account>> p;
  auto f = p.get_future();
  CreateAccount(std::move(l1_address), std::move(pubkey_hex), [&p](Result<Account> r) { p.set_value(std::move(r)); });
  return f.get();
}

Status Ledger::SubmitSync(std::string label, WriteOp op) {
  std::promise<Status> p;
  auto f = p.get_future();
  Submit(std::move(label), std::move(op), [&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

const ChainParams& Ledger::params() const {
  return impl_->opts.params;
}
int Ledger::store_version() const {
  return store::StoreVersion();
}
std::string Ledger::genesis_hash() const {
  return impl_->genesis_hash;
}
std::string Ledger::datadir() const {
  return impl_->opts.datadir;
}
std::size_t Ledger::queue_depth() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->queue.size();
}

}  // namespace kray::state
