// The operator cookie file: random token, mode 0600, atomic replacement,
// removal, reading; and the constant-time token comparison.
#include "kray/api/auth_cookie.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "kray/core/bytes.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::api {
namespace {

using test::ReadFile;
using test::TempDir;

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(AuthCookie, WritesARandomTokenWithMode0600) {
  TempDir dir;
  auto token = WriteAuthCookie(dir.path());
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token->size(), 64u);
  EXPECT_TRUE(FromHexFixed<32>(*token).has_value());
  EXPECT_EQ(CookiePath(dir.path()), dir.file(".cookie"));
  EXPECT_EQ(ReadFile(dir.file(".cookie")), *token);
  EXPECT_EQ(ModeOf(dir.file(".cookie")), 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir.file(".cookie.tmp")));
  auto again = WriteAuthCookie(dir.path());
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *token);  // a fresh token every start
  EXPECT_EQ(*ReadAuthCookie(dir.path()), *again);
}

// A stale, world-readable temp file (crash between write and rename) or
// cookie must not leave the new token readable by others.
TEST(AuthCookie, StaleFilesDoNotWidenTheMode) {
  TempDir dir;
  for (const char* name : {".cookie.tmp", ".cookie"}) {
    std::ofstream(dir.file(name)) << "old";
    ::chmod(dir.file(name).c_str(), 0644);
  }
  auto token = WriteAuthCookie(dir.path());
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(ModeOf(dir.file(".cookie")), 0600u);
  EXPECT_EQ(ReadFile(dir.file(".cookie")), *token);
}

TEST(AuthCookie, DeleteAndReadErrors) {
  TempDir dir;
  ASSERT_TRUE(WriteAuthCookie(dir.path()).ok());
  DeleteAuthCookie(dir.path());
  EXPECT_FALSE(std::filesystem::exists(dir.file(".cookie")));
  DeleteAuthCookie(dir.path());  // already gone: fine
  auto missing = ReadAuthCookie(dir.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "cookie_not_found");
  std::ofstream(dir.file(".cookie")) << "  \n";
  EXPECT_EQ(ReadAuthCookie(dir.path()).error().code, "invalid_cookie");
  std::ofstream(dir.file(".cookie")) << std::string(5000, 'a');
  EXPECT_EQ(ReadAuthCookie(dir.path()).error().code, "invalid_cookie");
  std::ofstream(dir.file(".cookie")) << "abc def";
  EXPECT_EQ(ReadAuthCookie(dir.path()).error().code, "invalid_cookie");
  std::ofstream(dir.file(".cookie")) << "abcdef\n";  // written by hand, with a newline
  EXPECT_EQ(*ReadAuthCookie(dir.path()), "abcdef");
  auto bad_dir = WriteAuthCookie(dir.file("no/such/dir"));
  ASSERT_FALSE(bad_dir.ok());
  EXPECT_EQ(bad_dir.error().code, "cookie_write_failed");
}

TEST(TokenMatches, ExactMatchOnly) {
  const std::string t = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  EXPECT_TRUE(TokenMatches(t, t));
  EXPECT_FALSE(TokenMatches(t.substr(0, 63), t));  // a prefix
  EXPECT_FALSE(TokenMatches("", t));
  EXPECT_FALSE(TokenMatches(t + "0", t));
  EXPECT_FALSE(TokenMatches(std::string(64, '0'), t));
  std::string upper = t;
  upper[10] = 'A';
  EXPECT_FALSE(TokenMatches(upper, t));
  EXPECT_TRUE(TokenMatches("tok", "tok"));
  EXPECT_FALSE(TokenMatches("to", "tok"));
}

}  // namespace
}  // namespace kray::api
