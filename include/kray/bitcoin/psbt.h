// Partially Signed Bitcoin Transactions, version 0 (BIP-174) with the
// taproot fields of BIP-371.
//
// Model: a PSBT is its unsigned transaction plus one key-value map for the
// globals, one per input and one per output. Each map keeps every record as
// raw (key, value) bytes, where the key is the record's type byte followed by
// its key data; unknown and proprietary records are therefore kept and
// re-serialized untouched. ParsePsbt validates every known record (key and
// value sizes, pubkeys on the curve, scripts/transactions well formed) so the
// typed accessors below can decode without failing.
//
// Serialization writes records in key-byte order, except the partial
// signatures (PSBT_IN_PARTIAL_SIG), which are written in key-ID order
// (HASH160 of the pubkey) as Bitcoin Core does; this reproduces every BIP-174
// and BIP-371 vector byte for byte.
//
// Roles (BIP-174 "Roles"): Creator, Updater, Signer (ECDSA for legacy/P2SH/
// segwit v0 and BIP-340 tapscript), Combiner, Finalizer, Extractor. Every
// function returns errors as values with stable "psbt_*" codes; the parser
// never throws and bounds all sizes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kray/bitcoin/transaction.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bitcoin {

// Largest PSBT accepted by the parser (Bitcoin Core: MAX_FILE_SIZE_PSBT is
// 100 MB; krayd only handles bridge transactions, so 16 MiB is ample).
inline constexpr std::size_t kMaxPsbtSize = 16u << 20;

// Record types (BIP-174, BIP-371). Key bytes are [type || key data].
namespace psbt {
inline constexpr std::uint8_t kGlobalUnsignedTx = 0x00;
inline constexpr std::uint8_t kGlobalXpub = 0x01;
inline constexpr std::uint8_t kGlobalVersion = 0xfb;
inline constexpr std::uint8_t kProprietary = 0xfc;

inline constexpr std::uint8_t kInNonWitnessUtxo = 0x00;
inline constexpr std::uint8_t kInWitnessUtxo = 0x01;
inline constexpr std::uint8_t kInPartialSig = 0x02;
inline constexpr std::uint8_t kInSighashType = 0x03;
inline constexpr std::uint8_t kInRedeemScript = 0x04;
inline constexpr std::uint8_t kInWitnessScript = 0x05;
inline constexpr std::uint8_t kInBip32Derivation = 0x06;
inline constexpr std::uint8_t kInFinalScriptSig = 0x07;
inline constexpr std::uint8_t kInFinalScriptWitness = 0x08;
inline constexpr std::uint8_t kInRipemd160 = 0x0a;
inline constexpr std::uint8_t kInSha256 = 0x0b;
inline constexpr std::uint8_t kInHash160 = 0x0c;
inline constexpr std::uint8_t kInHash256 = 0x0d;
inline constexpr std::uint8_t kInTapKeySig = 0x13;
inline constexpr std::uint8_t kInTapScriptSig = 0x14;
inline constexpr std::uint8_t kInTapLeafScript = 0x15;
inline constexpr std::uint8_t kInTapBip32Derivation = 0x16;
inline constexpr std::uint8_t kInTapInternalKey = 0x17;
inline constexpr std::uint8_t kInTapMerkleRoot = 0x18;

inline constexpr std::uint8_t kOutRedeemScript = 0x00;
inline constexpr std::uint8_t kOutWitnessScript = 0x01;
inline constexpr std::uint8_t kOutBip32Derivation = 0x02;
inline constexpr std::uint8_t kOutTapInternalKey = 0x05;
inline constexpr std::uint8_t kOutTapTree = 0x06;
inline constexpr std::uint8_t kOutTapBip32Derivation = 0x07;
}  // namespace psbt

// One key-value map: key bytes (type || key data) -> value bytes.
using PsbtMap = std::map<Bytes, Bytes>;

