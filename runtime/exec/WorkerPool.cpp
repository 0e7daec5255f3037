// The worker pool behind runOnThreads (WorkerPool.h): workers wait for a
// new generation of work, run their share and count themselves done; the
// caller runs share 0 and waits for the count.
#include "runtime/exec/WorkerPool.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

namespace var::exec {

namespace {

class WorkerPool {
public:
  explicit WorkerPool(int64_t workers) : owner(getpid()) {
    for (int64_t w = 0; w < workers; ++w)
      threads.emplace_back([this, w] { serve(w + 1); });
  }

  /// False when another loop holds the pool or this is a forked child
  /// (the caller then starts its own threads).
  bool tryRun(int64_t active,
              const std::function<void(int64_t, int64_t)> &work) {
    if (getpid() != owner)
      return false;
    std::unique_lock<std::mutex> caller(callers, std::try_to_lock);
    if (!caller.owns_lock())
      return false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = &work;
      jobThreads = active;
      pending = active - 1;
      ++generation;
    }
    wake.notify_all();
    work(0, active);
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [this] { return pending == 0; });
    job = nullptr;
    return true;
  }

private:
  void serve(int64_t index) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      wake.wait(lock, [&] { return generation != seen; });
      seen = generation;
      if (index >= jobThreads)
        continue; // not needed for this loop
      const std::function<void(int64_t, int64_t)> *mine = job;
      int64_t threads = jobThreads;
      lock.unlock();
      (*mine)(index, threads);
      lock.lock();
      if (--pending == 0)
        done.notify_one();
    }
  }

  const pid_t owner;
  std::mutex callers; // one loop at a time
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(int64_t, int64_t)> *job = nullptr;
  int64_t jobThreads = 0, pending = 0;
  uint64_t generation = 0;
  std::vector<std::thread> threads;
};

WorkerPool &pool() {
  // Never destroyed: the workers wait until the process exits (joining
  // them at exit would fail in a child forked after the first use, which
  // has none of the parent's threads; tryRun tells it so).
  static WorkerPool *instance = new WorkerPool(hardwareThreads() - 1);
  return *instance;
}

} // namespace

int64_t hardwareThreads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

void runOnThreads(int64_t threads,
                  const std::function<void(int64_t, int64_t)> &work) {
  threads = std::clamp<int64_t>(threads, 1, hardwareThreads());
  if (threads == 1) {
    work(0, 1);
    return;
  }
  if (pool().tryRun(threads, work))
    return;
  std::vector<std::thread> started;
  for (int64_t t = 1; t < threads; ++t)
    started.emplace_back(work, t, threads);
  work(0, threads);
  for (std::thread &thread : started)
    thread.join();
}

void copyOnThreads(void *dst, const void *src, size_t bytes) {
  constexpr size_t kPiece = size_t{4} << 20;
  auto pieces = static_cast<int64_t>((bytes + kPiece - 1) / kPiece);
  if (pieces < 2) {
    std::memcpy(dst, src, bytes);
    return;
  }
  runOnThreads(std::min(pieces, hardwareThreads()),
               [&](int64_t first, int64_t stride) {
                 for (int64_t p = first; p < pieces; p += stride) {
                   size_t begin = static_cast<size_t>(p) * kPiece;
                   std::memcpy(static_cast<uint8_t *>(dst) + begin,
                               static_cast<const uint8_t *>(src) + begin,
                               std::min(kPiece, bytes - begin));
                 }
               });
}

} // namespace var::exec
