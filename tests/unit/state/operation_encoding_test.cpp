// The operations' canonical encodings byte for byte, as include/kray/state/
// operation.h and docs/STATE.md ("Operations", its encodings) define them:
// the record hash is what every batch's tx root commits to, so its bytes
// may never change with how the code builds them (each encoding reserves
// its size up front).
#include <gtest/gtest.h>

#include <string>

#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/state/operation.h"

namespace kray::state {
namespace {

// The expected bytes, written out here rather than with the code's helpers.
void Be(Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void Lp(Bytes& out, std::string_view s) {
  Be(out, s.size(), 4);
  out.insert(out.end(), s.begin(), s.end());
}

Operation SampleOperation() {
  Operation op;
  op.type = "transfer";
  op.auth = Auth::kSigned;
  op.signer = "kray_00112233445566778899aabbccddeeff";
  op.nonce = 0x0102030405060708ULL;
  op.scheme = SigScheme::kV1;
  op.signature = Bytes(64, 0x5a);
  op.fields = {{"amount", "1500"},
               {"asset", "KRAY"},
               {"memo", std::string(300, 'm')},  // past 255 bytes: the length prefix is four bytes
               {"to", "kray_ffeeddccbbaa99887766554433221100"}};
  op.evidence = {{"to_address", "bcrt1pexample"}};
  op.seq = 77;
  op.timestamp = -5;  // i64be: two's complement
  op.hash = std::string(64, 'c');
  op.gas_fee = 1000;
  op.touched = {{1, "kray_00112233445566778899aabbccddeeff"}, {2, "pool"}};
  return op;
}

Bytes ExpectedFields(const Fields& fields) {
  Bytes out;
  Be(out, fields.size(), 4);
  for (const auto& [k, v] : fields) {
    Lp(out, k);
    Lp(out, v);
  }
  return out;
}

Bytes ExpectedSubmitted(const Operation& op) {
  Bytes out;
  Lp(out, op.type);
  out.push_back(static_cast<std::uint8_t>(op.auth));
  Lp(out, op.signer);
  Be(out, op.nonce, 8);
  out.push_back(static_cast<std::uint8_t>(op.scheme));
  Lp(out, std::string_view(reinterpret_cast<const char*>(op.signature.data()), op.signature.size()));
  Bytes f = ExpectedFields(op.fields), e = ExpectedFields(op.evidence);
  out.insert(out.end(), f.begin(), f.end());
  out.insert(out.end(), e.begin(), e.end());
  return out;
}

Bytes ExpectedLeafIds(const std::vector<LeafId>& ids) {
  Bytes out;
  Be(out, ids.size(), 4);
  for (const auto& id : ids) {
    out.push_back(id.type);
    Lp(out, id.id);
  }
  return out;
}

TEST(OperationEncoding, FieldsSubmittedAndLeafIdsAreTheDocumentedBytes) {
  const Operation op = SampleOperation();
  EXPECT_EQ(EncodeFields(op.fields), ExpectedFields(op.fields));
  EXPECT_EQ(EncodeFields({}), Bytes({0, 0, 0, 0}));
  EXPECT_EQ(EncodeSubmittedOperation(op), ExpectedSubmitted(op));
  EXPECT_EQ(EncodeLeafIds(op.touched), ExpectedLeafIds(op.touched));
  auto back = DecodeSubmittedOperation(EncodeSubmittedOperation(op));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->fields, op.fields);
  EXPECT_EQ(back->evidence, op.evidence);
  EXPECT_EQ(back->signature, op.signature);
}

// The appending forms write the same bytes after whatever the buffer holds
// (the executor encodes an operation's three lists into one reused buffer).
TEST(OperationEncoding, AppendedFieldsAndLeafIdsAreTheSameBytesAfterWhatWasThere) {
  const Operation op = SampleOperation();
  Bytes buffer = {0xaa, 0xbb};
  AppendFields(buffer, op.fields);
  AppendFields(buffer, {});
  AppendLeafIds(buffer, op.touched);
  Bytes expected = {0xaa, 0xbb};
  for (const Bytes& part : {ExpectedFields(op.fields), ExpectedFields({}), ExpectedLeafIds(op.touched)})
    expected.insert(expected.end(), part.begin(), part.end());
  EXPECT_EQ(buffer, expected);
}

TEST(OperationEncoding, RecordHashIsTheDocumentedBytes) {
  const Operation op = SampleOperation();
  Bytes ser;
  Be(ser, op.seq, 8);
  Lp(ser, op.hash);
  Bytes submitted = ExpectedSubmitted(op);
  ser.insert(ser.end(), submitted.begin(), submitted.end());
  Be(ser, static_cast<std::uint64_t>(op.timestamp), 8);
  Be(ser, op.gas_fee, 8);
  Bytes touched = ExpectedLeafIds(op.touched);
  ser.insert(ser.end(), touched.begin(), touched.end());
  EXPECT_EQ(OperationRecordHash(op), crypto::TaggedHash("KRAY/op/record/v1", ser));
  // As 412a6b4's code (before the encodings reserved their sizes) hashed it.
  EXPECT_EQ(ToHex(OperationRecordHash(op)), "eecca9e64afb803d08714905a181d59c227a707e7586ed4305d8e20aefe86df8");

  // And with nothing optional: no signature, fields, evidence or leaves.
  Operation bare;
  bare.type = "x";
  bare.auth = Auth::kSystem;
  Bytes b;
  Be(b, 0, 8);
  Lp(b, "");
  Bytes bs = ExpectedSubmitted(bare);
  b.insert(b.end(), bs.begin(), bs.end());
  Be(b, 0, 8);
  Be(b, 0, 8);
  Be(b, 0, 4);
  EXPECT_EQ(OperationRecordHash(bare), crypto::TaggedHash("KRAY/op/record/v1", b));
}

TEST(OperationEncoding, UnsignedIdIsTheDocumentedBytes) {
  Operation op = SampleOperation();
  op.auth = Auth::kOperator;
  Bytes ser;
  Lp(ser, "kray-regtest-1");
  Lp(ser, op.type);
  ser.push_back(static_cast<std::uint8_t>(op.auth));
  Be(ser, op.seq, 8);
  Be(ser, static_cast<std::uint64_t>(op.timestamp), 8);
  Bytes f = ExpectedFields(op.fields), e = ExpectedFields(op.evidence);
  ser.insert(ser.end(), f.begin(), f.end());
  ser.insert(ser.end(), e.begin(), e.end());
  EXPECT_EQ(UnsignedOperationId("kray-regtest-1", op), crypto::TaggedHash("KRAY/op/v1", ser));
  EXPECT_EQ(ToHex(UnsignedOperationId("kray-regtest-1", op)),
            "46db0e92f85077e7140ca16bb9140b2f05382943190fbeaccdcf8eb838669d44");  // as 412a6b4's code
}

}  // namespace
}  // namespace kray::state
