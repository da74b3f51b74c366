// The runes index: ord's RuneUpdater::index_runes (src/index/updater/
// rune_updater.rs) restricted to the tracked runes, with undo for reorgs.
// Comments name the ord function each step mirrors.
#include "kray/bridge/runes_index.h"

#include <algorithm>
#include <map>

#include "kray/bitcoin/script.h"

namespace kray::bridge {
namespace {

using bitcoin::Block;
using bitcoin::Cenotaph;
using bitcoin::Rune;
using bitcoin::RuneArtifact;
using bitcoin::Runestone;
using bitcoin::Transaction;

constexpr std::uint8_t kOpReturn = 0x6a;
constexpr std::uint8_t kTaprootAnnexPrefix = 0x50;

// rust-bitcoin Script::is_op_return: the script starts with OP_RETURN.
bool IsOpReturn(const Bytes& script) {
  return !script.empty() && script[0] == kOpReturn;
}

// rust-bitcoin Script::is_p2tr: OP_1 <32 bytes>.
bool IsP2tr(const Bytes& script) {
  return script.size() == 34 && script[0] == 0x51 && script[1] == 0x20;
}

// ord's unversioned_leaf_script_from_witness (rust-bitcoin's
// Witness::tapscript): the second-to-last element, or the third-to-last when
// the last one is an annex (0x50 prefix, at least three elements). Not a
// check that the input is a taproot spend; the caller checks the prevout.
std::optional<ByteSpan> Tapscript(const std::vector<Bytes>& witness) {
  const std::size_t n = witness.size();
  if (n >= 3 && !witness.back().empty() && witness.back()[0] == kTaprootAnnexPrefix) return ByteSpan(witness[n - 3]);
  if (n >= 2) return ByteSpan(witness[n - 2]);
  return std::nullopt;
}

// kInternal with a specific code: these mean the index cannot go on, not
// that a request was bad.
Error Fatal(const char* code, std::string message) {
  return {ErrorKind::kInternal, code, std::move(message)};
}

Error Overflow() {
  return Fatal("runes_overflow", "a rune amount overflowed u128");
}

bool Add(u128& a, u128 b) {
  return !__builtin_add_overflow(a, b, &a);
}

// The state a block reads and writes, layered over the store like Bitcoin
// Core's CCoinsViewCache: outpoints the block creates live here until the
// batch is written, so an output created and spent in the same block never
// reaches the store.
class BlockView {
 public:
  BlockView(RunesStore& store) : store_(store) {}

  // Removes and returns what `outpoint` carries (ord: outpoint_to_balances.remove).
  Result<RuneBalances> TakeInput(const OutPoint& outpoint) {
    if (auto it = created_.find(outpoint); it != created_.end()) {
      RuneBalances b = std::move(it->second);
      created_.erase(it);
      return b;
    }
    auto b = store_.Balances(outpoint);
    if (!b.ok()) return b;
    if (!b->empty()) spent_.emplace_back(outpoint, *b);
    return b;
  }

  void CreateOutput(const OutPoint& outpoint, RuneBalances balances) { created_[outpoint] = std::move(balances); }

  // The entry of `id` for reading and writing, or nullptr if there is none.
  Result<RuneEntry*> Entry(const RuneId& id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      auto e = store_.Entry(id);
      if (!e.ok()) return std::move(e).error();
      it = entries_.emplace(id, std::move(*e)).first;
      before_.emplace(id, it->second);
    }
    return it->second ? &*it->second : nullptr;
  }

  void CreateEntry(RuneEntry entry) {
    const RuneId id = entry.id;
    before_.emplace(id, std::nullopt);
    entries_[id] = std::move(entry);
  }

