// Transaction wire format: Bitcoin Core primitives/transaction.h
// (SerializeTransaction / UnserializeTransaction) and BIP-144.
#include "kray/bitcoin/transaction.h"

#include <algorithm>

#include "kray/bitcoin/serialize.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {
namespace {

// Smallest possible encodings, used to bound counts before looping so that a
// huge CompactSize count in a short input fails fast without allocation.
constexpr std::size_t kMinTxInSize = 32 + 4 + 1 + 4;  // prevout, empty script, sequence
constexpr std::size_t kMinTxOutSize = 8 + 1;          // value, empty script

Error Truncated() {
  return Error::Invalid("tx_truncated", "transaction data truncated");
}

Error FromReaderError(const Error& e) {
  if (e.code == "truncated") return Truncated();
  return Error::Invalid("tx_bad_compact_size", e.message);
}

Result<std::uint64_t> ReadCount(ByteReader& r, std::size_t min_item_size) {
  auto n = r.ReadCompactSize();
  if (!n.ok()) return FromReaderError(n.error());
  if (*n > r.remaining() / min_item_size) return Truncated();
  return *n;
}

Status ReadInputs(ByteReader& r, std::vector<TxIn>& vin) {
  auto n = ReadCount(r, kMinTxInSize);
  if (!n.ok()) return std::move(n).error();
  vin.clear();
  vin.reserve(static_cast<std::size_t>(*n));
  for (std::uint64_t i = 0; i < *n; ++i) {
    TxIn in;
    auto h = r.ReadSpan(32);
    if (!h) return Truncated();
    std::copy(h->begin(), h->end(), in.prevout.txid.begin());
    auto idx = r.ReadU32LE();
    if (!idx) return Truncated();
    in.prevout.n = *idx;
    auto script = r.ReadVarBytes();
    if (!script.ok()) return FromReaderError(script.error());
    in.script_sig = std::move(*script);
    auto seq = r.ReadU32LE();
    if (!seq) return Truncated();
    in.sequence = *seq;
    vin.push_back(std::move(in));
  }
  return Ok();
}

Status ReadOutputs(ByteReader& r, std::vector<TxOut>& vout) {
  auto n = ReadCount(r, kMinTxOutSize);
  if (!n.ok()) return std::move(n).error();
  vout.clear();
  vout.reserve(static_cast<std::size_t>(*n));
  for (std::uint64_t i = 0; i < *n; ++i) {
    TxOut out;
    auto v = r.ReadI64LE();
    if (!v) return Truncated();
    out.value = *v;
    auto script = r.ReadVarBytes();
    if (!script.ok()) return FromReaderError(script.error());
    out.script_pubkey = std::move(*script);
    vout.push_back(std::move(out));
  }
  return Ok();
}

Status ReadWitness(ByteReader& r, std::vector<Bytes>& stack) {
  auto n = ReadCount(r, 1);
  if (!n.ok()) return std::move(n).error();
  stack.clear();
  stack.reserve(static_cast<std::size_t>(*n));
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto item = r.ReadVarBytes();
    if (!item.ok()) return FromReaderError(item.error());
    stack.push_back(std::move(*item));
  }
  return Ok();
}

void WriteTx(ByteWriter& w, const Transaction& tx, bool with_witness) {
  const bool witness = with_witness && tx.HasWitness();
  w.WriteI32LE(tx.version);
  if (witness) {
    w.WriteU8(0x00);  // BIP-144 marker
    w.WriteU8(0x01);  // flag
  }
  w.WriteCompactSize(tx.vin.size());
  for (const TxIn& in : tx.vin) {
    w.WriteBytes(in.prevout.txid);
    w.WriteU32LE(in.prevout.n);
    w.WriteVarBytes(in.script_sig);
    w.WriteU32LE(in.sequence);
  }
  w.WriteCompactSize(tx.vout.size());
  for (const TxOut& out : tx.vout) {
    w.WriteI64LE(out.value);
    w.WriteVarBytes(out.script_pubkey);
  }
  if (witness) {
    for (const TxIn& in : tx.vin) {
      w.WriteCompactSize(in.witness.size());
      for (const Bytes& item : in.witness) w.WriteVarBytes(item);
    }
  }
  w.WriteU32LE(tx.locktime);
}

}  // namespace

