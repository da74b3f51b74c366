// The input log (see input_log.h).
#include "input_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "kray/crypto/hash.h"
#include "kray/state/leaves.h"

namespace kray::state {
namespace {

constexpr std::uint32_t kMagic = 0x4b494c31;  // "KIL1"
constexpr std::size_t kHeader = 24;
constexpr std::uint8_t kGroupVersion = 1;
constexpr std::size_t kMaxSystemOps = 4096;
// Files grow only to their capacity (Append refuses past it); the bound
// leaves room for a larger capacity in a later version.
constexpr std::size_t kMaxFileSize = 256u << 20;

std::uint64_t GetU(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// First 8 bytes of SHA-256(u64be(seq) || payload).
Bytes Checksum(std::uint64_t seq, ByteSpan payload) {
  crypto::Sha256Hasher h;
  Bytes be;
  PutU64(be, seq);
  h.Write(be);
  h.Write(payload);
  Hash256 d = h.Finalize();
  return Bytes(d.begin(), d.begin() + 8);
}

Error Io(const std::string& what) {
  return Error::Internal("input log: " + what + ": " + std::strerror(errno));
}

// Writes all of `data` at `offset`.
bool WriteAll(int fd, const std::uint8_t* data, std::size_t n, off_t offset) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, offset);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += w;
  }
  return true;
}

// Waits awake, yielding the core, until `done()` or `until`: true if done()
// was seen before `until`. The clock is read after done(), so a condition
// met only after `until` (this thread preempted past it) does not count.
template <typename Done>
bool YieldUntil(Done done, std::chrono::steady_clock::time_point until) {
  for (;;) {
    const bool is_done = done();
    const bool in_time = std::chrono::steady_clock::now() < until;
    if (is_done || !in_time) return is_done && in_time;
    std::this_thread::yield();
  }
}

}  // namespace

