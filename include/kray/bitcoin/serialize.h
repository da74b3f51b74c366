// Bitcoin wire serialization primitives: a bounds-checked byte reader and an
// appending writer, with little-endian integers and CompactSize lengths
// (Bitcoin Core's serialize.h). The reader never reads past its span and
// reports errors as values, so parsers built on it are safe on untrusted input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bitcoin {

// Largest CompactSize that a length may take (Bitcoin Core's MAX_SIZE).
inline constexpr std::uint64_t kMaxCompactSize = 0x02000000;

// Number of bytes CompactSize(n) occupies: 1, 3, 5 or 9.
std::size_t CompactSizeLen(std::uint64_t n);

// Reads from a borrowed span. Every Read* returns nullopt / false on running
// out of data and leaves the position unspecified afterwards (callers stop).
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }

  std::optional<std::uint8_t> ReadU8();
  std::optional<std::uint16_t> ReadU16LE();
  std::optional<std::uint32_t> ReadU32LE();
  std::optional<std::uint64_t> ReadU64LE();
  std::optional<std::int32_t> ReadI32LE() {
    auto v = ReadU32LE();
    if (!v) return std::nullopt;
    return static_cast<std::int32_t>(*v);
  }
  std::optional<std::int64_t> ReadI64LE() {
    auto v = ReadU64LE();
    if (!v) return std::nullopt;
    return static_cast<std::int64_t>(*v);
  }

  // CompactSize with Bitcoin Core's canonical-encoding rule (the shortest
  // form must be used) and an upper bound `max` (default kMaxCompactSize).
  // Errors: "truncated", "non_canonical_compact_size", "compact_size_too_large".
  Result<std::uint64_t> ReadCompactSize(std::uint64_t max = kMaxCompactSize);

  // Returns a view of the next n bytes (valid while the input lives).
  std::optional<ByteSpan> ReadSpan(std::size_t n);
  std::optional<Bytes> ReadBytes(std::size_t n);

  // CompactSize length then that many bytes; length bounded by `max` and by
  // the remaining input (so nothing is allocated for absurd lengths).
  Result<Bytes> ReadVarBytes(std::uint64_t max = kMaxCompactSize);

 private:
  ByteSpan data_;
  std::size_t pos_ = 0;
};

// Appends to an owned buffer.
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(std::size_t reserve) { out_.reserve(reserve); }

  ByteWriter& WriteU8(std::uint8_t v);
  ByteWriter& WriteU16LE(std::uint16_t v);
  ByteWriter& WriteU32LE(std::uint32_t v);
  ByteWriter& WriteU64LE(std::uint64_t v);
  ByteWriter& WriteI32LE(std::int32_t v) { return WriteU32LE(static_cast<std::uint32_t>(v)); }
  ByteWriter& WriteI64LE(std::int64_t v) { return WriteU64LE(static_cast<std::uint64_t>(v)); }
  ByteWriter& WriteCompactSize(std::uint64_t n);
  ByteWriter& WriteBytes(ByteSpan b);
  // CompactSize(len) || bytes.
  ByteWriter& WriteVarBytes(ByteSpan b);

  const Bytes& data() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

// Convenience: CompactSize encoding of n as bytes.
Bytes EncodeCompactSize(std::uint64_t n);

}  // namespace kray::bitcoin
