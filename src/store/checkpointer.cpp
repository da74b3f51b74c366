#include "checkpointer.h"

#include <pthread.h>

#include <map>

namespace kray::store {

// Counts of one store's checkpoints (by file name), and of all of them.
struct CheckpointTally {
  std::atomic<std::uint64_t> background{0};
  std::atomic<std::uint64_t> frames_copied{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> on_writer{0};

  CheckpointCounts Read() const {
    return {background.load(std::memory_order_relaxed), frames_copied.load(std::memory_order_relaxed),
            failed.load(std::memory_order_relaxed), on_writer.load(std::memory_order_relaxed)};
  }
};

namespace {

CheckpointTally g_total;
std::mutex g_tallies_mu;
std::map<std::string, std::shared_ptr<CheckpointTally>>& Tallies() {
  static auto* tallies =
      new std::map<std::string, std::shared_ptr<CheckpointTally>>();  // never destroyed: read at exit
  return *tallies;
}

std::shared_ptr<CheckpointTally> CheckpointTallyFor(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_tallies_mu);
  auto& t = Tallies()[path];
  if (!t) t = std::make_shared<CheckpointTally>();
  return t;
}

void Add(std::atomic<std::uint64_t> CheckpointTally::*counter, CheckpointTally& own, std::uint64_t n = 1) {
  (own.*counter).fetch_add(n, std::memory_order_relaxed);
  (g_total.*counter).fetch_add(n, std::memory_order_relaxed);
}

// The writer's own checkpoint waits until the thread has left at most this
// many frames to copy (see checkpointer.h).
constexpr int kWriterRest = 128;

bool Busy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* writer, const std::string& path,
                                                                const std::string& synchronous, int frames,
                                                                int writer_frames) {
  sqlite3* own = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(own, ("PRAGMA synchronous=" + synchronous).c_str(), nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(own, 5000);
  if (rc == SQLITE_OK) rc = sqlite3_exec(own, "PRAGMA mmap_size=0", nullptr, nullptr, nullptr);
  // Reads the schema, which opens the WAL on this connection: a checkpoint
  // through a connection that has not read anything finds no WAL and copies
  // nothing.
  if (rc == SQLITE_OK) rc = sqlite3_exec(own, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = own ? sqlite3_errmsg(own) : sqlite3_errstr(rc);
    sqlite3_close_v2(own);
    return Error{ErrorKind::kInternal, "store_error",
                 "cannot open the checkpoint connection to '" + path + "': " + msg};
  }
  if (frames < 8) frames = 8;
  if (writer_frames <= frames) writer_frames = frames + frames / 8;
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(writer, own, frames, writer_frames, CheckpointTallyFor(path)));
  c->thread_ = std::thread([p = c.get()] { p->Run(); });
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, c.get());
  c->hooked_ = true;
  return c;
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, sqlite3* own, int frames, int writer_frames,
                                 std::shared_ptr<CheckpointTally> tally)
    : writer_(writer),
      own_(own),
      frames_(frames),
      writer_frames_(writer_frames),
      hard_frames_(writer_frames + frames / 2),
      tally_(std::move(tally)) {}

WalCheckpointer::~WalCheckpointer() {
  if (hooked_) sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(own_);
}

CheckpointCounts CheckpointCountsNow() {
  return g_total.Read();
}

CheckpointCounts CheckpointCountsFor(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_tallies_mu);
  auto it = Tallies().find(path);
  return it == Tallies().end() ? CheckpointCounts{} : it->second->Read();
}

// On the writer's thread, after each commit, with the WAL's size in frames.
int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  // A pass over a larger WAL than this one was over the WAL before its
  // restart: nothing of this one is known to be copied. (A pass over the old
  // WAL that this one has already outgrown is taken for this one's: then the
  // writer may copy a large rest itself, as it did before it waited for the
  // passes, and nothing worse.)
  const std::uint64_t pass = c->last_pass_.load(std::memory_order_acquire);
  const auto pass_log = static_cast<int>(pass >> 32), pass_copied = static_cast<int>(pass & 0xffffffffu);
  const int copied = pass_log <= frames ? pass_copied : 0;
  const bool little_left = frames - copied <= kWriterRest;
  if (frames >= c->hard_frames_ || (frames >= c->writer_frames_ && little_left)) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    Add(&CheckpointTally::on_writer, *c->tally_);
    return SQLITE_OK;
  }
  if (frames >= c->frames_ && !c->wanted_.exchange(true)) {
    // Taking the lock orders this after the thread's check of wanted_, so
    // the notification cannot fall between its check and its wait.
    { std::lock_guard<std::mutex> lock(c->mu_); }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  pthread_setname_np(pthread_self(), "kray-checkpoint");
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || wanted_.load(); });
    if (stop_) return;
    wanted_.store(false);
    lock.unlock();
    // Busy if the writer is checkpointing: it copies what is left. Any
    // other failure (a full disk) leaves the frames to the writer's own
    // checkpoint, which meets the same error; it is counted.
    int log = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(own_, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    Add(&CheckpointTally::background, *tally_);
    if (rc == SQLITE_OK && log >= 0 && copied >= 0)
      last_pass_.store(static_cast<std::uint64_t>(log) << 32 | static_cast<std::uint32_t>(copied),
                       std::memory_order_release);
    if (rc == SQLITE_OK && copied > 0)
      Add(&CheckpointTally::frames_copied, *tally_, static_cast<std::uint64_t>(copied));
    if (rc != SQLITE_OK && !Busy(rc)) Add(&CheckpointTally::failed, *tally_);
    lock.lock();
  }
}

}  // namespace kray::store
