// KeyCache: keys preloaded as bytes are parsed on first use; one that does
// not parse is forgotten (the caller's store read reports it); keys
// preloaded parsed are served as they are; a preload never replaces a key
// already cached; keys up to twice those bound at start add no rehash. (Its
// stop at kPreloadEntries is not exercised here: three million keys.)
#include "../../../src/state/key_cache.h"

#include <gtest/gtest.h>

#include "kray/crypto/hash.h"
#include "test_util.h"

namespace kray::state {
namespace {

TEST(KeyCache, PreloadedBytesAreParsedOnFirstUse) {
  KeyCache cache;
  const auto good = testing::KeyFromSeed("key-cache-good").pub;
  crypto::XOnlyPubKey off_curve;
  off_curve.fill(0xff);  // x >= p: not a field element, so no point
  std::vector<std::pair<std::string, KeyCache::Entry>> chunk = {{"kray_a", good}, {"kray_b", off_curve}};
  EXPECT_EQ(cache.Preload(chunk), 2u);
  EXPECT_EQ(cache.size(), 2u);
  for (int use = 0; use < 2; ++use) {  // parsed, then served parsed
    auto key = cache.Get("kray_a");
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->bytes(), good);
  }
  EXPECT_FALSE(cache.Get("kray_b").has_value());
  EXPECT_EQ(cache.size(), 1u);  // the bad one is forgotten
  EXPECT_FALSE(cache.Get("kray_c").has_value());
}

TEST(KeyCache, KeysPreloadedParsedAreServedAsTheyAre) {
  KeyCache cache;
  const auto key = testing::KeyFromSeed("key-cache-point").pub;
  auto parsed = crypto::VerifyingKey::FromPoint(key, *crypto::EvenY(key));
  ASSERT_TRUE(parsed.has_value());
  std::vector<std::pair<std::string, KeyCache::Entry>> chunk = {{"kray_a", *parsed}};
  EXPECT_EQ(cache.Preload(chunk), 1u);
  auto got = cache.Get("kray_a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->bytes(), key);
  const auto msg = crypto::Sha256(AsBytes("key cache"));
  EXPECT_TRUE(
      crypto::SchnorrVerify(*got, msg, *crypto::SchnorrSign(testing::KeyFromSeed("key-cache-point").secret, msg)));
}

// A node with n keys bound at start preloads them and fetches the rest on
// demand; neither may rehash the table under the signature checks until it
// holds twice that (a rehash of two million keys held them ~0.25 s).
TEST(KeyCache, KeysUpToTwiceThoseBoundAtStartAddNoRehash) {
  KeyCache cache;
  constexpr std::size_t kBound = 3000;
  cache.Reserve(kBound);
  const std::size_t buckets = cache.bucket_count();
  const auto pub = testing::KeyFromSeed("key-cache-rehash").pub;
  std::vector<std::pair<std::string, KeyCache::Entry>> chunk;
  for (std::size_t i = 0; i < kBound; ++i) chunk.emplace_back("kray_p" + std::to_string(i), pub);
  EXPECT_EQ(cache.Preload(chunk), kBound);
  const auto parsed = *crypto::VerifyingKey::Parse(pub);
  for (std::size_t i = 0; i < kBound; ++i) cache.Put("kray_d" + std::to_string(i), parsed);
  EXPECT_EQ(cache.size(), 2 * kBound);
  EXPECT_EQ(cache.bucket_count(), buckets);
}

TEST(KeyCache, APreloadKeepsWhatIsCached) {
  KeyCache cache;
  const auto mine = testing::KeyFromSeed("key-cache-mine").pub;
  const auto other = testing::KeyFromSeed("key-cache-other").pub;
  cache.Put("kray_a", *crypto::VerifyingKey::Parse(mine));
  std::vector<std::pair<std::string, KeyCache::Entry>> chunk = {{"kray_a", other}};
  EXPECT_EQ(cache.Preload(chunk), 0u);
  EXPECT_EQ(cache.Get("kray_a")->bytes(), mine);
}

TEST(KeyCache, APreloadLargerThanOneLockSpanAddsEveryKey) {
  KeyCache cache;
  cache.Reserve(1000);
  const auto key = testing::KeyFromSeed("key-cache-many").pub;
  std::vector<std::pair<std::string, KeyCache::Entry>> chunk;
  for (int i = 0; i < 1000; ++i) chunk.emplace_back("kray_" + std::to_string(i), key);
  EXPECT_EQ(cache.Preload(chunk), 1000u);
  EXPECT_EQ(cache.size(), 1000u);
  EXPECT_EQ(cache.Get("kray_999")->bytes(), key);
}

}  // namespace
}  // namespace kray::state
