// The RPC client's behaviour on faults a real Bitcoin Core does not produce
// (FakeRpcServer): malformed JSON, hangs, HTTP 500 with a non-JSON body,
// dropped connections, wrong ids, lying replies; plus retry/backoff and
// exact amount parsing. Its behaviour against a real node is in
// tests/integration/bitcoind_rpc_test.cpp.
#include "kray/bridge/bitcoin_rpc.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fake_rpc_server.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::bridge {
namespace {

using nlohmann::json;
using testing::FakeReply;
using testing::FakeRequest;
using testing::FakeRpcServer;
using namespace std::chrono_literals;

// A JSON-RPC reply echoing the request's id.
std::string Reply(const FakeRequest& req, const json& result) {
  json r = json::parse(req.body);
  return json{{"result", result}, {"error", nullptr}, {"id", r["id"]}}.dump();
}

RpcOptions Fast(std::uint16_t port) {
  RpcOptions o;
  o.port = port;
  o.user = "u";
  o.password = "p";
  o.connect_timeout = 500ms;
  o.request_timeout = 500ms;
  o.max_attempts = 3;
  o.initial_backoff = 10ms;
  o.max_backoff = 20ms;
  return o;
}

std::string BlockVectorHex() {
  std::ifstream in(std::string(KRAY_TEST_VECTORS_DIR) + "/regtest-block-segwit.json");
  return json::parse(in)["hex"];
}

TEST(BitcoinRpc, MalformedJsonIsBadReplyAndNotRetried) {
  FakeRpcServer server([](int, const FakeRequest&) { return FakeReply::Respond(200, "{\"result\": [1,"); });
  BitcoinRpc rpc(Fast(server.port()));
  auto r = rpc.GetBlockchainInfo();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "l1_bad_reply");
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(server.requests(), 1);
}

TEST(BitcoinRpc, Http500WithoutJsonIsBadReply) {
  FakeRpcServer server(
      [](int, const FakeRequest&) { return FakeReply::Respond(500, "<html>Internal Server Error</html>"); });
  BitcoinRpc rpc(Fast(server.port()));
  auto r = rpc.Call("getblockcount", "[]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "l1_bad_reply");
  EXPECT_NE(r.error().message.find("HTTP 500"), std::string::npos) << r.error().message;
  EXPECT_EQ(server.requests(), 1);
}

TEST(BitcoinRpc, Http500WithCoreErrorIsRpcErrorWithCode) {
  // What Bitcoin Core sends for a JSON-RPC 1.0 request that fails.
  FakeRpcServer server([](int, const FakeRequest& req) {
    json r = json::parse(req.body);
    json body = {{"result", nullptr}, {"error", {{"code", -5}, {"message", "Block not found"}}}, {"id", r["id"]}};
    return FakeReply::Respond(500, body.dump());
  });
  BitcoinRpc rpc(Fast(server.port()));
  auto raw = rpc.CallRaw("getblock", "[\"00\"]");
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  ASSERT_TRUE(raw->error.has_value());
  EXPECT_EQ(raw->error->code, kRpcInvalidAddressOrKey);
  EXPECT_EQ(raw->error->message, "Block not found");
  auto typed = rpc.GetBlock(Hash256{});
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(typed.error().code, "l1_rpc_error");
  EXPECT_NE(typed.error().message.find("-5: Block not found"), std::string::npos) << typed.error().message;
  EXPECT_EQ(server.requests(), 2);  // RPC errors are never retried
}

TEST(BitcoinRpc, HangTimesOutAsUnreachableAfterEveryAttempt) {
  FakeRpcServer server([](int, const FakeRequest&) { return FakeReply::Hang(); });
  RpcOptions o = Fast(server.port());
  o.request_timeout = 200ms;
  o.max_attempts = 2;
  BitcoinRpc rpc(o);
  const auto start = std::chrono::steady_clock::now();
  auto r = rpc.GetBlockchainInfo();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "l1_unreachable");
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(server.requests(), 2);
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(BitcoinRpc, ConnectionRefusedRetriesWithExponentialBackoff) {
  std::uint16_t port;
  {
    FakeRpcServer closed([](int, const FakeRequest&) { return FakeReply::Drop(); });
    port = closed.port();
  }  // nothing listens on `port` any more
  RpcOptions o = Fast(port);
  o.max_attempts = 4;
  o.initial_backoff = 50ms;
  o.max_backoff = 100ms;
  BitcoinRpc rpc(o);
  const auto start = std::chrono::steady_clock::now();
  auto r = rpc.GetBlockHash(1);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "l1_unreachable");
  EXPECT_NE(r.error().message.find("after 4 attempts"), std::string::npos) << r.error().message;
  // Waits of 50, 100 (doubled), 100 (capped) ms between the four attempts.
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(BitcoinRpc, RecoversAfterDroppedConnections) {
  FakeRpcServer server([](int n, const FakeRequest& req) {
    if (n <= 2) return FakeReply::Drop();
    return FakeReply::Respond(200, Reply(req, 7));
  });
  BitcoinRpc rpc(Fast(server.port()));
  auto r = rpc.Call("getblockcount", "[]");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "7");
  EXPECT_EQ(server.requests(), 3);
}

