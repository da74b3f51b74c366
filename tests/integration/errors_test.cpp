// Every error class: exact status and code, JSON body, and no state change.
#include "kray/core/bytes.h"
#include "kray/state/tx_message.h"
#include "kray/testsupport/node.h"

namespace kray::test {
namespace {

class ErrorsTest : public NodeTest {
 protected:
  // POSTs `body` to `target`, expects status+code, and that the state did not move.
  void ExpectError(const std::string& target, const std::string& body, int status, const std::string& code) {
    std::string before = StateSnapshot();
    auto r = Post(target, body);
    EXPECT_EQ(r.status, status) << body.substr(0, 200) << " -> " << r.body;
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["code"], code) << r.body;
    EXPECT_TRUE(j["error"].is_string() && !j["error"].get<std::string>().empty()) << r.body;
    EXPECT_EQ(StateSnapshot(), before) << "state changed after a rejected request: " << body.substr(0, 200);
  }
  void ExpectSendError(const json& body, int status, const std::string& code) {
    ExpectError("/api/transaction/send", body.dump(), status, code);
  }
};

TEST_F(ErrorsTest, BadJson) {
  ExpectError("/api/transaction/send", "{\"from_account\": ", 400, "invalid_json");
  ExpectError("/api/transaction/send", "not json at all", 400, "invalid_json");
  ExpectError("/api/account/create", "[1,2", 400, "invalid_json");
  // A valid signed transfer, then a NUL byte: nlohmann alone stops at the NUL
  // and would accept (and apply) the transfer before it.
  const std::string transfer = LegacyTransfer(dev1_, dev2_.account_id, 10, 0).dump();
  ExpectError("/api/transaction/send", transfer + std::string(1, '\0') + "{}", 400, "invalid_json");
  ExpectError("/api/transaction/batch", "{\"transactions\":[" + transfer + "]}" + std::string(1, '\0'), 400,
              "invalid_json");
}

TEST_F(ErrorsTest, MissingField) {
  for (const char* field : {"from_account", "to_account", "amount", "signature", "nonce"}) {
    json b = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
    b.erase(field);
    SCOPED_TRACE(field);
    ExpectSendError(b, 400, "missing_field");
  }
  ExpectError("/api/account/create", json{{"l1_address", dev1_.address}}.dump(), 400, "missing_field");
}

TEST_F(ErrorsTest, BadAmount) {
  std::vector<json> bad = {json("-5"),
                           json(-5),
                           json(1.5),
                           json("1.5"),
                           json("1e3"),
                           json::parse("1e3"),
                           json(""),
                           json("9223372036854775808"),
                           json("18446744073709551616"),
                           json(" 5"),
                           json("+5"),
                           json("0x10"),
                           json("010"),  // canonical decimal only: no leading zeros
                           json("00"),
                           json("-0"),
                           json::parse("-0")};
  for (const auto& amt : bad) {
    json b = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
    b["amount"] = amt;
    SCOPED_TRACE(amt.dump());
    ExpectSendError(b, 400, "invalid_amount");
  }
  // Not a number at all: type errors, still 400 and no state change.
  json n = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  n["amount"] = nullptr;
  ExpectSendError(n, 400, "missing_field");
  n["amount"] = true;
  ExpectSendError(n, 400, "invalid_type");
}

// Errors found by validating the built operation (the type's Check), which
// /send and /batch leave to the Ledger's Submit (Validation::kAtSubmit):
// the same code and status from both, and nothing changes.
TEST_F(ErrorsTest, ValidationErrorsAreTheSameFromSendAndBatch) {
  json zero = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  zero["amount"] = "0";
  const std::vector<std::pair<json, std::string>> cases = {
      {zero, "invalid_amount"},
      {LegacyTransfer(dev1_, dev1_.account_id, 10, 0), "self_transfer"},
      {V1Transfer(dev1_, dev1_.address, "KRAY", 10, 0), "self_transfer"}};
  for (const auto& [body, code] : cases) {
    SCOPED_TRACE(code + " " + body.dump());
    ExpectSendError(body, 400, code);
    const std::string before = StateSnapshot();
    auto r = Post("/api/transaction/batch", json{{"transactions", json::array({body})}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["rejected"], 1) << r.body;
    EXPECT_EQ(j["results"][0]["code"], code) << r.body;
    EXPECT_EQ(j["results"][0]["http_status"], 400) << r.body;
    EXPECT_EQ(StateSnapshot(), before);
  }
}

// A nonce must be canonical too; "01" would name nonce 1.
TEST_F(ErrorsTest, NonceWithLeadingZero) {
  json b = LegacyTransfer(dev1_, dev2_.account_id, 10, 1);
  b["nonce"] = "00";
  ExpectSendError(b, 400, "invalid_field");
  b = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  b["nonce"] = "00";
  ExpectSendError(b, 400, "invalid_field");
}

// nlohmann keeps the last of duplicate keys, other parsers the first: a
// wallet or proxy checking {"amount":"1","amount":"9"} would see 1 while the
// node moved 9. Duplicates are rejected at every depth.
TEST_F(ErrorsTest, DuplicateKeys) {
  json b = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  std::string body = b.dump();
  std::string dup = body.substr(0, body.size() - 1) + ",\"amount\":\"10\"}";  // same value, still rejected
  ExpectError("/api/transaction/send", dup, 400, "invalid_json");
  std::string batch = "{\"transactions\":[" + body.substr(0, body.size() - 1) + ",\"nonce\":0}]}";
  ExpectError("/api/transaction/batch", batch, 400, "invalid_json");
  ExpectError("/api/transaction/estimate-gas", R"({"tx_type":"swap","tx_type":"transfer"})", 400, "invalid_json");
  // The undisputed body goes through.
  auto r = Post("/api/transaction/send", body);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ErrorsTest, BadSignature) {
  json b = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  std::string sig = b["signature"];
  sig[10] = sig[10] == 'a' ? 'b' : 'a';  // well-formed but does not verify
  b["signature"] = sig;
  ExpectSendError(b, 401, "invalid_signature");
  // Signed for a different amount than sent.
  json c = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  c["amount"] = "11";
  ExpectSendError(c, 401, "invalid_signature");
  // Malformed hex is bad input.
  json d = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  d["signature"] = "zz";
  ExpectSendError(d, 400, "invalid_signature_format");
}

TEST_F(ErrorsTest, WrongKey) {
  // dev account 2's key signs a transfer out of dev account 1.
  auto sig = crypto::SchnorrSign(dev2_.secret, state::LegacyTransferMessage(dev1_.account_id, dev2_.account_id, 10, 0));
  json b{{"from_account", dev1_.account_id},
         {"to_account", dev2_.account_id},
         {"amount", "10"},
         {"nonce", 0},
         {"signature", ToHex(sig.value())}};
  ExpectSendError(b, 401, "invalid_signature");
}

TEST_F(ErrorsTest, ReplayedAndGapNonce) {
  json first = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  auto r = Post("/api/transaction/send", first.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectSendError(first, 409, "nonce_conflict");                                           // replay
  ExpectSendError(LegacyTransfer(dev1_, dev2_.account_id, 10, 0), 409, "nonce_conflict");  // old nonce, new sig
  ExpectSendError(LegacyTransfer(dev1_, dev2_.account_id, 10, 5), 409, "nonce_conflict");  // gap
  EXPECT_EQ(Balance(dev1_.account_id)["nonce"], 1);
}

TEST_F(ErrorsTest, InsufficientBalance) {
  json b1 = Balance(dev1_.account_id);
  Amount have = std::stoull(b1["balance_credits"].get<std::string>());
  ExpectSendError(LegacyTransfer(dev1_, dev2_.account_id, have, 0), 409, "insufficient_balance");  // + gas
  ExpectSendError(V1Transfer(dev1_, dev2_.account_id, "BTC", 100000001, 0), 409, "insufficient_balance");
  // The details say what was missing, for a wallet to show.
  auto short_of_gas = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, have, 0).dump());
  json d = json::parse(short_of_gas.body)["details"];
  EXPECT_EQ(d["asset"], "KRAY") << short_of_gas.body;
  EXPECT_EQ(d["need"], std::to_string(have + 1)) << short_of_gas.body;
  EXPECT_EQ(d["have"], std::to_string(have)) << short_of_gas.body;
  auto btc =
      json::parse(Post("/api/transaction/send", V1Transfer(dev1_, dev2_.account_id, "BTC", 100000001, 0).dump()).body);
  EXPECT_EQ(btc["details"]["asset"], "BTC");
  EXPECT_EQ(btc["details"]["need"], "100000001");
  EXPECT_EQ(btc["details"]["have"], "100000000");
  // The nonce was not consumed: exactly all-but-gas still works.
  auto r = Post("/api/transaction/send", LegacyTransfer(dev1_, dev2_.account_id, have - 1, 0).dump());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Balance(dev1_.account_id)["balance_credits"], "0");
}

