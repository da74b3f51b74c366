#include "kray/testsupport/federation.h"

#include <cstdlib>

#include "kray/bitcoin/bip39.h"
#include "kray/crypto/hash.h"

namespace kray::test {

bridge::MemberKey TestMember(int n) {
  const auto entropy = crypto::Sha256(AsBytes("kray-test-member-" + std::to_string(n)));
  auto mnemonic = bitcoin::Bip39EntropyToMnemonic(entropy);
  auto key = mnemonic.ok() ? bridge::MemberKeyFromMnemonic(Network::kRegtest, *mnemonic)
                           : Result<bridge::MemberKey>(mnemonic.error());
  if (!key.ok()) std::abort();  // fixed inputs: cannot fail
  key->member = n;
  return std::move(*key);
}

std::array<bridge::MemberKey, 3> TestMembers() {
  return {TestMember(1), TestMember(2), TestMember(3)};
}

bridge::Federation TestFederation() {
  const auto m = TestMembers();
  auto f = bridge::Federation::Make(Network::kRegtest, {m[0].Xpub(), m[1].Xpub(), m[2].Xpub()});
  if (!f.ok()) std::abort();
  return std::move(*f);
}

}  // namespace kray::test
