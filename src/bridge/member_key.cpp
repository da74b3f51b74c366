#include "kray/bridge/member_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/bip39.h"

namespace kray::bridge {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "kray-federation-member/1";
constexpr std::size_t kMaxFileSize = 64 * 1024;
// BIP-87: purpose 87' for multisig accounts of any script type.
constexpr std::uint32_t kBip87Purpose = 87;

Error Io(const std::string& what, const std::string& path) {
  return {ErrorKind::kInternal, "member_key_io", what + " " + path + ": " + std::strerror(errno)};
}
Error Malformed(const std::string& path, const std::string& why) {
  return Error::Invalid("member_key_malformed", path + ": " + why);
}

}  // namespace

std::vector<std::uint32_t> MemberAccountPath(Network network) {
  const std::uint32_t coin = network == Network::kMainnet ? 0 : 1;
  return {kBip87Purpose | bitcoin::kBip32Hardened, coin | bitcoin::kBip32Hardened, 0 | bitcoin::kBip32Hardened};
}

std::string MemberKey::Xprv() const {
  auto xprv = bitcoin::EncodeExtPrivKey(account, network);
  return xprv.ok() ? *xprv : std::string();  // empty for a key without its secret
}

std::string MemberKey::Xpub() const {
  return bitcoin::EncodeExtPubKey(bitcoin::Bip32Neuter(account), network);
}

Result<MemberKey> MemberKeyFromMnemonic(Network network, std::string_view mnemonic) {
  auto entropy = bitcoin::Bip39MnemonicToEntropy(mnemonic);
  if (!entropy.ok()) return std::move(entropy).error();
  // Seed from the canonical sentence (single spaces), as BIP-39 wallets do.
  auto sentence = bitcoin::Bip39EntropyToMnemonic(*entropy);
  if (!sentence.ok()) return std::move(sentence).error();
  auto seed = bitcoin::Bip39MnemonicToSeed(*sentence, "");
  if (!seed.ok()) return std::move(seed).error();
  auto master = bitcoin::Bip32MasterKey(*seed);
  if (!master.ok()) return std::move(master).error();
  auto account = bitcoin::Bip32DerivePath(*master, MemberAccountPath(network));
  if (!account.ok()) return std::move(account).error();
  MemberKey key;
  key.network = network;
  key.mnemonic = std::move(*sentence);
  key.master_fingerprint = bitcoin::Bip32Fingerprint(*master);
  key.account = std::move(*account);
  return key;
}

Result<MemberKey> GenerateMemberKey(Network network) {
  std::array<std::uint8_t, 32> entropy;
  crypto::RandomBytes(entropy.data(), entropy.size());
  auto mnemonic = bitcoin::Bip39EntropyToMnemonic(entropy);
  entropy.fill(0);
  if (!mnemonic.ok()) return std::move(mnemonic).error();
  return MemberKeyFromMnemonic(network, *mnemonic);
}

Result<crypto::SecretKey> MemberSigningKey(const MemberKey& key, std::uint32_t index) {
  if (index >= bitcoin::kBip32Hardened)
    return Error::Invalid("federation_bad_index", "address index must be below 2^31");
  const std::array<std::uint32_t, 2> path = {0, index};
  auto child = bitcoin::Bip32DerivePath(key.account, path);
  if (!child.ok()) return std::move(child).error();
  return *child->secret;
}

Status WriteMemberKeyFile(const std::string& path, const MemberKey& key) {
  json j = {{"format", kFormat},
            {"network", std::string(NetworkName(key.network))},
            {"member", key.member},
            {"mnemonic", key.mnemonic},
            {"path", bitcoin::FormatBip32Path(MemberAccountPath(key.network))},
            {"master_fingerprint", ToHex(key.master_fingerprint)},
            {"xprv", key.Xprv()},
            {"xpub", key.Xpub()}};
  const std::string text = j.dump(2) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Error::Conflict("member_key_exists", path + " already exists; not overwriting a key");
    return Io("cannot create", path);
  }
  // The umask can only remove bits; make the mode exact regardless.
  if (::fchmod(fd, 0600) != 0) {
    Error e = Io("cannot chmod", path);
    ::close(fd);
    return e;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = Io("cannot write", path);
      ::close(fd);
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Error e = Io("cannot fsync", path);
    ::close(fd);
    return e;
  }
  if (::close(fd) != 0) return Io("cannot close", path);
  return Ok();
}

Result<MemberKey> LoadMemberKeyFile(const std::string& path, Network network) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error::NotFound("member_key_io", path + " does not exist");
    return Io("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Error e = Io("cannot stat", path);
    ::close(fd);
    return e;
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Error::Invalid("member_key_insecure_permissions", path + " is accessible by group or others; chmod 600 it");
  }
  if (!S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kMaxFileSize) {
    ::close(fd);
    return Malformed(path, "not a regular file of at most 64 KiB");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(done);

  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Malformed(path, "not a JSON object");
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto format = str("format");
  auto net = str("network");
  auto mnemonic = str("mnemonic");
  auto xprv = str("xprv");
  auto xpub = str("xpub");
  if (!format || *format != kFormat) return Malformed(path, std::string("format is not ") + kFormat);
  if (!net || !mnemonic || !xprv || !xpub) return Malformed(path, "missing network, mnemonic, xprv or xpub");
  auto parsed_net = ParseNetwork(*net);
  if (!parsed_net) return Malformed(path, "unknown network " + *net);
  if (*parsed_net != network)
    return Error::Invalid("member_key_wrong_network",
                          path + " is a " + *net + " key, not " + std::string(NetworkName(network)));
  int member = 0;
  if (auto it = j.find("member"); it != j.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 3)
      return Malformed(path, "member must be 1, 2 or 3");
    member = it->get<int>();
  }
  auto key = MemberKeyFromMnemonic(network, *mnemonic);
  if (!key.ok()) return Malformed(path, "mnemonic: " + key.error().message);
  if (key->Xprv() != *xprv || key->Xpub() != *xpub)
    return Error::Invalid("member_key_mismatch", path + ": the mnemonic does not derive the stored xprv/xpub");
  key->member = member;
  return std::move(*key);
}

}  // namespace kray::bridge
