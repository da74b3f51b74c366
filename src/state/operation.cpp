// Operation model and canonical encodings (see include/kray/state/operation.h).
#include "kray/state/operation.h"

#include <algorithm>

#include "kray/crypto/hash.h"
#include "kray/state/leaves.h"

namespace kray::state {
namespace {

constexpr std::size_t kMaxFieldCount = 256;
constexpr std::size_t kMaxKey = 64;
constexpr std::size_t kMaxValue = 65536;
constexpr std::size_t kMaxLeafIds = 1 << 16;

// Bounds-checked reader for untrusted encodings.
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
  std::string Lp(std::size_t max) {
    std::uint64_t n = U(4);
    if (!ok || n > max || !Need(static_cast<std::size_t>(n))) {
      ok = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in.data() + pos), static_cast<std::size_t>(n));
    pos += static_cast<std::size_t>(n);
    return s;
  }
};

void PutFields(Bytes& out, const Fields& fields) {
  PutU32(out, static_cast<std::uint32_t>(fields.size()));
  for (const auto& [k, v] : fields) {
    PutLp(out, k);
    PutLp(out, v);
  }
}

void PutI64(Bytes& out, std::int64_t v) {
  PutU64(out, static_cast<std::uint64_t>(v));
}

std::size_t FieldsSize(const Fields& fields) {
  std::size_t n = 4;
  for (const auto& [k, v] : fields) n += 8 + k.size() + v.size();
  return n;
}

// The encodings' sizes, reserved before writing them: grown byte by byte
// from empty, a record's buffer was reallocated and copied about ten times
// (with the touched leaves' separate buffer, a quarter of its hash's cost;
// docs/BENCHMARKS.md, fifty-third round).
std::size_t SubmittedSize(const Operation& op) {
  return 4 + op.type.size() + 1 + 4 + op.signer.size() + 8 + 1 + 4 + op.signature.size() + FieldsSize(op.fields) +
         FieldsSize(op.evidence);
}

std::size_t LeafIdsSize(const std::vector<LeafId>& ids) {
  std::size_t n = 4;
  for (const auto& id : ids) n += 1 + 4 + id.id.size();
  return n;
}

void PutLeafIds(Bytes& out, const std::vector<LeafId>& ids) {
  PutU32(out, static_cast<std::uint32_t>(ids.size()));
  for (const auto& id : ids) {
    out.push_back(id.type);
    PutLp(out, id.id);
  }
}

// What a submitter decides: lp(type) || u8(auth) || lp(signer) ||
// u64be(nonce) || u8(scheme) || lp(signature) || fields || evidence.
void PutSubmitted(Bytes& out, const Operation& op) {
  PutLp(out, op.type);
  out.push_back(static_cast<std::uint8_t>(op.auth));
  PutLp(out, op.signer);
  PutU64(out, op.nonce);
  out.push_back(static_cast<std::uint8_t>(op.scheme));
  PutLp(out, ByteSpan(op.signature));
  PutFields(out, op.fields);
  PutFields(out, op.evidence);
}

// A field list read from `r` (strict: sorted unique keys, bounded sizes).
Result<Fields> ReadFields(Reader& r) {
  Fields out;
  std::uint64_t n = r.U(4);
  if (!r.ok || n > kMaxFieldCount) return Error::Invalid("invalid_fields", "field list is truncated or too long");
  out.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok; ++i) {
    std::string k = r.Lp(kMaxKey);
    std::string v = r.Lp(kMaxValue);
    if (r.ok && !out.empty() && out.back().first >= k)
      return Error::Invalid("invalid_fields", "field keys are not strictly sorted");
    out.emplace_back(std::move(k), std::move(v));
  }
  if (!r.ok) return Error::Invalid("invalid_fields", "field list is malformed");
  return out;
}

}  // namespace

std::string_view AuthName(Auth a) {
  switch (a) {
    case Auth::kSigned:
      return "signed";
    case Auth::kOperator:
      return "operator";
    case Auth::kSystem:
      return "system";
    case Auth::kPublic:
      return "public";
  }
  return "signed";
}

std::optional<Auth> ParseAuth(std::string_view name) {
  for (Auth a : {Auth::kSigned, Auth::kOperator, Auth::kSystem, Auth::kPublic})
    if (AuthName(a) == name) return a;
  return std::nullopt;
}

std::string_view SigSchemeName(SigScheme s) {
  switch (s) {
    case SigScheme::kNone:
      return "";
    case SigScheme::kLegacy:
      return "legacy";
    case SigScheme::kV1:
      return "v1";
  }
  return "";
}

std::optional<SigScheme> ParseSigScheme(std::string_view name) {
  for (SigScheme s : {SigScheme::kNone, SigScheme::kLegacy, SigScheme::kV1})
    if (SigSchemeName(s) == name) return s;
  return std::nullopt;
}

