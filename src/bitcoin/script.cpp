#include "kray/bitcoin/script.h"

#include <cstdio>

namespace kray::bitcoin {

std::uint8_t EncodeOpN(int n) {
  if (n == 0) return OP_0;
  return static_cast<std::uint8_t>(OP_1 + (n - 1));
}

std::optional<int> DecodeOpN(std::uint8_t opcode) {
  if (opcode == OP_0) return 0;
  if (opcode >= OP_1 && opcode <= OP_16) return opcode - OP_1 + 1;
  return std::nullopt;
}

Bytes ScriptNumEncode(std::int64_t n) {
  // CScriptNum::serialize: magnitude little-endian; if the top bit of the
  // last byte is set, append a sign byte, else put the sign in that bit.
  Bytes out;
  if (n == 0) return out;
  const bool neg = n < 0;
  std::uint64_t abs = neg ? (~static_cast<std::uint64_t>(n) + 1) : static_cast<std::uint64_t>(n);
  while (abs) {
    out.push_back(static_cast<std::uint8_t>(abs & 0xff));
    abs >>= 8;
  }
  if (out.back() & 0x80) {
    out.push_back(neg ? 0x80 : 0x00);
  } else if (neg) {
    out.back() |= 0x80;
  }
  return out;
}

ScriptBuilder& ScriptBuilder::Op(std::uint8_t opcode) {
  script_.push_back(opcode);
  return *this;
}

ScriptBuilder& ScriptBuilder::PushRaw(ByteSpan data) {
  const std::size_t n = data.size();
  if (n < OP_PUSHDATA1) {
    script_.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xff) {
    script_.push_back(OP_PUSHDATA1);
    script_.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xffff) {
    script_.push_back(OP_PUSHDATA2);
    script_.push_back(static_cast<std::uint8_t>(n));
    script_.push_back(static_cast<std::uint8_t>(n >> 8));
  } else {
    script_.push_back(OP_PUSHDATA4);
    for (int i = 0; i < 4; ++i) script_.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  }
  script_.insert(script_.end(), data.begin(), data.end());
  return *this;
}

ScriptBuilder& ScriptBuilder::Push(ByteSpan data) {
  if (data.empty()) return Op(OP_0);
  if (data.size() == 1 && data[0] >= 1 && data[0] <= 16) return Op(EncodeOpN(data[0]));
  if (data.size() == 1 && data[0] == 0x81) return Op(OP_1NEGATE);
  return PushRaw(data);
}

ScriptBuilder& ScriptBuilder::PushInt(std::int64_t n) {
  if (n == -1) return Op(OP_1NEGATE);
  if (n >= 0 && n <= 16) return Op(EncodeOpN(static_cast<int>(n)));
  return PushRaw(ScriptNumEncode(n));
}

bool ScriptIterator::Next(ScriptOp& op) {
  if (error_ || pos_ >= script_.size()) return false;
  op = ScriptOp{};
  op.offset = pos_;
  op.opcode = script_[pos_++];
  if (op.opcode > OP_PUSHDATA4) return true;
  std::size_t len = 0;
  if (op.opcode < OP_PUSHDATA1) {
    len = op.opcode;
  } else {
    const std::size_t width = op.opcode == OP_PUSHDATA1 ? 1 : op.opcode == OP_PUSHDATA2 ? 2 : 4;
    if (script_.size() - pos_ < width) {
      error_ = Error::Invalid("script_truncated_push_length", "PUSHDATA length field truncated");
      return false;
    }
    for (std::size_t i = 0; i < width; ++i) len |= static_cast<std::size_t>(script_[pos_ + i]) << (8 * i);
    pos_ += width;
  }
  if (script_.size() - pos_ < len) {
    error_ = Error::Invalid("script_truncated_push", "push extends past the end of the script");
    return false;
  }
  op.data = script_.subspan(pos_, len);
  pos_ += len;
  return true;
}

Result<std::vector<ScriptOp>> ParseScript(ByteSpan script) {
  std::vector<ScriptOp> ops;
  ScriptIterator it(script);
  ScriptOp op;
  while (it.Next(op)) ops.push_back(op);
  if (!it.ok()) return *it.error();
  return ops;
}

bool IsMinimalPush(const ScriptOp& op) {
  if (!op.IsPush()) return true;
  const std::size_t n = op.data.size();
  if (n == 0) return op.opcode == OP_0;
  if (n == 1 && op.data[0] >= 1 && op.data[0] <= 16) return false;  // should be OP_n
  if (n == 1 && op.data[0] == 0x81) return false;                   // should be OP_1NEGATE
  if (n < OP_PUSHDATA1) return op.opcode == n;
  if (n <= 0xff) return op.opcode == OP_PUSHDATA1;
  if (n <= 0xffff) return op.opcode == OP_PUSHDATA2;
  return true;
}

bool IsPushOnly(ByteSpan script) {
  ScriptIterator it(script);
  ScriptOp op;
  while (it.Next(op)) {
    if (op.opcode > OP_16) return false;
  }
  return it.ok();
}

namespace {
const char* OpName(std::uint8_t op) {
  switch (op) {
    case OP_0:
      return "OP_0";
    case OP_1NEGATE:
      return "OP_1NEGATE";
    case OP_RETURN:
      return "OP_RETURN";
    case OP_DUP:
      return "OP_DUP";
    case OP_EQUAL:
      return "OP_EQUAL";
    case OP_EQUALVERIFY:
      return "OP_EQUALVERIFY";
    case OP_NUMEQUAL:
      return "OP_NUMEQUAL";
    case OP_HASH160:
      return "OP_HASH160";
    case OP_CODESEPARATOR:
      return "OP_CODESEPARATOR";
    case OP_CHECKSIG:
      return "OP_CHECKSIG";
    case OP_CHECKSIGVERIFY:
      return "OP_CHECKSIGVERIFY";
    case OP_CHECKMULTISIG:
      return "OP_CHECKMULTISIG";
    case OP_CHECKSIGADD:
      return "OP_CHECKSIGADD";
    case 0x61:
      return "OP_NOP";
    case 0x63:
      return "OP_IF";
    case 0x64:
      return "OP_NOTIF";
    case 0x67:
      return "OP_ELSE";
    case 0x68:
      return "OP_ENDIF";
    case 0x69:
      return "OP_VERIFY";
    case 0x75:
      return "OP_DROP";
    case 0xa8:
      return "OP_SHA256";
    case 0xb1:
      return "OP_CHECKLOCKTIMEVERIFY";
    case 0xb2:
      return "OP_CHECKSEQUENCEVERIFY";
    default:
      return nullptr;
  }
}
}  // namespace

std::string ScriptToAsm(ByteSpan script) {
  std::string out;
  ScriptIterator it(script);
  ScriptOp op;
  while (it.Next(op)) {
    if (!out.empty()) out += ' ';
    if (op.opcode > OP_0 && op.opcode <= OP_PUSHDATA4) {
      out += ToHex(op.data);
    } else if (auto n = DecodeOpN(op.opcode); n && *n > 0) {
      out += "OP_" + std::to_string(*n);
    } else if (const char* name = OpName(op.opcode)) {
      out += name;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "0x%02x", op.opcode);
      out += buf;
    }
  }
  if (!it.ok()) out += out.empty() ? "[error]" : " [error]";
  return out;
}

}  // namespace kray::bitcoin
