// Signature hashes: BIP-341 (taproot key path and BIP-342 script path,
// every hash type incl. SIGHASH_DEFAULT and ANYONECANPAY, annex), BIP-143
// (segwit v0) and the legacy algorithm, plus BIP-340 signing helpers for
// taproot inputs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "kray/bitcoin/transaction.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::bitcoin {

inline constexpr std::uint8_t kSighashDefault = 0x00;  // taproot only; = ALL, 64-byte sig
inline constexpr std::uint8_t kSighashAll = 0x01;
inline constexpr std::uint8_t kSighashNone = 0x02;
inline constexpr std::uint8_t kSighashSingle = 0x03;
inline constexpr std::uint8_t kSighashAnyoneCanPay = 0x80;

// True for the hash types BIP-341 allows: 0x00..0x03, 0x81..0x83.
bool IsValidTaprootHashType(std::uint8_t hash_type);

// BIP-341's single-SHA256 aggregates over all inputs/outputs.
struct TaprootPrecomputed {
  Hash256 prevouts{};        // sha_prevouts
  Hash256 amounts{};         // sha_amounts
  Hash256 script_pubkeys{};  // sha_scriptpubkeys
  Hash256 sequences{};       // sha_sequences
  Hash256 outputs{};         // sha_outputs
};
TaprootPrecomputed PrecomputeTaproot(const Transaction& tx, const std::vector<TxOut>& spent_outputs);

// Script-path extension (BIP-342): the leaf being executed and the position
// of the last executed OP_CODESEPARATOR (0xffffffff if none).
struct TapscriptExt {
  Hash256 leaf_hash{};
  std::uint32_t codesep_pos = 0xffffffff;
};

// BIP-341 SigMsg prefixed with the epoch byte 0x00 (exactly what is hashed
// under the "TapSighash" tag; equals the vectors' `sigMsg`). `annex` is the
// full annex including its 0x50 prefix. `spent_outputs` has one entry per
// input. Errors: "sighash_bad_hash_type", "sighash_input_out_of_range",
// "sighash_spent_outputs_mismatch", "sighash_single_no_output".
Result<Bytes> TaprootSigMsg(const Transaction& tx, const std::vector<TxOut>& spent_outputs, std::size_t input_index,
                            std::uint8_t hash_type, const std::optional<Bytes>& annex = std::nullopt,
                            const std::optional<TapscriptExt>& script = std::nullopt);

// TaggedHash("TapSighash", TaprootSigMsg(...)).
Result<Hash256> TaprootSighash(const Transaction& tx, const std::vector<TxOut>& spent_outputs, std::size_t input_index,
                               std::uint8_t hash_type, const std::optional<Bytes>& annex = std::nullopt,
                               const std::optional<TapscriptExt>& script = std::nullopt);

// BIP-143 sighash for segwit v0 inputs (script_code as in BIP-143, e.g. the
// P2PKH script for P2WPKH or the witness script for P2WSH).
Result<Hash256> SegwitV0Sighash(const Transaction& tx, std::size_t input_index, ByteSpan script_code,
                                std::int64_t amount, std::uint32_t hash_type);

// Legacy (pre-segwit) sighash, Bitcoin Core's SignatureHash for SigVersion::BASE,
// including the SIGHASH_SINGLE "one" bug for input_index >= outputs.
Result<Hash256> LegacySighash(const Transaction& tx, std::size_t input_index, ByteSpan script_code,
                              std::uint32_t hash_type);

// Signature encoding for a taproot witness: 64 bytes for SIGHASH_DEFAULT,
// else sig || hash_type.
Bytes EncodeTaprootSignature(const crypto::SchnorrSig& sig, std::uint8_t hash_type);

// Key-path signature: tweaks `internal_seckey` by TapTweak(P, merkle_root)
// (BIP-341 taproot_tweak_seckey) and signs `sighash`. nullopt on a bad key.
std::optional<Bytes> SignTaprootKeyPath(const crypto::SecretKey& internal_seckey,
                                        const std::optional<Hash256>& merkle_root, const Hash256& sighash,
                                        std::uint8_t hash_type, const std::array<std::uint8_t, 32>& aux);

// Script-path (tapscript) signature with the untweaked key.
std::optional<Bytes> SignTapscript(const crypto::SecretKey& seckey, const Hash256& sighash, std::uint8_t hash_type,
                                   const std::array<std::uint8_t, 32>& aux);

}  // namespace kray::bitcoin
