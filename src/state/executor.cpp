// Validation, authorisation and execution of operations (see executor.h).
#include "kray/state/executor.h"

#include <algorithm>
#include <map>
#include <set>

#include "kray/crypto/hash.h"
#include "kray/state/genesis.h"
#include "kray/state/leaves.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"
#include "unit_of_work.h"

namespace kray::state {
namespace {

Error WrongAuth(const OperationType& t, Auth got) {
  return Error::Invalid("wrong_authorisation", "operation '" + std::string(t.name()) + "' is " +
                                                   std::string(AuthName(t.auth())) + ", not " +
                                                   std::string(AuthName(got)));
}

bool IsSorted(const Fields& f) {
  for (std::size_t i = 1; i < f.size(); ++i)
    if (!(f[i - 1].first < f[i].first)) return false;
  return true;
}

// A field that keeps the address it was named by (FieldSpec::keep_address)
// may carry it as evidence "<name>_address", from which the account is
// created if it does not exist: it must be the canonical P2TR address of
// the network whose id the field holds. (A signature binds the id only.)
Status CheckAddressEvidence(const ChainParams& params, const OperationType& type, const Operation& op) {
  for (const auto& spec : type.fields()) {
    if (!spec.keep_address) continue;
    const std::string key = std::string(spec.name) + "_address";
    auto addr = op.Evidence(key);
    if (!addr) continue;
    auto named = ResolveAccount(params, *addr);  // an account id resolves to no address
    if (!named.ok() || named->address != *addr || named->account_id != op.Field(spec.name))
      return Error::Invalid("invalid_evidence", key + " is not the canonical address of account '" +
                                                    std::string(op.Field(spec.name).value_or("")) + "'");
  }
  return Ok();
}

}  // namespace

Status ValidateOperation(const ChainParams& params, const ModuleRegistry& registry, Operation& op) {
  const OperationType* type = registry.FindOperation(op.type);
  if (!type) return Error::Invalid("unknown_operation", "unknown operation type '" + op.type + "'");
  // A type takes exactly its own kind of authorisation, except a public one
  // that may also be signed (account_create's proof of possession).
  bool public_or_signed = type->auth() == Auth::kPublic && type->may_be_signed() && op.auth == Auth::kSigned;
  if (op.auth != type->auth() && !public_or_signed) return WrongAuth(*type, op.auth);
  if (!IsSorted(op.fields) || !IsSorted(op.evidence))
    return Error::Invalid("invalid_fields", "fields and evidence must be sorted with unique keys");
  if (op.auth == Auth::kSigned) {
    if (!IsAccountId(op.signer)) return Error::Invalid("invalid_account", "signer must be a kray_ account id");
    if (op.signature.size() != 64)
      return Error::Invalid("invalid_signature_format", "signature must be 64 bytes (128 hex characters)");
    if (op.scheme == SigScheme::kNone) return Error::Invalid("invalid_field", "a signed operation needs a sig_scheme");
    if (!type->consumes_nonce() && op.nonce != 0)
      return Error::Invalid("invalid_field", "operation '" + op.type + "' is signed with nonce 0");
  } else {
    if (!op.signer.empty() || !op.signature.empty() || op.scheme != SigScheme::kNone || op.nonce != 0)
      return Error::Invalid("invalid_field", "only signed operations carry a signer, nonce or signature");
  }
  KRAY_TRY(type->Check(params, op));
  KRAY_TRY(CheckAddressEvidence(params, *type, op));
  if (op.auth == Auth::kSigned) {
    if (op.scheme == SigScheme::kLegacy) KRAY_TRY(type->CheckLegacy(op));  // allowed for this op?
    op.hash = ToHex(SigningMessageV1(params.chain_id, op.type, op.signer, op.nonce, op.fields));
    op.gas_fee = type->gas();
  } else {
    op.gas_fee = 0;
  }
  return Ok();
}

Result<Hash256> SignedMessage(const ChainParams& params, const OperationType& type, const Operation& op) {
  if (op.scheme == SigScheme::kLegacy) return type.LegacyMessage(op);
  return SigningMessageV1(params.chain_id, op.type, op.signer, op.nonce, op.fields);
}

Status VerifyOperationSignature(const ChainParams& params, const OperationType& type, const Operation& op,
                                const std::optional<crypto::VerifyingKey>& bound_key) {
  auto invalid = [&op] {
    return Error::Unauthorized(
        "invalid_signature",
        "signature does not verify (" + std::string(SigSchemeName(op.scheme)) + " message) against the signer's key");
  };
  // A key the operation names itself (account_create's proof of possession)
  // is parsed here; a bound key arrives parsed (the Ledger caches it).
  std::optional<crypto::VerifyingKey> own;
  if (auto named = type.SigningKey(op)) {
    own = crypto::VerifyingKey::Parse(*named);
    if (!own) return invalid();
  }
  const crypto::VerifyingKey* key = own ? &*own : bound_key ? &*bound_key : nullptr;
  if (!key) {
    return Error::Unauthorized("pubkey_not_bound",
                               "account " + op.signer + " has no key bound; call /api/account/create first");
  }
  auto msg = SignedMessage(params, type, op);
  if (!msg.ok()) return std::move(msg).error();
  crypto::SchnorrSig sig{};
  std::copy(op.signature.begin(), op.signature.end(), sig.begin());
  if (!crypto::SchnorrVerify(*key, *msg, sig)) return invalid();
  return Ok();
}

// ---------------------------------------------------------------------------

struct Executor::Impl {
  store::Database& db;
  const ChainParams& params;
  const ModuleRegistry& registry;
  StateCache group;
  std::vector<std::string> written_accounts;          // by the last FinishGroup()
  std::vector<std::shared_ptr<const Operation>> ops;  // executed in this group, in seq order
  Bytes record_blobs;                                 // WriteOperations' encodings of one operation, reused
  // Changed in this group and in no operation's `touched` list: supply
  // leaves, and the genesis's. EncodeLeaves() adds the operations' lists.
  std::set<LeafId> unlisted_leaves;
  std::size_t accounts_created = 0;
  std::optional<std::uint64_t> next_seq;
  std::optional<std::int64_t> last_ts;
  std::optional<Error> broken;  // sticky for the group: a unit could not be committed cleanly
  Account leaf_account;         // EncodeCachedAccount's, reused (no allocation per leaf)

