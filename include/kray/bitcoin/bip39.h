// BIP-39 mnemonic sentences (English wordlist only): entropy <-> mnemonic with
// the SHA-256 checksum, and mnemonic + passphrase -> 64-byte seed.
//
// NFKD: BIP-39 normalises mnemonic and passphrase with Unicode NFKD. English
// mnemonics are ASCII (NFKD is the identity on ASCII); krayd has no Unicode
// tables, so non-ASCII input is REJECTED ("bip39_not_ascii") instead of being
// hashed un-normalised into a seed other wallets would not reproduce.
// All functions are pure and thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {

// The 2048-word English list (index = 11-bit value), embedded at build time.
const std::array<std::string_view, 2048>& Bip39EnglishWords();

// Index of `word` in the list, or -1.
int Bip39WordIndex(std::string_view word);

// Entropy of 16, 20, 24, 28 or 32 bytes -> 12..24 words separated by single
// spaces. Error "bip39_bad_entropy_length".
Result<std::string> Bip39EntropyToMnemonic(ByteSpan entropy);

// Mnemonic (words separated by ASCII whitespace) -> entropy, validating the
// word count ("bip39_bad_word_count"), every word ("bip39_unknown_word") and
// the checksum ("bip39_bad_checksum").
Result<Bytes> Bip39MnemonicToEntropy(std::string_view mnemonic);

// PBKDF2-HMAC-SHA512(mnemonic, "mnemonic" + passphrase, 2048 iterations).
// The mnemonic is used as given (callers pass a normalised sentence, e.g. one
// that Bip39MnemonicToEntropy accepted); its checksum is NOT checked here, as
// BIP-39 allows. Error "bip39_not_ascii" for non-ASCII input (see above).
Result<crypto::Hash512> Bip39MnemonicToSeed(std::string_view mnemonic, std::string_view passphrase);

}  // namespace kray::bitcoin
