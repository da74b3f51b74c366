// Leaf encoding of the state tree (see include/kray/state/leaves.h).
#include "kray/state/leaves.h"

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <optional>

#include "kray/crypto/hash.h"
#include "kray/state/redo.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

constexpr std::size_t kMaxField = 1024;  // bound for every decoded string
constexpr std::uint32_t kMaxAssets = 4096;

// Bounds-checked reader for untrusted leaf data.
struct Reader {
  ByteSpan in;
  std::size_t pos = 0;
  bool ok = true;
  bool Need(std::size_t n) {
    if (!ok || in.size() - pos < n) ok = false;
    return ok;
  }
  std::uint64_t U(int bytes) {
    if (!Need(static_cast<std::size_t>(bytes))) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | in[pos++];
    return v;
  }
  std::string Lp() {
    std::uint64_t n = U(4);
    if (!ok || n > kMaxField || !Need(static_cast<std::size_t>(n))) {
      ok = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in.data() + pos), static_cast<std::size_t>(n));
    pos += static_cast<std::size_t>(n);
    return s;
  }
};

}  // namespace

void PutU32(Bytes& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void PutU64(Bytes& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void PutLp(Bytes& out, ByteSpan s) {
  PutU32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
void PutLp(Bytes& out, std::string_view s) {
  PutLp(out, AsBytes(s));
}

Hash256 LeafKey(std::uint8_t type, std::string_view id) {
  // TaggedHash(kLeafKeyTag, type || u32be(len) || id), streamed from a
  // hasher primed once with the tag: a leaf key is made several times per
  // transfer, and building `ser` cost four reallocations.
  static const crypto::Sha256Hasher primed = crypto::TaggedHasher(kLeafKeyTag);
  const auto n = static_cast<std::uint32_t>(id.size());
  const std::array<std::uint8_t, 5> head = {type, static_cast<std::uint8_t>(n >> 24),
                                            static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                                            static_cast<std::uint8_t>(n)};
  crypto::Sha256Hasher h = primed;
  h.Write(ByteSpan(head));
  h.Write(id);
  return h.Finalize();
}

Hash256 LeafValueHash(ByteSpan data) {
  return crypto::TaggedHash(kLeafValueTag, data);
}

// One buffer of the exact size: written byte by byte, an account leaf was
// reallocated about seven times, twice per transfer in the sequencer.
Result<Bytes> EncodeAccountLeaf(const Account& account) {
  std::optional<std::array<std::uint8_t, 32>> key;
  if (!account.pubkey_hex.empty()) {
    key = FromHexFixed<32>(account.pubkey_hex);
    if (!key) return Error::Invalid("invalid_pubkey", "account pubkey is not 32-byte hex");
  }
  const ByteSpan pub = key ? ByteSpan(*key) : ByteSpan();
  boost::container::small_vector<const Balance*, 4> rows;
  std::size_t size = 1 + 4 + account.account_id.size() + 4 + account.l1_address.size() + 4 + pub.size() + 8 + 4;
  for (const auto& b : account.balances) {
    if (!b.available && !b.staked && !b.locked) continue;
    rows.push_back(&b);
    size += 4 + b.asset.size() + 3 * 8;
  }
  std::sort(rows.begin(), rows.end(), [](const auto* x, const auto* y) { return x->asset < y->asset; });
  for (std::size_t i = 1; i < rows.size(); ++i)
    if (rows[i]->asset == rows[i - 1]->asset) return Error::Internal("duplicate asset row for " + account.account_id);
  Bytes out;
  out.reserve(size);
  out.push_back(kAccountLeaf);
  PutLp(out, account.account_id);
  PutLp(out, account.l1_address);
  PutLp(out, pub);
  PutU64(out, account.nonce);
  PutU32(out, static_cast<std::uint32_t>(rows.size()));
  for (const auto* b : rows) {
    PutLp(out, b->asset);
    PutU64(out, b->available);
    PutU64(out, b->staked);
    PutU64(out, b->locked);
  }
  return out;
}

Bytes EncodeSupplyLeaf(const SupplyState& s) {
  Bytes out;
  out.reserve(1 + 4 + s.asset.size() + 4 * 8);
  out.push_back(kSupplyLeaf);
  PutLp(out, s.asset);
  PutU64(out, s.genesis_total);
  PutU64(out, s.minted);
  PutU64(out, s.burned);
  PutU64(out, s.fee_pool);
  return out;
}

Hash256 DecodedLeaf::Key() const {
  return type == kAccountLeaf ? AccountKey(account.account_id) : SupplyKey(supply.asset);
}

Result<DecodedLeaf> DecodeLeaf(ByteSpan data) {
  Reader r{data};
  DecodedLeaf leaf;
  auto bad = [](const char* why) { return Error::Invalid("invalid_leaf", why); };
  std::uint64_t type = r.U(1);
  if (!r.ok) return bad("empty leaf data");
  if (type == kAccountLeaf) {
    leaf.type = kAccountLeaf;
    leaf.account.account_id = r.Lp();
    leaf.account.l1_address = r.Lp();
    std::string pub = r.Lp();
    if (r.ok && !pub.empty() && pub.size() != 32) return bad("pubkey must be 32 bytes or empty");
    leaf.account.pubkey_hex = ToHex(AsBytes(pub));
    leaf.account.nonce = r.U(8);
    std::uint64_t n = r.U(4);
    if (!r.ok || n > kMaxAssets) return bad("truncated account leaf");
    for (std::uint64_t i = 0; i < n && r.ok; ++i) {
      Balance b;
      b.asset = r.Lp();
      b.available = r.U(8);
      b.staked = r.U(8);
      b.locked = r.U(8);
      if (!leaf.account.balances.empty() && leaf.account.balances.back().asset >= b.asset)
        return bad("assets not strictly sorted");
      if (r.ok && !b.available && !b.staked && !b.locked) return bad("all-zero balance row");
      leaf.account.balances.push_back(std::move(b));
    }
  } else if (type == kSupplyLeaf) {
    leaf.type = kSupplyLeaf;
    leaf.supply.asset = r.Lp();
    leaf.supply.genesis_total = r.U(8);
    leaf.supply.minted = r.U(8);
    leaf.supply.burned = r.U(8);
    leaf.supply.fee_pool = r.U(8);
  } else {
    return bad("unknown leaf type");
  }
  if (!r.ok) return bad("truncated leaf data");
  if (r.pos != data.size()) return bad("trailing bytes after leaf data");
  return leaf;
}

Result<Account> LoadAccountState(store::Database& db, std::string_view account_id) {
  auto st = db.Use("SELECT l1_address, pubkey, nonce FROM accounts WHERE account_id = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, account_id);
  auto row = store::FirstRow<Account>(**st, [&](const store::Statement& s) {
    Account a;
    a.account_id = std::string(account_id);
    a.l1_address = s.Text(0);
    a.pubkey_hex = s.Text(1);
    a.nonce = static_cast<std::uint64_t>(s.Int64(2));
    return a;
  });
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value())
    return Error::NotFound("account_not_found", "account " + std::string(account_id) + " not found");
  Account a = std::move(**row);
  auto bt = db.Use("SELECT asset, available, staked, locked FROM balances WHERE account_id = ?1 ORDER BY asset");
  if (!bt.ok()) return std::move(bt).error();
  (*bt)->Bind(1, account_id);
  auto rows = store::CollectRows<Balance>(**bt, [](const store::Statement& s) {
    return Balance{s.Text(0), static_cast<Amount>(s.Int64(1)), static_cast<Amount>(s.Int64(2)),
                   static_cast<Amount>(s.Int64(3))};
  });
  if (!rows.ok()) return std::move(rows).error();
  a.balances = std::move(*rows);
  // Rows not yet written back (kray/state/redo.h), inside the reads' snapshot.
  auto unwritten = RedoScope::Find(a.account_id, db);
  if (!unwritten.ok()) return std::move(unwritten).error();
  if (*unwritten) (*unwritten)->ApplyTo(a);
  return a;
}

namespace {
SupplyState ReadSupply(const store::Statement& s) {
  return SupplyState{s.Text(0), static_cast<Amount>(s.Int64(1)), static_cast<Amount>(s.Int64(2)),
                     static_cast<Amount>(s.Int64(3)), static_cast<Amount>(s.Int64(4))};
}
}  // namespace

Result<SupplyState> LoadSupply(store::Database& db, std::string_view asset) {
  auto st = db.Use("SELECT asset, genesis_total, minted, burned, fee_pool FROM supply WHERE asset = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, asset);
  auto row = store::FirstRow<SupplyState>(**st, ReadSupply);
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return SupplyState{std::string(asset)};
  return std::move(**row);
}

Result<std::vector<SupplyState>> LoadAllSupply(store::Database& db) {
  auto st = db.Use("SELECT asset, genesis_total, minted, burned, fee_pool FROM supply ORDER BY asset");
  if (!st.ok()) return std::move(st).error();
  return store::CollectRows<SupplyState>(**st, ReadSupply);
}

}  // namespace kray::state
