// Reading and writing kray-cli secrets (see secrets.h).
#include "secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "kray/core/bytes.h"

namespace kray::cli {
namespace {

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::string SysError(int e) {
  return std::strerror(e);
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Reads at most kMaxKeyFileBytes + 1 bytes, so the caller can tell "too
// large" apart from "exactly at the limit". nullopt on a read error.
std::optional<std::string> ReadBounded(int fd) {
  std::string data;
  char buf[512];
  while (data.size() <= kMaxKeyFileBytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

// The ssh rule: a secret that another account on the machine can read (or
// replace) is no longer only the owner's. Pipes (-keyfile=<(pass show k)) are
// created 0600 by the kernel and pass.
bool CheckPermissions(const std::string& path, const struct stat& st, std::ostream& err) {
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    err << "error: key file '" << path << "' is not a regular file\n";
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    err << "error: key file '" << path << "' is accessible by group or others (mode " << mode
        << "); refusing to use it: chmod 600 '" << path << "'\n";
    return false;
  }
  return true;
}

std::optional<std::string> ReadKeyFile(const std::string& path, std::ostream& err) {
  const bool is_stdin = path == "-";
  const std::string name = is_stdin ? std::string("(stdin)") : path;
  Fd file(is_stdin ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  int fd = is_stdin ? STDIN_FILENO : file.fd;
  if (fd < 0) {
    err << "error: cannot open key file '" << path << "': " << SysError(errno) << "\n";
    return std::nullopt;
  }
  // fstat on the opened descriptor: the file checked is the file read.
  struct stat st {};
  if (!is_stdin && (::fstat(fd, &st) != 0 || !CheckPermissions(path, st, err))) return std::nullopt;
  auto data = ReadBounded(fd);
  if (!data) {
    err << "error: cannot read key file '" << name << "': " << SysError(errno) << "\n";
    return std::nullopt;
  }
  if (data->size() > kMaxKeyFileBytes) {
    err << "error: key file '" << name << "' is larger than " << kMaxKeyFileBytes << " bytes\n";
    return std::nullopt;
  }
  std::string secret = Trim(*data);
  if (secret.empty()) {
    err << "error: key file '" << name << "' is empty\n";
    return std::nullopt;
  }
  return secret;
}

// Makes a completed link() durable; best effort (the key file itself is
// already fsynced, and not every filesystem lets a directory be fsynced).
void SyncDirectory(const std::string& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd >= 0) ::fsync(d.fd);
}

// An I/O failure, not bad input.
Error WriteFailed(std::string message) {
  return Error{ErrorKind::kInternal, "keyfile_write_failed", std::move(message)};
}

bool WriteAll(int fd, const std::string& content) {
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::optional<std::string> ReadSecretText(const Options& o, const std::string& command, Args& args, std::ostream& err) {
  if (!o.keyfile.empty() && o.insecure_argv_key) {
    err << "error: -keyfile and -insecure-argv-key exclude each other\n";
    return std::nullopt;
  }
  if (!o.keyfile.empty()) return ReadKeyFile(o.keyfile, err);
  if (!o.insecure_argv_key) {
    err << "error: " << command
        << " needs a secret: pass -keyfile=<path> (or -keyfile=- to read it from stdin); secrets are not "
           "taken as arguments unless -insecure-argv-key is given\n";
    return std::nullopt;
  }
  if (args.empty()) {
    err << "error: " << command << " with -insecure-argv-key takes the secret as its first argument\n";
    return std::nullopt;
  }
  std::string secret = args.front();
  args.erase(args.begin());
  err << "warning: secret taken from the command line (-insecure-argv-key): it is visible in ps and the shell "
         "history; use it for devnet keys only\n";
  return secret;
}

std::optional<crypto::SecretKey> ReadSecretKey(const Options& o, const std::string& command, Args& args,
                                               std::ostream& err) {
  auto text = ReadSecretText(o, command, args, err);
  if (!text) return std::nullopt;
  auto key = FromHexFixed<32>(*text);
  if (!key || !crypto::IsValidSecretKey(*key)) {
    err << "error: invalid secret key (expected 64 hex chars, 1 <= key < n)\n";
    return std::nullopt;
  }
  return key;
}

Status WriteKeyFile(const std::string& path, const std::string& content) {
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  // In the target's directory, so that link() below stays on one filesystem.
  std::string tmp = dir + "/." + target.filename().string() + ".tmpXXXXXX";
  int fd = ::mkstemp(tmp.data());  // O_EXCL, mode 0600
  if (fd < 0) return WriteFailed("cannot create a file in '" + dir + "': " + SysError(errno));
  bool written = false;
  {
    Fd file(fd);
    written = ::fchmod(fd, 0600) == 0 && WriteAll(fd, content) && ::fsync(fd) == 0;
  }
  int write_errno = errno;
  // link() fails with EEXIST instead of replacing: no check-then-create race.
  int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!written) return WriteFailed("cannot write '" + path + "': " + SysError(write_errno));
  if (linked != 0 && link_errno == EEXIST)
    return Error::Conflict("keyfile_exists", "'" + path + "' already exists; refusing to overwrite it");
  if (linked != 0) return WriteFailed("cannot create '" + path + "': " + SysError(link_errno));
  SyncDirectory(dir);
  return Ok();
}

}  // namespace kray::cli
