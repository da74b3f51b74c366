// The L1 deposit scanner (see include/kray/bridge/scanner.h).
#include "kray/bridge/scanner.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kray/bridge/deposits.h"
#include "kray/bridge/runes_index.h"
#include "kray/bridge/runes_store_sqlite.h"
#include "kray/bridge/runes_sync.h"
#include "kray/bridge/spend_tx.h"
#include "kray/core/progress.h"
#include "kray/state/leaves.h"
#include "kray/state/op_log.h"
#include "kray/store/reader_pool.h"
#include "scan_store.h"
#include "utxo_store.h"

namespace kray::bridge {
namespace {

constexpr std::uint32_t kCoinbaseMaturity = 100;  // Core's COINBASE_MATURITY
constexpr int kCreditsPerPass = 500;
constexpr std::chrono::seconds kMaxBackoff{30};
constexpr std::chrono::seconds kProgressEvery{10};
constexpr std::uint32_t kCatchUpGap = 10;  // blocks behind that make a catch-up (progress, ETA)

std::int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Bitcoin Core's getblockchaininfo "chain" for each network.
bool ChainMatches(Network net, const std::string& chain) {
  switch (net) {
    case Network::kMainnet:
      return chain == "main";
    case Network::kTestnet:
      return chain == "test" || chain == "testnet4";
    case Network::kSignet:
      return chain == "signet";
    case Network::kRegtest:
      return chain == "regtest";
  }
  return false;
}

std::string RunesText(const RuneBalances& balances) {
  std::string out;
  for (const RuneAmount& a : balances) {
    if (!out.empty()) out += ',';
    out += bitcoin::RuneIdToString(a.id) + "=" + bitcoin::U128ToString(a.amount);
  }
  return out;
}

// Errors that mean the scanner cannot go on (not an L1 outage).
bool IsFatal(const Error& e) {
  return e.kind == ErrorKind::kInternal;
}

}  // namespace

Result<std::vector<BridgeRune>> ParseBridgeRunes(const ChainParams& params, std::string_view text) {
  std::vector<BridgeRune> out;
  if (text.empty()) return out;
  auto bad = [&](const std::string& why) {
    return Error::Invalid("invalid_bridge_runes", "bridgerunes '" + std::string(text) + "': " + why);
  };
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string part(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    std::vector<std::string> f;
    std::size_t s = 0;
    while (true) {
      auto c = part.find(':', s);
      f.push_back(part.substr(s, c == std::string::npos ? std::string::npos : c - s));
      if (c == std::string::npos) break;
      s = c + 1;
    }
    if (f.size() != 3 && f.size() != 4) return bad("expected ASSET:BLOCK:TX[:NAME]");
    BridgeRune r;
    r.asset = f[0];
    if (r.asset == "BTC" || !FindAsset(params.assets, r.asset))
      return bad("'" + r.asset + "' is not a configured rune asset");
    auto id = bitcoin::ParseRuneId(f[1] + ":" + f[2]);
    if (!id.ok() || id->block == 0 || id->block > UINT32_MAX) return bad("bad rune id " + f[1] + ":" + f[2]);
    r.id = *id;
    if (f.size() == 4) {
      auto name = bitcoin::ParseRuneName(f[3]);
      if (!name.ok()) return bad("bad rune name '" + f[3] + "' (letters A-Z, no spacers)");
      r.name = *name;
    }
    for (const auto& o : out)
      if (o.asset == r.asset || o.id == r.id) return bad("each asset and rune id at most once");
    out.push_back(std::move(r));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string FormatBridgeRunes(const std::vector<BridgeRune>& runes) {
  std::string out;
  for (const auto& r : runes) {
    if (!out.empty()) out += ',';
    out += r.asset + ":" + bitcoin::RuneIdToString(r.id);
    if (r.name) out += ":" + bitcoin::RuneName(*r.name);
  }
  return out;
}

// ---------------------------------------------------------------------------

struct DepositScanner::Impl {
  Impl(state::Ledger& l, const Federation& f, const ScannerOptions& o)
      : ledger(l), federation(f), opts(o), rpc(o.rpc) {}

  state::Ledger& ledger;
  const Federation federation;
  const ScannerOptions opts;
  std::string path;

  // Scanner thread only (after Open).
  BitcoinRpc rpc;
  std::unique_ptr<store::Database> db;  // bridge.sqlite, writer
  std::unique_ptr<SqliteRunesStore> runes_store;
  std::unique_ptr<RpcPrevoutSource> prevouts;
  std::optional<RunesIndex> runes;
  std::map<Bytes, std::uint32_t> watched;          // scriptPubKey -> address index
  std::set<bitcoin::OutPoint> federation_outputs;  // unspent, as in scan_utxos
  std::uint32_t derived = 0;                       // indexes 0..derived-1 are in `watched`
  std::uint32_t first_height = 0;
  std::optional<ProgressReporter> progress;
  std::uint32_t progress_start = 0;
  std::chrono::steady_clock::time_point last_progress_log;

  mutable std::mutex mu;
  std::condition_variable cv;
  ScannerStatus status;              // guarded by mu
  bool stopping = false;             // guarded by mu
  std::uint64_t sync_requested = 0;  // guarded by mu
  std::uint64_t sync_completed = 0;  // guarded by mu
  Status sync_result = Ok();         // guarded by mu
  std::thread thread;

  mutable store::ReaderPool readers{8, 4096};

  std::mutex listeners_mu;
  std::vector<std::pair<int, DepositListener>> listeners;  // guarded by listeners_mu
  int next_listener = 1;                                   // guarded by listeners_mu
  // Outpoints whose status was written in the open transaction (scanner
  // thread); announced once it commits.
  std::vector<std::pair<std::string, std::uint32_t>> changed;
  void Announce();

  Status Open();
  Status CheckScanState();
  void Run();
  Result<bool> Step();
  Status Reconcile(std::uint32_t l1_height);
  Status ConnectBlock(std::uint32_t height, const Hash256& hash, const bitcoin::Block& block);
  Result<bool> SpendsFederationOutputs(const bitcoin::Transaction& t, const std::string& txid, std::uint32_t height,
                                       std::set<bitcoin::OutPoint>& unspent);
  Status ObserveOutputs(const bitcoin::Transaction& t, std::size_t index_in_block, bool bridge_tx, std::uint32_t height,
                        const Hash256& hash, std::set<bitcoin::OutPoint>& unspent);
  Status DisconnectTip(const scan::ScannedBlock& tip);
  Status EnsureWatched();
  Result<ObservedDeposit> Observe(const Hash256& txid, std::uint32_t n, const bitcoin::Transaction& tx, bool coinbase,
                                  std::uint32_t height, const Hash256& block_hash, std::uint32_t index);
  Status CreditMatured();
  Status Act(const ObservedDeposit& d);
  Result<std::string> Funding(const ObservedDeposit& d);
  void Record(const ObservedDeposit& d, const Result<state::Receipt>& r);
  void NoteL1Error(const Error& e);
  void ReportProgress(std::uint32_t height, std::uint32_t target);
  Status WithReader(const std::function<Status(store::Database&)>& fn) const;
};

Status DepositScanner::Impl::CheckScanState() {
  const std::string descriptor = federation.Descriptor();
  const std::string network(NetworkName(federation.network()));
  const std::string runes_text = FormatBridgeRunes(opts.runes);
  auto st = db->Use("SELECT genesis_hash, network, descriptor, start_height, runes FROM scan_state WHERE id=1");
  if (!st.ok()) return std::move(st).error();
  struct Row {
    std::string genesis, network, descriptor;
    std::int64_t start;
    std::string runes;
  };
  auto row = store::FirstRow<Row>(**st, [](const store::Statement& s) {
    return Row{s.Text(0), s.Text(1), s.Text(2), s.Int64(3), s.Text(4)};
  });
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) {
    auto ins = db->Use(
        "INSERT INTO scan_state (id, genesis_hash, network, descriptor, start_height, runes) "
        "VALUES (1, ?1, ?2, ?3, ?4, ?5)");
    if (!ins.ok()) return std::move(ins).error();
    (*ins)->Bind(1, ledger.genesis_hash()).Bind(2, network).Bind(3, descriptor);
    (*ins)->Bind(4, static_cast<std::int64_t>(opts.start_height)).Bind(5, runes_text);
    return (*ins)->Run();
  }
  const Row& r = **row;
  std::string what;
  if (r.genesis != ledger.genesis_hash()) what = "another store (genesis " + r.genesis + ")";
  if (r.network != network) what = "network " + r.network;
  if (r.descriptor != descriptor) what = "another federation (" + r.descriptor + ")";
  if (r.start != opts.start_height) what = "start height " + std::to_string(r.start);
  if (r.runes != runes_text) what = "runes '" + r.runes + "'";
  if (!what.empty()) {
    return Error::Unavailable("bridge_scan_mismatch",
                              path + " was made for " + what +
                                  "; stop krayd and delete it to rescan (safe: credits are exactly-once in "
                                  "krayd.sqlite)");
  }
  return Ok();
}

Status DepositScanner::Impl::Open() {
  if (opts.confirmations == 0 || opts.confirmations > 10000)
    return Error::Invalid("invalid_bridge_config", "depositconfirmations must be 1..10000");
  if (opts.lookahead == 0) return Error::Invalid("invalid_bridge_config", "the address lookahead must be at least 1");
  if (opts.max_reorg_depth == 0) return Error::Invalid("invalid_bridge_config", "max_reorg_depth must be at least 1");
  auto opened = store::Database::Open(path);
  if (!opened.ok()) return std::move(opened).error();
  db = std::move(*opened);
  KRAY_TRY(db->Migrate("bridge_scan", BridgeScanMigrations()));
  KRAY_TRY(CheckScanState());
  first_height = opts.start_height;
  if (!opts.runes.empty()) {
    runes_store = std::make_unique<SqliteRunesStore>(*db);
    prevouts = std::make_unique<RpcPrevoutSource>(rpc);
    RunesIndexOptions ro;
    ro.network = federation.network();
    ro.max_reorg_depth = opts.max_reorg_depth;
    for (const auto& r : opts.runes) ro.runes.push_back({r.id, r.name});
    auto index = RunesIndex::Make(*runes_store, ro, prevouts.get());
    if (!index.ok()) return std::move(index).error();
    runes.emplace(std::move(*index));
    first_height = std::min(first_height, runes->start_height());
    // The runes index and the scanner move together (one transaction per
    // block), so their tips agree.
    auto rt = runes->Tip();
    if (!rt.ok()) return std::move(rt).error();
    auto st = scan::Tip(*db);
    if (!st.ok()) return std::move(st).error();
    if (*rt && (!*st || (*st)->height != (*rt)->height || (*st)->hash != (*rt)->hash))
      return Error::Internal("bridge.sqlite: the runes index and the scanner are at different blocks");
  }
  KRAY_TRY(scan::RetryFailed(*db));
  auto unspent = scan::UnspentOutpoints(*db);
  if (!unspent.ok()) return std::move(unspent).error();
  federation_outputs = std::move(*unspent);
  auto tip = scan::Tip(*db);
  if (!tip.ok()) return std::move(tip).error();
  auto alarms = scan::CountOpenAlarms(*db);
  if (!alarms.ok()) return std::move(alarms).error();
  std::lock_guard lock(mu);
  status.first_height = first_height;
  status.open_alarms = static_cast<std::size_t>(*alarms);
  if (*tip) {
    status.scan_height = (*tip)->height;
    status.scan_hash = bitcoin::HashToDisplayHex((*tip)->hash);
  }
  return Ok();
}

Status DepositScanner::Impl::EnsureWatched() {
  auto max = ledger.Read<std::uint32_t>([](store::Database& sdb) { return MaxAddressIndex(sdb); });
  if (!max.ok()) return std::move(max).error();
  const std::uint64_t want = std::min<std::uint64_t>(std::uint64_t{*max} + opts.lookahead + 1, 0x80000000ULL);
  while (derived < want) {
    auto policy = federation.Policy(derived);
    if (policy.ok()) {
      watched.emplace(policy->script_pubkey, derived);
    } else if (policy.error().code != "federation_bad_key") {
      return std::move(policy).error();  // an invalid child (p < 2^-127) is skipped, as BIP-32 says
    }
    ++derived;
  }
  std::lock_guard lock(mu);
  status.watched_indexes = derived;
  return Ok();
}

Result<ObservedDeposit> DepositScanner::Impl::Observe(const Hash256& txid, std::uint32_t n,
                                                      const bitcoin::Transaction& tx, bool coinbase,
                                                      std::uint32_t height, const Hash256& block_hash,
                                                      std::uint32_t index) {
  ObservedDeposit d;
  d.txid = bitcoin::HashToDisplayHex(txid);
  d.vout = n;
  d.height = height;
  d.block_hash = bitcoin::HashToDisplayHex(block_hash);
  d.address_index = index;
  d.sats = tx.vout[n].value;
  d.required = coinbase ? std::max(opts.confirmations, kCoinbaseMaturity) : opts.confirmations;
  d.status = "confirming";
  RuneBalances balances;
  if (runes) {
    auto b = runes->Balances(bitcoin::OutPoint{txid, n});
    if (!b.ok()) return std::move(b).error();
    balances = std::move(*b);
  }
  d.runes = RunesText(balances);
  // What it credits: the BTC, and every accepted rune the index gives it.
  // Never part of it: a rune amount that does not fit, or whose unit is not
  // the asset's, makes the whole deposit not creditable (and visible).
  std::vector<AssetAmount> assets;
  if (d.sats > 0) assets.push_back({"BTC", static_cast<Amount>(d.sats)});
  for (const RuneAmount& a : balances) {
    auto cfg = std::find_if(opts.runes.begin(), opts.runes.end(), [&](const BridgeRune& r) { return r.id == a.id; });
    if (cfg == opts.runes.end()) continue;  // the index tracks only configured runes
    auto amount = CreditableRuneAmount(a.amount);
    if (!amount.ok()) {
      d.status = "not_creditable";
      d.detail = amount.error().code;
      return d;
    }
    auto entry = runes->Entry(a.id);
    if (!entry.ok()) return std::move(entry).error();
    const AssetInfo* info = FindAsset(ledger.params().assets, cfg->asset);
    if (!*entry || !info || (*entry)->divisibility != info->decimals) {
      d.status = "not_creditable";
      d.detail = "rune_divisibility_mismatch";
      return d;
    }
    assets.push_back({cfg->asset, *amount});
  }
  d.assets = FormatAssets(assets);
  if (balances.empty() && static_cast<Amount>(std::max<std::int64_t>(d.sats, 0)) < opts.min_deposit_sats) {
    d.status = "not_creditable";
    d.detail = "below_minimum";
  } else if (assets.empty()) {
    d.status = "not_creditable";
    d.detail = "nothing_to_credit";
  }
  return d;
}

// Marks the federation outputs `t` spends; true if it spends any (then it
// is one of the bridge's own transactions: a withdrawal batch or an anchor).
Result<bool> DepositScanner::Impl::SpendsFederationOutputs(const bitcoin::Transaction& t, const std::string& txid,
                                                           std::uint32_t height, std::set<bitcoin::OutPoint>& unspent) {
  bool ours = false;
  for (const auto& in : t.vin) {
    if (!unspent.erase(in.prevout)) continue;
    KRAY_TRY(scan::MarkSpent(*db, in.prevout, txid, height));
    ours = true;
  }
  return ours;
}

// Records the outputs of `t` that pay a watched address: every one is a
// federation output. The bridge's own transactions pay their change to
// index 0, which is not an unattributed deposit; anything else (a deposit,
// or a withdrawal someone sent to an account's deposit address) is a
// deposit.
Status DepositScanner::Impl::ObserveOutputs(const bitcoin::Transaction& t, std::size_t index_in_block, bool bridge_tx,
                                            std::uint32_t height, const Hash256& hash,
                                            std::set<bitcoin::OutPoint>& unspent) {
  std::optional<Hash256> txid;
  for (std::uint32_t n = 0; n < t.vout.size(); ++n) {
    auto w = watched.find(t.vout[n].script_pubkey);
    if (w == watched.end()) continue;
    if (!txid) txid = bitcoin::Txid(t);
    const bool change = bridge_tx && w->second == 0;
    scan::FederationOutput utxo{
        bitcoin::HashToDisplayHex(*txid), n, height, bitcoin::HashToDisplayHex(hash), w->second, t.vout[n].value, 1,
        change ? "change" : "deposit"};
    if (change) {
      KRAY_TRY(scan::PutUtxo(*db, utxo));
      unspent.insert(bitcoin::OutPoint{*txid, n});
      spdlog::info("bridge: change {}:{} of the bridge's own transaction at height {}: {} sats", utxo.txid, n, height,
                   utxo.sats);
      continue;
    }
    auto d = Observe(*txid, n, t, index_in_block == 0, height, hash, w->second);
    if (!d.ok()) return std::move(d).error();
    // The same outpoint seen again: only possible after its block left
    // the chain (orphaned) and the transaction was mined again.
    auto existing = scan::FindDeposit(*db, d->txid, n);
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value() && (*existing)->status == "orphaned") {
      d->status = "reconfirming";
      d->operation = (*existing)->operation;
      spdlog::warn("bridge: credited deposit {}:{} is in the chain again (block {}, height {})", d->txid, n,
                   d->block_hash, height);
    }
    std::string inputs;
    for (std::size_t k = 0; k < t.vin.size() && k < kMaxFundingInputs; ++k) {
      if (index_in_block == 0) break;  // a coinbase has no funding inputs
      if (!inputs.empty()) inputs += ',';
      inputs += bitcoin::HashToDisplayHex(t.vin[k].prevout.txid) + ":" + std::to_string(t.vin[k].prevout.n);
    }
    KRAY_TRY(scan::PutDeposit(*db, *d, inputs));
    changed.emplace_back(d->txid, n);
    utxo.required = d->required;
    KRAY_TRY(scan::PutUtxo(*db, utxo));
    unspent.insert(bitcoin::OutPoint{*txid, n});
    spdlog::info("bridge: deposit {}:{} to address index {} at height {}: {} sats{}{} ({})", d->txid, n,
                 d->address_index, height, d->sats, d->runes.empty() ? "" : ", runes ", d->runes, d->status);
  }
  return Ok();
}

Status DepositScanner::Impl::ConnectBlock(std::uint32_t height, const Hash256& hash, const bitcoin::Block& block) {
  store::Transaction tx(*db);
  KRAY_TRY(tx.status());
  changed.clear();  // what a failed transaction left
  if (runes && height >= runes->start_height()) KRAY_TRY(runes->ConnectBlock(height, block));
  KRAY_TRY(scan::PutBlock(*db, {height, hash}));
  std::set<bitcoin::OutPoint> unspent = federation_outputs;
  if (height >= opts.start_height) {
    KRAY_TRY(EnsureWatched());
    for (std::size_t i = 0; i < block.txs.size(); ++i) {
      const bitcoin::Transaction& t = block.txs[i];
      bool bridge_tx = false;
      if (i != 0 && !unspent.empty()) {
        const std::string txid = bitcoin::HashToDisplayHex(bitcoin::Txid(t));
        auto ours = SpendsFederationOutputs(t, txid, height, unspent);
        if (!ours.ok()) return std::move(ours).error();
        bridge_tx = *ours;
        if (bridge_tx) {
          const auto batch = AnchoredBatch(t);
          KRAY_TRY(scan::PutBridgeTx(*db, txid, height, bitcoin::HashToDisplayHex(hash), batch));
          spdlog::info("bridge: the bridge's own transaction {} mined at height {}{}", txid, height,
                       batch ? " (anchor of batch " + std::to_string(*batch) + ")" : std::string());
        }
      }
      KRAY_TRY(ObserveOutputs(t, i, bridge_tx, height, hash, unspent));
    }
    if (height > opts.max_reorg_depth) KRAY_TRY(scan::PruneSpent(*db, height - opts.max_reorg_depth));
  }
  KRAY_TRY(tx.Commit());
  federation_outputs = std::move(unspent);
  Announce();
  std::lock_guard lock(mu);
  status.scan_height = height;
  status.scan_hash = bitcoin::HashToDisplayHex(hash);
  return Ok();
}

Status DepositScanner::Impl::DisconnectTip(const scan::ScannedBlock& tip) {
  store::Transaction tx(*db);
  KRAY_TRY(tx.status());
  changed.clear();  // what a failed transaction left
  if (runes && tip.height >= runes->start_height()) KRAY_TRY(runes->DisconnectTip());
  auto deposits = scan::DepositsAtHeight(*db, tip.height);
  if (!deposits.ok()) return std::move(deposits).error();
  std::size_t alarms = 0;
  const std::string block_hex = bitcoin::HashToDisplayHex(tip.hash);
  for (const auto& d : *deposits) {
    // Rows of another block at this height were orphaned earlier.
    if (d.block_hash != block_hex) continue;
    // A deposit nothing was done for yet simply goes with its block.
    if (d.status != "credited" && d.status != "unattributed" && d.status != "reconfirming" && d.status != "orphaned") {
      KRAY_TRY(scan::EraseDeposit(*db, d.txid, d.vout));
      continue;
    }
    // It was credited (or recorded) at N confirmations: the operation stays
    // in the log, so the L2 value is no longer backed by this output.
    KRAY_TRY(scan::SetDepositStatus(*db, d.txid, d.vout, "orphaned",
                                    "block " + d.block_hash + " left the chain after the deposit was acted on",
                                    d.operation));
    changed.emplace_back(d.txid, d.vout);
    BridgeAlarm a;
    a.txid = d.txid;
    a.vout = d.vout;
    a.block_hash = d.block_hash;
    a.height = d.height;
    a.operation = d.operation;
    a.detected_at = WallSeconds();
    a.status = "open";
    a.note = "a reorg removed a deposit that was already " + d.status + "; withdrawals are frozen";
    KRAY_TRY(scan::AddAlarm(*db, a));
    spdlog::error(
        "bridge: ALARM: reorg removed block {} (height {}) holding deposit {}:{}, already {} by operation {}; "
        "withdrawals are frozen until the operator resolves it (POST /api/bridge/alarms/resolve) or the "
        "transaction confirms again",
        d.block_hash, d.height, d.txid, d.vout, d.status, d.operation);
    ++alarms;
  }
  KRAY_TRY(scan::UndoBlock(*db, tip.height));
  KRAY_TRY(scan::EraseBlock(*db, tip.height));
  KRAY_TRY(tx.Commit());
  Announce();
  auto unspent = scan::UnspentOutpoints(*db);
  if (!unspent.ok()) return std::move(unspent).error();
  federation_outputs = std::move(*unspent);
  auto next = scan::Tip(*db);
  if (!next.ok()) return std::move(next).error();
  spdlog::warn("bridge: reorg: block {} at height {} disconnected", bitcoin::HashToDisplayHex(tip.hash), tip.height);
  std::lock_guard lock(mu);
  status.open_alarms += alarms;
  status.scan_height = *next ? std::optional<std::uint32_t>((*next)->height) : std::nullopt;
  status.scan_hash = *next ? bitcoin::HashToDisplayHex((*next)->hash) : "";
  return Ok();
}

Status DepositScanner::Impl::Reconcile(std::uint32_t l1_height) {
  std::uint32_t disconnected = 0;
  for (;;) {
    auto tip = scan::Tip(*db);
    if (!tip.ok()) return std::move(tip).error();
    if (!*tip) return Ok();
    if ((*tip)->height <= l1_height) {
      auto hash = rpc.GetBlockHash((*tip)->height);
      if (hash.ok() && *hash == (*tip)->hash) return Ok();
      if (!hash.ok() && hash.error().kind != ErrorKind::kNotFound) return std::move(hash).error();
    }
    if (disconnected >= opts.max_reorg_depth) {
      return Error{ErrorKind::kInternal, "bridge_reorg_too_deep",
                   "Bitcoin Core's chain forked more than " + std::to_string(opts.max_reorg_depth) +
                       " blocks below the scanner's tip; the scanner stopped (rescan: delete bridge.sqlite)"};
    }
    KRAY_TRY(DisconnectTip(**tip));
    ++disconnected;
  }
}

void DepositScanner::Impl::ReportProgress(std::uint32_t height, std::uint32_t target) {
  std::lock_guard lock(mu);
  if (height >= target) {
    if (progress) spdlog::info("bridge: caught up with Bitcoin at height {}", height);
    progress.reset();
    status.catching_up = false;
    status.blocks_per_second = 0;
    status.eta_seconds.reset();
    return;
  }
  // A block or two behind is normal operation, not a catch-up.
  if (!progress && target - height <= kCatchUpGap) return;
  if (!progress) {
    progress.emplace("blocks", "txs", target - height);
    progress_start = height;
    last_progress_log = std::chrono::steady_clock::now();
    spdlog::info("bridge: catching up from height {} to {}", height, target);
  }
  progress->set_total(static_cast<std::int64_t>(target) - progress_start);
  const std::int64_t done = static_cast<std::int64_t>(height) - progress_start;
  auto snap = progress->Measure(done, 0);
  status.catching_up = true;
  status.blocks_per_second = snap.units_per_second;
  status.eta_seconds = snap.eta ? std::optional<std::int64_t>(snap.eta->count()) : std::nullopt;
  if (std::chrono::steady_clock::now() - last_progress_log >= kProgressEvery) {
    last_progress_log = std::chrono::steady_clock::now();
    spdlog::info("bridge: scanning height {} of {}: {}", height, target, progress->Format(done, 0));
  }
}

Result<bool> DepositScanner::Impl::Step() {
  auto info = rpc.GetBlockchainInfo();
  if (!info.ok()) return std::move(info).error();
  {
    std::lock_guard lock(mu);
    status.l1_reachable = true;
    status.l1_error_code.clear();
    status.l1_error.clear();
    status.l1_chain = info->chain;
    status.l1_height = info->blocks;
    status.l1_best_hash = bitcoin::HashToDisplayHex(info->best_block_hash);
  }
  if (!ChainMatches(federation.network(), info->chain)) {
    return Error::Unavailable("l1_wrong_network", "the Bitcoin node is on chain '" + info->chain + "', krayd on " +
                                                      std::string(NetworkName(federation.network())));
  }
  KRAY_TRY(Reconcile(info->blocks));
  auto tip = scan::Tip(*db);
  if (!tip.ok()) return std::move(tip).error();
  std::uint32_t next = *tip ? (*tip)->height + 1 : first_height;
  std::optional<Hash256> prev = *tip ? std::optional<Hash256>((*tip)->hash) : std::nullopt;
  std::uint32_t connected = 0;
  bool caught_up = true;
  for (std::uint32_t h = next; h <= info->blocks; ++h) {
    if (connected >= opts.blocks_per_step) {
      caught_up = false;
      break;
    }
    {
      std::lock_guard lock(mu);
      if (stopping) return false;
    }
    auto hash = rpc.GetBlockHash(h);
    if (!hash.ok()) {
      if (hash.error().kind == ErrorKind::kNotFound) break;  // the chain got shorter: reconcile next time
      return std::move(hash).error();
    }
    auto block = rpc.GetBlock(*hash);
    if (!block.ok()) return std::move(block).error();
    if (prev && block->header.prev_block != *prev) {
      caught_up = false;  // Core switched chains between our calls
      break;
    }
    KRAY_TRY(ConnectBlock(h, *hash, *block));
    prev = *hash;
    ++connected;
    ReportProgress(h, info->blocks);
  }
  if (connected == 0 && *tip) ReportProgress((*tip)->height, info->blocks);
  KRAY_TRY(CreditMatured());
  return caught_up;
}

Status DepositScanner::Impl::CreditMatured() {
  auto tip = scan::Tip(*db);
  if (!tip.ok()) return std::move(tip).error();
  if (!*tip) return Ok();
  // Act only on what Bitcoin still has: a reorg since the block was
  // connected is reconciled first, at the next step.
  auto hash = rpc.GetBlockHash((*tip)->height);
  if (!hash.ok()) return hash.error().kind == ErrorKind::kNotFound ? Ok() : Status(std::move(hash).error());
  if (*hash != (*tip)->hash) return Ok();
  auto due = scan::MaturedDeposits(*db, (*tip)->height, kCreditsPerPass);
  if (!due.ok()) return std::move(due).error();
  for (const auto& d : *due) {
    {
      std::lock_guard lock(mu);
      if (stopping) return Ok();
    }
    KRAY_TRY(Act(d));
  }
  return Ok();
}

Result<std::string> DepositScanner::Impl::Funding(const ObservedDeposit& d) {
  auto inputs = scan::DepositInputs(*db, d.txid, d.vout);
  if (!inputs.ok()) return std::move(inputs).error();
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (!inputs->empty()) {
    std::size_t comma = inputs->find(',', start);
    std::string part = inputs->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto colon = part.find(':');
    std::string script;
    auto txid = bitcoin::HashFromDisplayHex(part.substr(0, colon));
    if (colon != std::string::npos && txid.ok()) {
      // getrawtransaction checks that the transaction hashes to its txid, so
      // the script is what the txid commits to (needs -txindex).
      auto tx = rpc.GetRawTransaction(*txid);
      if (!tx.ok()) return std::move(tx).error();
      const std::uint32_t n = static_cast<std::uint32_t>(std::strtoul(part.c_str() + colon + 1, nullptr, 10));
      if (*tx && n < (*tx)->tx.vout.size() && (*tx)->tx.vout[n].script_pubkey.size() <= 200)
        script = ToHex((*tx)->tx.vout[n].script_pubkey);
      if (!*tx)
        spdlog::warn(
            "bridge: funding output {} of deposit {}:{} is unknown to bitcoind (run it with -txindex=1 "
            "for claims)",
            part, d.txid, d.vout);
    }
    if (!first) out += ',';
    out += script;
    first = false;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void DepositScanner::Impl::Record(const ObservedDeposit& d, const Result<state::Receipt>& r) {
  Status s = Ok();
  if (r.ok()) {
    const std::string status = r->op->type == kDepositCreditOp ? "credited" : "unattributed";
    s = scan::SetDepositStatus(*db, d.txid, d.vout, status, "", r->op->hash);
    changed.emplace_back(d.txid, d.vout);
    spdlog::info("bridge: deposit {}:{} {} by operation {} (seq {}): {}", d.txid, d.vout, status, r->op->hash,
                 r->op->seq, d.assets);
  } else if (r.error().kind == ErrorKind::kUnavailable || r.error().code == "deposit_index_assigned") {
    // Back-pressure, shutdown, or the index was assigned meanwhile: retried.
    spdlog::info("bridge: deposit {}:{} not acted on yet: {}", d.txid, d.vout, r.error().message);
  } else {
    s = scan::SetDepositStatus(*db, d.txid, d.vout, "failed", r.error().code + ": " + r.error().message, "");
    changed.emplace_back(d.txid, d.vout);
    spdlog::error("bridge: deposit {}:{} could not be credited: {} ({}); retried at the next start", d.txid, d.vout,
                  r.error().message, r.error().code);
  }
  if (!s.ok()) spdlog::error("bridge: cannot record the state of {}:{}: {}", d.txid, d.vout, s.error().message);
  if (s.ok()) Announce();
  changed.clear();
}

// Calls the listeners with each changed deposit as stored, then forgets
// the list. A deposit that cannot be read back is skipped (logged).
void DepositScanner::Impl::Announce() {
  auto outpoints = std::move(changed);
  changed.clear();
  std::lock_guard lock(listeners_mu);
  if (listeners.empty()) return;
  for (const auto& [txid, vout] : outpoints) {
    auto d = scan::FindDeposit(*db, txid, vout);
    if (!d.ok() || !d->has_value()) continue;
    for (const auto& [handle, listener] : listeners) listener(**d);
  }
}

Status DepositScanner::Impl::Act(const ObservedDeposit& d) {
  // krayd.sqlite is the truth: an outpoint it already has (a restart after
  // the credit committed, a rescan, a reorg that mined it again) is never
  // submitted again.
  auto done = ledger.Read<std::optional<DepositRecord>>(
      [&](store::Database& sdb) { return FindDepositRecord(sdb, d.txid, d.vout); });
  if (!done.ok()) return std::move(done).error();
  if (*done) {
    auto op = ledger.Read<std::vector<state::Operation>>([&](store::Database& sdb) {
      return state::OperationsTouching(sdb, state::LeafKey(kBridgeDepositLeaf, OutpointId(d.txid, d.vout)), 0, 1);
    });
    std::string hash = op.ok() && !op->empty() ? op->front().hash : d.operation;
    const std::string now = (*done)->status == "unattributed" ? "unattributed" : "credited";
    KRAY_TRY(scan::SetDepositStatus(*db, d.txid, d.vout, now, "", hash));
    if (d.status != now) {
      changed.emplace_back(d.txid, d.vout);
      Announce();
    }
    if (d.status == "reconfirming") {
      const std::string note = "the transaction confirmed again in block " + d.block_hash + " at height " +
                               std::to_string(d.height) + "; the operation's evidence names block " +
                               (*done)->block_hash;
      KRAY_TRY(scan::ReconfirmAlarms(*db, d.txid, d.vout, note));
      auto open = scan::CountOpenAlarms(*db);
      if (!open.ok()) return std::move(open).error();
      spdlog::warn("bridge: alarm for {}:{} cleared: {}", d.txid, d.vout, note);
      std::lock_guard lock(mu);
      status.open_alarms = static_cast<std::size_t>(*open);
    }
    return Ok();
  }
  if (d.status == "reconfirming") {
    // Orphaned, yet krayd.sqlite has no record: impossible unless the store
    // was replaced. Treat it as new.
    spdlog::warn("bridge: {}:{} was marked orphaned but krayd.sqlite has no record of it", d.txid, d.vout);
  }
  state::Operation op;
  op.auth = state::Auth::kSystem;
  op.evidence = {{"address_index", std::to_string(d.address_index)},
                 {"block_hash", d.block_hash},
                 {"height", std::to_string(d.height)},
                 {"txid", d.txid},
                 {"vout", std::to_string(d.vout)}};
  std::optional<std::string> owner;
  if (d.address_index != 0) {
    auto o = ledger.Read<std::optional<std::string>>(
        [&](store::Database& sdb) { return AccountOfIndex(sdb, d.address_index); });
    if (!o.ok()) return std::move(o).error();
    owner = *o;
  }
  if (owner) {
    op.type = std::string(kDepositCreditOp);
    op.fields = {{"account", *owner}, {"assets", d.assets}};
  } else {
    auto funding = Funding(d);
    if (!funding.ok()) return std::move(funding).error();
    op.type = std::string(kDepositUnattributedOp);
    op.fields = {{"assets", d.assets},
                 {"reason", std::string(d.address_index == 0 ? kReasonBridgeAddress : kReasonUnassignedIndex)}};
    state::SetField(op.evidence, "funding", *funding);
  }
  Record(d, ledger.SubmitSync(std::move(op)));
  return Ok();
}

void DepositScanner::Impl::NoteL1Error(const Error& e) {
  std::lock_guard lock(mu);
  if (e.code.rfind("l1_", 0) == 0) status.l1_reachable = e.code != "l1_unreachable" && e.code != "l1_unauthorized";
  status.l1_error_code = e.code;
  status.l1_error = e.message;
}

void DepositScanner::Impl::Run() {
  pthread_setname_np(pthread_self(), "kray-bridge");
  int failures = 0;
  for (;;) {
    std::uint64_t serving = 0;
    {
      std::lock_guard lock(mu);
      if (stopping) break;
      serving = sync_requested;
    }
    Result<bool> r = Step();
    std::chrono::milliseconds wait = opts.poll_interval;
    {
      std::lock_guard lock(mu);
      status.last_poll = WallSeconds();
    }
    if (!r.ok()) {
      const Error& e = r.error();
      NoteL1Error(e);
      if (IsFatal(e)) {
        spdlog::error("bridge: scanner stopped: {} ({}); restart krayd once fixed", e.message, e.code);
        std::lock_guard lock(mu);
        status.failed = e;
        sync_completed = serving;
        sync_result = e;
        cv.notify_all();
        break;
      }
      ++failures;
      wait = std::min<std::chrono::milliseconds>(opts.poll_interval * (1LL << std::min(failures, 8)), kMaxBackoff);
      spdlog::warn("bridge: L1 poll failed ({}: {}); retrying in {} ms", e.code, e.message, wait.count());
    } else {
      failures = 0;
      if (!*r) wait = std::chrono::milliseconds(0);
    }
    std::unique_lock lock(mu);
    if (!r.ok() || *r) {
      sync_completed = serving;
      sync_result = r.ok() ? Ok() : Status(r.error());
      cv.notify_all();
    }
    cv.wait_for(lock, wait, [&] { return stopping || sync_requested != serving; });
  }
  std::lock_guard lock(mu);
  cv.notify_all();
}

Status DepositScanner::Impl::WithReader(const std::function<Status(store::Database&)>& fn) const {
  return readers.With(fn);
}

// ---------------------------------------------------------------------------

DepositScanner::DepositScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<DepositScanner>> DepositScanner::Open(state::Ledger& ledger, const Federation& federation,
                                                             const ScannerOptions& options) {
  if (federation.network() != ledger.params().network)
    return Error::Invalid("invalid_bridge_config", "the federation's keys are for another network than krayd's");
  auto impl = std::make_unique<Impl>(ledger, federation, options);
  impl->path = (std::filesystem::path(ledger.datadir()) / "bridge.sqlite").string();
  impl->readers.SetPath(impl->path);
  KRAY_TRY(impl->Open());
  std::unique_ptr<DepositScanner> scanner(new DepositScanner(std::move(impl)));
  Impl& m = *scanner->impl_;
  m.thread = std::thread([&m] { m.Run(); });
  spdlog::info("bridge: scanner open ({}): {} from height {}, {} confirmations, runes [{}]", m.path,
               federation.Descriptor(), m.first_height, m.opts.confirmations, FormatBridgeRunes(m.opts.runes));
  return scanner;
}

DepositScanner::~DepositScanner() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const Federation& DepositScanner::federation() const {
  return impl_->federation;
}
const ScannerOptions& DepositScanner::options() const {
  return impl_->opts;
}
std::string DepositScanner::path() const {
  return impl_->path;
}

ScannerStatus DepositScanner::GetStatus() const {
  std::lock_guard lock(impl_->mu);
  return impl_->status;
}

int DepositScanner::AddDepositListener(DepositListener listener) {
  std::lock_guard lock(impl_->listeners_mu);
  int handle = impl_->next_listener++;
  impl_->listeners.emplace_back(handle, std::move(listener));
  return handle;
}

void DepositScanner::RemoveDepositListener(int handle) {
  std::lock_guard lock(impl_->listeners_mu);
  std::erase_if(impl_->listeners, [&](const auto& entry) { return entry.first == handle; });
}

Status DepositScanner::SyncNow(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  if (impl_->status.failed) return *impl_->status.failed;
  const std::uint64_t mine = ++impl_->sync_requested;
  impl_->cv.notify_all();
  bool done = impl_->cv.wait_for(
      lock, timeout, [&] { return impl_->sync_completed >= mine || impl_->status.failed || impl_->stopping; });
  if (impl_->status.failed) return *impl_->status.failed;
  if (!done || impl_->sync_completed < mine)
    return Error::Unavailable("bridge_sync_timeout", "the scanner did not reach Bitcoin's tip in time");
  return impl_->sync_result;
}

Result<std::optional<ObservedDeposit>> DepositScanner::FindObserved(std::string_view txid, std::uint32_t vout) const {
  std::optional<ObservedDeposit> out;
  Status s = impl_->WithReader([&](store::Database& db) -> Status {
    auto d = scan::FindDeposit(db, txid, vout);
    if (!d.ok()) return std::move(d).error();
    out = std::move(*d);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::vector<ObservedDeposit>> DepositScanner::ObservedAtIndex(std::uint32_t index, int limit) const {
  std::vector<ObservedDeposit> out;
  Status s = impl_->WithReader([&](store::Database& db) -> Status {
    auto d = scan::DepositsAtIndex(db, index, limit);
    if (!d.ok()) return std::move(d).error();
    out = std::move(*d);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::vector<BridgeAlarm>> DepositScanner::Alarms() const {
  std::vector<BridgeAlarm> out;
  Status s = impl_->WithReader([&](store::Database& db) -> Status {
    auto a = scan::ListAlarms(db);
    if (!a.ok()) return std::move(a).error();
    out = std::move(*a);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<DepositScanner::FederationHoldings> DepositScanner::Holdings() const {
  FederationHoldings out;
  Status s = impl_->WithReader([&](store::Database& db) -> Status {
    auto t = scan::Totals(db);
    if (!t.ok()) return std::move(t).error();
    out = FederationHoldings{t->count, t->sats, t->reserved};
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Status DepositScanner::ResolveAlarm(std::int64_t id, const std::string& note) {
  // A second writer connection: SQLite serialises it with the scanner's
  // (busy_timeout), and this is a rare operator action.
  auto db = store::Database::Open(impl_->path);
  if (!db.ok()) return std::move(db).error();
  store::Transaction tx(**db);
  KRAY_TRY(tx.status());
  auto st = (*db)->Use("SELECT status FROM scan_alarms WHERE id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  auto status = store::FirstRow<std::string>(**st, [](const store::Statement& s) { return s.Text(0); });
  if (!status.ok()) return std::move(status).error();
  if (!status->has_value()) return Error::NotFound("alarm_not_found", "no alarm " + std::to_string(id));
  if (**status != "open") return Error::Conflict("alarm_not_open", "alarm " + std::to_string(id) + " is " + **status);
  auto up = (*db)->Use("UPDATE scan_alarms SET status='resolved', note=?2 WHERE id=?1");
  if (!up.ok()) return std::move(up).error();
  (*up)->Bind(1, id).Bind(2, "resolved by the operator: " + note);
  KRAY_TRY((*up)->Run());
  auto open = scan::CountOpenAlarms(**db);
  if (!open.ok()) return std::move(open).error();
  KRAY_TRY(tx.Commit());
  spdlog::warn("bridge: alarm {} resolved by the operator: {}", id, note);
  std::lock_guard lock(impl_->mu);
  impl_->status.open_alarms = static_cast<std::size_t>(*open);
  return Ok();
}

}  // namespace kray::bridge
