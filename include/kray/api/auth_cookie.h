// Cookie authentication for operator endpoints, as bitcoind does for RPC:
// when no rpctoken is configured, krayd writes a fresh random token to
// <datadir>/.cookie (mode 0600) at start and removes it at clean shutdown.
// Whoever can read the datadir (the operator's account) can call operator
// endpoints with "Authorization: Bearer <token>" without configuring
// anything; nobody else can. kray-cli reads the same file.
#pragma once

#include <string>
#include <string_view>

#include "kray/core/result.h"

namespace kray::api {

// <datadir>/.cookie
std::string CookiePath(const std::string& datadir);

// Generates a token (32 random bytes, 64 lower-case hex characters) and
// writes it, without a newline, to <datadir>/.cookie: written to
// .cookie.tmp (created with mode 0600, fsynced) and renamed over .cookie, so
// a reader sees either the old file or the whole new one. `datadir` must
// exist. Returns the token. Error "cookie_write_failed" (kInternal) naming
// the path and the OS error.
Result<std::string> WriteAuthCookie(const std::string& datadir);

// Removes <datadir>/.cookie; a missing file is not an error. Never throws.
void DeleteAuthCookie(const std::string& datadir);

// Reads the token from <datadir>/.cookie (surrounding whitespace removed).
// Errors: "cookie_not_found" (kNotFound: no such file or unreadable),
// "invalid_cookie" (kInvalidInput: empty, over 1 KiB, or not printable ASCII).
Result<std::string> ReadAuthCookie(const std::string& datadir);

// Deletes the cookie when it goes out of scope (krayd's shutdown, including
// a failed start after the cookie was written).
class AuthCookieGuard {
 public:
  explicit AuthCookieGuard(std::string datadir) : datadir_(std::move(datadir)) {}
  ~AuthCookieGuard() { DeleteAuthCookie(datadir_); }
  AuthCookieGuard(const AuthCookieGuard&) = delete;
  AuthCookieGuard& operator=(const AuthCookieGuard&) = delete;

 private:
  std::string datadir_;
};

// True if `presented` equals `expected`, in time independent of where they
// differ and of `expected`'s length: both are hashed (SHA-256) and the
// digests compared with CRYPTO_memcmp. Thread-safe.
bool TokenMatches(std::string_view presented, std::string_view expected);

}  // namespace kray::api
