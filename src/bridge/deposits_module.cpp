// The bridge module: deposit addresses, credits, unattributed deposits and
// claims as operations of the module host (see include/kray/bridge/deposits.h).
#include <algorithm>
#include <array>
#include <charconv>

#include "kray/bitcoin/taproot_key.h"
#include "kray/bridge/deposits.h"
#include "kray/crypto/hash.h"
#include "kray/state/leaves.h"
#include "kray/state/op_context.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"
#include "module_parts.h"

namespace kray::bridge {

namespace {

using state::FieldKind;
using state::FieldSpec;
using state::OpContext;
using state::Operation;

constexpr std::size_t kMaxAssets = 16;
constexpr std::uint32_t kMaxIndex = 0x7fffffff;  // ranged descriptors derive unhardened children

Error BadEvidence(std::string why) {
  return Error::Invalid("invalid_evidence", std::move(why));
}

// A canonical decimal u32 ("0", "17"; no sign, no leading zeros).
std::optional<std::uint32_t> ParseU32(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || std::to_string(v) != s) return std::nullopt;
  return v;
}

bool IsHash(std::string_view s) {
  auto h = FromHexFixed<32>(s);
  return h && ToHex(*h) == s;
}

// Exactly the given evidence keys, each present.
Status ExactEvidence(const Operation& op, std::initializer_list<std::string_view> keys) {
  if (op.evidence.size() != keys.size())
    return BadEvidence("operation '" + op.type + "' carries exactly the evidence it names");
  for (auto k : keys)
    if (!op.Evidence(k)) return BadEvidence("operation '" + op.type + "' needs evidence '" + std::string(k) + "'");
  return Ok();
}

// The L1 evidence every deposit operation carries.
struct L1Evidence {
  std::string txid, block_hash;
  std::uint32_t vout = 0, height = 0, address_index = 0;
};

Result<L1Evidence> ReadL1Evidence(const Operation& op) {
  L1Evidence e;
  e.txid = std::string(op.Evidence("txid").value_or(""));
  e.block_hash = std::string(op.Evidence("block_hash").value_or(""));
  if (!IsHash(e.txid)) return BadEvidence("txid must be 64 lowercase hex (display order)");
  if (!IsHash(e.block_hash)) return BadEvidence("block_hash must be 64 lowercase hex (display order)");
  auto vout = ParseU32(op.Evidence("vout").value_or(""));
  auto height = ParseU32(op.Evidence("height").value_or(""));
  auto index = ParseU32(op.Evidence("address_index").value_or(""));
  if (!vout || !height || !index || *index > kMaxIndex)
    return BadEvidence("vout, height and address_index must be canonical decimals (index < 2^31)");
  e.vout = *vout;
  e.height = *height;
  e.address_index = *index;
  return e;
}

Status CheckFunding(std::string_view funding) {
  if (funding.size() > kMaxFundingInputs * 2 * 200 + kMaxFundingInputs)
    return BadEvidence("funding lists at most 16 scripts");
  std::size_t n = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = funding.find(',', start);
    std::string_view part = funding.substr(start, comma == std::string_view::npos ? funding.npos : comma - start);
    auto bytes = FromHex(part);
    if (!bytes || ToHex(*bytes) != part || part.size() > 400)
      return BadEvidence("funding scripts are lowercase hex, at most 200 bytes each");
    ++n;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (n > kMaxFundingInputs) return BadEvidence("funding lists at most 16 scripts");
  return Ok();
}

std::vector<std::string_view> SplitFunding(std::string_view funding) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = funding.find(',', start);
    out.push_back(funding.substr(start, comma == std::string_view::npos ? funding.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// --- tables ---

Result<std::optional<DepositRecord>> FindRecord(store::Database& db, std::string_view txid, std::uint32_t vout) {
  auto st = db.Use(
      "SELECT txid, vout, status, account_id, address_index, block_hash, height, assets, reason, funding, claim_key "
      "FROM bridge_deposits WHERE txid=?1 AND vout=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(vout));
  return store::FirstRow<DepositRecord>(**st, [](const store::Statement& s) {
    return DepositRecord{
        s.Text(0), static_cast<std::uint32_t>(s.Int64(1)), s.Text(2), s.Text(3), static_cast<std::uint32_t>(s.Int64(4)),
        s.Text(5), static_cast<std::uint32_t>(s.Int64(6)), s.Text(7), s.Text(8), s.Text(9),
        s.Text(10)};
  });
}

DepositRecord ReadRecord(const store::Statement& s) {
  return DepositRecord{
      s.Text(0), static_cast<std::uint32_t>(s.Int64(1)), s.Text(2), s.Text(3), static_cast<std::uint32_t>(s.Int64(4)),
      s.Text(5), static_cast<std::uint32_t>(s.Int64(6)), s.Text(7), s.Text(8), s.Text(9),
      s.Text(10)};
}

Status InsertRecord(store::Database& db, const DepositRecord& r) {
  auto st = db.Use(
      "INSERT INTO bridge_deposits (txid, vout, status, account_id, address_index, block_hash, height, assets, "
      "reason, funding, claim_key) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
  if (!st.ok()) return std::move(st).error();
  auto& s = **st;
  s.Bind(1, r.txid).Bind(2, static_cast<std::int64_t>(r.vout)).Bind(3, r.status).BindTextOrNull(4, r.account_id);
  s.Bind(5, static_cast<std::int64_t>(r.address_index)).Bind(6, r.block_hash);
  s.Bind(7, static_cast<std::int64_t>(r.height)).Bind(8, r.assets).Bind(9, r.reason).Bind(10, r.funding);
  s.Bind(11, r.claim_key);
  return s.Run();
}

// Exactly once: the outpoint must not have been acted on before. Checked
// before writing, so a second credit fails cleanly (409) instead of hitting
// the primary key.
Status RequireNew(store::Database& db, const L1Evidence& e) {
  auto existing = FindRecord(db, e.txid, e.vout);
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) {
    return Error::Conflict("deposit_already_recorded", "deposit " + OutpointId(e.txid, e.vout) + " is already " +
                                                           (*existing)->status + " (exactly once per outpoint)");
  }
  return Ok();
}

Status MintAll(OpContext& ctx, std::string_view account, const std::vector<AssetAmount>& assets) {
  for (const auto& a : assets) KRAY_TRY(ctx.Mint(account, a.asset, a.amount));
  return Ok();
}

// --- operations ---

class AddressAssignOp : public state::OperationType {
 public:
  std::string_view name() const override { return kAddressAssignOp; }
  state::Auth auth() const override { return state::Auth::kPublic; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "account"; }
  bool consumes_nonce() const override { return false; }

  Status Check(const ChainParams&, const Operation& op) const override {
    if (op.auth != state::Auth::kPublic)
      return Error::Invalid("wrong_authorisation", "bridge_address_assign is public: send it without a signature");
    auto account = op.Field("account");
    if (!account || !state::IsAccountId(*account)) return Error::Invalid("invalid_account", "account must be an id");
    if (op.evidence.empty()) return Ok();
    // account_address: ValidateOperation checks it names `account` (keep_address).
    return ExactEvidence(op, {"account_address"});
  }

  Status Apply(OpContext& ctx, const Operation& op) const override {
    const std::string account(*op.Field("account"));
    auto existing = AddressIndexOf(ctx.Sql(), account);
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value()) {
      ctx.SetResult("address_index", std::to_string(**existing));
      ctx.MarkNoChange();  // idempotent: the account keeps its address
      return Ok();
    }
    KRAY_TRY(ctx.EnsureAccount(account, op.Evidence("account_address")));
    auto max = MaxAddressIndex(ctx.Sql());
    if (!max.ok()) return std::move(max).error();
    if (*max >= kMaxIndex)
      return Error::Conflict("bridge_addresses_exhausted", "every deposit address index below 2^31 is assigned");
    const std::uint32_t index = *max + 1;
    auto st = ctx.Sql().Use("INSERT INTO bridge_addresses (account_id, address_index) VALUES (?1, ?2)");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, account).Bind(2, static_cast<std::int64_t>(index));
    KRAY_TRY((*st)->Run());
    ctx.Touch(state::LeafId{kBridgeAddressLeaf, account});
    ctx.SetResult("address_index", std::to_string(index));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{
      {"account", FieldKind::kAccount, true, std::nullopt, {}, 256, /*keep_address=*/true},
  }};
};

class DepositCreditOp : public state::OperationType {
 public:
  std::string_view name() const override { return kDepositCreditOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }

  Status Check(const ChainParams& params, const Operation& op) const override {
    auto account = op.Field("account");
    if (!account || !state::IsAccountId(*account)) return Error::Invalid("invalid_account", "account must be an id");
    auto assets = ParseAssets(params, op.Field("assets").value_or(""));
    if (!assets.ok()) return std::move(assets).error();
    KRAY_TRY(ExactEvidence(op, {"address_index", "block_hash", "height", "txid", "vout"}));
    auto e = ReadL1Evidence(op);
    if (!e.ok()) return std::move(e).error();
    if (e->address_index == 0)
      return BadEvidence("address index 0 is the bridge's own address: its deposits are unattributed");
    return Ok();
  }

  // Replay checks what the log can: the outpoint is new, the address index
  // belongs to the account credited. That Bitcoin has the output (value,
  // runes, script of the index's address, N confirmations) is for a
  // verifier with an L1 node, from the evidence (docs/BRIDGE.md).
  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto e = ReadL1Evidence(op);
    if (!e.ok()) return std::move(e).error();
    auto assets = ParseAssets(ctx.params(), *op.Field("assets"));
    if (!assets.ok()) return std::move(assets).error();
    const std::string account(*op.Field("account"));
    KRAY_TRY(RequireNew(ctx.Sql(), *e));
    auto owner = AccountOfIndex(ctx.Sql(), e->address_index);
    if (!owner.ok()) return std::move(owner).error();
    if (!owner->has_value() || **owner != account)
      return BadEvidence("address index " + std::to_string(e->address_index) + " is not assigned to " + account);
    KRAY_TRY(MintAll(ctx, account, *assets));
    DepositRecord r{e->txid,
                    e->vout,
                    "credited",
                    account,
                    e->address_index,
                    e->block_hash,
                    e->height,
                    std::string(*op.Field("assets")),
                    "",
                    "",
                    ""};
    KRAY_TRY(InsertRecord(ctx.Sql(), r));
    const std::string id = OutpointId(e->txid, e->vout);
    ctx.Touch(state::LeafId{kBridgeDepositLeaf, id});
    ctx.SetResult("deposit", id);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 2> kFields = {{
      {"account", FieldKind::kAccount},
      {"assets", FieldKind::kText, true, std::nullopt, {}, 1024},
  }};
};

class DepositUnattributedOp : public state::OperationType {
 public:
  std::string_view name() const override { return kDepositUnattributedOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }

  Status Check(const ChainParams& params, const Operation& op) const override {
    auto assets = ParseAssets(params, op.Field("assets").value_or(""));
    if (!assets.ok()) return std::move(assets).error();
    KRAY_TRY(ExactEvidence(op, {"address_index", "block_hash", "funding", "height", "txid", "vout"}));
    auto e = ReadL1Evidence(op);
    if (!e.ok()) return std::move(e).error();
    auto reason = op.Field("reason").value_or("");
    if (reason != (e->address_index == 0 ? kReasonBridgeAddress : kReasonUnassignedIndex))
      return Error::Invalid("invalid_field", "reason must be bridge_address for index 0, else unassigned_index");
    return CheckFunding(*op.Evidence("funding"));
  }

  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto e = ReadL1Evidence(op);
    if (!e.ok()) return std::move(e).error();
    KRAY_TRY(RequireNew(ctx.Sql(), *e));
    if (e->address_index != 0) {
      auto owner = AccountOfIndex(ctx.Sql(), e->address_index);
      if (!owner.ok()) return std::move(owner).error();
      if (owner->has_value())
        return Error::Conflict("deposit_index_assigned", "address index " + std::to_string(e->address_index) +
                                                             " belongs to " + **owner + ": credit it instead");
    }
    DepositRecord r{e->txid,
                    e->vout,
                    "unattributed",
                    "",
                    e->address_index,
                    e->block_hash,
                    e->height,
                    std::string(*op.Field("assets")),
                    std::string(*op.Field("reason")),
                    std::string(*op.Evidence("funding")),
                    ""};
    KRAY_TRY(InsertRecord(ctx.Sql(), r));
    const std::string id = OutpointId(e->txid, e->vout);
    ctx.Touch(state::LeafId{kBridgeDepositLeaf, id});
    ctx.SetResult("deposit", id);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 2> kFields = {{
      {"assets", FieldKind::kText, true, std::nullopt, {}, 1024},
      {"reason", FieldKind::kId, true, std::nullopt, {}, 32},
  }};
};

class DepositClaimOp : public state::OperationType {
 public:
  std::string_view name() const override { return kDepositClaimOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "account"; }
  // A claim is a proof of possession of the funding key, not an account
  // action: it uses nonce 0 and does not consume it (a second claim of the
  // same deposit fails because it is no longer unattributed).
  bool consumes_nonce() const override { return false; }
  std::optional<crypto::XOnlyPubKey> SigningKey(const Operation& op) const override {
    auto key = FromHexFixed<32>(op.Field("pubkey").value_or(""));
    return key ? std::optional<crypto::XOnlyPubKey>(*key) : std::nullopt;
  }

  Status Check(const ChainParams&, const Operation& op) const override {
    auto pub = op.Field("pubkey").value_or("");
    auto key = FromHexFixed<32>(pub);
    if (!key || ToHex(*key) != pub || !crypto::IsValidXOnly(*key))
      return Error::Invalid("invalid_pubkey", "pubkey must be a valid x-only key (64 lowercase hex)");
    if (!IsHash(op.Field("txid").value_or("")))
      return Error::Invalid("invalid_field", "txid must be 64 lowercase hex (display order)");
    if (!ParseU32(op.Field("vout").value_or(""))) return Error::Invalid("invalid_field", "vout must be below 2^32");
    if (!op.evidence.empty()) return BadEvidence("deposit_claim carries no evidence");
    return Ok();
  }

  // The funding scripts come from the replayed deposit_unattributed record,
  // so replay re-checks the whole claim from the log.
  Status Apply(OpContext& ctx, const Operation& op) const override {
    const std::string txid(*op.Field("txid"));
    const std::uint32_t vout = *ParseU32(*op.Field("vout"));
    const std::string id = OutpointId(txid, vout);
    auto rec = FindRecord(ctx.Sql(), txid, vout);
    if (!rec.ok()) return std::move(rec).error();
    if (!rec->has_value())
      return Error::NotFound("deposit_not_found", "no unattributed deposit " + id + " is recorded (yet)");
    if ((*rec)->status != "unattributed")
      return Error::Conflict("deposit_not_claimable", "deposit " + id + " is " + (*rec)->status);
    const auto key = *FromHexFixed<32>(*op.Field("pubkey"));
    bool matches = false;
    for (auto script : SplitFunding((*rec)->funding)) {
      auto bytes = FromHex(script);
      if (bytes && !bytes->empty() && ClaimKeyMatches(*bytes, key)) matches = true;
    }
    if (!matches) {
      return Error::Unauthorized("claim_key_mismatch",
                                 "the key is not the key of an address that funded deposit " + id);
    }
    auto assets = ParseAssets(ctx.params(), (*rec)->assets);
    if (!assets.ok()) return std::move(assets).error();
    KRAY_TRY(MintAll(ctx, op.signer, *assets));
    auto st = ctx.Sql().Use(
        "UPDATE bridge_deposits SET status='claimed', account_id=?3, claim_key=?4 WHERE txid=?1 AND vout=?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, txid).Bind(2, static_cast<std::int64_t>(vout)).Bind(3, op.signer).Bind(4, *op.Field("pubkey"));
    KRAY_TRY((*st)->Run());
    ctx.Touch(state::LeafId{kBridgeDepositLeaf, id});
    ctx.SetResult("deposit", id);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 3> kFields = {{
      {"pubkey", FieldKind::kPubkey},
      {"txid", FieldKind::kId, true, std::nullopt, {}, 64},
      {"vout", FieldKind::kUint},
  }};
};

// --- leaves ---

Result<std::optional<Bytes>> EncodeAddressLeaf(store::Database& db, std::string_view account) {
  auto index = AddressIndexOf(db, account);
  if (!index.ok()) return std::move(index).error();
  if (!index->has_value()) return std::optional<Bytes>();
  Bytes out{kBridgeAddressLeaf};
  state::PutLp(out, account);
  state::PutU32(out, **index);
  return std::optional<Bytes>(std::move(out));
}

Result<std::optional<Bytes>> EncodeDepositLeaf(store::Database& db, std::string_view id) {
  auto colon = id.rfind(':');
  if (colon == std::string_view::npos) return std::optional<Bytes>();
  auto vout = ParseU32(id.substr(colon + 1));
  if (!vout) return std::optional<Bytes>();
  auto rec = FindRecord(db, id.substr(0, colon), *vout);
  if (!rec.ok()) return std::move(rec).error();
  if (!rec->has_value()) return std::optional<Bytes>();
  const DepositRecord& r = **rec;
  Bytes out{kBridgeDepositLeaf};
  state::PutLp(out, id);
  state::PutLp(out, r.status);
  state::PutLp(out, r.account_id);
  state::PutU32(out, r.address_index);
  state::PutLp(out, r.block_hash);
  state::PutU32(out, r.height);
  state::PutLp(out, r.assets);
  state::PutLp(out, r.reason);
  state::PutLp(out, r.funding);
  state::PutLp(out, r.claim_key);
  return std::optional<Bytes>(std::move(out));
}

Status ForEachId(store::Database& db, const char* sql, const std::function<Status(std::string_view)>& fn) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return std::move(st).error();
  return store::ForEachRow(*st, [&](const store::Statement& r) { return fn(r.Text(0)); });
}

}  // namespace

namespace internal {

std::vector<const state::OperationType*> DepositOperations() {
  static const AddressAssignOp assign;
  static const DepositCreditOp credit;
  static const DepositUnattributedOp unattributed;
  static const DepositClaimOp claim;
  return {&assign, &credit, &unattributed, &claim};
}

std::vector<state::LeafType> DepositLeafTypes() {
  return {
      state::LeafType{kBridgeAddressLeaf, "bridge.address", EncodeAddressLeaf,
                      [](store::Database& db, const std::function<Status(std::string_view)>& fn) {
                        return ForEachId(db, "SELECT account_id FROM bridge_addresses ORDER BY account_id", fn);
                      }},
      state::LeafType{kBridgeDepositLeaf, "bridge.deposit", EncodeDepositLeaf,
                      [](store::Database& db, const std::function<Status(std::string_view)>& fn) {
                        return ForEachId(db, "SELECT txid || ':' || vout FROM bridge_deposits ORDER BY txid, vout", fn);
                      }},
  };
}

}  // namespace internal

std::string FormatAssets(std::vector<AssetAmount> assets) {
  std::sort(assets.begin(), assets.end(), [](const auto& a, const auto& b) { return a.asset < b.asset; });
  std::string out;
  for (const auto& a : assets) {
    if (!out.empty()) out += ',';
    out += a.asset + ":" + std::to_string(a.amount);
  }
  return out;
}

Result<std::vector<AssetAmount>> ParseAssets(const ChainParams& params, std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("invalid_assets", "assets '" + std::string(text.substr(0, 200)) + "': " + why);
  };
  if (text.empty()) return bad("empty");
  std::vector<AssetAmount> out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view part = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    auto colon = part.find(':');
    if (colon == std::string_view::npos) return bad("expected <asset>:<amount>");
    std::string asset(part.substr(0, colon));
    auto amount = ParseAmount(part.substr(colon + 1));
    if (!amount.ok() || *amount == 0 || std::to_string(*amount) != part.substr(colon + 1))
      return bad("amounts are canonical decimals above 0");
    if (!FindAsset(params.assets, asset)) return bad("unknown asset '" + asset + "'");
    if (!out.empty() && !(out.back().asset < asset)) return bad("assets must be sorted and unique");
    out.push_back({std::move(asset), *amount});
    if (out.size() > kMaxAssets) return bad("at most 16 assets");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string OutpointId(std::string_view txid_hex, std::uint32_t vout) {
  return std::string(txid_hex) + ":" + std::to_string(vout);
}

bool ClaimKeyMatches(ByteSpan script, const crypto::XOnlyPubKey& pubkey) {
  // P2TR: OP_1 <32-byte output key>.
  if (script.size() == 34 && script[0] == 0x51 && script[1] == 0x20) {
    if (std::equal(pubkey.begin(), pubkey.end(), script.begin() + 2)) return true;
    auto tweaked = bitcoin::TaprootOutputKey(pubkey, std::nullopt);
    return tweaked && std::equal(tweaked->key.begin(), tweaked->key.end(), script.begin() + 2);
  }
  // P2WPKH: OP_0 <20>; P2PKH: OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG.
  ByteSpan program;
  if (script.size() == 22 && script[0] == 0x00 && script[1] == 0x14) {
    program = script.subspan(2, 20);
  } else if (script.size() == 25 && script[0] == 0x76 && script[1] == 0xa9 && script[2] == 0x14 && script[23] == 0x88 &&
             script[24] == 0xac) {
    program = script.subspan(3, 20);
  } else {
    return false;
  }
  for (std::uint8_t parity : {0x02, 0x03}) {
    Bytes compressed{parity};
    compressed.insert(compressed.end(), pubkey.begin(), pubkey.end());
    auto h = crypto::HashOf160(compressed);
    if (std::equal(h.begin(), h.end(), program.begin())) return true;
  }
  return false;
}

Result<std::optional<std::uint32_t>> AddressIndexOf(store::Database& db, std::string_view account_id) {
  auto st = db.Use("SELECT address_index FROM bridge_addresses WHERE account_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, account_id);
  return store::FirstRow<std::uint32_t>(
      **st, [](const store::Statement& s) { return static_cast<std::uint32_t>(s.Int64(0)); });
}

Result<std::optional<std::string>> AccountOfIndex(store::Database& db, std::uint32_t index) {
  auto st = db.Use("SELECT account_id FROM bridge_addresses WHERE address_index=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(index));
  return store::FirstRow<std::string>(**st, [](const store::Statement& s) { return s.Text(0); });
}

Result<std::uint32_t> MaxAddressIndex(store::Database& db) {
  auto v = store::QueryInt(db, "SELECT MAX(address_index) FROM bridge_addresses", 0);
  if (!v.ok()) return std::move(v).error();
  return static_cast<std::uint32_t>(*v);
}

Result<std::optional<DepositRecord>> FindDepositRecord(store::Database& db, std::string_view txid, std::uint32_t vout) {
  return FindRecord(db, txid, vout);
}

Result<std::vector<DepositRecord>> AccountDepositRecords(store::Database& db, std::string_view account_id, int limit) {
  auto st = db.Use(
      "SELECT txid, vout, status, account_id, address_index, block_hash, height, assets, reason, funding, claim_key "
      "FROM bridge_deposits WHERE account_id=?1 ORDER BY height DESC, txid, vout LIMIT ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, account_id).Bind(2, static_cast<std::int64_t>(limit));
  return store::CollectRows<DepositRecord>(**st, ReadRecord);
}

Result<std::uint64_t> CountAccountDeposits(store::Database& db, std::string_view account_id) {
  auto st = db.Use("SELECT COUNT(*) FROM bridge_deposits WHERE account_id=?1");  // index-only
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, account_id);
  auto n = store::FirstRow<std::int64_t>(**st, [](const store::Statement& r) { return r.Int64(0); });
  if (!n.ok()) return std::move(n).error();
  return static_cast<std::uint64_t>(n->value_or(0));
}

Result<std::vector<DepositRecord>> UnattributedDepositRecords(store::Database& db, int limit) {
  auto st = db.Use(
      "SELECT txid, vout, status, account_id, address_index, block_hash, height, assets, reason, funding, claim_key "
      "FROM bridge_deposits WHERE status='unattributed' ORDER BY height DESC, txid, vout LIMIT ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(limit));
  return store::CollectRows<DepositRecord>(**st, ReadRecord);
}

Result<std::map<std::string, Amount>> DepositedTotals(store::Database& db) {
  std::map<std::string, Amount> totals;
  auto st = db.Prepare("SELECT assets FROM bridge_deposits WHERE status IN ('credited', 'claimed')");
  if (!st.ok()) return std::move(st).error();
  Status s = store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
    std::string text = r.Text(0);
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t comma = text.find(',', start);
      std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto colon = part.find(':');
      if (colon == std::string::npos) return Error::Internal("bridge_deposits: malformed assets '" + text + "'");
      auto amount = ParseAmount(part.substr(colon + 1));
      if (!amount.ok()) return Error::Internal("bridge_deposits: malformed assets '" + text + "'");
      auto sum = CheckedAdd(totals[part.substr(0, colon)], *amount);
      if (!sum) return Error::Internal("bridge_deposits: totals overflow");
      totals[part.substr(0, colon)] = *sum;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return totals;
}

}  // namespace kray::bridge
