#include "kray/state/tx_message.h"

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>

#include "kray/crypto/hash.h"

namespace kray::state {
namespace {

// Appends to a Bytes or a small_vector alike.
template <class Out>
void PutU32(Out& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
template <class Out>
void PutU64(Out& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
template <class Out>
void PutLp(Out& out, std::string_view s) {
  PutU32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

// The fields in key order, by pointer: the encoding does not depend on the
// order callers list them, and sorting copies no string.
using SortedFields = boost::container::small_vector<const MessageFields::value_type*, 8>;
SortedFields SortFields(const MessageFields& fields) {
  SortedFields sorted;
  for (const auto& f : fields) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  return sorted;
}

// SerializeV1's bytes into `out`, reserved to their exact size.
template <class Out>
void PutV1(Out& out, std::string_view chain_id, std::string_view op, std::string_view account_id, std::uint64_t nonce,
           const SortedFields& fields) {
  std::size_t size = 4 + chain_id.size() + 4 + op.size() + 4 + account_id.size() + 8 + 4;
  for (const auto* f : fields) size += 4 + f->first.size() + 4 + f->second.size();
  out.reserve(size);
  PutLp(out, chain_id);
  PutLp(out, op);
  PutLp(out, account_id);
  PutU64(out, nonce);
  PutU32(out, static_cast<std::uint32_t>(fields.size()));
  for (const auto* f : fields) {
    PutLp(out, f->first);
    PutLp(out, f->second);
  }
}

}  // namespace

std::string LegacyTransferString(std::string_view from, std::string_view to, Amount amount, std::uint64_t nonce) {
  std::string s;
  s.reserve(from.size() + to.size() + 48);
  s.append(from).append(":").append(to).append(":").append(std::to_string(amount)).append(":");
  s.append(std::to_string(nonce)).append(":transfer");
  return s;
}

Hash256 LegacyTransferMessage(std::string_view from, std::string_view to, Amount amount, std::uint64_t nonce) {
  return crypto::Sha256(AsBytes(LegacyTransferString(from, to, amount, nonce)));
}

Bytes SerializeV1(std::string_view chain_id, std::string_view op, std::string_view account_id, std::uint64_t nonce,
                  const MessageFields& fields) {
  Bytes out;
  PutV1(out, chain_id, op, account_id, nonce, SortFields(fields));
  return out;
}

// Every signed operation's id (and a v1 signature's message): built on the
// stack for the usual operation, with the tag's prefix hashed once.
Hash256 SigningMessageV1(std::string_view chain_id, std::string_view op, std::string_view account_id,
                         std::uint64_t nonce, const MessageFields& fields) {
  static const crypto::Sha256Hasher primed = crypto::TaggedHasher(kTxTagV1);
  boost::container::small_vector<std::uint8_t, 512> ser;
  PutV1(ser, chain_id, op, account_id, nonce, SortFields(fields));
  crypto::Sha256Hasher h = primed;
  return h.Write(ByteSpan(ser.data(), ser.size())).Finalize();
}

MessageFields TransferFields(std::string_view to_id, std::string_view asset, Amount amount, std::string_view data) {
  return {{"amount", std::to_string(amount)},
          {"asset", std::string(asset)},
          {"data", std::string(data)},
          {"to", std::string(to_id)}};
}

Hash256 TransferMessageV1(std::string_view chain_id, std::string_view op, std::string_view from_id,
                          std::string_view to_id, std::string_view asset, Amount amount, std::uint64_t nonce,
                          std::string_view data) {
  return SigningMessageV1(chain_id, op, from_id, nonce, TransferFields(to_id, asset, amount, data));
}

std::string AccountIdFromAddress(std::string_view l1_address) {
  const Hash256 h = crypto::Sha256(AsBytes(l1_address));
  return "kray_" + ToHex(ByteSpan(h).first(16));  // the first 32 hex digits
}

// A lookup per digit and no branch on it (ids are random hex: a branch per
// digit class mispredicted on about one digit in three; requests and
// operations ask this of every id they name).
bool IsAccountId(std::string_view s) {
  static constexpr std::array<bool, 256> kLowerHex = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'f'; ++c) t[c] = true;
    return t;
  }();
  if (s.size() != 37 || s.substr(0, 5) != "kray_") return false;
  bool all = true;
  for (const char c : s.substr(5)) all &= kLowerHex[static_cast<unsigned char>(c)];
  return all;
}

}  // namespace kray::state
