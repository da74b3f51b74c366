// Bitcoin transactions: the in-memory form, wire (de)serialization in the
// legacy and BIP-144 segwit formats, txid/wtxid and BIP-141 weight.
//
// Hash256 values (txids, wtxids, outpoint hashes) are kept in INTERNAL byte
// order, as they appear on the wire; Bitcoin's display form is the reversed
// hex (see HashToDisplayHex / HashFromDisplayHex).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bitcoin {

class ByteReader;

// Limits applied by ParseTransaction before allocating (Bitcoin Core's
// consensus caps: 4M weight => at most 4,000,000 bytes of serialized tx).
inline constexpr std::size_t kMaxTxSize = 4'000'000;
inline constexpr std::uint32_t kSequenceFinal = 0xffffffff;

struct OutPoint {
  Hash256 txid{};       // internal byte order
  std::uint32_t n = 0;  // output index

  bool IsNull() const;  // coinbase prevout: zero hash and n == 0xffffffff
  friend bool operator==(const OutPoint&, const OutPoint&) = default;
  friend auto operator<=>(const OutPoint&, const OutPoint&) = default;
};

struct TxIn {
  OutPoint prevout;
  Bytes script_sig;
  std::uint32_t sequence = kSequenceFinal;
  std::vector<Bytes> witness;  // witness stack, bottom element first

  friend bool operator==(const TxIn&, const TxIn&) = default;
};

struct TxOut {
  std::int64_t value = 0;  // satoshis
  Bytes script_pubkey;

  friend bool operator==(const TxOut&, const TxOut&) = default;
};

struct Transaction {
  std::int32_t version = 2;
  std::vector<TxIn> vin;
  std::vector<TxOut> vout;
  std::uint32_t locktime = 0;

  // True if any input has a non-empty witness stack.
  bool HasWitness() const;
  friend bool operator==(const Transaction&, const Transaction&) = default;
};

// Parses a complete transaction (legacy or BIP-144 extended serialization)
// from exactly `data` (trailing bytes are an error). Never throws.
// Error codes (ErrorKind::kInvalidInput): "tx_truncated", "tx_too_large",
// "tx_trailing_data", "tx_bad_compact_size", "tx_superfluous_witness"
// (segwit marker with all-empty witnesses), "tx_unknown_flag".
// Output values are not range-checked here (as in Bitcoin Core's
// deserializer); use a policy check for that.
Result<Transaction> ParseTransaction(ByteSpan data);

// As above; with allow_witness=false the BIP-144 marker is not recognised
// (Bitcoin Core's TX_NO_WITNESS), as for PSBT_GLOBAL_UNSIGNED_TX.
Result<Transaction> ParseTransaction(ByteSpan data, bool allow_witness);

// Reads one transaction at the reader's position and leaves the reader after
// it (bytes may follow: a block's next transaction). Same rules and error
// codes as ParseTransaction except "tx_too_large" and "tx_trailing_data",
// which are the caller's (the reader's span bounds what can be read).
Result<Transaction> ReadTransaction(ByteReader& reader, bool allow_witness = true);

// Convenience: ParseTransaction(FromHex(hex)); "bad_hex" on invalid hex.
Result<Transaction> ParseTransactionHex(std::string_view hex);

// Serializes; with_witness uses the BIP-144 format when the tx has witnesses
// (a tx with no witness data is always written in the legacy format).
Bytes SerializeTransaction(const Transaction& tx, bool with_witness = true);

// txid = SHA256d(serialization without witness), internal byte order.
Hash256 Txid(const Transaction& tx);
// wtxid = SHA256d(serialization with witness); equals txid without witnesses.
Hash256 Wtxid(const Transaction& tx);

// Display hex (byte-reversed), as Bitcoin Core and block explorers show it.
std::string HashToDisplayHex(const Hash256& h);
// Parses display hex (64 chars) back into internal order.
Result<Hash256> HashFromDisplayHex(std::string_view hex);

// BIP-141: weight = base_size * 3 + total_size; vsize = ceil(weight / 4).
std::size_t TxWeight(const Transaction& tx);
std::size_t TxVsize(const Transaction& tx);

}  // namespace kray::bitcoin
