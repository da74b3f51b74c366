// Conservation check over a store (see include/kray/state/conservation.h).
#include "kray/state/conservation.h"

#include <sstream>

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
  {
    auto st = db.Prepare("SELECT asset, available, staked, locked FROM balances");
    if (!st.ok()) return std::move(st).error();
    KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      auto& l = line(r.Text(0));
      for (int i = 1; i <= 3; ++i) KRAY_TRY(Add(l.balances, r.Int64(i)));
      return Ok();
    }));
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
