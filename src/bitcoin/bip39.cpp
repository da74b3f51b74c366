// BIP-39 (https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki).
#include "kray/bitcoin/bip39.h"

#include <algorithm>
#include <vector>

namespace kray::bitcoin {
namespace internal {
extern const std::array<std::string_view, 2048> kBip39English;  // generated
}  // namespace internal

namespace {

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size() && words.size() <= 24) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !IsSpace(s[j])) ++j;
    if (j > i) words.push_back(s.substr(i, j - i));
    i = j;
  }
  return words;
}

}  // namespace

const std::array<std::string_view, 2048>& Bip39EnglishWords() {
  return internal::kBip39English;
}

int Bip39WordIndex(std::string_view word) {
  // The English list is sorted, so binary search is exact.
  const auto& words = internal::kBip39English;
  auto it = std::lower_bound(words.begin(), words.end(), word);
  if (it == words.end() || *it != word) return -1;
  return static_cast<int>(it - words.begin());
}

Result<std::string> Bip39EntropyToMnemonic(ByteSpan entropy) {
  const std::size_t n = entropy.size();
  if (n < 16 || n > 32 || n % 4 != 0)
    return Error::Invalid("bip39_bad_entropy_length", "entropy must be 16, 20, 24, 28 or 32 bytes");
  // ENT bits || first ENT/32 bits of SHA256(entropy), read 11 bits at a time.
  Bytes bits(entropy.begin(), entropy.end());
  const Hash256 h = crypto::Sha256(entropy);
  bits.push_back(h[0]);  // at most 8 checksum bits are needed
  const std::size_t total_bits = n * 8 + n / 4;
  std::string out;
  for (std::size_t w = 0; w < total_bits / 11; ++w) {
    unsigned idx = 0;
    for (std::size_t b = 0; b < 11; ++b) {
      const std::size_t pos = w * 11 + b;
      idx = (idx << 1) | ((bits[pos / 8] >> (7 - pos % 8)) & 1u);
    }
    if (!out.empty()) out.push_back(' ');
    out += internal::kBip39English[idx];
  }
  return out;
}

Result<Bytes> Bip39MnemonicToEntropy(std::string_view mnemonic) {
  auto words = SplitWords(mnemonic);
  const std::size_t count = words.size();
  if (count < 12 || count > 24 || count % 3 != 0)
    return Error::Invalid("bip39_bad_word_count", "a mnemonic has 12, 15, 18, 21 or 24 words");
  const std::size_t total_bits = count * 11;
  const std::size_t cs_bits = total_bits / 33;
  const std::size_t ent_bytes = (total_bits - cs_bits) / 8;
  Bytes bits((total_bits + 7) / 8, 0);
  for (std::size_t w = 0; w < count; ++w) {
    const int idx = Bip39WordIndex(words[w]);
    if (idx < 0)
      return Error::Invalid("bip39_unknown_word",
                            "word " + std::to_string(w + 1) + " is not in the BIP-39 English list");
    for (std::size_t b = 0; b < 11; ++b) {
      if ((idx >> (10 - b)) & 1) {
        const std::size_t pos = w * 11 + b;
        bits[pos / 8] |= static_cast<std::uint8_t>(0x80u >> (pos % 8));
      }
    }
  }
  Bytes entropy(bits.begin(), bits.begin() + static_cast<std::ptrdiff_t>(ent_bytes));
  const Hash256 h = crypto::Sha256(entropy);
  const unsigned want = h[0] >> (8 - cs_bits);
  const unsigned got = bits[ent_bytes] >> (8 - cs_bits);
  if (want != got) return Error::Invalid("bip39_bad_checksum", "mnemonic checksum does not match");
  return entropy;
}

Result<crypto::Hash512> Bip39MnemonicToSeed(std::string_view mnemonic, std::string_view passphrase) {
  if (!IsAscii(mnemonic) || !IsAscii(passphrase))
    return Error::Invalid("bip39_not_ascii",
                          "mnemonic and passphrase must be ASCII (NFKD normalisation is not implemented)");
  std::string salt = "mnemonic";
  salt += passphrase;
  return crypto::Pbkdf2HmacSha512(AsBytes(mnemonic), AsBytes(salt), 2048);
}

}  // namespace kray::bitcoin
