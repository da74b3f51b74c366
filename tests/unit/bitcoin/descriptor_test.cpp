// BIP-380 descriptor checksum: the BIP's own test vectors plus the
// error-detection property the BCH code guarantees.
#include "kray/bitcoin/descriptor.h"

#include <gtest/gtest.h>

namespace kray::bitcoin {
namespace {

TEST(Bip380, ChecksumVectors) {
  // BIP-380 "Test Vectors": valid checksum.
  EXPECT_EQ(DescriptorChecksum("raw(deadbeef)"), "89f8spxm");
  auto ok = CheckDescriptorChecksum("raw(deadbeef)#89f8spxm");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "raw(deadbeef)");
  EXPECT_EQ(*AddDescriptorChecksum("raw(deadbeef)"), "raw(deadbeef)#89f8spxm");
  // No checksum: valid only when not required.
  EXPECT_TRUE(CheckDescriptorChecksum("raw(deadbeef)", false).ok());
  EXPECT_EQ(CheckDescriptorChecksum("raw(deadbeef)").error().code, "descriptor_missing_checksum");
  // BIP-380 invalid cases.
  const std::pair<const char*, const char*> bad[] = {
      {"raw(deadbeef)#", "descriptor_bad_checksum_length"},           // missing checksum
      {"raw(deadbeef)#89f8spxmx", "descriptor_bad_checksum_length"},  // too long
      {"raw(deadbeef)#89f8spx", "descriptor_bad_checksum_length"},    // too short
      {"raw(deedbeef)#89f8spxm", "descriptor_bad_checksum"},          // error in payload
      {"raw(deadbeef)##9f8spxm", "descriptor_bad_checksum"},          // error in checksum
      {"raw(\xc3\x9c)#00000000", "descriptor_invalid_character"},     // invalid characters in payload
  };
  for (const auto& [desc, code] : bad) {
    SCOPED_TRACE(desc);
    auto r = CheckDescriptorChecksum(desc, false);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, code);
  }
  EXPECT_FALSE(DescriptorChecksum("raw(\xc3\x9c)").has_value());
  EXPECT_FALSE(DescriptorChecksum("a#b").has_value());
}

// The checksum detects every single-character substitution within the
// charset (BIP-380: any error affecting at most 4 characters is detected).
TEST(Bip380, DetectsSubstitutions) {
  const std::string desc =
      "tr(50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0,sortedmulti_a(2,aa,bb,cc))";
  const std::string sum = *DescriptorChecksum(desc);
  const std::string alphabet = "0123456789abcdef(),xyzXYZ";
  for (std::size_t i = 0; i < desc.size(); i += 3) {
    for (char c : alphabet) {
      if (c == desc[i]) continue;
      std::string m = desc;
      m[i] = c;
      ASSERT_NE(*DescriptorChecksum(m), sum) << "undetected change at " << i;
    }
  }
  std::string swapped = desc;
  std::swap(swapped[10], swapped[11]);
  EXPECT_NE(*DescriptorChecksum(swapped), sum);
}

}  // namespace
}  // namespace kray::bitcoin