// BIP-32 key origin: master key fingerprint and derivation path.
struct KeyOrigin {
  std::array<std::uint8_t, 4> fingerprint{};
  std::vector<std::uint32_t> path;
  friend bool operator==(const KeyOrigin&, const KeyOrigin&) = default;
};

// BIP-371 PSBT_*_TAP_BIP32_DERIVATION value: leaves the key appears in, and
// its origin.
struct TapKeyOrigin {
  std::vector<Hash256> leaf_hashes;
  KeyOrigin origin;
};

// PSBT_IN_TAP_LEAF_SCRIPT: a leaf with the control block proving it.
struct TapLeafScript {
  Bytes control_block;
  Bytes script;
  std::uint8_t leaf_version = 0;
};

// One leaf of PSBT_OUT_TAP_TREE, in depth-first order.
struct TapTreeLeaf {
  std::uint8_t depth = 0;
  std::uint8_t leaf_version = 0;
  Bytes script;
};

using TapScriptSigKey = std::pair<crypto::XOnlyPubKey, Hash256>;  // (x-only key, leaf hash)

struct PsbtInput {
  PsbtMap map;

  // Typed views. The parser validated each record, so these only decode;
  // absent fields give nullopt / empty containers.
  std::optional<Transaction> NonWitnessUtxo() const;
  std::optional<TxOut> WitnessUtxo() const;
  std::map<Bytes, Bytes> PartialSigs() const;  // pubkey -> DER sig || sighash byte
  std::optional<std::uint32_t> SighashType() const;
  std::optional<Bytes> RedeemScript() const;
  std::optional<Bytes> WitnessScript() const;
  std::map<Bytes, KeyOrigin> Bip32Derivations() const;  // pubkey -> origin
  std::optional<Bytes> FinalScriptSig() const;
  std::optional<std::vector<Bytes>> FinalScriptWitness() const;
  std::optional<Bytes> TapKeySig() const;
  std::map<TapScriptSigKey, Bytes> TapScriptSigs() const;
  std::vector<TapLeafScript> TapLeafScripts() const;  // in control-block order
  std::map<crypto::XOnlyPubKey, TapKeyOrigin> TapBip32Derivations() const;
  std::optional<crypto::XOnlyPubKey> TapInternalKey() const;
  std::optional<Hash256> TapMerkleRoot() const;
  bool IsFinalized() const;  // has a final scriptSig or final witness

  // Writers (replace an existing record with the same key).
  void SetNonWitnessUtxo(const Transaction& tx);
  void SetWitnessUtxo(const TxOut& out);
  void SetPartialSig(ByteSpan pubkey, ByteSpan sig);
  void SetSighashType(std::uint32_t type);
  void SetRedeemScript(ByteSpan script);
  void SetWitnessScript(ByteSpan script);
  void SetBip32Derivation(ByteSpan pubkey, const KeyOrigin& origin);
  void SetFinalScriptSig(ByteSpan script);
  void SetFinalScriptWitness(const std::vector<Bytes>& stack);
  void SetTapScriptSig(const crypto::XOnlyPubKey& key, const Hash256& leaf_hash, ByteSpan sig);
  void SetTapLeafScript(const TapLeafScript& leaf);
  void SetTapBip32Derivation(const crypto::XOnlyPubKey& key, const TapKeyOrigin& origin);
  void SetTapInternalKey(const crypto::XOnlyPubKey& key);
  void SetTapMerkleRoot(const Hash256& root);
};

struct PsbtOutput {
  PsbtMap map;

  std::optional<Bytes> RedeemScript() const;
  std::optional<Bytes> WitnessScript() const;
  std::map<Bytes, KeyOrigin> Bip32Derivations() const;
  std::optional<crypto::XOnlyPubKey> TapInternalKey() const;
  std::optional<std::vector<TapTreeLeaf>> TapTree() const;
  std::map<crypto::XOnlyPubKey, TapKeyOrigin> TapBip32Derivations() const;