  Impl(store::Database& d, const ChainParams& p, const ModuleRegistry& r) : db(d), params(p), registry(r), group(d) {}

  Status WriteOperations();
  Status WriteCounters();
  // The group's cached state, operation records and counters, written.
  Status WriteGroup();
  // Forgets the group's operations and leaves (after they are written).
  void EndGroup();
  Result<std::vector<LeafChange>> EncodeLeaves();
  Result<std::optional<Bytes>> EncodeCachedAccount(std::string_view id);
};

Executor::Executor(store::Database& db, const ChainParams& params, const ModuleRegistry& registry)
    : impl_(std::make_unique<Impl>(db, params, registry)) {}
Executor::~Executor() = default;

Result<std::uint64_t> Executor::NextSeq() {
  if (!impl_->next_seq) {
    auto max = store::QueryInt(impl_->db, "SELECT MAX(seq) FROM operations");
    if (!max.ok()) return std::move(max).error();
    impl_->next_seq = static_cast<std::uint64_t>(*max) + 1;
  }
  return *impl_->next_seq;
}

Result<std::int64_t> Executor::LastTimestamp() {
  if (!impl_->last_ts) {
    auto ts = store::QueryInt(impl_->db, "SELECT timestamp FROM operations ORDER BY seq DESC LIMIT 1");
    if (!ts.ok()) return std::move(ts).error();
    impl_->last_ts = *ts;
  }
  return *impl_->last_ts;
}

Result<std::optional<crypto::XOnlyPubKey>> Executor::BoundKey(std::string_view account_id) {
  auto row = impl_->group.PeekAccount(account_id);
  if (!row.ok()) return std::move(row).error();
  if (!*row || (*row)->pubkey.empty()) return std::optional<crypto::XOnlyPubKey>();
  auto key = FromHexFixed<32>((*row)->pubkey);
  if (!key) return Error::Internal("stored pubkey of " + std::string(account_id) + " is not 32 bytes of hex");
  return std::optional<crypto::XOnlyPubKey>(*key);
}

Status Executor::ApplyGenesis(const Genesis& genesis) {
  UnitOfWork u(impl_->group, impl_->db, impl_->params, genesis.timestamp);
  for (const auto& a : genesis.accounts) {
    KRAY_TRY(u.CreateAccount(a.l1_address, a.pubkey_hex));
    std::string id = AccountIdFromAddress(a.l1_address);
    for (const auto& [asset, amount] : a.balances) KRAY_TRY(u.AllocateGenesis(id, asset, amount));
  }
  // Every configured asset has a supply row, so its (possibly zero) issuance
  // is explicit from the start.
  for (const auto& asset : impl_->params.assets) KRAY_TRY(u.DeclareAsset(asset.symbol));
  for (const Module* m : impl_->registry.modules()) {
    auto it = genesis.module_sections.find(std::string(m->name()));
    KRAY_TRY(m->ApplyGenesis(u, it == genesis.module_sections.end() ? std::string_view() : it->second));
  }
  impl_->accounts_created += u.accounts_created();
  KRAY_TRY(u.Commit());
  u.TakeTouched([&](LeafId&& leaf) { impl_->unlisted_leaves.insert(std::move(leaf)); });
  return Ok();
}

Result<Receipt> Executor::Execute(std::shared_ptr<Operation> shared, std::int64_t timestamp) {
  Impl& m = *impl_;
  Operation& op = *shared;
  if (m.broken) return *m.broken;
  const OperationType* type = m.registry.FindOperation(op.type);
  if (!type) return Error::Invalid("unknown_operation", "unknown operation type '" + op.type + "'");
  const bool is_signed = op.auth == Auth::kSigned;
  UnitOfWork u(m.group, m.db, m.params, timestamp);
  if (is_signed && type->consumes_nonce()) KRAY_TRY(u.UseNonce(op.signer, op.nonce));
  KRAY_TRY(type->Apply(u, op));
  Receipt receipt;
  if (u.no_change()) {
    u.Rollback();
    receipt.op = std::move(shared);
    receipt.result = std::move(u.result());
    receipt.no_change = true;
    return receipt;
  }
  if (is_signed) KRAY_TRY(u.ChargeGas(op.signer, type->gas()));
  auto seq = NextSeq();
  if (!seq.ok()) return std::move(seq).error();
  op.seq = *seq;
  op.timestamp = timestamp;
  op.gas_fee = is_signed ? type->gas() : 0;
  if (!is_signed) op.hash = ToHex(UnsignedOperationId(m.params.chain_id, op));
  if (is_signed) {
    auto signer = u.PeekAccount(op.signer);
    if (signer.ok() && *signer) receipt.new_nonce = (*signer)->nonce;
  }
  receipt.result = std::move(u.result());
  Status committed = u.Commit();
  if (!committed.ok()) {
    m.broken = committed.error();  // its SQL may be half kept: the group must not commit
    return committed.error();
  }
  m.next_seq = op.seq + 1;
  m.last_ts = timestamp;
  // Commit() leaves the unit's touched leaves and created count alone.
  m.accounts_created += u.accounts_created();
  op.touched.clear();
  u.TakeTouched([&](LeafId&& leaf) {
    if (leaf.type == kSupplyLeaf)
      m.unlisted_leaves.insert(std::move(leaf));  // no node for one the group has
    else
      op.touched.push_back(std::move(leaf));
  });
  receipt.op = std::move(shared);
  m.ops.push_back(receipt.op);
  return receipt;
}

void Executor::ExpectOperations(std::size_t n) {
  impl_->ops.reserve(impl_->ops.size() + n);
}

Status Executor::Impl::WriteOperations() {
  for (const auto& shared : ops) {
    const Operation& op = *shared;
    auto st = db.Use(
        "INSERT INTO operations (seq, hash, type, auth, signer, nonce, scheme, signature, fields, evidence, "
        "timestamp, gas_fee, touched) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
    if (!st.ok()) return std::move(st).error();
    auto hash = FromHexFixed<32>(op.hash);
    if (!hash) return Error::Internal("operation hash is not 32 bytes of hex");
    // The fields, evidence and touched leaves encoded one after another.
    record_blobs.clear();
    AppendFields(record_blobs, op.fields);
    const std::size_t evidence_at = record_blobs.size();
    AppendFields(record_blobs, op.evidence);
    const std::size_t touched_at = record_blobs.size();
    AppendLeafIds(record_blobs, op.touched);
    const ByteSpan blobs(record_blobs);
    const ByteSpan fields = blobs.first(evidence_at), evidence = blobs.subspan(evidence_at, touched_at - evidence_at),
                   touched = blobs.subspan(touched_at);
    // Bound without copies: all of it outlives Run(), which resets `s`.
    constexpr auto kNoCopy = store::Statement::Copy::kNo;
    auto& s = **st;
    s.Bind(1, static_cast<std::int64_t>(op.seq)).BindBlob(2, *hash, kNoCopy).Bind(3, op.type, kNoCopy);
    s.Bind(4, static_cast<std::int64_t>(op.auth)).BindTextOrNull(5, op.signer, kNoCopy);
    s.Bind(6, static_cast<std::int64_t>(op.nonce)).Bind(7, static_cast<std::int64_t>(op.scheme));
    if (op.signature.empty())
      s.BindNull(8);
    else
      s.BindBlob(8, op.signature, kNoCopy);
    s.BindBlob(9, fields, kNoCopy).BindBlob(10, evidence, kNoCopy);
    s.Bind(11, op.timestamp).Bind(12, static_cast<std::int64_t>(op.gas_fee)).BindBlob(13, touched, kNoCopy);
    KRAY_TRY(s.Run());
    for (const auto& leaf : op.touched) {
      // Accounts' histories are the history index's (history_index.h): a
      // row per account per transfer, at random places in the B-tree.
      if (leaf.type == kAccountLeaf) continue;
      auto ix = db.Use("INSERT INTO op_index (key, seq) VALUES (?1, ?2)");
      if (!ix.ok()) return std::move(ix).error();
      (*ix)->BindBlob(1, LeafKey(leaf.type, leaf.id)).Bind(2, static_cast<std::int64_t>(op.seq));
      KRAY_TRY((*ix)->Run());
    }
  }
  return Ok();
}

Status Executor::Impl::WriteCounters() {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_type;
  for (const auto& op : ops) {
    auto& [count, gas] = by_type[op->type];
    ++count;
    gas += static_cast<std::int64_t>(op->gas_fee);
  }
  for (const auto& [type, totals] : by_type) {
    auto st = db.Use(
        "INSERT INTO op_stats (type, count, gas) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(type) DO UPDATE SET count = count + ?2, gas = gas + ?3");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, type).Bind(2, totals.first).Bind(3, totals.second);
    KRAY_TRY((*st)->Run());
  }
  if (accounts_created > 0) {
    auto st = db.Use(
        "INSERT INTO counters (name, value) VALUES ('accounts', ?1) "
        "ON CONFLICT(name) DO UPDATE SET value = value + ?1");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, static_cast<std::int64_t>(accounts_created));
    KRAY_TRY((*st)->Run());
  }
  return Ok();
}

