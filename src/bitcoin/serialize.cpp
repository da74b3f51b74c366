#include "kray/bitcoin/serialize.h"

namespace kray::bitcoin {

std::size_t CompactSizeLen(std::uint64_t n) {
  if (n < 253) return 1;
  if (n <= 0xffff) return 3;
  if (n <= 0xffffffffULL) return 5;
  return 9;
}

std::optional<std::uint8_t> ByteReader::ReadU8() {
  if (remaining() < 1) return std::nullopt;
  return data_[pos_++];
}

std::optional<std::uint16_t> ByteReader::ReadU16LE() {
  if (remaining() < 2) return std::nullopt;
  std::uint16_t v = static_cast<std::uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
  pos_ += 2;
  return v;
}

std::optional<std::uint32_t> ByteReader::ReadU32LE() {
  if (remaining() < 4) return std::nullopt;
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | data_[pos_ + i];
  pos_ += 4;
  return v;
}

std::optional<std::uint64_t> ByteReader::ReadU64LE() {
  if (remaining() < 8) return std::nullopt;
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | data_[pos_ + i];
  pos_ += 8;
  return v;
}

Result<std::uint64_t> ByteReader::ReadCompactSize(std::uint64_t max) {
  auto first = ReadU8();
  if (!first) return Error::Invalid("truncated", "truncated CompactSize");
  std::uint64_t n = 0;
  std::uint64_t min = 0;
  if (*first < 253) {
    n = *first;
  } else if (*first == 253) {
    auto v = ReadU16LE();
    if (!v) return Error::Invalid("truncated", "truncated CompactSize");
    n = *v;
    min = 253;
  } else if (*first == 254) {
    auto v = ReadU32LE();
    if (!v) return Error::Invalid("truncated", "truncated CompactSize");
    n = *v;
    min = 0x10000;
  } else {
    auto v = ReadU64LE();
    if (!v) return Error::Invalid("truncated", "truncated CompactSize");
    n = *v;
    min = 0x100000000ULL;
  }
  // Bitcoin Core: "non-canonical ReadCompactSize()".
  if (n < min) return Error::Invalid("non_canonical_compact_size", "CompactSize not minimally encoded");
  if (n > max) return Error::Invalid("compact_size_too_large", "CompactSize exceeds limit");
  return n;
}

std::optional<ByteSpan> ByteReader::ReadSpan(std::size_t n) {
  if (remaining() < n) return std::nullopt;
  ByteSpan s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

std::optional<Bytes> ByteReader::ReadBytes(std::size_t n) {
  auto s = ReadSpan(n);
  if (!s) return std::nullopt;
  return Bytes(s->begin(), s->end());
}

Result<Bytes> ByteReader::ReadVarBytes(std::uint64_t max) {
  auto len = ReadCompactSize(max);
  if (!len.ok()) return std::move(len).error();
  if (*len > remaining()) return Error::Invalid("truncated", "length exceeds remaining input");
  return *ReadBytes(static_cast<std::size_t>(*len));
}

ByteWriter& ByteWriter::WriteU8(std::uint8_t v) {
  out_.push_back(v);
  return *this;
}

ByteWriter& ByteWriter::WriteU16LE(std::uint16_t v) {
  out_.push_back(static_cast<std::uint8_t>(v));
  out_.push_back(static_cast<std::uint8_t>(v >> 8));
  return *this;
}

ByteWriter& ByteWriter::WriteU32LE(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return *this;
}

ByteWriter& ByteWriter::WriteU64LE(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return *this;
}

ByteWriter& ByteWriter::WriteCompactSize(std::uint64_t n) {
  if (n < 253) {
    WriteU8(static_cast<std::uint8_t>(n));
  } else if (n <= 0xffff) {
    WriteU8(253);
    WriteU16LE(static_cast<std::uint16_t>(n));
  } else if (n <= 0xffffffffULL) {
    WriteU8(254);
    WriteU32LE(static_cast<std::uint32_t>(n));
  } else {
    WriteU8(255);
    WriteU64LE(n);
  }
  return *this;
}

ByteWriter& ByteWriter::WriteBytes(ByteSpan b) {
  out_.insert(out_.end(), b.begin(), b.end());
  return *this;
}

ByteWriter& ByteWriter::WriteVarBytes(ByteSpan b) {
  WriteCompactSize(b.size());
  return WriteBytes(b);
}

Bytes EncodeCompactSize(std::uint64_t n) {
  ByteWriter w;
  w.WriteCompactSize(n);
  return w.Take();
}

}  // namespace kray::bitcoin