bool OutPoint::IsNull() const {
  return n == 0xffffffff && std::all_of(txid.begin(), txid.end(), [](std::uint8_t b) { return b == 0; });
}

bool Transaction::HasWitness() const {
  return std::any_of(vin.begin(), vin.end(), [](const TxIn& in) { return !in.witness.empty(); });
}

Result<Transaction> ParseTransaction(ByteSpan data) {
  return ParseTransaction(data, true);
}

Result<Transaction> ReadTransaction(ByteReader& r, bool allow_witness) {
  Transaction tx;
  auto version = r.ReadI32LE();
  if (!version) return Truncated();
  tx.version = *version;

  // Mirrors UnserializeTransaction: an empty input vector followed by a
  // non-zero byte is the BIP-144 marker/flag pair.
  std::uint8_t flags = 0;
  KRAY_TRY(ReadInputs(r, tx.vin));
  if (tx.vin.empty() && allow_witness) {
    auto f = r.ReadU8();
    if (!f) return Truncated();
    flags = *f;
    if (flags != 0) {
      KRAY_TRY(ReadInputs(r, tx.vin));
      KRAY_TRY(ReadOutputs(r, tx.vout));
    }
  } else {
    KRAY_TRY(ReadOutputs(r, tx.vout));
  }
  if (flags & 1) {
    flags ^= 1;
    for (TxIn& in : tx.vin) KRAY_TRY(ReadWitness(r, in.witness));
    if (!tx.HasWitness())
      return Error::Invalid("tx_superfluous_witness", "segwit marker present but all witnesses are empty");
  }
  if (flags != 0) return Error::Invalid("tx_unknown_flag", "unknown transaction optional data flag");
  auto lock = r.ReadU32LE();
  if (!lock) return Truncated();
  tx.locktime = *lock;
  return tx;
}

Result<Transaction> ParseTransaction(ByteSpan data, bool allow_witness) {
  if (data.size() > kMaxTxSize) return Error::Invalid("tx_too_large", "transaction exceeds 4,000,000 bytes");
  ByteReader r(data);
  auto tx = ReadTransaction(r, allow_witness);
  if (!tx.ok()) return tx;
  if (!r.empty()) return Error::Invalid("tx_trailing_data", "bytes after the transaction");
  return tx;
}

Result<Transaction> ParseTransactionHex(std::string_view hex) {
  if (hex.size() > 2 * kMaxTxSize) return Error::Invalid("tx_too_large", "transaction exceeds 4,000,000 bytes");
  auto bytes = FromHex(hex);
  if (!bytes) return Error::Invalid("bad_hex", "transaction is not valid hex");
  return ParseTransaction(*bytes);
}

Bytes SerializeTransaction(const Transaction& tx, bool with_witness) {
  ByteWriter w;
  WriteTx(w, tx, with_witness);
  return w.Take();
}

Hash256 Txid(const Transaction& tx) {
  return crypto::Sha256d(SerializeTransaction(tx, false));
}

Hash256 Wtxid(const Transaction& tx) {
  return crypto::Sha256d(SerializeTransaction(tx, true));
}

std::string HashToDisplayHex(const Hash256& h) {
  Hash256 rev;
  std::reverse_copy(h.begin(), h.end(), rev.begin());
  return ToHex(rev);
}

Result<Hash256> HashFromDisplayHex(std::string_view hex) {
  auto h = FromHexFixed<32>(hex);
  if (!h) return Error::Invalid("bad_hash_hex", "expected 64 hex characters");
  std::reverse(h->begin(), h->end());
  return *h;
}

std::size_t TxWeight(const Transaction& tx) {
  const std::size_t base = SerializeTransaction(tx, false).size();
  const std::size_t total = SerializeTransaction(tx, true).size();
  return base * 3 + total;
}

std::size_t TxVsize(const Transaction& tx) {
  return (TxWeight(tx) + 3) / 4;
}

}  // namespace kray::bitcoin