  RunesWriteBatch Finish(const IndexedBlock& block, const Hash256& prev_hash, std::uint32_t max_reorg_depth) {
    RunesWriteBatch batch;
    RunesBlockUndo undo;
    undo.block = block;
    undo.prev_hash = prev_hash;
    for (auto& [outpoint, balances] : created_) {
      undo.created.push_back(outpoint);
      batch.put_balances.emplace_back(outpoint, std::move(balances));
    }
    for (auto& [outpoint, balances] : spent_) batch.erase_balances.push_back(outpoint);
    undo.spent = std::move(spent_);
    for (const auto& [id, before] : before_) {
      const auto& now = entries_.at(id);
      if (now == before) continue;
      if (now) batch.put_entries.push_back(*now);
      if (before) {
        undo.entries_before.push_back(*before);
      } else {
        undo.entries_created.push_back(id);
      }
    }
    batch.set_tip = true;
    batch.tip = block;
    batch.put_undo = std::move(undo);
    if (block.height >= max_reorg_depth) batch.erase_undo.push_back(block.height - max_reorg_depth);
    return batch;
  }

 private:
  RunesStore& store_;
  std::map<OutPoint, RuneBalances> created_;
  std::vector<std::pair<OutPoint, RuneBalances>> spent_;
  std::map<RuneId, std::optional<RuneEntry>> entries_;
  std::map<RuneId, std::optional<RuneEntry>> before_;  // first-seen values
};

struct Etched {
  RuneId id;
  Rune rune;
};

}  // namespace

std::optional<u128> Mintable(const RuneEntry& entry, std::uint64_t height) {
  if (!entry.terms) return std::nullopt;
  const bitcoin::Terms& t = *entry.terms;
  // ord's RuneEntry::start/end: relative (etching block + offset, saturating)
  // and absolute windows combine as the later start and the earlier end.
  auto relative = [&](const std::optional<std::uint64_t>& offset) -> std::optional<std::uint64_t> {
    if (!offset) return std::nullopt;
    std::uint64_t h;
    if (__builtin_add_overflow(entry.id.block, *offset, &h)) h = UINT64_MAX;
    return h;
  };
  std::optional<std::uint64_t> start = relative(t.offset_start), end = relative(t.offset_end);
  if (t.height_start) start = start ? std::max(*start, *t.height_start) : *t.height_start;
  if (t.height_end) end = end ? std::min(*end, *t.height_end) : *t.height_end;
  if (start && height < *start) return std::nullopt;
  if (end && height >= *end) return std::nullopt;
  if (entry.mints >= t.cap.value_or(0)) return std::nullopt;
  return t.amount.value_or(0);
}

Result<Amount> CreditableRuneAmount(u128 amount) {
  if (amount > kMaxAmount)
    return Error::Invalid("rune_amount_too_large", "rune amount " + bitcoin::U128ToString(amount) +
                                                       " exceeds the largest creditable amount 2^63-1");
  return static_cast<Amount>(amount);
}

RunesIndex::RunesIndex(RunesStore& store, RunesIndexOptions options, PrevoutSource* prevouts)
    : store_(&store), options_(std::move(options)), prevouts_(prevouts) {}

Result<RunesIndex> RunesIndex::Make(RunesStore& store, RunesIndexOptions options, PrevoutSource* prevouts) {
  if (options.runes.empty()) return Error::Invalid("runes_no_tracked_runes", "the runes index needs a rune to track");
  if (options.max_reorg_depth == 0)
    return Error::Invalid("runes_bad_reorg_depth", "max_reorg_depth must be at least 1");
  RunesIndex index(store, std::move(options), prevouts);
  std::uint64_t start = UINT64_MAX;
  for (const TrackedRune& t : index.options_.runes) {
    // Block 0 cannot etch (ord's genesis rune aside, which is mainnet-only
    // and unmintable for deposits), and heights must fit Bitcoin's u32.
    if (t.id.block == 0 || t.id.block > UINT32_MAX)
      return Error::Invalid("runes_bad_tracked_id", "tracked rune id " + bitcoin::RuneIdToString(t.id) +
                                                        " is not a block:tx of a Bitcoin block");
    index.tracked_.insert(t.id);
    start = std::min(start, t.id.block);
  }
  index.start_height_ = static_cast<std::uint32_t>(start);
  return index;
}