TEST(BitcoinRpc, BusyServerIsRetried) {
  // Bitcoin Core answers 503 when its HTTP work queue is full.
  FakeRpcServer server([](int n, const FakeRequest& req) {
    if (n == 1) return FakeReply::Respond(503, "Work queue depth exceeded");
    return FakeReply::Respond(200, Reply(req, 8));
  });
  BitcoinRpc rpc(Fast(server.port()));
  auto r = rpc.Call("getblockcount", "[]");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(server.requests(), 2);
}

TEST(BitcoinRpc, UnauthorizedIsNotRetried) {
  FakeRpcServer server([](int, const FakeRequest&) { return FakeReply::Respond(401, ""); });
  BitcoinRpc rpc(Fast(server.port()));
  auto r = rpc.GetBlockchainInfo();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "l1_unauthorized");
  EXPECT_EQ(server.requests(), 1);
}

TEST(BitcoinRpc, WrongIdOrShapeIsBadReply) {
  FakeRpcServer server([](int n, const FakeRequest& req) {
    json id = json::parse(req.body)["id"];
    switch (n) {
      case 1:
        return FakeReply::Respond(200, json{{"result", 1}, {"error", nullptr}, {"id", 999}}.dump());
      case 2:
        return FakeReply::Respond(200, json{{"error", nullptr}, {"id", id}}.dump());
      case 3:
        return FakeReply::Respond(200, json{{"result", {{"chain", 5}}}, {"error", nullptr}, {"id", id}}.dump());
      case 4:
        return FakeReply::Respond(200, "[1,2,3]");
      default:
        return FakeReply::Respond(500, json{{"error", {{"code", "x"}}}, {"id", id}}.dump());
    }
  });
  BitcoinRpc rpc(Fast(server.port()));
  for (int i = 0; i < 5; ++i) {
    auto r = rpc.GetBlockchainInfo();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "l1_bad_reply") << i << ": " << r.error().message;
  }
}

TEST(BitcoinRpc, DeepNestingAndGarbageNeverCrash) {
  FakeRpcServer server([](int n, const FakeRequest&) {
    if (n == 1) return FakeReply::Respond(200, std::string(100000, '[') + std::string(100000, ']'));
    if (n == 2) return FakeReply::Respond(200, std::string("\x00\xff\xfe garbage", 12));
    return FakeReply::Respond(200, "");
  });
  BitcoinRpc rpc(Fast(server.port()));
  for (int i = 0; i < 3; ++i) {
    auto r = rpc.Call("getblockcount", "[]");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "l1_bad_reply");
  }
}

TEST(BitcoinRpc, RepliesThatLieAreRejected) {
  const std::string block_hex = BlockVectorHex();
  const auto block = *bitcoin::ParseBlockHex(block_hex);
  const Hash256 hash = bitcoin::BlockHash(block.header);
  bitcoin::Block tampered = block;
  tampered.txs[1].vout[0].value += 1;  // header unchanged: same hash, wrong merkle root
  const std::string tampered_hex = ToHex(bitcoin::SerializeBlock(tampered));
  const bitcoin::Transaction tx = block.txs[1];

  FakeRpcServer server([&](int n, const FakeRequest& req) {
    switch (n) {
      case 1:
      case 2:
        return FakeReply::Respond(200, Reply(req, block_hex));
      case 3:
        return FakeReply::Respond(200, Reply(req, tampered_hex));
      case 4:  // the right transaction hex, asked for under another txid
        return FakeReply::Respond(
            200, Reply(req, {{"hex", ToHex(bitcoin::SerializeTransaction(tx))}, {"confirmations", 0}}));
      case 5:  // sendrawtransaction answering with another txid
        return FakeReply::Respond(200, Reply(req, std::string(64, 'a')));
      default:  // getblockheader whose fields do not hash to the hash
        return FakeReply::Respond(
            200, Reply(req, {{"hash", bitcoin::HashToDisplayHex(hash)},
                             {"height", 102},
                             {"confirmations", 1},
                             {"version", block.header.version},
                             {"merkleroot", bitcoin::HashToDisplayHex(block.header.merkle_root)},
                             {"time", block.header.time + 1},
                             {"nonce", block.header.nonce},
                             {"bits", "207fffff"},
                             {"nTx", 4},
                             {"previousblockhash", bitcoin::HashToDisplayHex(block.header.prev_block)}}));
    }
  });
  BitcoinRpc rpc(Fast(server.port()));
  auto good = rpc.GetBlock(hash);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(*good, block);
  Hash256 other = hash;
  other[0] ^= 1;
  EXPECT_EQ(rpc.GetBlock(other).error().code, "l1_bad_reply");  // block for another hash
  EXPECT_EQ(rpc.GetBlock(hash).error().code, "l1_bad_reply");   // merkle root mismatch
  EXPECT_EQ(rpc.GetRawTransaction(other).error().code, "l1_bad_reply");
  EXPECT_EQ(rpc.SendRawTransaction(tx).error().code, "l1_bad_reply");
  EXPECT_EQ(rpc.GetBlockHeader(hash).error().code, "l1_bad_reply");
}

