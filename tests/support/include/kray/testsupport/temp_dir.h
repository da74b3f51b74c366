// A temporary directory for one test, removed (with its contents) when the
// object is destroyed unless keep() was called (tests keep it on failure so
// the datadir and logs can be inspected).
#pragma once

#include <string>

namespace kray::test {

class TempDir {
 public:
  // Creates <system temp>/<prefix>XXXXXX. path() is "" if that failed.
  explicit TempDir(const char* prefix = "kray-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // <path>/<name>
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// Creates a fresh directory <system temp>/<prefix>XXXXXX and returns its path
// ("" on failure). The caller removes it.
std::string MakeTempDir(const char* prefix);

// The whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// Runs a shell command and captures its standard output.
struct ShellResult {
  int rc = -1;  // exit status, -1 if it did not exit normally
  std::string out;
};
ShellResult RunShell(const std::string& command);

}  // namespace kray::test