Result<std::optional<Bytes>> Executor::Impl::EncodeCachedAccount(std::string_view id) {
  auto exists = group.AccountState(id, leaf_account);
  if (!exists.ok()) return std::move(exists).error();
  if (!*exists) return std::optional<Bytes>();
  auto data = EncodeAccountLeaf(leaf_account);
  if (!data.ok()) return std::move(data).error();
  return std::optional<Bytes>(std::move(*data));
}

Result<std::vector<LeafChange>> Executor::Impl::EncodeLeaves() {
  // Every leaf once: the operations' lists and the unlisted ones, by
  // pointer (sorting LeafIds would move their strings).
  std::vector<const LeafId*> ids;
  for (const auto& op : ops)
    for (const auto& leaf : op->touched) ids.push_back(&leaf);
  for (const auto& leaf : unlisted_leaves) ids.push_back(&leaf);
  std::sort(ids.begin(), ids.end(), [](const LeafId* a, const LeafId* b) { return *a < *b; });
  ids.erase(std::unique(ids.begin(), ids.end(), [](const LeafId* a, const LeafId* b) { return *a == *b; }), ids.end());
  std::vector<LeafChange> out;
  out.reserve(ids.size());
  for (const LeafId* leaf : ids) {
    const LeafId& id = *leaf;
    const LeafType* lt = registry.FindLeafType(id.type);
    if (!lt) return Error::Internal("no module registers leaf type " + std::to_string(id.type));
    // Account leaves from the group's cache, which holds what was just
    // flushed: re-reading them from the store was 12 % of the sequencer's
    // time in batch runs. Other leaves from their modules' tables.
    auto data = id.type == kAccountLeaf ? EncodeCachedAccount(id.id) : lt->encode(db, id.id);
    if (!data.ok()) return std::move(data).error();
    out.push_back(LeafChange{id, LeafKey(id.type, id.id), std::move(*data)});
  }
  std::sort(out.begin(), out.end(), [](const LeafChange& a, const LeafChange& b) { return a.key < b.key; });
  return out;
}