Result<std::optional<IndexedBlock>> RunesIndex::Tip() const {
  return store_->Tip();
}

Result<std::uint32_t> RunesIndex::NextHeight() const {
  auto tip = store_->Tip();
  if (!tip.ok()) return std::move(tip).error();
  return *tip ? (*tip)->height + 1 : start_height_;
}

Result<RuneBalances> RunesIndex::Balances(const OutPoint& outpoint) const {
  return store_->Balances(outpoint);
}

Result<std::optional<RuneEntry>> RunesIndex::Entry(const RuneId& id) const {
  return store_->Entry(id);
}

Result<std::vector<std::pair<OutPoint, u128>>> RunesIndex::Holders(const RuneId& id) const {
  return store_->Holders(id);
}

namespace {

// The per-block context shared by the transactions of one block.
struct BlockContext {
  std::uint32_t height;
  const Block& block;
  const std::vector<Hash256>& txids;
  const std::set<RuneId>& tracked;
  Network network;
  PrevoutSource* prevouts;
};

// ord's RuneUpdater::tx_commits_to_rune.
Result<bool> CommitsToRune(const BlockContext& ctx, std::size_t tx_index, const Transaction& tx, Rune rune) {
  const Bytes commitment = bitcoin::RuneCommitment(rune);
  for (const bitcoin::TxIn& in : tx.vin) {
    auto tapscript = Tapscript(in.witness);
    if (!tapscript) continue;
    bitcoin::ScriptIterator it(*tapscript);
    bitcoin::ScriptOp op;
    // An instruction error ends the scan of this script (ord: `break`).
    while (it.Next(op)) {
      if (!op.IsPush() || !std::equal(op.data.begin(), op.data.end(), commitment.begin(), commitment.end())) continue;
      // The output spent: an earlier transaction of this block, else L1.
      PrevoutSource::Prevout prevout;
      bool found = false;
      for (std::size_t i = 0; i < tx_index; ++i) {
        if (ctx.txids[i] != in.prevout.txid) continue;
        const auto& vout = ctx.block.txs[i].vout;
        if (in.prevout.n >= vout.size())
          return Fatal("runes_bad_block", "an input spends a missing output of the same block");
        prevout = {vout[in.prevout.n].script_pubkey, ctx.height};
        found = true;
        break;
      }
      if (!found) {
        if (!ctx.prevouts)
          return Error::Unavailable("runes_no_prevout_source", "a named etching needs a prevout source");
        auto p = ctx.prevouts->Lookup(in.prevout);
        if (!p.ok()) return std::move(p).error();
        prevout = std::move(*p);
      }
      if (!IsP2tr(prevout.script_pubkey)) continue;
      if (prevout.height > ctx.height)
        return Fatal("runes_commit_height", "a commitment confirmed above the block that spends it");
      const std::uint32_t confirmations = ctx.height - prevout.height + 1;
      if (confirmations >= kRuneCommitConfirmations) return true;
    }
  }
  return false;
}

// ord's RuneUpdater::etched, for a tracked id only (untracked etchings cannot
// affect tracked balances).
Result<std::optional<Etched>> EtchedRune(const BlockContext& ctx, std::uint32_t tx_index, const Transaction& tx,
                                         const RuneArtifact& artifact) {
  const RuneId id{ctx.height, tx_index};
  if (!ctx.tracked.count(id)) return std::optional<Etched>();
  std::optional<Rune> rune;
  if (const auto* rs = std::get_if<Runestone>(&artifact)) {
    if (!rs->etching) return std::optional<Etched>();
    rune = rs->etching->rune;
  } else {
    const auto& c = std::get<Cenotaph>(artifact);
    // A cenotaph etches only if it names the rune.
    if (!c.etching) return std::optional<Etched>();
    rune = c.etching;
  }
  if (rune) {
    if (rune->value < bitcoin::MinimumRuneAtHeight(ctx.network, ctx.height).value || bitcoin::IsReservedRune(*rune))
      return std::optional<Etched>();
    auto commits = CommitsToRune(ctx, tx_index, tx, *rune);
    if (!commits.ok()) return std::move(commits).error();
    if (!*commits) return std::optional<Etched>();
  } else {
    rune = bitcoin::ReservedRune(ctx.height, tx_index);
  }
  return std::optional<Etched>(Etched{id, *rune});
}

// ord's RuneUpdater::create_rune_entry.
RuneEntry NewEntry(const Etched& etched, const Hash256& txid, const RuneArtifact& artifact) {
  RuneEntry e;
  e.id = etched.id;
  e.rune = etched.rune;
  e.etching_txid = txid;
  // A cenotaph's etching creates the rune with nothing set: no premine, no
  // terms (so no mints), divisibility 0, no spacers or symbol.
  if (const auto* rs = std::get_if<Runestone>(&artifact)) {
    const bitcoin::Etching& et = *rs->etching;
    e.divisibility = et.divisibility.value_or(0);
    e.premine = et.premine.value_or(0);
    e.spacers = et.spacers.value_or(0);
    e.symbol = et.symbol;
    e.terms = et.terms;
    e.turbo = et.turbo;
  }
  return e;
}

// ord's RuneUpdater::index_runes for one transaction.
Status IndexTransaction(const BlockContext& ctx, BlockView& view, std::uint32_t tx_index) {
  const Transaction& tx = ctx.block.txs[tx_index];
  const Hash256& txid = ctx.txids[tx_index];
  const std::optional<RuneArtifact> artifact = bitcoin::DecipherRunestone(tx);

  // ord's unallocated(): every tracked rune the inputs carry.
  std::map<RuneId, u128> unallocated;
  for (const bitcoin::TxIn& in : tx.vin) {
    if (in.prevout.IsNull()) continue;  // coinbase
    auto balances = view.TakeInput(in.prevout);
    if (!balances.ok()) return std::move(balances).error();
    for (const RuneAmount& a : *balances) {
      if (!Add(unallocated[a.id], a.amount)) return Overflow();
    }
  }

  std::vector<std::map<RuneId, u128>> allocated(tx.vout.size());
  std::optional<Etched> etched;
  if (artifact) {
    // Mint first: a transaction cannot mint the rune it etches, since the
    // entry only exists after this transaction. A cenotaph's mint still
    // counts against the cap; the minted amount is burned below.
    const auto& mint = std::holds_alternative<Runestone>(*artifact) ? std::get<Runestone>(*artifact).mint
                                                                    : std::get<Cenotaph>(*artifact).mint;
    if (mint && ctx.tracked.count(*mint)) {
      auto entry = view.Entry(*mint);
      if (!entry.ok()) return std::move(entry).error();
      if (*entry) {
        if (auto amount = Mintable(**entry, ctx.height)) {
          if (!Add((*entry)->mints, 1) || !Add(unallocated[*mint], *amount)) return Overflow();
        }
      }
    }

    auto e = EtchedRune(ctx, tx_index, tx, *artifact);
    if (!e.ok()) return std::move(e).error();
    etched = *e;

    if (const auto* rs = std::get_if<Runestone>(&*artifact)) {
      if (etched && !Add(unallocated[etched->id], rs->etching->premine.value_or(0))) return Overflow();

      for (const bitcoin::Edict& edict : rs->edicts) {
        // Edict outputs are at most vout.size() (DecipherRunestone makes
        // anything larger a cenotaph).
        RuneId id = edict.id;
        if (id == RuneId{}) {
          // 0:0 is the rune this transaction etches.
          if (!etched) continue;
          id = etched->id;
        }
        auto bal = unallocated.find(id);
        if (bal == unallocated.end()) continue;  // nothing of it to give (or untracked)
        u128& balance = bal->second;
        auto allocate = [&](u128 amount, std::size_t output) -> bool {
          if (amount == 0) return true;
          balance -= amount;  // amount <= balance at every call
          return Add(allocated[output][id], amount);
        };
        if (edict.output == tx.vout.size()) {
          // Split across every non-OP_RETURN output.
          std::vector<std::size_t> destinations;
          for (std::size_t o = 0; o < tx.vout.size(); ++o) {
            if (!IsOpReturn(tx.vout[o].script_pubkey)) destinations.push_back(o);
          }
          if (destinations.empty()) continue;
          if (edict.amount == 0) {
            // Divide the whole balance; the first `remainder` outputs get one more.
            const u128 n = destinations.size();
            const u128 each = balance / n;
            const u128 remainder = balance % n;
            for (std::size_t i = 0; i < destinations.size(); ++i) {
              if (!allocate(i < remainder ? each + 1 : each, destinations[i])) return Overflow();
            }
          } else {
            for (std::size_t o : destinations) {
              if (!allocate(std::min(edict.amount, balance), o)) return Overflow();
            }
          }
        } else {
          // Amount 0 means everything that is left.
          const u128 amount = edict.amount == 0 ? balance : std::min(edict.amount, balance);
          if (!allocate(amount, edict.output)) return Overflow();
        }
      }
    }

    if (etched) view.CreateEntry(NewEntry(*etched, txid, *artifact));
  }

  std::map<RuneId, u128> burned;
  if (artifact && std::holds_alternative<Cenotaph>(*artifact)) {
    // A cenotaph burns every rune its inputs (and its mint) brought.
    for (const auto& [id, balance] : unallocated) {
      if (!Add(burned[id], balance)) return Overflow();
    }
  } else {
    // Unallocated runes go to the pointer output, else the first
    // non-OP_RETURN output; with neither they are burned.
    std::optional<std::size_t> vout;
    if (artifact) {
      if (auto p = std::get<Runestone>(*artifact).pointer) vout = *p;  // < vout.size() by decipher
    }
    if (!vout) {
      for (std::size_t o = 0; o < tx.vout.size(); ++o) {
        if (!IsOpReturn(tx.vout[o].script_pubkey)) {
          vout = o;
          break;
        }
      }
    }
    for (const auto& [id, balance] : unallocated) {
      if (balance == 0) continue;
      if (!Add(vout ? allocated[*vout][id] : burned[id], balance)) return Overflow();
    }
  }

  for (std::size_t o = 0; o < allocated.size(); ++o) {
    if (allocated[o].empty()) continue;
    if (IsOpReturn(tx.vout[o].script_pubkey)) {
      // Runes sent to an OP_RETURN output are burned.
      for (const auto& [id, amount] : allocated[o]) {
        if (!Add(burned[id], amount)) return Overflow();
      }
      continue;
    }
    RuneBalances balances;
    for (const auto& [id, amount] : allocated[o]) balances.push_back({id, amount});  // map order = sorted by id
    view.CreateOutput(OutPoint{txid, static_cast<std::uint32_t>(o)}, std::move(balances));
  }

  for (const auto& [id, amount] : burned) {
    if (amount == 0) continue;
    auto entry = view.Entry(id);
    if (!entry.ok()) return std::move(entry).error();
    if (!*entry) return Fatal("runes_overflow", "burned a rune that has no entry");
    if (!Add((*entry)->burned, amount)) return Overflow();
  }
  return Ok();
}

}  // namespace

