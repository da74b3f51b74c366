// Script building (minimal pushes of every size, small integers, script
// numbers, OP_RETURN) and the opcode iterator's error reporting.
#include "kray/bitcoin/script.h"

#include <gtest/gtest.h>

namespace kray::bitcoin {
namespace {

Bytes Filled(std::size_t n) {
  return Bytes(n, 0x42);
}

TEST(Script, PushSizes) {
  struct Case {
    std::size_t size;
    std::string prefix;  // opcode + length bytes
  } cases[] = {{1, "01"},       {75, "4b"},      {76, "4c4c"},      {255, "4cff"},
               {256, "4d0001"}, {520, "4d0802"}, {65535, "4dffff"}, {65536, "4e00000100"}};
  for (const auto& c : cases) {
    SCOPED_TRACE("push of " + std::to_string(c.size) + " bytes");
    const Bytes data = Filled(c.size);
    const Bytes s = ScriptBuilder().Push(data).Take();
    ASSERT_EQ(s.size(), c.prefix.size() / 2 + c.size);
    EXPECT_EQ(ToHex(ByteSpan(s).first(c.prefix.size() / 2)), c.prefix);
    auto ops = ParseScript(s);
    ASSERT_TRUE(ops.ok());
    ASSERT_EQ(ops->size(), 1u);
    EXPECT_TRUE((*ops)[0].IsPush());
    EXPECT_TRUE(IsMinimalPush((*ops)[0]));
    EXPECT_EQ(Bytes((*ops)[0].data.begin(), (*ops)[0].data.end()), data);
  }
}

TEST(Script, MinimalSmallValues) {
  EXPECT_EQ(ToHex(ScriptBuilder().Push(Bytes{}).Take()), "00");
  for (int v = 1; v <= 16; ++v) {
    EXPECT_EQ(ScriptBuilder().Push(Bytes{static_cast<std::uint8_t>(v)}).Take(), Bytes{EncodeOpN(v)});
    EXPECT_EQ(DecodeOpN(EncodeOpN(v)), v);
  }
  EXPECT_EQ(ToHex(ScriptBuilder().Push(Bytes{0x81}).Take()), "4f");
  EXPECT_EQ(ToHex(ScriptBuilder().Push(Bytes{0x00}).Take()), "0100");
  EXPECT_EQ(ToHex(ScriptBuilder().PushRaw(Bytes{0x05}).Take()), "0105");
  EXPECT_EQ(EncodeOpN(16), 0x60);
  EXPECT_FALSE(DecodeOpN(0x61).has_value());
  EXPECT_FALSE(DecodeOpN(OP_1NEGATE).has_value());
}

TEST(Script, IntegersAndScriptNum) {
  EXPECT_EQ(ToHex(ScriptBuilder().PushInt(0).Take()), "00");
  EXPECT_EQ(ToHex(ScriptBuilder().PushInt(-1).Take()), "4f");
  EXPECT_EQ(ToHex(ScriptBuilder().PushInt(2).Take()), "52");
  EXPECT_EQ(ToHex(ScriptBuilder().PushInt(16).Take()), "60");
  EXPECT_EQ(ToHex(ScriptBuilder().PushInt(17).Take()), "0111");
  EXPECT_EQ(ToHex(ScriptNumEncode(127)), "7f");
  EXPECT_EQ(ToHex(ScriptNumEncode(128)), "8000");
  EXPECT_EQ(ToHex(ScriptNumEncode(255)), "ff00");
  EXPECT_EQ(ToHex(ScriptNumEncode(256)), "0001");
  EXPECT_EQ(ToHex(ScriptNumEncode(-1)), "81");
  EXPECT_EQ(ToHex(ScriptNumEncode(-128)), "8080");
  EXPECT_EQ(ToHex(ScriptNumEncode(-255)), "ff80");
  EXPECT_EQ(ToHex(ScriptNumEncode(500000)), "20a107");
}

TEST(Script, OpReturnAndAsm) {
  const Bytes s = ScriptBuilder().Op(OP_RETURN).Op(OP_13).Push(Bytes{0x14, 0x01}).Take();
  EXPECT_EQ(ToHex(s), "6a5d021401");
  EXPECT_EQ(ScriptToAsm(s), "OP_RETURN OP_13 1401");
  EXPECT_FALSE(IsPushOnly(s));
  EXPECT_TRUE(IsPushOnly(*FromHex("0001aa4c02bbcc51")));
  EXPECT_EQ(ScriptToAsm(*FromHex("76a914")), "OP_DUP OP_HASH160 [error]");
}

TEST(Script, IteratorReportsTruncation) {
  struct Case {
    const char* hex;
    std::size_t good_ops;
    const char* code;
  } cases[] = {
      {"02aa", 0, "script_truncated_push"},
      {"4c", 0, "script_truncated_push_length"},
      {"4c02aa", 0, "script_truncated_push"},
      {"4d01", 0, "script_truncated_push_length"},
      {"4e010000", 0, "script_truncated_push_length"},
      {"4effffffff00", 0, "script_truncated_push"},
      {"51ac4b", 2, "script_truncated_push"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.hex);
    const Bytes s = *FromHex(c.hex);
    ScriptIterator it(s);
    ScriptOp op;
    std::size_t n = 0;
    while (it.Next(op)) ++n;
    EXPECT_EQ(n, c.good_ops);
    ASSERT_FALSE(it.ok());
    EXPECT_EQ(it.error()->code, c.code);
    EXPECT_FALSE(it.Next(op));  // stays stopped
    EXPECT_FALSE(ParseScript(s).ok());
  }
}

TEST(Script, NonMinimalPushesDetected) {
  // ScriptOp::data views the script, so keep the bytes alive.
  const Bytes bad = *FromHex(
      "4c0142"
      "0101"
      "4d0100aa"
      "0181"
      "4c00");
  auto ops = ParseScript(bad);
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 5u);
  for (const ScriptOp& op : *ops)
    EXPECT_FALSE(IsMinimalPush(op)) << "offset " << op.offset << " opcode " << int(op.opcode) << " data "
                                    << ToHex(op.data);
  const Bytes good_script = *FromHex(
      "0142"
      "00"
      "51");
  auto good = ParseScript(good_script);
  ASSERT_TRUE(good.ok());
  for (const ScriptOp& op : *good) EXPECT_TRUE(IsMinimalPush(op));
}

}  // namespace
}  // namespace kray::bitcoin