Status Executor::Impl::WriteGroup() {
  if (broken) return *broken;
  written_accounts = group.DirtyAccountIds();
  KRAY_TRY(group.Flush());
  KRAY_TRY(WriteOperations());
  return WriteCounters();
}

void Executor::Impl::EndGroup() {
  ops.clear();
  unlisted_leaves.clear();
  accounts_created = 0;
}

Result<GroupChanges> Executor::FinishGroup() {
  Impl& m = *impl_;
  KRAY_TRY(m.WriteGroup());
  auto leaves = m.EncodeLeaves();
  if (!leaves.ok()) return std::move(leaves).error();
  GroupChanges changes;
  changes.operations = std::move(m.ops);
  changes.leaves = std::move(*leaves);
  m.EndGroup();
  return changes;
}

Status Executor::FlushGroup() {
  Impl& m = *impl_;
  KRAY_TRY(m.WriteGroup());
  m.EndGroup();
  return Ok();
}

const std::vector<std::string>& Executor::WrittenAccounts() const {
  return impl_->written_accounts;
}

void Executor::Abort() {
  Impl& m = *impl_;
  m.group.Clear();
  m.ops.clear();
  m.unlisted_leaves.clear();
  m.accounts_created = 0;
  m.next_seq.reset();
  m.last_ts.reset();
  m.broken.reset();
}

bool Executor::TrimCache(std::size_t max_entries) {
  return impl_->group.Trim(max_entries);
}

void Executor::ReserveCache(std::size_t accounts) {
  impl_->group.Reserve(accounts);
}

void Executor::EnableWriteBack(UnwrittenRows& rows, double sweep_seconds) {
  impl_->group.EnableWriteBack(rows, sweep_seconds);
}

void Executor::StageUnwritten() {
  // The last operation written (NextSeq's predecessor); a group without
  // operations changes no account row.
  impl_->group.Stage(impl_->next_seq ? *impl_->next_seq - 1 : 0);
}

void Executor::Committed() {
  impl_->group.Committed();
}

void Executor::WriteBackAll() {
  impl_->group.WriteBackAll();
}

bool Executor::WriteBackDue() const {
  return impl_->group.WriteBackDue();
}

}  // namespace kray::state