Status RunesIndex::ConnectBlock(std::uint32_t height, const bitcoin::Block& block) {
  auto tip = store_->Tip();
  if (!tip.ok()) return std::move(tip).error();
  const std::uint32_t expected = *tip ? (*tip)->height + 1 : start_height_;
  if (height != expected)
    return Error::Conflict("runes_not_next_block",
                           "runes index expects block " + std::to_string(expected) + ", got " + std::to_string(height));
  if (*tip && block.header.prev_block != (*tip)->hash)
    return Error::Conflict("runes_not_next_block", "block " + std::to_string(height) +
                                                       " does not extend the indexed tip (a reorg: disconnect first)");
  std::vector<Hash256> txids;
  txids.reserve(block.txs.size());
  for (const Transaction& tx : block.txs) txids.push_back(bitcoin::Txid(tx));

  BlockContext ctx{height, block, txids, tracked_, options_.network, prevouts_};
  BlockView view(*store_);
  // ParseBlock bounds a block to 4 MB, so its tx indexes fit u32.
  for (std::uint32_t i = 0; i < block.txs.size(); ++i) KRAY_TRY(IndexTransaction(ctx, view, i));

  // The operator's statement of which rune each tracked id is.
  for (const TrackedRune& t : options_.runes) {
    if (t.id.block != height || !t.rune) continue;
    auto e = view.Entry(t.id);
    if (!e.ok()) return std::move(e).error();
    if (!*e || (*e)->rune != *t.rune)
      return Error::Invalid("runes_etching_mismatch", "block " + std::to_string(height) + " does not etch " +
                                                          bitcoin::RuneName(*t.rune) + " at " +
                                                          bitcoin::RuneIdToString(t.id));
  }
  const IndexedBlock indexed{height, bitcoin::BlockHash(block.header)};
  return store_->Write(view.Finish(indexed, block.header.prev_block, options_.max_reorg_depth));
}