TEST_F(ErrorsTest, UnknownAccountAndTx) {
  TestKey nobody = RandomKey();
  auto r = Get("/api/account/" + nobody.account_id + "/balance");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "account_not_found");
  r = Get("/api/account/" + nobody.address + "/balance");
  EXPECT_EQ(r.status, 404) << r.body;
  r = Get("/api/transaction/" + std::string(64, 'a'));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "tx_not_found");
  // A transfer from an account that does not exist.
  ExpectSendError(LegacyTransfer(nobody, dev2_.account_id, 1, 0), 404, "account_not_found");
  // Not an id nor an address of this network.
  r = Get("/api/account/not-an-account/balance");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "invalid_account");
}

TEST_F(ErrorsTest, OversizedBody) {
  std::string before = StateSnapshot();
  json b = LegacyTransfer(dev1_, dev2_.account_id, 10, 0);
  b["data"] = std::string((1 << 20) + 16, 'x');
  auto r = http_->Post("/api/transaction/send", b.dump());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 413) << r->body.substr(0, 200);
  json j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r->body;
  EXPECT_EQ(j["code"], "body_too_large");
  EXPECT_EQ(StateSnapshot(), before);
}

// Regression: the 413 is written before the body is read; closing the
// socket with the rest of the body unread used to reset the connection, so
// a client still sending (or slow to read) lost the response.
TEST_F(ErrorsTest, OversizedBodyIsAlwaysAnswered) {
  std::string before = StateSnapshot();
  std::string big = "{\"data\":\"" + std::string(3 << 20, 'y') + "\"}";
  for (int i = 0; i < 10; ++i) {
    net::HttpClient c("127.0.0.1", node_.port());
    auto r = c.Post("/api/transaction/send", big);
    ASSERT_TRUE(r.ok()) << "attempt " << i << ": " << r.error().message;
    EXPECT_EQ(r->status, 413) << "attempt " << i;
  }
  EXPECT_EQ(StateSnapshot(), before);
}

TEST_F(ErrorsTest, UnknownRoute) {
  auto r = Get("/api/nope/xyz?a=1");
  EXPECT_EQ(r.status, 404) << r.body;
  json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["code"], "route_not_found");
  EXPECT_NE(j["error"].get<std::string>().find("/api/nope/xyz"), std::string::npos) << r.body;
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/json");
}

TEST_F(ErrorsTest, OperatorTokenRequired) {
  auto r = Get("/api/node/conservation");
  EXPECT_EQ(r.status, 401) << r.body;
  net::Headers h{{"Authorization", "Bearer wrong"}};
  auto w = http_->Get("/api/node/conservation", h);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status, 401) << w->body;
}

}  // namespace
}  // namespace kray::test
