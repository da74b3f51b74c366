// A deterministic federation for tests: three member keys whose mnemonics
// come from the entropy SHA256("kray-test-member-<n>"), and the federation
// of their account xpubs in member order (regtest).
#pragma once

#include <array>

#include "kray/bridge/federation.h"
#include "kray/bridge/member_key.h"

namespace kray::test {

// Member n (1..3).
bridge::MemberKey TestMember(int n);
std::array<bridge::MemberKey, 3> TestMembers();
bridge::Federation TestFederation();

}  // namespace kray::test
