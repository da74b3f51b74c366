// libFuzzer target for the key-material parsers that take user text:
// extended keys (xprv/xpub/tprv/tpub), BIP-32 paths and BIP-39 mnemonics.
// Properties: a parsed extended key re-encodes to the same string; a parsed
// path formats and re-parses to the same indices; an accepted mnemonic's
// entropy maps back to an accepted mnemonic with the same entropy.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kray/bitcoin/bip32.h"
#include "kray/bitcoin/bip39.h"

using namespace kray;
using namespace kray::bitcoin;

namespace {
void Check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  const std::string s(reinterpret_cast<const char*>(data), size);
  if (auto k = ParseExtKey(s); k.ok()) {
    const Network net = k->mainnet ? Network::kMainnet : Network::kTestnet;
    const std::string back = k->key.is_private() ? *EncodeExtPrivKey(k->key, net) : EncodeExtPubKey(k->key, net);
    Check(back == s);
  }
  if (auto p = ParseBip32Path(s); p.ok()) {
    auto again = ParseBip32Path(FormatBip32Path(*p));
    Check(again.ok() && *again == *p);
  }
  if (auto e = Bip39MnemonicToEntropy(s); e.ok()) {
    auto m = Bip39EntropyToMnemonic(*e);
    Check(m.ok());
    auto e2 = Bip39MnemonicToEntropy(*m);
    Check(e2.ok() && *e2 == *e);
  }
  return 0;
}
