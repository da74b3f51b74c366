// Addresses <-> scriptPubKey for P2PKH, P2SH (Base58Check) and P2WPKH,
// P2WSH, P2TR and future witness versions (BIP-173/350 segwit addresses), on
// mainnet, testnet/signet and regtest. Base58Check follows Bitcoin Core's
// base58.cpp (checksum = first 4 bytes of SHA256d).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/core/params.h"
#include "kray/core/result.h"

namespace kray::bitcoin {

// Base58 (Bitcoin alphabet). Decode rejects characters outside the alphabet
// and inputs longer than max_len characters ("base58_invalid", "base58_too_long").
std::string Base58Encode(ByteSpan data);
Result<Bytes> Base58Decode(std::string_view str, std::size_t max_len = 128);
// payload || SHA256d(payload)[0..4], Base58-encoded.
std::string Base58CheckEncode(ByteSpan payload);
// Error "base58_bad_checksum" on checksum mismatch or input shorter than 4 bytes.
Result<Bytes> Base58CheckDecode(std::string_view str, std::size_t max_len = 128);

enum class ScriptType {
  kNonStandard,
  kP2PKH,           // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
  kP2SH,            // OP_HASH160 <20> OP_EQUAL
  kP2WPKH,          // OP_0 <20>
  kP2WSH,           // OP_0 <32>
  kP2TR,            // OP_1 <32>
  kWitnessUnknown,  // OP_1..OP_16 <2..40>, other than P2TR
  kNullData,        // OP_RETURN ...
};

// A decoded output template: the type plus its hash/program bytes.
struct Destination {
  ScriptType type = ScriptType::kNonStandard;
  int witness_version = -1;  // 0..16 for segwit types
  Bytes program;             // 20-byte hash, 32-byte hash/key, or witness program
};

// Recognises the standard templates above.
Destination ClassifyScript(ByteSpan script_pubkey);
const char* ScriptTypeName(ScriptType t);  // "p2pkh", "p2sh", "p2wpkh", ...

// Base58 version bytes: mainnet 0x00 / 0x05, all test networks 0x6f / 0xc4.
std::uint8_t P2pkhVersion(Network net);
std::uint8_t P2shVersion(Network net);

// scriptPubKey builders.
Bytes P2pkhScript(ByteSpan hash20);
Bytes P2shScript(ByteSpan hash20);
Bytes P2wpkhScript(ByteSpan hash20);
Bytes P2wshScript(ByteSpan hash32);
Bytes P2trScript(ByteSpan output_key32);

// Address string for a scriptPubKey on `net`; "no_address" for OP_RETURN and
// non-standard scripts. Segwit addresses come out lower case.
Result<std::string> ScriptPubKeyToAddress(ByteSpan script_pubkey, Network net);

// scriptPubKey for an address on `net`. Errors: "wrong_network" (a valid
// address for another network), "invalid_address".
Result<Bytes> AddressToScriptPubKey(std::string_view address, Network net);

// The canonical (lower-case) form of a spendable P2TR address for `hrp`
// ("bc", "tb", "bcrt"; lower case). BIP-173 allows an address in all lower or
// all upper case, and both name the same output, so callers that key anything
// on the address text (account ids are SHA-256 of it) must use this form.
// Errors, all kInvalidInput:
//   "mixed_case"         upper and lower case letters mixed (BIP-173)
//   "invalid_address"    not a valid bech32/bech32m segwit address (length,
//                        characters, checksum, padding, v0 with bech32m or
//                        v1+ with bech32, ...)
//   "wrong_network"      a valid segwit address whose HRP is not `hrp`
//   "not_p2tr"           a segwit address other than witness v1 with a
//                        32-byte program
//   "invalid_output_key" the 32-byte program is not the x coordinate of a
//                        curve point (libsecp256k1 x-only parse): nothing can
//                        ever spend to or from it
// Thread-safe.
Result<std::string> CanonicalP2trAddress(std::string_view hrp, std::string_view text);

}  // namespace kray::bitcoin
