// runOnThreads: every share of a loop runs once, on as many threads as
// asked, loop after loop on the kept workers; two callers at once both
// finish (the second on threads of its own); a loop of one thread runs
// on the caller.
#include "runtime/exec/WorkerPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

using var::exec::hardwareThreads;
using var::exec::runOnThreads;

TEST(WorkerPoolTest, EveryShareRunsOnceLoopAfterLoop) {
  int64_t most = hardwareThreads();
  for (int loop = 0; loop < 200; ++loop) {
    int64_t threads = 1 + loop % (most + 2); // more than the machine too
    int64_t expected = std::min(threads, most);
    std::vector<std::atomic<int>> runs(static_cast<size_t>(expected));
    std::atomic<int64_t> seenThreads{-1};
    runOnThreads(threads, [&](int64_t t, int64_t count) {
      ASSERT_LT(t, expected);
      seenThreads = count;
      ++runs[static_cast<size_t>(t)];
    });
    EXPECT_EQ(seenThreads, expected);
    for (int64_t t = 0; t < expected; ++t)
      EXPECT_EQ(runs[static_cast<size_t>(t)], 1) << "loop " << loop;
  }
}

TEST(WorkerPoolTest, SharesRunOnDistinctThreads) {
  int64_t threads = std::min<int64_t>(hardwareThreads(), 4);
  std::mutex mutex;
  std::set<std::thread::id> ids;
  std::atomic<int64_t> arrived{0};
  runOnThreads(threads, [&](int64_t, int64_t count) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ids.insert(std::this_thread::get_id());
    }
    // Every share waits for all: they must run at the same time.
    ++arrived;
    while (arrived < count)
      std::this_thread::yield();
  });
  EXPECT_EQ(static_cast<int64_t>(ids.size()), threads);
}

TEST(WorkerPoolTest, TwoCallersAtOnceBothFinish) {
  std::atomic<int64_t> total{0};
  auto caller = [&] {
    for (int loop = 0; loop < 100; ++loop)
      runOnThreads(hardwareThreads(),
                   [&](int64_t, int64_t) { total.fetch_add(1); });
  };
  std::thread other(caller);
  caller();
  other.join();
  EXPECT_EQ(total, 2 * 100 * hardwareThreads());
}

TEST(WorkerPoolTest, OneThreadRunsOnTheCaller) {
  std::thread::id ran;
  runOnThreads(1, [&](int64_t, int64_t) { ran = std::this_thread::get_id(); });
  EXPECT_EQ(ran, std::this_thread::get_id());
}

} // namespace
