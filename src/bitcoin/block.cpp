// Block wire format and commitments: Bitcoin Core primitives/block.h
// (CBlockHeader, CBlock serialization), consensus/merkle.cpp
// (ComputeMerkleRoot, BlockWitnessMerkleRoot) and validation.cpp
// (GetWitnessCommitmentIndex, CheckWitnessMalleation).
#include "kray/bitcoin/block.h"

#include <algorithm>
#include <array>
#include <string>

#include "kray/bitcoin/serialize.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {
namespace {

// Smallest serialized transaction: version, one input count byte, one
// output count byte, locktime (a tx with no inputs does not parse, but the
// bound only has to be a lower one).
constexpr std::size_t kMinTxSize = 10;

// BIP-141: the commitment output script is OP_RETURN, a 36-byte push, the
// 4-byte header 0xaa21a9ed, then the 32-byte commitment.
constexpr std::array<std::uint8_t, 6> kWitnessCommitmentPrefix = {0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed};
constexpr std::size_t kMinimumWitnessCommitment = 38;

BlockHeader ReadHeader(ByteReader& r) {
  // Callers check that 80 bytes are available.
  BlockHeader h;
  h.version = *r.ReadI32LE();
  auto prev = r.ReadSpan(32);
  std::copy(prev->begin(), prev->end(), h.prev_block.begin());
  auto root = r.ReadSpan(32);
  std::copy(root->begin(), root->end(), h.merkle_root.begin());
  h.time = *r.ReadU32LE();
  h.bits = *r.ReadU32LE();
  h.nonce = *r.ReadU32LE();
  return h;
}

void WriteHeader(ByteWriter& w, const BlockHeader& h) {
  w.WriteI32LE(h.version);
  w.WriteBytes(h.prev_block);
  w.WriteBytes(h.merkle_root);
  w.WriteU32LE(h.time);
  w.WriteU32LE(h.bits);
  w.WriteU32LE(h.nonce);
}

// Index of the witness commitment output of the coinbase, or -1 (Core's
// GetWitnessCommitmentIndex: the LAST output that matches).
int WitnessCommitmentIndex(const Transaction& coinbase) {
  int found = -1;
  for (std::size_t i = 0; i < coinbase.vout.size(); ++i) {
    const Bytes& s = coinbase.vout[i].script_pubkey;
    if (s.size() >= kMinimumWitnessCommitment &&
        std::equal(kWitnessCommitmentPrefix.begin(), kWitnessCommitmentPrefix.end(), s.begin()))
      found = static_cast<int>(i);
  }
  return found;
}

}  // namespace

Result<BlockHeader> ParseBlockHeader(ByteSpan data) {
  if (data.size() != kBlockHeaderSize)
    return Error::Invalid("block_header_bad_size", "a block header is exactly 80 bytes");
  ByteReader r(data);
  return ReadHeader(r);
}

Bytes SerializeBlockHeader(const BlockHeader& header) {
  ByteWriter w(kBlockHeaderSize);
  WriteHeader(w, header);
  return w.Take();
}

Hash256 BlockHash(const BlockHeader& header) {
  return crypto::Sha256d(SerializeBlockHeader(header));
}

Result<Block> ParseBlock(ByteSpan data) {
  if (data.size() > kMaxBlockSize) return Error::Invalid("block_too_large", "block exceeds 4,000,000 bytes");
  if (data.size() < kBlockHeaderSize) return Error::Invalid("block_truncated", "block shorter than its header");
  ByteReader r(data);
  Block block;
  block.header = ReadHeader(r);
  auto count = r.ReadCompactSize();
  if (!count.ok()) {
    if (count.error().code == "truncated") return Error::Invalid("block_truncated", "no transaction count");
    return Error::Invalid("block_bad_compact_size", count.error().message);
  }
  if (*count == 0) return Error::Invalid("block_no_transactions", "a block has at least its coinbase");
  if (*count > r.remaining() / kMinTxSize)
    return Error::Invalid("block_truncated", "transaction count exceeds the remaining data");
  block.txs.reserve(static_cast<std::size_t>(*count));
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto tx = ReadTransaction(r);
    if (!tx.ok()) {
      Error e = std::move(tx).error();
      e.message = "transaction " + std::to_string(i) + ": " + e.message;
      return e;
    }
    block.txs.push_back(std::move(*tx));
  }
  if (!r.empty()) return Error::Invalid("block_trailing_data", "bytes after the last transaction");
  return block;
}