  void SetBip32Derivation(ByteSpan pubkey, const KeyOrigin& origin);
  void SetTapInternalKey(const crypto::XOnlyPubKey& key);
  void SetTapTree(const std::vector<TapTreeLeaf>& leaves);
  void SetTapBip32Derivation(const crypto::XOnlyPubKey& key, const TapKeyOrigin& origin);
};

struct Psbt {
  Transaction tx;                   // PSBT_GLOBAL_UNSIGNED_TX (empty scriptSigs and witnesses)
  PsbtMap global;                   // every other global record (xpubs, version, unknown)
  std::vector<PsbtInput> inputs;    // one per tx.vin
  std::vector<PsbtOutput> outputs;  // one per tx.vout
};

bool operator==(const PsbtInput& a, const PsbtInput& b);
bool operator==(const PsbtOutput& a, const PsbtOutput& b);
bool operator==(const Psbt& a, const Psbt& b);

// ---- Encoding ---------------------------------------------------------------

// Parses a binary PSBT. Errors (kInvalidInput) include "psbt_too_large",
// "psbt_bad_magic", "psbt_truncated", "psbt_duplicate_key",
// "psbt_missing_unsigned_tx", "psbt_unsigned_tx_not_empty",
// "psbt_bad_key_length", "psbt_bad_value", "psbt_invalid_pubkey",
// "psbt_unsupported_version", "psbt_non_witness_utxo_mismatch" (its txid or
// output count does not fit the outpoint, as Bitcoin Core checks),
// "psbt_input_count_mismatch",
// "psbt_output_count_mismatch", "psbt_trailing_data"; the message names the
// map and field.
Result<Psbt> ParsePsbt(ByteSpan data);
Bytes SerializePsbt(const Psbt& psbt);

// RFC 4648 base64 with padding. Decode is strict (no whitespace, canonical
// padding); error "base64_invalid".
std::string Base64Encode(ByteSpan data);
Result<Bytes> Base64Decode(std::string_view text);

Result<Psbt> ParsePsbtBase64(std::string_view text);
std::string PsbtToBase64(const Psbt& psbt);

// ---- Roles ------------------------------------------------------------------

// Creator: wraps an unsigned transaction. "psbt_unsigned_tx_not_empty" if an
// input has a scriptSig or witness.
Result<Psbt> CreatePsbt(const Transaction& unsigned_tx);

// Updater inputs: previous transactions, candidate redeem/witness scripts
// (matched by hash), and known key origins (pubkey -> origin).
struct PsbtUpdateData {
  std::vector<Transaction> previous_txs;
  std::vector<Bytes> scripts;
  std::map<Bytes, KeyOrigin> key_origins;
};
// Adds, for each input, its UTXO (witness UTXO for segwit spends, the full
// previous transaction otherwise), the matching redeem/witness scripts and
// the origins of the keys they contain; and for each output the origins of
// keys it pays to (P2WPKH/P2PKH) or contains in its scripts.
Status UpdatePsbt(Psbt& psbt, const PsbtUpdateData& data);

// The checks a BIP-174 signer makes before signing an input with ECDSA, and
// what it would sign. Errors: "psbt_missing_utxo",
// "psbt_non_witness_utxo_mismatch" (txid differs from the prevout),
// "psbt_redeem_script_missing", "psbt_redeem_script_mismatch",
// "psbt_witness_script_missing", "psbt_witness_script_mismatch",
// "psbt_witness_utxo_for_non_witness_input", "psbt_input_finalized",
// "psbt_unsupported_script" (taproot inputs use SignPsbtTapscript).
struct EcdsaSigningInfo {
  Bytes script_code;        // legacy script or BIP-143 scriptCode
  bool segwit_v0 = false;   // BIP-143 sighash
  bool p2sh = false;        // spent through a P2SH redeem script
  bool p2wpkh = false;      // script_code is the P2WPKH implied P2PKH script
  bool p2wsh = false;       // script_code is the witness script
  std::int64_t amount = 0;  // spent amount (segwit v0)
  std::uint32_t sighash_type = 1;
};
Result<EcdsaSigningInfo> CheckInputForEcdsaSigning(const Psbt& psbt, std::size_t input_index);

