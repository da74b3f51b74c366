// Bitcoin blocks: the 80-byte header, the block wire format (header, then a
// CompactSize count of transactions in the BIP-144 serialization), the block
// hash, and the two commitments a block makes to its transactions: the
// merkle root in the header and, for blocks with witness data, BIP-141's
// witness commitment in the coinbase. Bitcoin Core's primitives/block.h,
// consensus/merkle.cpp and validation.cpp (CheckWitnessMalleation).
//
// Parsing never throws, bounds every count by the remaining input before
// allocating, and rejects anything Core's deserializer rejects. Thread-safe
// (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kray/bitcoin/transaction.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bitcoin {

inline constexpr std::size_t kBlockHeaderSize = 80;
// Core's MAX_BLOCK_SERIALIZED_SIZE: 4M weight units allow at most 4,000,000
// serialized bytes.
inline constexpr std::size_t kMaxBlockSize = 4'000'000;

struct BlockHeader {
  std::int32_t version = 0;
  Hash256 prev_block{};   // internal byte order
  Hash256 merkle_root{};  // internal byte order
  std::uint32_t time = 0;
  std::uint32_t bits = 0;
  std::uint32_t nonce = 0;
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

struct Block {
  BlockHeader header;
  std::vector<Transaction> txs;  // txs[0] is the coinbase
  friend bool operator==(const Block&, const Block&) = default;
};

// Parses exactly 80 bytes. Errors (kInvalidInput): "block_header_bad_size".
Result<BlockHeader> ParseBlockHeader(ByteSpan data);
// The 80-byte serialization.
Bytes SerializeBlockHeader(const BlockHeader& header);
// SHA256d of the header, internal byte order (display with HashToDisplayHex).
Hash256 BlockHash(const BlockHeader& header);

// Parses a complete block from exactly `data`. Errors (kInvalidInput):
// "block_too_large" (over kMaxBlockSize), "block_truncated" (short header or
// transaction count), "block_bad_compact_size", "block_no_transactions",
// "block_trailing_data", and the codes of ParseTransaction for a malformed
// transaction (the message names its index). Does NOT check the merkle root
// or the witness commitment: see CheckBlockCommitments.
Result<Block> ParseBlock(ByteSpan data);
// ParseBlock(FromHex(hex)); "bad_hex" on invalid hex.
Result<Block> ParseBlockHex(std::string_view hex);
// Header, CompactSize count, transactions with their witnesses.
Bytes SerializeBlock(const Block& block);

// Core's ComputeMerkleRoot over `hashes` (internal order; an odd level
// duplicates its last hash). `mutated` (optional) is set when two identical
// hashes are paired at any level (CVE-2012-2459: such a tree has the same
// root as a different transaction list). The root of no hashes is all-zero.
Hash256 ComputeMerkleRoot(std::vector<Hash256> hashes, bool* mutated = nullptr);

// Checks that the block's transactions are the ones its header commits to:
// the merkle root of the txids equals header.merkle_root and the list is not
// mutated; if any transaction has witness data, the coinbase carries a BIP-141
// commitment (the last output whose script starts 6a24aa21a9ed) equal to
// SHA256d(witness merkle root || the coinbase's single 32-byte witness item),
// where the witness root is over wtxids with the coinbase's taken as zero.
// Errors (kInvalidInput): "block_bad_merkle_root", "block_mutated",
// "block_bad_witness_nonce_size", "block_bad_witness_commitment",
// "block_unexpected_witness".
Status CheckBlockCommitments(const Block& block);

}  // namespace kray::bitcoin