TEST(BitcoinRpc, CookieAuthAndWalletEndpoint) {
  kray::test::TempDir dir;
  const std::string cookie = dir.file(".cookie");
  std::ofstream(cookie) << "__cookie__:00ff";
  FakeRpcServer server([](int, const FakeRequest& req) { return FakeReply::Respond(200, Reply(req, 1)); });
  RpcOptions o = Fast(server.port());
  o.cookie_file = cookie;
  o.wallet = "my wallet";
  BitcoinRpc rpc(o);
  ASSERT_TRUE(rpc.Call("getwalletinfo", "[]").ok());
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].head.rfind("POST /wallet/my%20wallet HTTP/1.1", 0), 0u) << seen[0].head;
  // base64("__cookie__:00ff")
  EXPECT_NE(seen[0].head.find("Authorization: Basic X19jb29raWVfXzowMGZm"), std::string::npos) << seen[0].head;
  const json body = json::parse(seen[0].body);
  EXPECT_EQ(body["method"], "getwalletinfo");
  EXPECT_EQ(body["params"], json::array());

  // A missing cookie file is "not reachable yet", after the retries.
  o.cookie_file = dir.file("missing");
  BitcoinRpc no_cookie(o);
  EXPECT_EQ(no_cookie.Call("getwalletinfo", "[]").error().code, "l1_unreachable");
  EXPECT_EQ(no_cookie.Call("getwalletinfo", "{").error().code, "l1_bad_params");
}

TEST(BitcoinRpc, ResultNumbersKeepTheirExactText) {
  FakeRpcServer server([](int, const FakeRequest& req) {
    json id = json::parse(req.body)["id"];
    // Written by hand so the number text is exactly Core's.
    return FakeReply::Respond(200,
                              "{\"result\":{\"amount\":0.10000000,\"n\":3},\"error\":null,\"id\":" + id.dump() + "}");
  });
  BitcoinRpc rpc(Fast(server.port()));
  auto r = rpc.Call("x", "[0.12345678, \"s\", 7]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, R"({"amount":"0.10000000","n":3})");
  // Params go out byte for byte as the caller wrote them.
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0].body.find(R"("params":[0.12345678, "s", 7]})"), std::string::npos) << seen[0].body;
}

TEST(BitcoinRpc, ParseBtcAmountIsExact) {
  EXPECT_EQ(ParseBtcAmount("0.00000001"), 1);
  EXPECT_EQ(ParseBtcAmount("0.1"), 10'000'000);
  EXPECT_EQ(ParseBtcAmount("0.10000000"), 10'000'000);
  EXPECT_EQ(ParseBtcAmount("50.00000000"), 5'000'000'000);
  EXPECT_EQ(ParseBtcAmount("50"), 5'000'000'000);
  EXPECT_EQ(ParseBtcAmount("20999999.99999999"), 2'099'999'999'999'999);
  EXPECT_EQ(ParseBtcAmount("21000000"), 2'100'000'000'000'000);
  EXPECT_EQ(ParseBtcAmount("0000000000000.5"), 50'000'000);
  for (const char* bad : {"", "-1", "+1", "1e-8", "1.", ".5", "0.000000001", "21000000.00000001", "1,5", "0x10",
                          "99999999999999999999", " 1"}) {
    EXPECT_FALSE(ParseBtcAmount(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace kray::bridge