Status RunesIndex::DisconnectTip() {
  auto tip = store_->Tip();
  if (!tip.ok()) return std::move(tip).error();
  if (!*tip) return Error::Conflict("runes_nothing_to_undo", "the runes index has no block to disconnect");
  auto undo = store_->Undo((*tip)->height);
  if (!undo.ok()) return std::move(undo).error();
  if (!*undo || (*undo)->block != **tip)
    return Fatal("runes_reorg_too_deep",
                 "no undo record for block " + std::to_string((*tip)->height) + "; rebuild the runes index");
  RunesBlockUndo& u = **undo;
  RunesWriteBatch batch;
  batch.set_tip = true;
  if ((*tip)->height > start_height_) batch.tip = IndexedBlock{(*tip)->height - 1, u.prev_hash};
  batch.put_balances = std::move(u.spent);
  batch.erase_balances = std::move(u.created);
  batch.put_entries = std::move(u.entries_before);
  batch.erase_entries = std::move(u.entries_created);
  batch.erase_undo.push_back((*tip)->height);
  return store_->Write(batch);
}

Status RunesIndex::CheckSupply() const {
  auto entries = store_->Entries();
  if (!entries.ok()) return std::move(entries).error();
  for (const RuneEntry& e : *entries) {
    auto holders = store_->Holders(e.id);
    if (!holders.ok()) return std::move(holders).error();
    u128 held = e.burned;
    for (const auto& [outpoint, amount] : *holders) {
      if (!Add(held, amount)) return Overflow();
    }
    const u128 per_mint = e.terms ? e.terms->amount.value_or(0) : 0;
    u128 minted;
    if (__builtin_mul_overflow(e.mints, per_mint, &minted)) return Overflow();
    u128 supply = e.premine;
    if (!Add(supply, minted)) return Overflow();
    if (held != supply)
      return Fatal("runes_supply_mismatch", "rune " + bitcoin::RuneIdToString(e.id) + " holds " +
                                                bitcoin::U128ToString(held) + " (incl. burned) but supplied " +
                                                bitcoin::U128ToString(supply));
  }
  return Ok();
}

}  // namespace kray::bridge
