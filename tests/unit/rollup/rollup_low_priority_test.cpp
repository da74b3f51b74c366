// The index thread's priority (RollupOptions::low_priority) and the
// takeover at normal priority once the low thread falls behind.
#include <linux/ioprio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rollup_fixture.h"

namespace kray::rollup {
namespace {

// The nice value of each of this process's threads named `name`.
std::vector<int> NicesOf(const std::string& name) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string comm_name;
    if (!std::getline(comm, comm_name) || comm_name != name) continue;
    out.push_back(getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(task.path().filename().string()))));
  }
  return out;
}

using Nices = std::vector<int>;

// The calling thread's nice value (what the threads it starts inherit).
int OwnNice() {
  return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
}

// Whether this kernel lets a thread lower its own priority (a sandbox may not).
bool LoweringAllowed() {
  bool allowed = false;
  std::thread([&] { allowed = setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19) == 0; }).join();
  return allowed;
}

// I/O priority (class and level) of thread `tid` (ioprio_get), -1 on error.
long IoPriorityOf(int tid) {
  return syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
}

int TidOf(const std::string& name) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string comm_name;
    if (std::getline(comm, comm_name) && comm_name == name) return std::stoi(task.path().filename().string());
  }
  return -1;
}

// CPU time of thread `tid` so far, in clock ticks (utime + stime).
long CpuTicksOf(int tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

class RollupLowPriorityTest : public RollupTest {
 protected:
  void SetUp() override {
    if (!LoweringAllowed()) GTEST_SKIP() << "the kernel refuses a lower priority here";
    opts_.low_priority = true;
    RollupTest::SetUp();
  }
};

TEST_F(RollupLowPriorityTest, TheIndexThreadRunsAtTheLowestPriorityUnlessTurnedOff) {
  ASSERT_TRUE(WaitFor([&] { return rollup_->at_low_priority(); }));
  EXPECT_EQ(NicesOf("kray-rollup"), Nices{19});
  // Its disk I/O at the default best-effort level, not the lowest one nice 19 implies.
  EXPECT_EQ(IoPriorityOf(TidOf("kray-rollup")), static_cast<long>(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)));
  // The watch, at normal priority (named once it has started).
  ASSERT_TRUE(WaitFor([&] { return NicesOf("kray-rollup-w") == Nices{OwnNice()}; }));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(WaitFor([&] { return IndexStatus().last_batch() == 1; }));
  ASSERT_TRUE(Verify().ok());

  opts_.low_priority = false;
  Restart();
  ASSERT_TRUE(WaitFor([&] { return NicesOf("kray-rollup") == Nices{OwnNice()}; }));
  EXPECT_FALSE(rollup_->at_low_priority());
  EXPECT_TRUE(NicesOf("kray-rollup-w").empty());
  EXPECT_TRUE(ledger_->CheckConservation()->ok);
}

// A batch listener holds the low thread inside a close while transfers go
// on: the watch takes the index over once the close has run longer than
// takeover_after_ms, after the low thread finished its round, and the index
// goes on from there at normal priority: no batch lost, every root verified.
TEST_F(RollupLowPriorityTest, ANormalThreadTakesTheIndexOverOnceTheLowOneFallsBehind) {
  opts_.takeover_after_ms = 500;
  opts_.persist_interval_ms = 20;
  Restart();
  ASSERT_TRUE(WaitFor([&] { return rollup_->at_low_priority(); }));
  std::atomic<bool> holding{false}, release{false};
  std::vector<std::int64_t> closed;  // on the index thread, read once it was released
  const int listener = rollup_->AddBatchListener([&](const BatchHeader& b) {
    closed.push_back(b.number);
    if (b.number != 1) return;
    holding = true;
    for (int i = 0; i < 3000 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  });
  struct Unlisten {  // a failed ASSERT must not leave the listener pointing at this frame
    Rollup* r;
    int handle;
    std::atomic<bool>& release;
    void Now() {
      release = true;
      if (r) r->RemoveBatchListener(handle);
      r = nullptr;
    }
    ~Unlisten() { Now(); }
  } unlisten{rollup_.get(), listener, release};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());  // max_batch_txs = 3
  ASSERT_TRUE(WaitFor([&] { return holding.load(); }));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());  // queued behind the close
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(rollup_->at_low_priority()) << "taken over while the low thread was inside its round";
  release = true;
  ASSERT_TRUE(WaitFor([&] { return !rollup_->at_low_priority(); })) << "never taken over";
  // The low thread has left; the watch runs the index under its name.
  ASSERT_TRUE(WaitFor([&] { return NicesOf("kray-rollup") == Nices{OwnNice()}; }));
  EXPECT_TRUE(NicesOf("kray-rollup-w").empty());
  // It sleeps between its rounds as the low thread did (a wake-up that
  // stayed set made it spin a core).
  const int tid = TidOf("kray-rollup");
  const long ticks = CpuTicksOf(tid);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_LT(CpuTicksOf(tid) - ticks, 10) << "the index thread spins after the takeover";
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());  // fills batch 2
  ASSERT_TRUE(WaitFor([&] { return IndexStatus().last_batch() == 2; }));
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  auto third = Close();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->number, 3);
  EXPECT_EQ(closed, (std::vector<std::int64_t>{1, 2, 3}));
  auto verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_TRUE(ledger_->CheckConservation()->ok);
  unlisten.Now();
  Restart();  // a stop and a start after a takeover: the index opens at low priority again
  ASSERT_TRUE(WaitFor([&] { return rollup_->at_low_priority(); }));
  EXPECT_EQ(IndexStatus().last_batch(), 3);
}

}  // namespace
}  // namespace kray::rollup
