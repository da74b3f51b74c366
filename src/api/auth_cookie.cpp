// Cookie file for operator authentication (see auth_cookie.h); after
// bitcoind's GenerateAuthCookie / DeleteAuthCookie (src/rpc/request.cpp).
#include "kray/api/auth_cookie.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"

namespace kray::api {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCookieName = ".cookie";
constexpr std::size_t kMaxCookieBytes = 1024;

Error WriteFailed(const std::string& path, int err) {
  return Error{ErrorKind::kInternal, "cookie_write_failed",
               "cannot write cookie file " + path + ": " + std::strerror(err)};
}

// Writes `data` to a new file `path` with mode 0600 and fsyncs it. An old
// file of that name (a crash between write and rename) is removed first:
// O_TRUNC would keep its mode, which might be wider than 0600.
int WritePrivateFile(const std::string& path, const std::string& data) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  int err = 0;
  if (::fchmod(fd, 0600) != 0) err = errno;  // the umask can only narrow 0600; make sure anyway
  std::size_t done = 0;
  while (err == 0 && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      err = errno;
    else
      done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) ::unlink(path.c_str());
  return err;
}

std::string Trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string CookiePath(const std::string& datadir) {
  return (fs::path(datadir) / kCookieName).string();
}

Result<std::string> WriteAuthCookie(const std::string& datadir) {
  std::array<std::uint8_t, 32> secret{};
  crypto::RandomBytes(secret.data(), secret.size());
  std::string token = ToHex(secret);
  std::string path = CookiePath(datadir);
  std::string tmp = path + ".tmp";
  if (int err = WritePrivateFile(tmp, token); err != 0) return WriteFailed(tmp, err);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return WriteFailed(path, err);
  }
  return token;
}

void DeleteAuthCookie(const std::string& datadir) {
  std::error_code ec;
  fs::remove(CookiePath(datadir), ec);
}

Result<std::string> ReadAuthCookie(const std::string& datadir) {
  std::string path = CookiePath(datadir);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error::NotFound("cookie_not_found", "no cookie file " + path + " (is krayd running with this datadir?)");
  std::string data(kMaxCookieBytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > kMaxCookieBytes) return Error::Invalid("invalid_cookie", "cookie file " + path + " is too large");
  std::string token = Trim(data);
  if (token.empty()) return Error::Invalid("invalid_cookie", "cookie file " + path + " is empty");
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return Error::Invalid("invalid_cookie", "cookie file " + path + " is not a token");
  }
  return token;
}

bool TokenMatches(std::string_view presented, std::string_view expected) {
  // Hashing first makes the comparison independent of both lengths: a
  // byte-wise compare that stops at the shorter string would reveal the
  // token's length, and a prefix of the token must not match.
  return crypto::ConstantTimeEqual(crypto::Sha256(AsBytes(presented)), crypto::Sha256(AsBytes(expected)));
}

}  // namespace kray::api