std::optional<std::string_view> FindField(const Fields& fields, std::string_view key) {
  auto it = std::lower_bound(fields.begin(), fields.end(), key,
                             [](const auto& f, std::string_view k) { return f.first < k; });
  if (it == fields.end() || it->first != key) return std::nullopt;
  return std::string_view(it->second);
}

void SetField(Fields& fields, std::string key, std::string value) {
  auto it = std::lower_bound(fields.begin(), fields.end(), key,
                             [](const auto& f, const std::string& k) { return f.first < k; });
  if (it != fields.end() && it->first == key) {
    it->second = std::move(value);
    return;
  }
  fields.insert(it, {std::move(key), std::move(value)});
}

Status NormalizeFields(Fields& fields) {
  std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < fields.size(); ++i)
    if (fields[i].first == fields[i - 1].first)
      return Error::Invalid("duplicate_field", "field '" + fields[i].first + "' is given twice");
  return Ok();
}

Bytes EncodeFields(const Fields& fields) {
  Bytes out;
  out.reserve(FieldsSize(fields));
  PutFields(out, fields);
  return out;
}

void AppendFields(Bytes& out, const Fields& fields) {
  PutFields(out, fields);
}

Result<Fields> DecodeFields(ByteSpan data) {
  Reader r{data};
  auto out = ReadFields(r);
  if (out.ok() && r.pos != data.size()) return Error::Invalid("invalid_fields", "field list is malformed");
  return out;
}

Bytes EncodeSubmittedOperation(const Operation& op) {
  Bytes out;
  out.reserve(SubmittedSize(op));
  PutSubmitted(out, op);
  return out;
}

Result<Operation> DecodeSubmittedOperation(ByteSpan data) {
  const auto bad = [] { return Error::Invalid("invalid_operation_encoding", "submitted operation is malformed"); };
  Reader r{data};
  Operation op;
  op.type = r.Lp(kMaxKey * 4);
  const auto auth = r.U(1);
  op.signer = r.Lp(kMaxKey * 4);
  op.nonce = r.U(8);
  const auto scheme = r.U(1);
  std::string sig = r.Lp(64);
  if (!r.ok || auth > static_cast<std::uint8_t>(Auth::kPublic) || scheme > static_cast<std::uint8_t>(SigScheme::kV1))
    return bad();
  auto fields = ReadFields(r);
  auto evidence = fields.ok() ? ReadFields(r) : Result<Fields>(fields.error());
  if (!evidence.ok() || r.pos != data.size()) return bad();
  op.auth = static_cast<Auth>(auth);
  op.scheme = static_cast<SigScheme>(scheme);
  op.signature.assign(sig.begin(), sig.end());
  op.fields = std::move(*fields);
  op.evidence = std::move(*evidence);
  return op;
}

Bytes EncodeLeafIds(const std::vector<LeafId>& ids) {
  Bytes out;
  out.reserve(LeafIdsSize(ids));
  PutLeafIds(out, ids);
  return out;
}

void AppendLeafIds(Bytes& out, const std::vector<LeafId>& ids) {
  PutLeafIds(out, ids);
}

Result<std::vector<LeafId>> DecodeLeafIds(ByteSpan data) {
  Reader r{data};
  std::uint64_t n = r.U(4);
  if (!r.ok || n > kMaxLeafIds) return Error::Invalid("invalid_leaf_ids", "leaf id list is malformed");
  std::vector<LeafId> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n && r.ok; ++i) {
    LeafId id;
    id.type = static_cast<std::uint8_t>(r.U(1));
    id.id = r.Lp(kMaxKey * 4);
    out.push_back(std::move(id));
  }
  if (!r.ok || r.pos != data.size()) return Error::Invalid("invalid_leaf_ids", "leaf id list is malformed");
  return out;
}

Hash256 UnsignedOperationId(std::string_view chain_id, const Operation& op) {
  Bytes ser;
  ser.reserve(4 + chain_id.size() + 4 + op.type.size() + 1 + 8 + 8 + FieldsSize(op.fields) + FieldsSize(op.evidence));
  PutLp(ser, chain_id);
  PutLp(ser, op.type);
  ser.push_back(static_cast<std::uint8_t>(op.auth));
  PutU64(ser, op.seq);
  PutI64(ser, op.timestamp);
  PutFields(ser, op.fields);
  PutFields(ser, op.evidence);
  return crypto::TaggedHash("KRAY/op/v1", ser);
}

Hash256 OperationRecordHash(const Operation& op) {
  Bytes ser;
  ser.reserve(8 + 4 + op.hash.size() + SubmittedSize(op) + 8 + 8 + LeafIdsSize(op.touched));
  PutU64(ser, op.seq);
  PutLp(ser, op.hash);
  PutSubmitted(ser, op);
  PutI64(ser, op.timestamp);
  PutU64(ser, op.gas_fee);
  PutLeafIds(ser, op.touched);
  return crypto::TaggedHash("KRAY/op/record/v1", ser);
}

}  // namespace kray::state
