// Internal helpers shared by the psbt*.cpp files: value codecs for the
// structured PSBT record values. Not a public header.
#pragma once

#include <optional>
#include <vector>

#include "kray/bitcoin/psbt.h"

namespace kray::bitcoin::psbt_internal {

// Key = type byte || data.
Bytes MakeKey(std::uint8_t type, ByteSpan data = {});

// <4-byte fingerprint><32-bit LE path elements>*; at least the fingerprint.
std::optional<KeyOrigin> DecodeKeyOrigin(ByteSpan value);
Bytes EncodeKeyOrigin(const KeyOrigin& origin);

// BIP-371: <compact size n><32-byte leaf hash>*n <key origin>.
std::optional<TapKeyOrigin> DecodeTapKeyOrigin(ByteSpan value);
Bytes EncodeTapKeyOrigin(const TapKeyOrigin& origin);

// <8-byte LE amount><compact size script length><script>, exactly.
std::optional<TxOut> DecodeTxOut(ByteSpan value);
Bytes EncodeTxOut(const TxOut& out);

// <compact size count>(<compact size len><bytes>)*count, exactly.
std::optional<std::vector<Bytes>> DecodeWitnessStack(ByteSpan value);
Bytes EncodeWitnessStack(const std::vector<Bytes>& stack);

// BIP-371 PSBT_OUT_TAP_TREE: (<depth><leaf version><compact size script>)*,
// non-empty, depth <= 128, even leaf versions, forming a complete tree.
std::optional<std::vector<TapTreeLeaf>> DecodeTapTree(ByteSpan value);
Bytes EncodeTapTree(const std::vector<TapTreeLeaf>& leaves);

// True for a control block size 33 + 32m with m <= 128.
bool ValidControlBlockSize(std::size_t size);

// Error helper: ErrorKind::kInvalidInput with the given code and message.
Error Invalid(const char* code, std::string msg);

}  // namespace kray::bitcoin::psbt_internal
