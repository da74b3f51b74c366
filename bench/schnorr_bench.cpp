// BIP-340 micro-benchmarks: the per-core ceiling for signed transfers.
// Every signed transfer costs one verification (plus a SHA-256 of its message),
// so verify/s per core bounds the node's TPS before any I/O.
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/tx_message.h"

namespace {

using namespace kray;

struct Fixture {
  crypto::SecretKey sk;
  crypto::XOnlyPubKey pk;
  Hash256 msg;
  crypto::SchnorrSig sig;
  Fixture() {
    sk = crypto::Sha256(AsBytes(std::string_view("krayd-dev-account-1")));
    pk = crypto::XOnlyFromSecret(sk).value();
    msg = state::LegacyTransferMessage("kray_a", "kray_b", 1000, 7);
    sig = crypto::SchnorrSign(sk, msg).value();
  }
};
const Fixture& F() {
  static Fixture f;
  return f;
}

void BM_SchnorrVerify(benchmark::State& state) {
  const auto& f = F();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::SchnorrVerify(f.pk, f.msg, f.sig));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SchnorrVerify);

// The node's path: the signer's key parsed once and cached (VerifyingKey).
void BM_SchnorrVerifyParsedKey(benchmark::State& state) {
  const auto& f = F();
  auto key = crypto::VerifyingKey::Parse(f.pk).value();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::SchnorrVerify(key, f.msg, f.sig));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SchnorrVerifyParsedKey);

// Raw libsecp256k1 with a pre-parsed key: what the wrapper costs on top.
void BM_SchnorrVerifyRawSecp(benchmark::State& state) {
  const auto& f = F();
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(ctx, &pk, f.pk.data())) state.SkipWithError("parse");
  for (auto _ : state)
    benchmark::DoNotOptimize(secp256k1_schnorrsig_verify(ctx, f.sig.data(), f.msg.data(), f.msg.size(), &pk));
  state.SetItemsProcessed(state.iterations());
  secp256k1_context_destroy(ctx);
}
BENCHMARK(BM_SchnorrVerifyRawSecp);

void BM_SchnorrSign(benchmark::State& state) {
  const auto& f = F();
  std::array<std::uint8_t, 32> aux{};
  for (auto _ : state) benchmark::DoNotOptimize(crypto::SchnorrSign(f.sk, f.msg, aux));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SchnorrSign);

void BM_LegacyTransferMessage(benchmark::State& state) {
  std::uint64_t n = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(state::LegacyTransferMessage("kray_0123456789abcdef0123456789abcdef",
                                                          "kray_fedcba9876543210fedcba9876543210", 1000, n++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LegacyTransferMessage);

void BM_TransferMessageV1(benchmark::State& state) {
  std::uint64_t n = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(state::TransferMessageV1("kray-regtest-1", "transfer",
                                                      "kray_0123456789abcdef0123456789abcdef",
                                                      "kray_fedcba9876543210fedcba9876543210", "KRAY", 1000, n++, ""));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransferMessageV1);

}  // namespace