// Signer (ECDSA, RFC-6979): adds a partial signature for `seckey` to every
// input whose script contains its pubkey (compressed or not per
// `compressed`). Inputs failing CheckInputForEcdsaSigning are skipped unless
// they would be signed, in which case the error is returned. Returns the
// number of signatures added.
Result<std::size_t> SignPsbtEcdsa(Psbt& psbt, const crypto::SecretKey& seckey, bool compressed = true);

// Signer (tapscript, BIP-341/342): adds PSBT_IN_TAP_SCRIPT_SIG for `seckey`
// on input `input_index`, for every leaf in PSBT_IN_TAP_LEAF_SCRIPT whose
// script contains the key (or only `leaf_hash` if given). Needs the spent
// output of every input (witness or non-witness UTXO). Checks that the leaf
// commits to the spent output's key. Sighash type: PSBT_IN_SIGHASH_TYPE or
// SIGHASH_DEFAULT. Errors: "psbt_missing_utxo", "psbt_no_matching_leaf",
// "psbt_leaf_not_committed", "psbt_bad_sighash_type", "psbt_bad_key".
Status SignPsbtTapscript(Psbt& psbt, std::size_t input_index, const crypto::SecretKey& seckey,
                         const std::optional<Hash256>& leaf_hash = std::nullopt,
                         const std::optional<std::array<std::uint8_t, 32>>& aux = std::nullopt);

// Combiner: merges PSBTs for the same unsigned transaction (union of records;
// on a duplicate key the first PSBT's value is kept). Errors:
// "psbt_combine_empty", "psbt_combine_tx_mismatch".
Result<Psbt> CombinePsbts(const std::vector<Psbt>& psbts);

// Finalizer for one input. Supported: P2PKH, P2WPKH, P2PK, bare/P2SH/P2WSH/
// P2SH-P2WSH CHECKMULTISIG (signatures in pubkey order), taproot key path
// (PSBT_IN_TAP_KEY_SIG), and taproot script-path pk() and multi_a leaves
// (BIP-387, incl. the bridge's sortedmulti_a 2-of-3, built with
// BuildBridgeWitness): the witness is
// [sig(k_n) or "", ..., sig(k_1) or "", leaf script, control block] with
// exactly `threshold` signatures. Every signature is verified against its
// sighash; invalid ones are left out (so a faulty cosigner cannot block a
// spend that has enough valid ones). Clears every field except the UTXOs and
// unknown records (BIP-174). Errors: "psbt_not_enough_signatures",
// "psbt_invalid_signature" (key path), "psbt_unsupported_script",
// "psbt_missing_utxo", and the CheckInputForEcdsaSigning errors.
Status FinalizePsbtInput(Psbt& psbt, std::size_t input_index);
// Finalizes every input not finalized yet; first error wins.
Status FinalizePsbt(Psbt& psbt);

// Extractor: the network transaction with final scriptSigs and witnesses.
// "psbt_not_finalized" if an input lacks both.
Result<Transaction> ExtractTransaction(const Psbt& psbt);

// Fee = sum(spent outputs) - sum(outputs), if every input's UTXO is known.
std::optional<std::int64_t> PsbtFee(const Psbt& psbt);

// The spent output of an input, from its witness UTXO or its non-witness
// UTXO (the latter only if its txid matches the prevout).
std::optional<TxOut> PsbtSpentOutput(const Psbt& psbt, std::size_t input_index);

// ---- Keys -------------------------------------------------------------------

// Wallet Import Format (Base58Check: 0x80 mainnet / 0xef test networks,
// 32-byte key, optional 0x01 compressed flag). Error "wif_invalid".
struct WifKey {
  crypto::SecretKey key{};
  bool compressed = true;
  bool mainnet = false;
};
Result<WifKey> DecodeWif(std::string_view wif);

}  // namespace kray::bitcoin
