// Conservation check over a store (see include/kray/state/conservation.h).
#include "kray/state/conservation.h"

#include <map>
#include <sstream>
#include <utility>

#include "kray/state/redo.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

// Adds in 64 bits with an overflow check: a broken store cannot wrap a sum.
Status Add(Amount& field, std::int64_t v) {
  if (v < 0) return Error::Internal("negative value in conservation sums");
  auto s = CheckedAdd(field, static_cast<Amount>(v));
  if (!s) return Error::Internal("conservation sum overflow");
  field = *s;
  return Ok();
}

}  // namespace

std::string ConservationReport::ToString() const {
  std::ostringstream o;
  o << "conservation: " << (ok ? "OK" : "VIOLATED") << "\n";
  for (const auto& l : lines) {
    o << "  " << l.asset << ": balances=" << l.balances << " fee_pool=" << l.fee_pool << " burned=" << l.burned;
    for (const auto& [name, v] : l.extra) o << " " << name << "=" << v;
    o << " | genesis=" << l.genesis << " minted=" << l.minted << " -> " << (l.ok ? "OK" : "VIOLATED") << "\n";
  }
  for (const auto& v : violations) o << "  invariant VIOLATED: " << v << "\n";
  return o.str();
}

Result<ConservationReport> CheckConservation(store::Database& db, const ModuleRegistry& registry) {
  std::map<std::string, ConservationLine> lines;
  auto line = [&](const std::string& asset) -> ConservationLine& {
    auto& l = lines[asset];
    l.asset = asset;
    return l;
  };
  {
    auto st = db.Prepare("SELECT asset, genesis_total, minted, burned, fee_pool FROM supply");
    if (!st.ok()) return std::move(st).error();
    KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      auto& l = line(r.Text(0));
      KRAY_TRY(Add(l.genesis, r.Int64(1)));
      KRAY_TRY(Add(l.minted, r.Int64(2)));
      KRAY_TRY(Add(l.burned, r.Int64(3)));
      return Add(l.fee_pool, r.Int64(4));
    }));
  }
  // The balance rows not yet written back, as their records in this
  // snapshot hold them (kray/state/redo.h): the sums below take each
  // record's image in place of the row's stored value, and the modules'
  // audits read accounts with them too.
  auto redo = ReadRedo(db);
  if (!redo.ok()) return std::move(redo).error();
  RedoScope exact(&*redo);
  // Per asset: the images' values, and the stored values they replace.
  std::map<std::string, std::pair<u128, u128>> images_for;
  {
    auto st = db.Prepare("SELECT asset, available, staked, locked FROM balances");
    if (!st.ok()) return std::move(st).error();
    KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      auto& l = line(r.Text(0));
      for (int i = 1; i <= 3; ++i) KRAY_TRY(Add(l.balances, r.Int64(i)));
      return Ok();
    }));
    auto stored = db.Prepare("SELECT available, staked, locked FROM balances WHERE account_id = ?1 AND asset = ?2");
    if (!stored.ok()) return std::move(stored).error();
    for (const auto& [id, images] : *redo) {
      for (const auto& [asset, row] : images.balances) {
        // Named references, not a structured binding: clang 14 (the fuzz
        // build, docs/FUZZING.md) cannot capture a binding in the lambda.
        auto& sums = images_for[asset];
        u128& added = sums.first;
        u128& replaced = sums.second;
        stored->Reset();
        stored->Bind(1, id).Bind(2, asset);
        KRAY_TRY(store::ForEachRow(*stored, [&](const store::Statement& r) -> Status {
          for (int i = 0; i < 3; ++i) {
            if (r.Int64(i) < 0) return Error::Internal("negative value in conservation sums");
            replaced += static_cast<u128>(r.Int64(i));
          }
          return Ok();
        }));
        for (Amount v : row) added += v;
      }
    }
  }
  for (const auto& [asset, sums] : images_for) {
    auto& l = line(asset);
    const u128 total = static_cast<u128>(l.balances) + sums.first;
    if (sums.second > total || total - sums.second > static_cast<u128>(~Amount{0}))
      return Error::Internal("conservation: the account_redo records do not fit the stored balances");
    l.balances = static_cast<Amount>(total - sums.second);
  }
  for (const Module* m : registry.modules()) {
    auto terms = m->Audit(db);
    if (!terms.ok()) return std::move(terms).error();
    for (const auto& t : *terms) {
      auto& v = line(t.asset).extra[t.name];
      auto s = CheckedAdd(v, t.amount);
      if (!s) return Error::Internal("conservation sum overflow in " + t.name);
      v = *s;
    }
  }
  ConservationReport rep;
  rep.ok = true;
  for (auto& [asset, l] : lines) {
    u128 held = static_cast<u128>(l.balances) + l.fee_pool + l.burned;
    for (const auto& [n, v] : l.extra) held += v;
    u128 issued = static_cast<u128>(l.genesis) + l.minted;
    l.ok = held == issued;
    rep.ok = rep.ok && l.ok;
    rep.lines.push_back(l);
  }
  for (const Module* m : registry.modules()) {
    Status s = m->CheckInvariants(db);
    if (s.ok()) continue;
    if (s.error().kind != ErrorKind::kConflict) return std::move(s).error();  // could not read: not a verdict
    rep.violations.push_back(std::string(m->name()) + ": " + s.error().code + ": " + s.error().message);
    rep.ok = false;
  }
  return rep;
}

}  // namespace kray::state