Result<std::unique_ptr<InputLog>> InputLog::Open(const std::string& path, std::size_t capacity,
                                                 std::chrono::microseconds watch_next) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Io("open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Io("stat " + path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > std::max(capacity, kMaxFileSize)) {
    // Read whole at open: a file this node did not write is not read into
    // memory however large it was made.
    ::close(fd);
    return Error::Internal("input log: " + path + " is " + std::to_string(size) +
                           " bytes, larger than a node writes (" + std::to_string(std::max(capacity, kMaxFileSize)) +
                           "); not opened");
  }
  std::unique_ptr<InputLog> log(new InputLog(fd, std::max(capacity, size), watch_next));
  if (size < log->capacity_) {
    // Zeros to the end, synced with the size: a record's fdatasync then
    // writes only its own blocks.
    std::vector<std::uint8_t> zeros(1u << 20, 0);
    for (std::size_t at = size; at < log->capacity_; at += zeros.size()) {
      std::size_t n = std::min(zeros.size(), log->capacity_ - at);
      if (!WriteAll(fd, zeros.data(), n, static_cast<off_t>(at))) return Io("fill " + path);
    }
    if (::fsync(fd) != 0) return Io("sync " + path);
    int dir = ::open(std::filesystem::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  KRAY_TRY(log->ReadRecords());
  log->thread_ = std::thread([l = log.get()] { l->SyncLoop(); });
  return log;
}

InputLog::~InputLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

Status InputLog::ReadRecords() {
  std::vector<std::uint8_t> file(capacity_);
  std::size_t got = 0;
  while (got < capacity_) {
    ssize_t r = ::pread(fd_, file.data() + got, capacity_ - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Io("read");
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  std::size_t at = 0;
  while (got - at >= kHeader) {
    const std::uint8_t* h = file.data() + at;
    const std::uint64_t len = GetU(h + 4, 4);
    const std::uint64_t seq = GetU(h + 8, 8);
    if (GetU(h, 4) != kMagic || len > got - at - kHeader) break;
    if (!recovered_.empty() && seq != recovered_.back().seq + 1) break;
    ByteSpan payload(h + kHeader, static_cast<std::size_t>(len));
    Bytes sum = Checksum(seq, payload);
    if (!std::equal(sum.begin(), sum.end(), h + 16)) break;
    recovered_.push_back({seq, Bytes(payload.begin(), payload.end())});
    at += kHeader + static_cast<std::size_t>(len);
  }
  // Appends continue after the run, numbered after it (a rewind comes first
  // if the store holds all of it, see Ledger::Open).
  offset_ = at;
  if (!recovered_.empty()) last_seq_ = recovered_.back().seq;
  return Ok();
}

std::vector<InputLog::Record> InputLog::TakeRecordsAfter(std::uint64_t after) {
  std::vector<Record> out;
  for (auto& r : recovered_)
    if (r.seq > after) out.push_back(std::move(r));
  recovered_.clear();
  recovered_.shrink_to_fit();
  return out;
}

void InputLog::NumberAfter(std::uint64_t seq) {
  last_seq_ = std::max(last_seq_, seq);
}

Result<std::optional<std::uint64_t>> InputLog::Append(ByteSpan payload) {
  const std::size_t size = kHeader + payload.size();
  if (size > capacity_ - offset_) return std::optional<std::uint64_t>();
  const std::uint64_t seq = last_seq_ + 1;
  Bytes record;
  record.reserve(size);
  PutU32(record, kMagic);
  PutU32(record, static_cast<std::uint32_t>(payload.size()));
  PutU64(record, seq);
  Bytes sum = Checksum(seq, payload);
  record.insert(record.end(), sum.begin(), sum.end());
  record.insert(record.end(), payload.begin(), payload.end());
  if (!WriteAll(fd_, record.data(), record.size(), static_cast<off_t>(offset_))) return Io("write");
  offset_ += size;
  last_seq_ = seq;
  return std::optional<std::uint64_t>(seq);
}

void InputLog::RequestSync() {
  {
    std::lock_guard lock(mu_);
    if (last_seq_ > requested_.load(std::memory_order_relaxed)) requested_.store(last_seq_, std::memory_order_release);
  }
  cv_.notify_all();
}

Status InputLog::WaitDurable(std::uint64_t seq) {
  YieldUntil([&] { return synced_.load(std::memory_order_acquire) >= seq || failing_.load(std::memory_order_acquire); },
             std::chrono::steady_clock::now() + kAwakeWait);
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return synced_ >= seq || failed_.has_value(); });
  if (failed_) return *failed_;
  return Ok();
}

void InputLog::Rewind() {
  offset_ = 0;
}

bool InputLog::WatchUntil(std::chrono::steady_clock::time_point until) {
  const auto requested = [&] {
    return requested_.load(std::memory_order_acquire) > synced_.load(std::memory_order_acquire);
  };
  // synced_ moves only on this thread: a request seen stays seen.
  return YieldUntil([&] { return requested() || stopping_.load(std::memory_order_acquire); }, until) && requested();
}

void InputLog::SyncLoop() {
  pthread_setname_np(pthread_self(), "kray-inputlog");
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  bool watch = false;  // the last request came within watch_next_ of the sync before it
  Clock::time_point synced_at;
  for (;;) {
    if (watch && requested_ <= synced_ && !stopping_) {
      lock.unlock();
      if (WatchUntil(synced_at + watch_next_)) seen_awake_.fetch_add(1, std::memory_order_relaxed);
      lock.lock();
    }
    cv_.wait(lock, [&] { return stopping_ || requested_ > synced_; });
    if (requested_ <= synced_) return;  // stopping, nothing asked
    watch = Clock::now() - synced_at < watch_next_;
    const std::uint64_t target = requested_;
    lock.unlock();
    const bool ok = ::fdatasync(fd_) == 0;
    const int err = errno;
    synced_at = Clock::now();
    lock.lock();
    if (ok) {
      synced_.store(target, std::memory_order_release);
    } else if (!failed_) {
      failed_ = Error::Internal(std::string("input log: fdatasync: ") + std::strerror(err));
      failing_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
    if (!ok) return;
  }
}

Bytes EncodeLoggedGroup(std::int64_t timestamp, bool accept_legacy, const Operation& submitted,
                        std::span<const Operation* const> system_ops) {
  Bytes out;
  out.push_back(kGroupVersion);
  PutU64(out, static_cast<std::uint64_t>(timestamp));
  out.push_back(accept_legacy ? 1 : 0);
  PutLp(out, ByteSpan(EncodeSubmittedOperation(submitted)));
  PutU32(out, static_cast<std::uint32_t>(system_ops.size()));
  for (const Operation* op : system_ops) PutLp(out, ByteSpan(EncodeSubmittedOperation(*op)));
  return out;
}

Bytes EncodeLoggedGroup(const LoggedGroup& group) {
  std::vector<const Operation*> system_ops;
  for (const Operation& op : group.system_ops) system_ops.push_back(&op);
  return EncodeLoggedGroup(group.timestamp, group.accept_legacy, group.submitted, system_ops);
}

Result<LoggedGroup> DecodeLoggedGroup(ByteSpan payload) {
  const auto bad = [] { return Error::Invalid("invalid_input_record", "input log record is malformed"); };
  std::size_t at = 0;
  const auto need = [&](std::size_t n) { return payload.size() - at >= n; };
  const auto lp = [&]() -> std::optional<ByteSpan> {
    if (!need(4)) return std::nullopt;
    std::size_t n = static_cast<std::size_t>(GetU(payload.data() + at, 4));
    at += 4;
    if (!need(n)) return std::nullopt;
    ByteSpan s = payload.subspan(at, n);
    at += n;
    return s;
  };
  if (!need(10) || payload[0] != kGroupVersion) return bad();
  LoggedGroup g;
  g.timestamp = static_cast<std::int64_t>(GetU(payload.data() + 1, 8));
  if (payload[9] > 1) return bad();
  g.accept_legacy = payload[9] == 1;
  at = 10;
  auto submitted = lp();
  if (!submitted) return bad();
  auto op = DecodeSubmittedOperation(*submitted);
  if (!op.ok()) return bad();
  g.submitted = std::move(*op);
  if (!need(4)) return bad();
  std::size_t n = static_cast<std::size_t>(GetU(payload.data() + at, 4));
  at += 4;
  if (n > kMaxSystemOps) return bad();
  for (std::size_t i = 0; i < n; ++i) {
    auto bytes = lp();
    if (!bytes) return bad();
    auto sys = DecodeSubmittedOperation(*bytes);
    if (!sys.ok()) return bad();
    g.system_ops.push_back(std::move(*sys));
  }
  if (at != payload.size()) return bad();
  return g;
}

}  // namespace kray::state
