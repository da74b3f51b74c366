// kray-cli's one way in and out for secrets (BIP-340 secret keys, BIP-39
// mnemonics). A secret typed as a command argument ends up in the shell's
// history and in every other user's `ps` output, so commands read it from a
// key file instead:
//
//   kray-cli -keyfile=<path> <command> ...   the file holds the secret
//   kray-cli -keyfile=- <command> ...        the secret comes on stdin
//   kray-cli -insecure-argv-key <command> <secret> ...
//                                            the old argv form (devnet only)
//
// A key file holds the secret as text (64 hex chars for a key, the words of a
// mnemonic); leading and trailing whitespace is ignored. Like ssh with a
// private key, a key file that its group or other users may access in any way
// is refused. Every error is one line "error: ..." on `err` that never
// contains the secret.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "cli.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"

namespace kray::cli {

// Largest key file accepted (a 24-word mnemonic is ~220 bytes); bounds the
// read of a mistaken -keyfile=/dev/zero or a large stdin.
inline constexpr std::size_t kMaxKeyFileBytes = 4096;

// The secret text for `command` from the source selected by the options:
// -keyfile (a file, or "-" for stdin) or, with -insecure-argv-key, the first
// element of `args`, which is then removed so that `args` holds the same
// arguments in both forms. Returns nullopt after printing one line on `err`
// if no source (or both) was given, the file cannot be read, is accessible by
// group/others, is larger than kMaxKeyFileBytes, or holds nothing.
std::optional<std::string> ReadSecretText(const Options& o, const std::string& command, Args& args, std::ostream& err);

// ReadSecretText parsed as a BIP-340 secret key (64 hex chars, 1 <= key < n).
std::optional<crypto::SecretKey> ReadSecretKey(const Options& o, const std::string& command, Args& args,
                                               std::ostream& err);

// Creates `path` holding `content`, with mode 0600, atomically: the content is
// written and fsynced to a temporary file in the same directory, which is then
// hard-linked to `path`, so a reader sees either no file or the whole file,
// and an existing `path` is never replaced (error code "keyfile_exists").
// Other failures: "keyfile_write_failed" with the system's reason.
Status WriteKeyFile(const std::string& path, const std::string& content);

}  // namespace kray::cli