Result<Block> ParseBlockHex(std::string_view hex) {
  if (hex.size() > 2 * kMaxBlockSize) return Error::Invalid("block_too_large", "block exceeds 4,000,000 bytes");
  auto bytes = FromHex(hex);
  if (!bytes) return Error::Invalid("bad_hex", "block is not valid hex");
  return ParseBlock(*bytes);
}

Bytes SerializeBlock(const Block& block) {
  ByteWriter w;
  WriteHeader(w, block.header);
  w.WriteCompactSize(block.txs.size());
  Bytes out = w.Take();
  for (const Transaction& tx : block.txs) {
    Bytes t = SerializeTransaction(tx, true);
    out.insert(out.end(), t.begin(), t.end());
  }
  return out;
}

Hash256 ComputeMerkleRoot(std::vector<Hash256> hashes, bool* mutated) {
  bool mutation = false;
  while (hashes.size() > 1) {
    // Core checks for equal pairs before padding, so a duplicated last
    // element of an odd level does not count as a mutation.
    for (std::size_t i = 0; i + 1 < hashes.size(); i += 2) {
      if (hashes[i] == hashes[i + 1]) mutation = true;
    }
    if (hashes.size() & 1) hashes.push_back(hashes.back());
    std::vector<Hash256> next;
    next.reserve(hashes.size() / 2);
    for (std::size_t i = 0; i < hashes.size(); i += 2) {
      std::array<std::uint8_t, 64> pair;
      std::copy(hashes[i].begin(), hashes[i].end(), pair.begin());
      std::copy(hashes[i + 1].begin(), hashes[i + 1].end(), pair.begin() + 32);
      next.push_back(crypto::Sha256d(pair));
    }
    hashes = std::move(next);
  }
  if (mutated) *mutated = mutation;
  return hashes.empty() ? Hash256{} : hashes[0];
}

Status CheckBlockCommitments(const Block& block) {
  if (block.txs.empty()) return Error::Invalid("block_no_transactions", "a block has at least its coinbase");
  std::vector<Hash256> txids;
  txids.reserve(block.txs.size());
  for (const Transaction& tx : block.txs) txids.push_back(Txid(tx));
  bool mutated = false;
  if (ComputeMerkleRoot(txids, &mutated) != block.header.merkle_root)
    return Error::Invalid("block_bad_merkle_root", "transactions do not match the header's merkle root");
  if (mutated) return Error::Invalid("block_mutated", "duplicate transactions in the merkle tree");

  const Transaction& coinbase = block.txs[0];
  const int idx = WitnessCommitmentIndex(coinbase);
  if (idx >= 0) {
    // The coinbase's witness is the commitment's "witness reserved value".
    if (coinbase.vin.size() != 1 || coinbase.vin[0].witness.size() != 1 || coinbase.vin[0].witness[0].size() != 32)
      return Error::Invalid("block_bad_witness_nonce_size", "coinbase witness must be one 32-byte item");
    std::vector<Hash256> wtxids;
    wtxids.reserve(block.txs.size());
    wtxids.push_back(Hash256{});  // BIP-141: the coinbase's wtxid is taken as zero
    for (std::size_t i = 1; i < block.txs.size(); ++i) wtxids.push_back(Wtxid(block.txs[i]));
    const Hash256 root = ComputeMerkleRoot(std::move(wtxids));
    std::array<std::uint8_t, 64> buf;
    std::copy(root.begin(), root.end(), buf.begin());
    std::copy(coinbase.vin[0].witness[0].begin(), coinbase.vin[0].witness[0].end(), buf.begin() + 32);
    const Hash256 commitment = crypto::Sha256d(buf);
    const Bytes& script = coinbase.vout[static_cast<std::size_t>(idx)].script_pubkey;
    if (!std::equal(commitment.begin(), commitment.end(), script.begin() + 6))
      return Error::Invalid("block_bad_witness_commitment", "witness data does not match the coinbase commitment");
    return Ok();
  }
  for (const Transaction& tx : block.txs) {
    if (tx.HasWitness())
      return Error::Invalid("block_unexpected_witness", "witness data in a block without a witness commitment");
  }
  return Ok();
}

}  // namespace kray::bitcoin
