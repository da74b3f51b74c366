// The JSON text writer against nlohmann: the same object must give the same
// bytes, whichever way it was built.
#include "../../../src/api/json_writer.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "../../../src/api/op_json.h"
#include "kray/state/core_module.h"

namespace kray::api {
namespace {

std::string NlohmannString(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Written(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(JsonWriter, EveryByteAloneAndBetweenTextIsEscapedAsNlohmannDoes) {
  for (int b = 0; b < 256; ++b) {
    std::string alone(1, static_cast<char>(b));
    EXPECT_EQ(Written(alone), NlohmannString(alone)) << "byte " << b;
    std::string between = "ab" + alone + "cd";
    EXPECT_EQ(Written(between), NlohmannString(between)) << "byte " << b;
  }
  EXPECT_EQ(Written(""), "\"\"");
  EXPECT_EQ(Written("q\"b\\n\n\x01\x1f\x7f"), "\"q\\\"b\\\\n\\n\\u0001\\u001f\x7f\"");
}

TEST(JsonWriter, EveryByteAtEveryPlaceOfAWordIsEscapedAsNlohmannDoes) {
  // The writer passes eight plain bytes at a time: each byte value at each
  // place of strings of 1 to 24 bytes (up to three words, every length of
  // tail), among plain neighbours of every kind (digits, hex, 0x20 and the
  // bytes next to it and to '"' and '\\', which a borrow passes through;
  // 0x7f).
  const std::string plains[] = {std::string(24, '7'), "0123456789abcdef!#[]~ } ", std::string(24, '\x7f')};
  for (const std::string& plain : plains) {
    for (std::size_t length = 1; length <= plain.size(); ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        for (int b = 0; b < 256; ++b) {
          std::string s = plain.substr(0, length);
          s[at] = static_cast<char>(b);
          ASSERT_EQ(Written(s), NlohmannString(s)) << "byte " << b << " at " << at << " of " << length;
        }
      }
    }
  }
}

TEST(JsonWriter, AppendingKeepsWhatWasThere) {
  // The non-ASCII path is taken from the middle of a word, after escapes:
  // what was in the buffer before stays, and nothing of the first attempt.
  std::string out = "{\"k\":";
  AppendJsonString(out,
                   "ab\"cdefgh\n"
                   "ijklmnop\xc3\xa9q");
  EXPECT_EQ(out, "{\"k\":" + NlohmannString("ab\"cdefgh\n"
                                            "ijklmnop\xc3\xa9q"));
}

TEST(JsonWriter, RandomStringsMatchNlohmannIncludingInvalidUtf8) {
  // An alphabet weighted to the cases that differ: controls, quotes,
  // backslashes, DEL, valid multi-byte sequences and stray bytes.
  const std::vector<std::string> pieces = {
      "a", "Z", " ",    "\"",   "\\",       "\n",           "\t",   "\x01",         "\x1f",     "\x7f", "é",
      "€", "😀", "\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xff", "\xed\xa0\x80", "\xc0\xaf", "/"};
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
    ASSERT_EQ(Written(s), NlohmannString(s)) << "round " << round;
  }
}

TEST(JsonWriter, ObjectMembersComeOutInNlohmannsOrderAndTheLastOfAKeyWins) {
  JsonObjectWriter w;
  w.String("zeta", "z")
      .Unsigned("alpha", std::numeric_limits<std::uint64_t>::max())
      .Signed("min", std::numeric_limits<std::int64_t>::min())
      .Signed("neg", -1)
      .Bool("yes", true)
      .Bool("no", false)
      .Raw("nested", "{\"a\":[1,2]}")
      .String("Alpha", "upper before lower")
      .String("dup", "first")
      .String("a\"key", "escaped key")
      .String("dup", "last");
  Json expected = {{"zeta", "z"},
                   {"alpha", std::numeric_limits<std::uint64_t>::max()},
                   {"min", std::numeric_limits<std::int64_t>::min()},
                   {"neg", -1},
                   {"yes", true},
                   {"no", false},
                   {"nested", {{"a", {1, 2}}}},
                   {"Alpha", "upper before lower"},
                   {"a\"key", "escaped key"},
                   {"dup", "last"}};
  EXPECT_EQ(w.Finish(), expected.dump());
  EXPECT_EQ(w.Finish(), "{}");  // Finish leaves the writer empty
}

// Few members are sorted by insertion, many by std::stable_sort: either
// way in nlohmann's order, the last of a repeated key winning.
TEST(JsonWriter, SmallAndLargeObjectsSortTheSameWay) {
  for (int n : {2, 20, 32, 33, 100, 1000}) {
    std::vector<std::string> keys;
    keys.reserve(static_cast<std::size_t>(n));  // the writer holds views
    JsonObjectWriter w;
    Json expected = Json::object();
    for (int i = 0; i < n; ++i) {
      keys.push_back("k" + std::to_string((i * 37) % (n / 2 + 1)));
      w.Unsigned(keys.back(), static_cast<std::uint64_t>(i));
      expected[keys.back()] = i;
    }
    EXPECT_EQ(w.Finish(), expected.dump()) << n << " members";
  }
}

TEST(JsonWriter, KeysOfEveryFirstByteAndLengthSortAsNlohmannDoes) {
  // The sort decides on the first byte when it can: keys that differ there
  // (ASCII both cases, multi-byte UTF-8 above 0x7f), that share it, that
  // are empty or a prefix of another, repeated (the last one wins).
  const std::vector<std::string> pieces = {"", "a", "b", "B", "_", "0", "é", "€", "😀", "ab", "a\"", "~"};
  std::mt19937 rng(11);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = 1 + rng() % (round % 2 == 0 ? 12 : 80);  // by insertion and by std::stable_sort
    std::vector<std::string> keys;
    keys.reserve(n);  // the writer holds views
    JsonObjectWriter w;
    Json expected = Json::object();
    for (std::size_t i = 0; i < n; ++i) {
      std::string key;
      for (std::size_t p = rng() % 4; p > 0; --p) key += pieces[rng() % pieces.size()];
      keys.push_back(std::move(key));
      w.Unsigned(keys.back(), i);
      expected[keys.back()] = i;
    }
    ASSERT_EQ(w.Finish(), expected.dump()) << "round " << round;
  }
}

// The receipt as the API built it with nlohmann before it was written as
// text: the oracle the writer must match byte for byte.
Json ReferenceReceipt(const state::Receipt& r, std::string_view status) {
  Json result = Json::object();
  for (const auto& [k, v] : r.result) result[k] = v;
  Json j = {{"tx_hash", r.op->hash},
            {"status", status},
            {"seq", r.op->seq},
            {"op", r.op->type},
            {"auth", state::AuthName(r.op->auth)},
            {"gas_fee", AmountString(r.op->gas_fee)},
            {"confirmed_at", r.op->timestamp},
            {"result", result}};
  if (r.op->auth == state::Auth::kSigned) {
    j["signer"] = r.op->signer;
    j["new_nonce"] = r.new_nonce;
  }
  if (r.op->type == state::kTransferOp) {
    j["from"] = r.op->signer;
    j["to"] = r.op->Field("to").value_or("");
    j["asset"] = r.op->Field("asset").value_or("");
    j["amount"] = r.op->Field("amount").value_or("0");
    if (auto addr = r.op->Evidence("to_address")) j["to_address"] = *addr;
  }
  return j;
}

state::Operation TransferOperation() {
  state::Operation op;
  op.type = std::string(state::kTransferOp);
  op.auth = state::Auth::kSigned;
  op.signer = "kray1sender";
  op.seq = 123456789;
  op.timestamp = 1764600000;
  op.hash = std::string(64, 'a');
  op.gas_fee = 1500;
  op.fields = {{"amount", "250"}, {"asset", "KRAY"}, {"data", "memo \"quoted\"\n"}, {"to", "kray1receiver"}};
  return op;
}

state::Receipt ReceiptOf(state::Operation op, std::uint64_t new_nonce, state::Fields result = {}) {
  state::Receipt r;
  r.op = std::make_shared<const state::Operation>(std::move(op));
  r.new_nonce = new_nonce;
  r.result = std::move(result);
  return r;
}

TEST(JsonWriter, ReceiptsAreWhatNlohmannWouldHaveWritten) {
  std::vector<state::Receipt> receipts;
  receipts.push_back(ReceiptOf(TransferOperation(), 42));
  auto with_address = TransferOperation();
  with_address.evidence = {{"to_address", "bc1q\xff"}};  // invalid UTF-8 is replaced
  receipts.push_back(ReceiptOf(with_address, 42));
  auto no_fields = TransferOperation();
  no_fields.fields.clear();  // the defaults: "" and "0"
  receipts.push_back(ReceiptOf(no_fields, 42));
  state::Operation system;
  system.type = "rewards.epoch";
  system.auth = state::Auth::kSystem;
  system.seq = 1;
  system.timestamp = -5;
  system.hash = "b";
  const state::Fields result = {{"minted", "10"}, {"epoch", "3"}, {"note", "é\x01"}};
  receipts.push_back(ReceiptOf(system, 0, result));
  auto op_signed = system;
  op_signed.auth = state::Auth::kSigned;
  op_signed.signer = "kray1signer";
  receipts.push_back(ReceiptOf(op_signed, std::numeric_limits<std::uint64_t>::max(), result));

  for (const auto& r : receipts) {
    for (std::string_view status : {"confirmed", "unchanged"}) {
      const std::string expected = ReferenceReceipt(r, status).dump(-1, ' ', false, Json::error_handler_t::replace);
      EXPECT_EQ(ReceiptBody(r, status), expected) << r.op->type;
    }
    EXPECT_EQ(ReceiptJson(r), Json::parse(ReceiptBody(r)));
    auto response = ReceiptResponse(r);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, ReceiptBody(r));
  }
  auto repeat = ReceiptOf(TransferOperation(), 42);
  repeat.no_change = true;
  EXPECT_EQ(Json::parse(ReceiptOrUnchangedResponse(repeat).body)["status"], "unchanged");
  EXPECT_EQ(Json::parse(ReceiptOrUnchangedResponse(ReceiptOf(TransferOperation(), 42)).body)["status"], "confirmed");
}

}  // namespace
}  // namespace kray::api
